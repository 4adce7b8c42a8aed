"""``arrow_open_stream_args`` for readers that honour it: how each file is opened.

Why: Ray Data passes these arguments to ``pyarrow.fs.FileSystem.open_input_stream``, whose
keywords are ``compression`` and ``buffer_size``; when ``compression`` is not given (or is
``"detect"``) it is inferred from the file name (``.gz`` -> gzip, ``.bz2``, ``.zst``, ``.lz4``),
so ``clip.wav.gz`` reads decompressed. streamscope opens files through fsspec, so this module
maps Arrow's names onto fsspec's, and checks them in the driver: an unknown key or a codec fsspec
cannot decompress fails before any work, naming the argument.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, Iterator, Optional

_ARROW_TO_FSSPEC = {"gzip": "gzip", "bz2": "bz2", "zstd": "zstd", "lz4": "lz4", "brotli": "brotli",
                    "snappy": "snappy"}
"""Arrow's codec names and the fsspec name that decompresses the same stream."""

_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4", ".snappy": "snappy"}
"""File name endings Ray Data (``pyarrow.Codec.detect``, plus ``.snappy``) reads as compressed."""

ALLOWED_KEYS = ("compression", "buffer_size")


class OpenArgs:
    """Checked ``arrow_open_stream_args``: ``compression`` (an Arrow codec name, None/"detect"
    to infer it from each file name) and ``buffer_size`` (bytes read ahead, or None).

    Examples:
        >>> OpenArgs.check({"compression": "gzip"}, "read_audio").codec_for("clip.wav")
        'gzip'
        >>> OpenArgs.check(None, "read_audio").codec_for("clip.wav.gz")
        'gzip'
        >>> OpenArgs.check(None, "read_audio").codec_for("clip.wav") is None
        True
    """

    def __init__(self, compression: Optional[str], buffer_size: Optional[int]):
        self.compression = compression
        self.buffer_size = buffer_size

    @classmethod
    def check(cls, args: Optional[dict], reader: str) -> "OpenArgs":
        if args is None:
            return cls(None, None)
        if not isinstance(args, dict):
            raise TypeError(f"{reader}: arrow_open_stream_args must be a dict (e.g. {{'compression': 'gzip'}}), "
                            f"got {type(args).__name__}")
        unknown = sorted(set(args) - set(ALLOWED_KEYS))
        if unknown:
            raise ValueError(f"{reader}: arrow_open_stream_args keys {unknown} are not arguments of "
                             f"pyarrow.fs.FileSystem.open_input_stream; the keys are {list(ALLOWED_KEYS)}")
        compression = args.get("compression")
        if compression == "detect":
            compression = None
        if compression is not None:
            if not isinstance(compression, str) or compression.lower() not in _ARROW_TO_FSSPEC:
                raise ValueError(f"{reader}: arrow_open_stream_args compression={compression!r} is not an Arrow "
                                 f"codec; use one of {sorted(_ARROW_TO_FSSPEC)}, 'detect' or None")
            compression = compression.lower()
            _fsspec_codec(compression, reader, "arrow_open_stream_args")
        buffer_size = args.get("buffer_size")
        if buffer_size is not None and (isinstance(buffer_size, bool) or not isinstance(buffer_size, int)
                                        or buffer_size <= 0):
            raise ValueError(f"{reader}: arrow_open_stream_args buffer_size must be a positive int (bytes) or "
                             f"None, got {buffer_size!r}")
        return cls(compression, buffer_size)

    def codec_for(self, path: str) -> Optional[str]:
        """The Arrow codec ``path`` is read with: the one given, else the file name's."""
        if self.compression is not None:
            return self.compression
        name = path.split("?", 1)[0].lower()
        for suffix, codec in _SUFFIXES.items():
            if name.endswith(suffix):
                return codec
        return None

    @contextlib.contextmanager
    def open_random_access(self, fs: Any, path: str, reader: str) -> Iterator[Any]:
        """:meth:`open`, as a seekable file: a compressed or unseekable stream is read into
        memory first (libsndfile and video containers seek; Ray's decoders read whole files)."""
        with self.open(fs, path, reader) as f:
            if self.codec_for(path) is not None or not seekable(f):
                yield io.BytesIO(f.read())
            else:
                yield f

    def open(self, fs: Any, path: str, reader: str) -> Any:
        """Open ``path`` on the fsspec filesystem ``fs`` for reading, decompressing as Ray does."""
        codec = self.codec_for(path)
        kwargs: dict = {}
        if self.buffer_size is not None:
            kwargs["block_size"] = self.buffer_size
        compression = _fsspec_codec(codec, reader, f"the file name {path!r}") if codec else None
        return fs.open(path, "rb", compression=compression, **kwargs)


def _fsspec_codec(codec: str, reader: str, source: str) -> str:
    import fsspec

    name = _ARROW_TO_FSSPEC[codec]
    if name not in fsspec.available_compressions():
        raise ValueError(f"{reader}: {codec} compression (from {source}) cannot be decompressed here: fsspec has "
                         f"no {name!r} codec installed (available: "
                         f"{sorted(c for c in fsspec.available_compressions() if c)}); decompress the files "
                         "first or install the codec's package")
    return name


def seekable(f: Any) -> bool:
    """Whether an open file supports random access (libsndfile and containers need it)."""
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False
