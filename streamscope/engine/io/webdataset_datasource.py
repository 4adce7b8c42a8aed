"""WebDataset tar shards (Ray Data's ``read_webdataset``): one row per sample, the members that
share a key grouped into its columns (``webdataset_codec`` has the naming rules and the default
decoder).

A row has ``__key__`` (the sample key), one column per member field (``png``, ``json``,
``seg.png``...) decoded by ``decoder``, and ``__url__`` (the shard's path); with
``expand_json=True`` the top-level keys of the decoded ``json`` field become columns too. As in
Ray Data, a value that is a list of exactly one item becomes that item.

The tar is read as a stream (``tarfile`` mode ``r|``; gzip/bz2/xz tars are recognised by their
first bytes, whatever their extension); the header after the last member is checked, so a tar
cut short or corrupt between members fails instead of ending early (tarfile alone stops quietly
there). Samples are gathered into blocks of ``_SAMPLES_PER_BLOCK`` (Ray's 512) or
``DataContext.target_max_block_size`` bytes, each yielded as soon as it is full. A projection
with the built-in decoder skips the members of dropped columns unread and undecoded (a
``select_columns(["cls"])`` over an image shard decodes no image).
"""

from __future__ import annotations

import json
import tarfile
from functools import partial
from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.block import rows_to_block
from streamscope.engine.context import DataContext
from streamscope.engine.io.file_datasource import FileBasedDatasource
from streamscope.engine.io.open_stream_args import open_compression
from streamscope.engine.io.paths import display_path
from streamscope.engine.io.webdataset_codec import (
    allow_unsafe_from_env, apply_specs, check_codec_spec, check_patterns, check_renames, default_decoder, matches,
    split_key,
)

_SPECIAL = ("__key__", "__url__")


class WebDatasetFormatError(ValueError):
    """A shard that is not a readable tar, or whose members break the WebDataset conventions."""


class WebDatasetDatasource(FileBasedDatasource):
    """Samples of WebDataset tar shards; see the module docstring."""

    _SAMPLES_PER_BLOCK = 512

    def __init__(self, paths: Any, decoder: Any = True, fileselect: Any = None, filerename: Any = None,
                 suffixes: Any = None, verbose_open: bool = False, expand_json: bool = False, *,
                 open_stream_args: Optional[dict] = None, file_extensions: Any = None, **file_args: Any):
        caller = "read_webdataset"
        check_codec_spec(decoder, "decoder", caller)
        check_patterns(fileselect, "fileselect", caller)
        check_patterns(suffixes, "suffixes", caller)
        check_renames(filerename, caller)
        compression = open_compression(open_stream_args, caller)
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._OPEN_COMPRESSION = compression
        self.decoder = decoder
        self.fileselect = list(fileselect) if isinstance(fileselect, tuple) else fileselect
        self.filerename = list(filerename) if isinstance(filerename, tuple) else filerename
        self.suffixes = list(suffixes) if isinstance(suffixes, tuple) else suffixes
        self.verbose_open = bool(verbose_open)
        self.expand_json = bool(expand_json)
        self._allow_unsafe = allow_unsafe_from_env()  # read in the driver, as Ray does

    def get_name(self) -> str:
        return "ReadWebDataset"

    # ---- projection --------------------------------------------------------------------------
    def _builtin_decoding(self) -> bool:
        """Whether column names are the member fields (built-in decoder, no expand_json), so a
        projection can skip members."""
        specs = self.decoder if isinstance(self.decoder, list) else [self.decoder]
        return not self.expand_json and not any(callable(s) for s in specs)

    def _wanted_fields(self) -> Optional[set]:
        wanted = self._file_read_columns()
        if wanted is None or not self._builtin_decoding():
            return None
        return {c for c in wanted if c not in _SPECIAL}

    def pushdown_summary(self) -> list[str]:
        out = super().pushdown_summary()
        fields = self._wanted_fields()
        if fields is not None:
            out.append(f"members read: {sorted(fields)}")
        return out

    # ---- reading -----------------------------------------------------------------------------
    def _members(self, f: Any, url: str, fields: Optional[set]) -> Iterator[tuple[str, bytes]]:
        """``(name, data)`` of the selected regular members, after ``filerename``."""
        last = None
        source = _TailReader(_decompressed(f))
        try:
            stream = tarfile.open(fileobj=source, mode="r|")
            if self.verbose_open:
                print(f"start {url}")
            for info in stream:
                last = info.name
                if not info.isreg() or info.name is None:
                    continue
                name = apply_specs(self.filerename, info.name)
                if not isinstance(name, str):
                    raise WebDatasetFormatError(f"filerename returned {name!r} for member {info.name!r}; it must "
                                                "return a str")
                if not matches(name, self.fileselect):
                    continue
                if fields is not None:
                    _, field = split_key(name)
                    if field is not None and field not in fields:
                        yield name, b""  # kept for grouping (keys, duplicates); its data is never read
                        continue
                data = stream.extractfile(info).read()
                yield name, data
            _check_end(source, stream.offset, last)
            if self.verbose_open:
                print(f"done {url}")
        except (tarfile.TarError, EOFError, OSError) as exc:
            after = f" after member {last!r}" if last else ""
            raise WebDatasetFormatError(f"not a valid tar file, or truncated{after}: {type(exc).__name__}: "
                                        f"{exc}") from None

    def _samples(self, members: Iterator[tuple[str, bytes]], url: str, fields: Optional[set]) -> Iterator[dict]:
        """Group members into samples (Ray's rules: a new key starts a sample; a key seen again
        later, or a field given twice in one sample, is an error)."""
        current: Optional[dict] = None
        seen: set = set()
        for name, data in members:
            key, field = split_key(name)
            if key is None:
                continue
            if current is None or key != current["__key__"]:
                if current is not None:
                    previous = current["__key__"]
                    if not current.get("__bad__", False):
                        current["__url__"] = url
                        yield current
                    seen.add(previous)
                if key in seen:
                    raise WebDatasetFormatError(
                        f"the members of sample {key!r} are not adjacent in the tar: read_webdataset needs the files "
                        "of one sample (same name up to the first '.') next to each other, as the WebDataset format "
                        "requires; re-create the tar with its members sorted by name (e.g. tar --sort=name)")
                current = {"__key__": key}
            if field in current:
                raise WebDatasetFormatError(f"member {name!r}: sample {key!r} already has a field {field!r} "
                                            "(a duplicate file name in the tar)")
            if (self.suffixes is None or matches(field, self.suffixes)) and (fields is None or field in fields):
                current[field] = data
        if current is not None and not current.get("__bad__", False):
            current["__url__"] = url
            yield current

    def _row(self, sample: dict) -> dict:
        key = sample.get("__key__")
        if self.decoder is not None:
            decode = partial(default_decoder, allow_unsafe=self._allow_unsafe)
            try:
                sample = apply_specs(self.decoder, sample, default=decode)
            except Exception as exc:
                raise WebDatasetFormatError(f"sample {key!r}: decoding failed: {type(exc).__name__}: {exc}") from exc
            if not isinstance(sample, dict):
                raise WebDatasetFormatError(f"sample {key!r}: the decoder returned a {type(sample).__name__}; a decoder "
                                            "must return the sample dict")
        if self.expand_json:
            sample = self._expand_json(sample, key)
        return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in sample.items()}

    @staticmethod
    def _expand_json(sample: dict, key: Any) -> dict:
        if "json" not in sample:
            raise WebDatasetFormatError(f"sample {key!r} has no 'json' member, which expand_json=True expands; "
                                        f"its fields are {[k for k in sample if k not in _SPECIAL]}")
        value = sample["json"]
        try:
            parsed = json.loads(value.decode("utf-8") if isinstance(value, bytes) else value) \
                if isinstance(value, (bytes, str)) else value
        except ValueError as exc:
            raise WebDatasetFormatError(f"sample {key!r}: its 'json' member is not JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise WebDatasetFormatError(f"sample {key!r}: expand_json=True needs the 'json' member to hold an object, "
                                        f"got {type(parsed).__name__}")
        sample = dict(sample)
        for k, v in parsed.items():
            if k not in sample:
                sample[k] = []
            if not isinstance(sample[k], list):
                raise WebDatasetFormatError(f"sample {key!r}: the json key {k!r} is also a field of the sample; "
                                            "rename one of them (filerename=) to expand it")
            sample[k].append(v)
        return sample

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        url = display_path(self._fs, path)
        fields = self._wanted_fields()
        wanted = self._file_read_columns()
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        rows: list[dict] = []
        nbytes = 0
        seen: set = set()
        for sample in self._samples(self._members(f, url, fields), url, fields):
            row = self._row(sample)
            rows.append(row)
            seen.update(row)
            nbytes += sum(_size(v) for v in row.values())
            if len(rows) >= self._SAMPLES_PER_BLOCK or nbytes >= max_bytes:
                yield self._block(rows, wanted)
                rows, nbytes = [], 0
        if rows:
            yield self._block(rows, wanted)
        if wanted is not None and seen:
            synthesized = set(self._synthesized_columns())
            missing = [c for c in wanted if c not in seen and c not in synthesized]
            if missing:
                raise WebDatasetFormatError(f"no sample has the fields {missing} (of the projected columns {wanted})")

    @staticmethod
    def _block(rows: list[dict], wanted: Optional[list[str]]) -> pa.Table:
        table = rows_to_block(rows)
        for name in wanted or []:
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows))
        return table


class _TailReader:
    """A binary stream for ``tarfile`` that counts the bytes read and keeps the last 64 KiB, so
    the header block where tarfile stopped can be examined (tarfile ends quietly at a corrupt or
    truncated header once it has read a member)."""

    _KEEP = 1 << 16

    def __init__(self, raw: Any):
        self.raw = raw
        self.pos = 0
        self.tail = b""

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.pos += len(data)
        self.tail = (self.tail + data)[-self._KEEP:]
        return data

    def block(self, offset: int, size: int) -> Optional[bytes]:
        """The bytes at ``offset`` (reading on as needed); None when the stream ended before it."""
        while self.pos < offset + size:
            if not self.read(offset + size - self.pos):
                break
        if self.pos < offset:
            return None
        start = len(self.tail) - (self.pos - offset)
        return self.tail[max(start, 0):max(start, 0) + size]


def _check_end(source: _TailReader, offset: int, last: Optional[str]) -> None:
    """After tarfile's last member: the archive must end with a zero block (or plainly, at a
    block boundary); a partial or non-zero header there is a truncated or corrupt tar."""
    block = source.block(offset, tarfile.BLOCKSIZE)
    after = f" after member {last!r}" if last else ""
    if block is None:
        raise WebDatasetFormatError(f"truncated tar{after}: the archive ends {offset - source.pos} bytes before the "
                                    f"next header (byte {offset})")
    if not block or block.count(0) == len(block) == tarfile.BLOCKSIZE:
        return
    if len(block) < tarfile.BLOCKSIZE:
        raise WebDatasetFormatError(f"truncated tar{after}: a partial header of {len(block)} bytes at byte {offset}")
    raise WebDatasetFormatError(f"corrupt tar{after}: the header at byte {offset} is not a valid tar header")


def _codec(head: bytes) -> Optional[str]:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


class _Prefixed:
    """A stream with bytes already read put back in front."""

    def __init__(self, head: bytes, raw: Any):
        self.head, self.raw = head, raw

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n is None or n < 0:
                out, self.head = self.head + self.raw.read(), b""
                return out
            out, self.head = self.head[:n], self.head[n:]
            return out if len(out) == n else out + self.raw.read(n - len(out))
        return self.raw.read(n)


def _decompressed(f: Any) -> Any:
    """``f`` decompressed when its first bytes are a gzip, bz2 or xz header (a compressed tar
    whose extension did not say so), else as it is."""
    head = f.read(10)
    stream = _Prefixed(head, f)
    codec = _codec(head)
    if codec == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=stream, mode="rb")
    if codec == "bz2":
        import bz2

        return bz2.BZ2File(stream, mode="rb")
    if codec == "xz":
        import lzma

        return lzma.LZMAFile(stream, mode="rb")
    return stream


def _size(value: Any) -> int:
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    return 16
