"""Shared machinery of the file datasinks: naming, save modes, rows per file and the two-phase
commit.

Why two phases: a write task stores each file under a hidden temporary name in its destination
directory (``._tmp_<write uuid>_<final name>``, skipped by every reader because it starts with a
dot), and only :meth:`on_write_complete`, called once every task has succeeded, renames them to
their final names. :meth:`on_write_failed` deletes the temporaries, including those of tasks that
died before reporting, found by the write's uuid. So a failed or cancelled write never leaves
files that look like output.

On object stores (``s3://``, ``gs://``, ``abfs://``) the same two phases hold: a temporary object
per file, a "rename" (copy, then delete) per file at commit. A commit that fails part-way deletes
the final objects it already made, so the destination holds no partial output. Directories
there are key prefixes: a write creates none, and no bucket, unless ``DataContext.s3_try_create_dir``
asks for it on S3, as in Ray Data. Storage errors (a missing bucket, refused credentials, an
unreachable endpoint) are a DataSourceError naming the file or path and the endpoint.

Save modes (:class:`SaveMode`, Ray Data 2.60's semantics): the destination "exists" when the path
is there at all, even as an empty directory. ``error``/``create`` then raise before any task runs,
``ignore`` skips the write (and the run: nothing would be kept), ``append`` adds files,
``overwrite`` replaces what was there. Ray deletes the old contents when the write starts; here the
old files are listed at the start and deleted only after the new files are renamed into place, so
an overwrite that fails (a UDF raising mid-run) leaves the old data intact and readable.

Files: without ``min_rows_per_file`` each input block becomes one file (split further by
``max_rows_per_file``); with it, the write stage gathers input into bundles of at least that many
rows (the planner holds back bundles until then) and each task writes its bundle as one file.
``partition_cols`` (Parquet) puts each file's rows into Hive ``col=value/`` directories.

Names follow Ray Data 2.60: ``{dataset_uuid}_{write_uuid}_{task_index:06}.{ext}`` for a task's
first file (Parquet adds ``-0``, as Ray's Parquet writer does); further files of the same task
add ``-{file_index}`` before the extension.
"""

from __future__ import annotations

import logging
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.block import concat_blocks
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.hive_partitions import check_partition_cols, split_by_partition
from streamscope.engine.io.object_stores import describe_store_failure, fs_protocols, is_object_store, is_store_error
from streamscope.engine.io.paths import display_path, filesystem_for, is_process_local
from streamscope.engine.io.retry import call_with_retry
from streamscope.engine.io.save_mode import SaveMode, resolve_save_mode
from streamscope.engine.io.write_args import rows_per_file

logger = logging.getLogger(__name__)

_TMP_PREFIX = "._tmp_"


@dataclass
class FilesWritten:
    """What one file-writing task returns (its ``write_returns`` entry): the temporary files it
    wrote and the final names ``on_write_complete`` renames them to."""

    temp_paths: list[str] = field(default_factory=list)
    final_paths: list[str] = field(default_factory=list)
    num_rows: int = 0
    size_bytes: int = 0


class PathExistsError(FileExistsError, ValueError):
    """A write with ``mode="error"``/``"create"`` found its path already there. A ValueError as in
    Ray Data (``except ValueError`` keeps working) and a FileExistsError, which it is."""


class FileDatasink(Datasink[FilesWritten]):
    """Base of the file writers. Subclasses set ``_FILE_FORMAT`` and implement ``_write_block``."""

    _FILE_FORMAT = ""
    _ALWAYS_BLOCK_SUFFIX = False

    def __init__(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                 filename_provider: Any = None, dataset_uuid: Optional[str] = None, mode: Any = SaveMode.APPEND,
                 file_format: Optional[str] = None, min_rows_per_file: Optional[int] = None,
                 max_rows_per_file: Optional[int] = None, partition_cols: Optional[Sequence[str]] = None):
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, got {type(path).__name__}")
        self._format = file_format or self._FILE_FORMAT
        writer = self.get_name()
        self._mode = resolve_save_mode(mode, writer)
        self._min_rows, self._max_rows = rows_per_file(writer, min_rows_per_file=min_rows_per_file,
                                                       max_rows_per_file=max_rows_per_file)
        self._partition_cols = check_partition_cols(writer, partition_cols)
        self._fs, self._dir = filesystem_for(path, filesystem)
        self._dir = self._dir.rstrip("/") or "/"
        self._path = path
        self._try_create_dir = try_create_dir
        if filename_provider is not None and not any(
                callable(getattr(filename_provider, m, None)) for m in ("get_filename_for_task", "get_filename_for_block")):
            raise TypeError(f"{writer}: filename_provider must have get_filename_for_task(write_uuid, task_index) or "
                            f"get_filename_for_block(block, write_uuid, task_index, block_index), got {filename_provider!r}")
        self._filename_provider = filename_provider
        self._dataset_uuid = dataset_uuid or uuid.uuid4().hex[:22]
        self._write_uuid = uuid.uuid4().hex
        self._skip_write = False
        self._make_dirs = try_create_dir  # decided again in on_write_start (object stores)
        self._created_dir = False
        self._old_files: list[str] = []
        self._old_dirs: list[str] = []
        self.written_paths: list[str] = []
        """The files a completed write made (their final names), set by ``on_write_complete``."""

    def get_name(self) -> str:
        return "Write" + self._format.upper().replace("PARQUET", "Parquet").replace("NPY", "Numpy")

    @property
    def min_rows_per_write(self) -> Optional[int]:
        """Rows each write task should receive at least (Ray's name): ``min_rows_per_file``."""
        return self._min_rows

    # ---- names ----------------------------------------------------------------------------
    def filename_for(self, task_index: int, block_index: int) -> str:
        provider = self._filename_provider
        if provider is not None and hasattr(provider, "get_filename_for_task"):
            try:
                name = provider.get_filename_for_task(self._write_uuid, task_index)
            except NotImplementedError:
                name = None
            if name is not None:
                return self._with_block_suffix(name, block_index)
        if provider is not None and hasattr(provider, "get_filename_for_block"):
            return provider.get_filename_for_block(None, self._write_uuid, task_index, block_index)
        name = f"{self._dataset_uuid}_{self._write_uuid}_{task_index:06}.{self._format}"
        return self._with_block_suffix(name, block_index)

    def _with_block_suffix(self, name: str, block_index: int) -> str:
        if block_index == 0 and not self._ALWAYS_BLOCK_SUFFIX:
            return name
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        return f"{stem}-{block_index}" + (f".{ext}" if ext else "")

    # ---- driver side -----------------------------------------------------------------------
    def _listing(self) -> tuple[list[str], list[str]]:
        """Every file (hidden ones too) and every directory under the destination, now."""
        entries = self._fs.find(self._dir, withdirs=True, detail=True)
        root = self._dir.rstrip("/")
        files = [p for p, info in entries.items() if info.get("type") != "directory"]
        dirs = [p for p, info in entries.items() if info.get("type") == "directory" and p.rstrip("/") != root]
        return files, dirs

    def is_process_local(self) -> bool:
        return is_process_local(self._fs)

    def _creates_dirs(self) -> bool:
        """Whether this write makes its directories: on object stores only S3 with
        ``DataContext.s3_try_create_dir`` (Ray Data's rule; there, ``makedirs`` may create a bucket)."""
        if not self._try_create_dir:
            return False
        if not is_object_store(self._fs):
            return True
        return "s3" in fs_protocols(self._fs) and bool(DataContext.get_current().s3_try_create_dir)

    def _refresh(self) -> None:
        """Forget cached listings: the tasks wrote through their own filesystem instances, so
        what this one listed before (s3fs keeps listings) no longer holds."""
        try:
            self._fs.invalidate_cache()
        except Exception:  # noqa: BLE001 - a filesystem without a cache has nothing to forget
            pass

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        self._make_dirs = self._creates_dirs()
        self._refresh()
        try:
            self._prepare_destination()
        except (PathExistsError, FileExistsError, DataSourceError):
            raise
        except Exception as exc:
            if not is_store_error(exc):
                raise
            if isinstance(exc, OSError) and not is_object_store(self._fs):
                raise  # a local disk's own error (errno kept; it names the path)
            raise DataSourceError(f"{self.get_name()}: cannot write to {self._path!r}: "
                                  f"{describe_store_failure(self._fs, exc)}") from exc

    def _prepare_destination(self) -> None:
        writer = self.get_name()
        if self._fs.exists(self._dir):
            if self._mode in (SaveMode.ERROR, SaveMode.CREATE):
                raise PathExistsError(
                    f"{writer}: path {self._path!r} already exists and mode={self._mode.value!r}; use "
                    "mode='overwrite' to replace it, 'append' to add to it, or 'ignore' to skip the write"
                )
            if self._mode == SaveMode.IGNORE:
                logger.warning("%s: [SaveMode=ignore] %s already exists; nothing written", writer, self._path)
                self._skip_write = True
                return
            if not self._fs.isdir(self._dir):
                raise FileExistsError(f"{writer}: cannot write to {self._path!r}: it is a file, not a directory")
            if self._mode == SaveMode.OVERWRITE or self._partition_cols:
                files, self._old_dirs = self._listing()
                if self._mode == SaveMode.OVERWRITE:
                    self._old_files = files
        elif self._make_dirs:
            self._fs.makedirs(self._dir, exist_ok=True)
            self._created_dir = True

    def on_write_complete(self, write_result: WriteResult[FilesWritten]) -> None:
        """Rename every task's temporaries to their final names; with ``mode="overwrite"``,
        delete the old files only now."""
        self._refresh()
        results = [r for r in write_result.write_returns if r is not None]
        new_temps = [t for r in results for t in r.temp_paths]
        finals = [f for r in results for f in r.final_paths]
        renamed: list[str] = []
        final = ""
        try:
            for temp, final in zip(new_temps, finals):
                call_with_retry(lambda: self._fs.mv(temp, final), f"renaming {temp} to {final}")
                renamed.append(final)
        except BaseException as exc:
            self._delete_quietly(renamed)  # no partial output; on_write_failed deletes the temporaries left
            if isinstance(exc, Exception) and is_store_error(exc):
                note = getattr(exc, "_streamscope_retry_note", "")
                raise DataSourceError(
                    f"{self.get_name()}: could not commit {display_path(self._fs, final)!r} (nothing of this write "
                    f"was kept): {describe_store_failure(self._fs, exc)}" + (f" ({note})" if note else "")) from exc
            raise
        if self._mode == SaveMode.OVERWRITE:
            # only now, with every new file in place: a failed run never reaches this
            keep = set(finals)
            for old in self._old_files:
                if old not in keep:
                    try:
                        self._fs.rm(old)
                    except FileNotFoundError:
                        pass
            self._remove_empty_dirs(self._old_dirs)
        if self._created_dir and not finals and sum(r.num_rows for r in results) == 0:
            self._remove_empty_dirs([self._dir])  # nothing written into a directory this write made (as Ray)
        self.written_paths = [display_path(self._fs, f) for f in finals]

    def _delete_quietly(self, paths: Iterable[str]) -> None:
        for path in paths:
            try:
                self._fs.rm(path)
            except Exception:  # noqa: BLE001 - cleanup after a failure keeps the failure's own error
                logger.warning("%s: could not delete %s after a failed commit", self.get_name(),
                               display_path(self._fs, path))

    def _remove_empty_dirs(self, dirs: Iterable[str]) -> None:
        for d in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
            try:
                if self._fs.isdir(d) and not self._fs.ls(d, detail=False):
                    self._fs.rmdir(d)
            except (FileNotFoundError, OSError):
                pass

    def on_write_failed(self, error: BaseException) -> None:
        """Delete this write's temporaries, found by the write's uuid (tasks that died before
        reporting wrote some too), and the partition directories it made."""
        self._refresh()
        temps: set[str] = set()
        prefix = f"{_TMP_PREFIX}{self._write_uuid}_"
        try:
            if self._fs.exists(self._dir):
                temps.update(p for p in self._fs.find(self._dir, detail=False) if posixpath.basename(p).startswith(prefix))
        except Exception:
            pass
        for temp in temps:
            try:
                self._fs.rm(temp)
            except FileNotFoundError:
                pass
        if self._partition_cols and self._fs.exists(self._dir):
            try:
                _, dirs = self._listing()
            except Exception:
                dirs = []
            old = set(self._old_dirs)
            self._remove_empty_dirs(d for d in dirs if d not in old)  # partition dirs this write made
        if self._created_dir:
            self._remove_empty_dirs([self._dir])  # a failed write leaves no directory it made

    # ---- worker side -----------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> FilesWritten:
        result = FilesWritten()
        task_index = ctx.task_idx
        if self._skip_write:
            return result
        file_index = 0
        for table in self._tables(blocks):
            for chunk in self._chunks(table):
                for subdir, part in self._partitions(chunk):
                    directory = posixpath.join(self._dir, subdir) if subdir else self._dir
                    final = posixpath.join(directory, self.filename_for(task_index, file_index))
                    self._write_one(final, lambda temp, part=part: self._write_file(temp, part), part, result,
                                    make_dir=self._make_dirs or (bool(subdir) and not is_object_store(self._fs)))
                    file_index += 1
        return result

    def _write_one(self, final: str, write_fn: Any, rows: pa.Table, result: FilesWritten, *, make_dir: bool) -> None:
        """Write one file under its temporary name next to ``final`` (``write_fn(temp)``, retried
        on transient errors) and record it in ``result``; a storage error is a DataSourceError
        naming the file."""
        directory = posixpath.dirname(final)
        temp = posixpath.join(directory, f"{_TMP_PREFIX}{self._write_uuid}_{posixpath.basename(final)}")
        try:
            if make_dir:
                self._fs.makedirs(directory, exist_ok=True)
            call_with_retry(lambda: write_fn(temp), f"writing {temp}")
        except BaseException as exc:
            try:
                self._fs.rm(temp)
            except Exception:
                pass
            if isinstance(exc, OSError) and not is_object_store(self._fs):
                # a local disk that is full or read-only: the same OSError (errno kept), naming the file
                raise _naming_the_file(exc, self.get_name(), final) from exc
            if isinstance(exc, Exception) and not isinstance(exc, DataSourceError) and is_store_error(exc):
                note = getattr(exc, "_streamscope_retry_note", "")  # io/retry.py: the attempts made
                raise DataSourceError(
                    f"{self.get_name()}: failed to write {display_path(self._fs, final)!r}: "
                    f"{describe_store_failure(self._fs, exc)}" + (f" ({note})" if note else "")) from exc
            raise
        result.temp_paths.append(temp)
        result.final_paths.append(final)
        result.num_rows += rows.num_rows
        result.size_bytes += int(rows.nbytes)

    def _tables(self, blocks: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """What becomes files: each block, or (with ``min_rows_per_file``) the task's blocks as one."""
        if self._min_rows is None:
            for block in blocks:
                if block.num_rows:
                    self._check_block(block)
                    yield block
            return
        kept = [b for b in blocks if b.num_rows]
        for block in kept:
            self._check_block(block)
        if kept:
            yield concat_blocks(kept)

    def _chunks(self, table: pa.Table) -> Iterator[pa.Table]:
        """``table`` in even slices of at most ``max_rows_per_file`` rows (even, so a bundle just
        over the maximum does not leave a tiny last file)."""
        if self._max_rows is None or table.num_rows <= self._max_rows:
            yield table
            return
        n = -(-table.num_rows // self._max_rows)
        base, extra = divmod(table.num_rows, n)
        offset = 0
        for i in range(n):
            length = base + (1 if i < extra else 0)
            yield table.slice(offset, length)
            offset += length

    def _partitions(self, table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
        if not self._partition_cols:
            yield "", table
            return
        yield from split_by_partition(table, self._partition_cols, self.get_name())

    def _write_file(self, temp: str, block: pa.Table) -> None:
        with self._fs.open(temp, "wb") as f:
            self._write_block(f, block)

    def _check_block(self, block: pa.Table) -> None:
        """Reject blocks the format cannot hold, with the column named."""

    def _write_block(self, f: Any, block: pa.Table) -> None:
        raise NotImplementedError


def tensor_columns(block: pa.Table) -> list[str]:
    return [f.name for f in block.schema if tensor.is_tensor_type(f.type)]


def _naming_the_file(exc: OSError, writer: str, path: str) -> OSError:
    """The same kind of OSError (same errno), naming the file being written: the OS's own
    ``[Errno 28] No space left on device`` names no file when pyarrow raises it. Reads
    ``[Errno 28] WriteParquet: writing failed: No space left on device: '/out/._tmp_..'``."""
    reason = exc.strerror or str(exc)
    message = f"{writer}: writing failed: {reason}"
    if exc.errno is None:
        return OSError(f"{message}: {path!r}")
    try:
        return type(exc)(exc.errno, message, path)
    except Exception:  # an OSError subclass with a constructor of its own
        return OSError(exc.errno, message, path)
