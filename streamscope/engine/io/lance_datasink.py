"""Lance writes in two phases: tasks write fragments, the driver commits them as one operation.

Why: a Lance dataset is whatever its latest manifest lists, so fragments written by
``lance.fragment.write_fragments`` are invisible until ``LanceDataset.commit`` records them.
``on_write_complete`` commits every task's fragments at once (``Overwrite`` for ``create`` and
``overwrite``, ``Append`` for ``append``, against the version read when the write started), so
readers see the whole write or nothing.

Cleanup of a failed write: Lance names data files itself, so each task notes every data file it
finishes in a marker directory of this write (``<uri>/_streamscope_uncommitted/<write id>/``,
one empty file per data file, written as Lance completes the file, the last one when
``write_fragments`` returns). A task that fails deletes its
own files; ``on_write_failed`` deletes the files of the tasks that finished (and of tasks that
died) from the markers, then the markers; a dataset directory this write created is removed whole
when no version was committed. The dataset is left at the version it had.

Modes (Ray Data 2.60's for Lance): ``create`` (default; ``error`` is the same) refuses an existing
dataset, ``append`` adds to an existing one (columns the data lacks are written as nulls),
``overwrite`` creates or replaces (older versions stay readable). ``ignore`` skips the write when
the dataset exists.
"""

from __future__ import annotations

import logging
import os
import posixpath
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional

import pyarrow as pa

from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.write_args import rows_per_file

logger = logging.getLogger(__name__)

WRITER = "write_lance"
_MODES = {SaveMode.CREATE, SaveMode.ERROR, SaveMode.APPEND, SaveMode.OVERWRITE, SaveMode.IGNORE}
_MARKERS = "_streamscope_uncommitted"


class LanceDatasetExistsError(FileExistsError, ValueError):
    """``write_lance(mode="create")`` found a Lance dataset at its path."""


@dataclass
class LanceFragmentsWritten:
    """One task's ``write`` return: its fragments (Lance ``FragmentMetadata``) and schema."""

    fragments: list = field(default_factory=list)
    schema: Optional[pa.Schema] = None


class _Progress:
    """Lance's fragment-write hook: notes each finished data file (and drops a marker for it)."""

    def __init__(self, sink: "LanceDatasink"):
        self.sink = sink
        self.files: list[str] = []

    def begin(self, fragment: Any, **kwargs: Any) -> None:
        pass

    def complete(self, fragment: Any, **kwargs: Any) -> None:
        for data_file in fragment.files:
            self.complete_file(data_file.path)

    def complete_file(self, name: str) -> None:
        self.files.append(name)
        self.sink._mark(name)


class LanceDatasink(Datasink[LanceFragmentsWritten]):
    """Writes a dataset as a Lance dataset (see the module docstring)."""

    def __init__(self, path: str, *, schema: Optional[pa.Schema] = None, mode: Any = SaveMode.CREATE,
                 min_rows_per_file: int = 1024 * 1024, max_rows_per_file: int = 64 * 1024 * 1024,
                 data_storage_version: Optional[str] = None, storage_options: Optional[dict] = None):
        self._mode = _check_mode(mode)
        if schema is not None and not isinstance(schema, pa.Schema):
            raise TypeError(f"{WRITER}: schema must be a pyarrow.Schema or None, got {type(schema).__name__}")
        if data_storage_version is not None and not isinstance(data_storage_version, str):
            raise TypeError(f"{WRITER}: data_storage_version must be a str such as 'stable', '2.0' or 'legacy', got "
                            f"{data_storage_version!r}")
        if storage_options is not None and not isinstance(storage_options, dict):
            raise TypeError(f"{WRITER}: storage_options must be a dict, got {type(storage_options).__name__}")
        # min is what each task gathers, max what one file holds: min > max just means several files
        self._min_rows, _ = rows_per_file(WRITER, min_rows_per_file=min_rows_per_file)
        _, self._max_rows = rows_per_file(WRITER, max_rows_per_file=max_rows_per_file)
        self._uri = path.rstrip("/") or "/"
        self._user_schema = schema
        self._data_storage_version = data_storage_version
        self._storage_options = dict(storage_options) if storage_options else None
        self._write_uuid = uuid.uuid4().hex
        self._skip_write = False
        self._read_version: Optional[int] = None
        self._target_schema: Optional[pa.Schema] = schema  # what every fragment is written with, if known
        self._created_dir = False
        self._fs: Any = None
        self._root = _local_dir(self._uri)

    def get_name(self) -> str:
        return "WriteLance"

    @property
    def min_rows_per_write(self) -> Optional[int]:
        return self._min_rows

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fs"] = None
        return state

    # ---- files beside Lance's: markers and cleanup -----------------------------------------
    def _filesystem(self) -> tuple[Any, str]:
        import pyarrow.fs as pafs

        if self._fs is None:
            if self._root is not None:
                self._fs = (pafs.LocalFileSystem(), self._root)
            else:
                fs, root = pafs.FileSystem.from_uri(self._uri)
                self._fs = (fs, root.rstrip("/"))
        return self._fs

    def _marker_dir(self) -> str:
        fs, root = self._filesystem()
        return posixpath.join(root, _MARKERS, self._write_uuid)

    def _mark(self, data_file: str) -> None:
        fs, _ = self._filesystem()
        directory = self._marker_dir()
        fs.create_dir(directory, recursive=True)
        with fs.open_output_stream(posixpath.join(directory, posixpath.basename(data_file))):
            pass

    def _delete_data_files(self, names: Iterable[str]) -> None:
        fs, root = self._filesystem()
        for name in names:
            for path in (posixpath.join(root, "data", name), posixpath.join(self._marker_dir(), posixpath.basename(name))):
                try:
                    fs.delete_file(path)
                except (FileNotFoundError, OSError):
                    pass

    def _drop_markers(self) -> None:
        fs, root = self._filesystem()
        for directory in (self._marker_dir(), posixpath.join(root, _MARKERS)):
            try:
                if directory == self._marker_dir():
                    fs.delete_dir(directory)
                elif not fs.get_file_info(_selector(directory)):
                    fs.delete_dir(directory)
            except (FileNotFoundError, OSError):
                pass

    # ---- driver: before the run ----------------------------------------------------------
    def _open(self) -> Optional[Any]:
        import lance

        try:
            return lance.dataset(self._uri, storage_options=self._storage_options)
        except ValueError as exc:  # what lance raises for "no dataset here"
            if "not found" in str(exc).lower():
                return None
            raise

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        existing = self._open()
        if self._root is not None:
            self._created_dir = not os.path.exists(self._root)
        if existing is None:
            if self._mode == SaveMode.APPEND:
                raise ValueError(f"{WRITER}: mode='append' needs an existing Lance dataset, and there is none at "
                                 f"{self._uri!r}; use mode='create' (the default) or 'overwrite' to create it")
            return
        if self._mode in (SaveMode.CREATE, SaveMode.ERROR):
            raise LanceDatasetExistsError(
                f"{WRITER}: a Lance dataset already exists at {self._uri!r} (mode={self._mode.value!r}); pass "
                "mode='overwrite' to replace it, 'append' to add to it, or 'ignore' to skip the write")
        if self._mode == SaveMode.IGNORE:
            logger.warning("%s: [SaveMode=ignore] a Lance dataset exists at %s; nothing written", WRITER, self._uri)
            self._skip_write = True
            return
        self._read_version = int(existing.version)
        if self._mode == SaveMode.APPEND and self._target_schema is None:
            self._target_schema = existing.schema
        if self._mode == SaveMode.APPEND and schema is not None:
            extra = [n for n in schema.names if n not in self._target_schema.names]
            if extra:
                raise ValueError(f"{WRITER}: the data has columns {extra} that the Lance dataset at {self._uri!r} "
                                 "lacks; appending new columns is not supported: select the dataset's columns "
                                 "(Dataset.select_columns) or write with mode='overwrite'")

    # ---- workers -------------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> LanceFragmentsWritten:
        from lance.fragment import write_fragments

        result = LanceFragmentsWritten()
        if self._skip_write:
            return result
        iterator = iter(b for b in blocks if b.num_rows)
        first = next(iterator, None)
        if first is None:
            return result
        schema = self._target_schema or first.schema
        failure: list[BaseException] = []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for block in _chain(first, iterator):
                    yield from self._align(block, schema).to_batches()
            except BaseException as exc:  # the upstream error (a UDF's), re-raised as itself below
                failure.append(exc)
                raise

        progress = _Progress(self)
        kwargs: dict = {"max_rows_per_file": self._max_rows,
                        "mode": "append" if self._mode == SaveMode.APPEND else "overwrite"}
        if self._data_storage_version is not None:
            kwargs["data_storage_version"] = self._data_storage_version
        try:
            reader = pa.RecordBatchReader.from_batches(schema, batches())
            result.fragments = write_fragments(reader, self._uri, schema=schema, storage_options=self._storage_options,
                                               progress=_as_lance_progress(progress), **kwargs)
        except BaseException as exc:
            self._delete_data_files(progress.files)
            if failure and failure[0] is not exc:
                raise failure[0] from None
            raise
        for fragment in result.fragments:  # Lance does not report a task's last file to the hook
            for data_file in fragment.files:
                if data_file.path not in progress.files:
                    progress.complete_file(data_file.path)
        result.schema = schema
        return result

    def _align(self, block: pa.Table, schema: pa.Schema) -> pa.Table:
        """``block`` with exactly ``schema``'s columns in order: an append fills the columns the
        data lacks with nulls; extra columns are refused."""
        extra = [n for n in block.column_names if n not in schema.names]
        if extra:
            raise ValueError(f"{WRITER}: the data has columns {extra} that the Lance schema lacks "
                             f"({schema.names}); select the schema's columns before writing")
        missing = [f for f in schema if f.name not in block.column_names]
        if missing and self._mode != SaveMode.APPEND:
            raise ValueError(f"{WRITER}: the data lacks the columns {[f.name for f in missing]} of the schema given")
        for f in missing:
            block = block.append_column(f, pa.nulls(block.num_rows, f.type))
        block = block.select(schema.names)
        if block.schema.equals(schema):
            return block
        try:
            return block.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise ValueError(f"{WRITER}: a block with schema {block.schema} cannot be written as {schema}: {exc}") from exc

    # ---- driver: after the run -----------------------------------------------------------
    def on_write_complete(self, write_result: WriteResult[LanceFragmentsWritten]) -> None:
        import lance

        if self._skip_write:
            return
        results = [r for r in write_result.write_returns if r is not None and r.fragments]
        if not results:
            self._drop_markers()
            return  # nothing written: nothing committed (as Ray)
        fragments = [f for r in results for f in r.fragments]
        try:
            schema = pa.unify_schemas([r.schema for r in results])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"{WRITER}: the write tasks wrote fragments of different schemas: {exc}") from exc
        if self._mode == SaveMode.APPEND:
            op = lance.LanceOperation.Append(fragments)
        else:
            if self._mode in (SaveMode.CREATE, SaveMode.ERROR) and self._open() is not None:
                raise LanceDatasetExistsError(f"{WRITER}: a Lance dataset appeared at {self._uri!r} while writing; "
                                              "nothing was committed")
            op = lance.LanceOperation.Overwrite(schema, fragments)
        lance.LanceDataset.commit(self._uri, op, read_version=self._read_version, storage_options=self._storage_options)
        self._drop_markers()

    def on_write_failed(self, error: BaseException) -> None:
        fs, root = self._filesystem()
        try:
            marked = [posixpath.basename(i.path) for i in fs.get_file_info(_selector(self._marker_dir()))]
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the write's own error
            logger.warning("%s: could not list this write's markers under %s: %s", WRITER, self._uri, exc)
            marked = []
        self._delete_data_files(marked)
        self._drop_markers()
        if self._created_dir and self._root is not None and not os.path.isdir(os.path.join(self._root, "_versions")):
            import shutil

            shutil.rmtree(self._root, ignore_errors=True)  # a dataset directory only this write made


def _selector(directory: str) -> Any:
    import pyarrow.fs as pafs

    return pafs.FileSelector(directory, recursive=False, allow_not_found=True)


def _chain(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    yield first
    yield from rest


def _as_lance_progress(progress: _Progress) -> Any:
    from lance.progress import FragmentWriteProgress

    class Progress(FragmentWriteProgress):
        def begin(self, fragment: Any, **kwargs: Any) -> None:
            progress.begin(fragment, **kwargs)

        def complete(self, fragment: Any, **kwargs: Any) -> None:
            progress.complete(fragment, **kwargs)

    return Progress()


def _check_mode(mode: Any) -> SaveMode:
    valid = "'create' (or 'error'), 'append', 'overwrite' and 'ignore'"
    if isinstance(mode, SaveMode):
        resolved = mode
    elif isinstance(mode, str) and mode in SaveMode._value2member_map_:
        resolved = SaveMode(mode)
    else:
        raise ValueError(f"{WRITER}: mode must be one of {valid} or a streamscope.SaveMode, got {mode!r}")
    if resolved not in _MODES:
        raise ValueError(f"{WRITER}: mode={resolved.value!r} is not supported for Lance datasets; use one of {valid}")
    return resolved


def _local_dir(uri: str) -> Optional[str]:
    if "://" not in uri:
        return os.path.abspath(uri)
    parsed = urllib.parse.urlparse(uri)
    return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else None
