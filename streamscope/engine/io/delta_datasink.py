"""Delta Lake writes in two phases: tasks write Parquet data files into the table's directory,
the driver commits them in one Delta transaction.

Why this split: a Delta table is whatever its log says, so data files are invisible to every
reader until a commit lists them. Each task writes its blocks as Parquet files (Hive
``col=value/`` directories for ``partition_by``; partition columns live in the log, not in the
files, as the Delta protocol has it) and returns their add actions, with row counts and min/max
statistics so readers can skip files. ``on_write_complete`` commits them all at once through
deltalake (``create_table_with_add_actions`` for a new table, ``create_write_transaction`` for an
existing one); ``on_write_failed`` deletes every file of this write (found by the write's id in
their names, so files of a task that died before reporting go too), so a failed write leaves the
table at the version it had and no stray files.

Modes: ``append`` (default) adds to the table, creating it if needed; ``overwrite`` replaces the
table's files (and schema) in one commit, older versions stay readable by time travel; ``error`` /
``create`` refuse an existing table and ``ignore`` skips the write if there is one (before any
task runs). ``schema_mode`` says what an append does with a column the table lacks: ``merge``
adds it (nullable) before the data commit, ``error`` refuses the write.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import posixpath
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.retry import call_with_retry
from streamscope.engine.io.save_mode import SaveMode

logger = logging.getLogger(__name__)

WRITER = "write_delta"
_MODES = {SaveMode.APPEND, SaveMode.OVERWRITE, SaveMode.ERROR, SaveMode.CREATE, SaveMode.IGNORE}
_SCHEMA_MODES = ("merge", "error")
_STRING_STATS_MAX = 32  # longer strings get no min/max (readers may truncate them)
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_FILE_BYTES = 128 << 20  # a task's blocks are gathered into files of about this many bytes


class DeltaTableExistsError(FileExistsError, ValueError):
    """``write_delta(mode="error")`` found a Delta table at its path (a ValueError, as Ray raises
    for argument errors, and a FileExistsError, which it is)."""


@dataclass
class DeltaFilesWritten:
    """One task's ``write`` return: the add actions (as dicts) of the files it wrote and the
    schema of each block (with partition columns)."""

    actions: list[dict] = field(default_factory=list)
    schemas: list[pa.Schema] = field(default_factory=list)


class DeltaDatasink(Datasink[DeltaFilesWritten]):
    """Writes a dataset into a Delta table (see the module docstring)."""

    def __init__(self, path: str, *, mode: Any = SaveMode.APPEND, partition_by: Optional[Sequence[str]] = None,
                 storage_options: Optional[dict] = None, schema_mode: str = "merge", filesystem: Any = None,
                 name: Optional[str] = None, description: Optional[str] = None):
        self._mode = _check_mode(mode)
        if schema_mode not in _SCHEMA_MODES:
            raise ValueError(f"{WRITER}: schema_mode must be one of {list(_SCHEMA_MODES)}, got {schema_mode!r}")
        if partition_by is not None and (isinstance(partition_by, str)
                                         or not all(isinstance(c, str) for c in partition_by)):
            raise TypeError(f"{WRITER}: partition_by must be a list of column names, got {partition_by!r}")
        if partition_by is not None and len(set(partition_by)) != len(partition_by):
            raise ValueError(f"{WRITER}: partition_by names a column twice: {list(partition_by)}")
        for label, value in (("name", name), ("description", description)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{WRITER}: {label} must be a str or None, got {type(value).__name__}")
        self._path = path.rstrip("/") or "/"
        self._partition_by = list(partition_by) if partition_by else []
        self._storage_options = dict(storage_options) if storage_options else None
        self._schema_mode = schema_mode
        self._name, self._description = name, description
        self._fs_kind, self._root, self._user_fs = _writer_filesystem(self._path, filesystem)
        self._write_uuid = uuid.uuid4().hex
        self._skip_write = False
        self._table_schema: Optional[pa.Schema] = None  # an existing table's, for appends
        self._plan_schema: Optional[pa.Schema] = None
        self._created_root = False
        self._start_version: Optional[int] = None  # the table's version when the write started
        self._fs: Any = None

    def get_name(self) -> str:
        return "WriteDelta"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fs"] = None
        return state

    def arrow_filesystem(self) -> Any:
        if self._fs is None:
            import pyarrow.fs as pafs

            if self._fs_kind == "user":
                self._fs = self._user_fs
            elif self._fs_kind == "local":
                self._fs = pafs.LocalFileSystem()
            else:
                from deltalake.fs import DeltaStorageHandler

                self._fs = pafs.PyFileSystem(DeltaStorageHandler(self._path, self._storage_options))
        return self._fs

    def _full(self, rel: str) -> str:
        return posixpath.join(self._root, rel) if self._root else rel

    # ---- driver: before the run ----------------------------------------------------------
    def _table_exists(self) -> bool:
        from deltalake import DeltaTable

        return call_with_retry(lambda: DeltaTable.is_deltatable(self._path, storage_options=self._storage_options),
                               f"checking for a Delta table at {self._path}")

    def _open(self) -> Any:
        from deltalake import DeltaTable

        return call_with_retry(lambda: DeltaTable(self._path, storage_options=self._storage_options),
                               f"opening the Delta table at {self._path}")

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        self._plan_schema = schema
        if schema is not None:
            _check_delta_types(schema)
            _check_partition_columns(self._partition_by, schema.names)
        if not self._table_exists():
            if self._fs_kind == "local":
                self._created_root = not os.path.exists(self._root)
            return
        if self._mode in (SaveMode.ERROR, SaveMode.CREATE):
            raise DeltaTableExistsError(
                f"{WRITER}: a Delta table already exists at {self._path!r} (mode={self._mode.value!r}); pass "
                "mode='append' to add to it, 'overwrite' to replace it, or 'ignore' to skip the write")
        if self._mode == SaveMode.IGNORE:
            logger.warning("%s: [SaveMode=ignore] a Delta table exists at %s; nothing written", WRITER, self._path)
            self._skip_write = True
            return
        dt = self._open()
        self._start_version = dt.version()
        existing = list(dt.metadata().partition_columns)
        if not self._partition_by:
            self._partition_by = existing
        elif self._partition_by != existing:
            raise ValueError(f"{WRITER}: the Delta table at {self._path!r} is partitioned by {existing}, but "
                             f"partition_by={self._partition_by} was given; pass the same columns in the same "
                             "order, or leave partition_by out to use the table's")
        if schema is not None:
            _check_partition_columns(self._partition_by, schema.names)
        if self._mode == SaveMode.APPEND:
            self._table_schema = pa.schema(dt.schema().to_arrow()).remove_metadata()
            if schema is not None:
                self._check_against_table(schema)  # fail before any file is written

    def _check_against_table(self, schema: pa.Schema) -> list[pa.Field]:
        """The fields of ``schema`` an append adds to the table; types must be compatible and
        ``schema_mode="error"`` refuses new fields."""
        table = self._table_schema
        assert table is not None
        added = []
        for f in schema:
            if f.name not in table.names:
                added.append(f.with_nullable(True))
                continue
            target = table.field(f.name).type
            if f.type != target and not _castable(f.type, target):
                raise ValueError(f"{WRITER}: column {f.name!r} is {f.type} in the data but {target} in the Delta "
                                 f"table at {self._path!r}; cast it first (schema evolution only adds columns)")
        if added and self._schema_mode == "error":
            raise ValueError(f"{WRITER}: columns {[f.name for f in added]} are not in the Delta table at "
                             f"{self._path!r} and schema_mode='error'; pass schema_mode='merge' (the default) to "
                             "add them, or select the table's columns before writing")
        return added

    # ---- workers -------------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> DeltaFilesWritten:
        result = DeltaFilesWritten()
        if self._skip_write:
            return result
        written: list[str] = []
        task = getattr(ctx, "task_idx", 0) or 0
        try:
            pending: list[pa.Table] = []
            size = 0
            for block in itertools.chain(blocks, [None]):  # None: flush what is left
                if block is not None:
                    if block.num_rows == 0:
                        continue
                    block = self._conform(block)
                    result.schemas.append(block.schema)
                    pending.append(block)
                    size += block.nbytes
                if pending and (block is None or size >= _FILE_BYTES):
                    table = pending[0] if len(pending) == 1 else pa.concat_tables(pending, promote_options="permissive")
                    pending, size = [], 0
                    for values, part in self._partitions(table):
                        rel = self._file_name(task, len(written), values)
                        written.append(rel)
                        result.actions.append(self._write_file(rel, part, values))
        except BaseException:
            self._delete(written)  # this task's files; the driver deletes the others of the write
            raise
        return result

    def _conform(self, block: pa.Table) -> pa.Table:
        _check_partition_columns(self._partition_by, block.column_names)
        table = self._table_schema
        if table is None:
            return block
        for i, f in enumerate(block.schema):
            if f.name in table.names:
                target = table.field(f.name)
                if not target.nullable and block.column(i).null_count:
                    raise ValueError(f"{WRITER}: column {f.name!r} has nulls but is NOT NULL in the Delta table "
                                     f"at {self._path!r}")
                if f.type != target.type:
                    try:
                        block = block.set_column(i, f.name, block.column(i).cast(target.type))
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise ValueError(f"{WRITER}: column {f.name!r} ({f.type}) cannot be written as the Delta "
                                         f"table's {target.type}: {exc}") from exc
        return block

    def _partitions(self, block: pa.Table) -> Iterator[tuple[dict, pa.Table]]:
        cols = self._partition_by
        if not cols:
            yield {}, block
            return
        data = block.drop_columns(cols)
        keys = block.select(cols).group_by(cols, use_threads=False).aggregate([])
        for row in keys.to_pylist():
            mask = None
            for c in cols:
                column = block.column(c)
                hit = pc.is_null(column) if row[c] is None else pc.fill_null(
                    pc.equal(column, pa.scalar(row[c], column.type)), False)
                mask = hit if mask is None else pc.and_(mask, hit)
            yield row, data.filter(mask)

    def _file_name(self, task: int, index: int, values: dict) -> str:
        dirs = [f"{urllib.parse.quote(c, safe='')}="
                f"{_NULL_PARTITION if values[c] is None else urllib.parse.quote(_encode(values[c]), safe='')}"
                for c in self._partition_by]
        return posixpath.join(*dirs, f"part-{task:05d}-{self._write_uuid}-{index:05d}.parquet")

    def _write_file(self, rel: str, table: pa.Table, values: dict) -> dict:
        import pyarrow.parquet as pq

        fs = self.arrow_filesystem()
        path = self._full(rel)
        parent = posixpath.dirname(path)
        if parent and self._fs_kind != "delta":
            fs.create_dir(parent, recursive=True)
        call_with_retry(lambda: pq.write_table(table, path, filesystem=fs), f"writing {path}")
        size = fs.get_file_info(path).size
        return {"path": rel, "size": int(size),
                "partition_values": {c: None if values[c] is None else _encode(values[c]) for c in self._partition_by},
                "modification_time": int(time.time() * 1000), "data_change": True, "stats": _stats(table)}

    def _delete(self, rels: Iterable[str]) -> None:
        fs = self.arrow_filesystem()
        for rel in rels:
            try:
                fs.delete_file(self._full(rel))
            except (FileNotFoundError, OSError):
                pass

    # ---- driver: after the run -----------------------------------------------------------
    def on_write_complete(self, write_result: WriteResult[DeltaFilesWritten]) -> None:
        from deltalake import Schema as DeltaSchema
        from deltalake.transaction import AddAction, create_table_with_add_actions

        if self._skip_write:
            return
        results = [r for r in write_result.write_returns if r is not None]
        actions = [AddAction(**a) for r in results for a in r.actions]
        schemas = [s for r in results for s in r.schemas]
        exists = self._table_exists()
        if not actions and exists and self._mode == SaveMode.APPEND:
            return  # nothing to add (as Ray)
        schema = _unify(schemas) if schemas else self._plan_schema
        dt = self._open() if exists else None
        if schema is None and dt is not None and self._mode == SaveMode.OVERWRITE:
            schema = pa.schema(dt.schema().to_arrow())  # an empty overwrite empties the table
        if schema is None:
            raise ValueError(f"{WRITER}: the dataset produced no rows and its schema is unknown, so no Delta table "
                             f"can be created at {self._path!r}; give the dataset a schema (e.g. from_arrow of an "
                             "empty table)")
        partition_by = self._partition_by or None
        if dt is None:
            call_with_retry(lambda: create_table_with_add_actions(
                self._path, DeltaSchema.from_arrow(schema), actions, mode="error", partition_by=partition_by,
                name=self._name, description=self._description, storage_options=self._storage_options),
                f"creating the Delta table at {self._path}")
            return
        if self._mode == SaveMode.APPEND:
            self._table_schema = pa.schema(dt.schema().to_arrow()).remove_metadata()
            added = self._check_against_table(schema)
            if added:
                dt.alter.add_columns(DeltaSchema.from_arrow(pa.schema(added)).fields)
                dt = self._open()
            schema = pa.schema(dt.schema().to_arrow())
        mode = "overwrite" if self._mode == SaveMode.OVERWRITE else "append"
        dt.create_write_transaction(actions, mode, schema, partition_by=partition_by)

    def on_write_failed(self, error: BaseException) -> None:
        """Delete every data file of this write (by the write id in its name) and the partition
        directories that held only them; a new table's directory goes too if nothing is left."""
        import pyarrow.fs as pafs

        if self._committed_anyway():
            logger.warning("%s: the write failed after its commit reached the Delta table at %s; its files are "
                           "kept (the table references them)", WRITER, self._path)
            return
        fs = self.arrow_filesystem()
        try:
            infos = fs.get_file_info(pafs.FileSelector(self._root or "", recursive=True, allow_not_found=True))
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the write's own error
            logger.warning("%s: could not list %s to remove this write's files: %s", WRITER, self._path, exc)
            return
        mine = [i.path for i in infos if i.type == pafs.FileType.File and self._write_uuid in posixpath.basename(i.path)
                and "/_delta_log/" not in f"/{i.path}"]
        for path in mine:
            try:
                fs.delete_file(path)
            except (FileNotFoundError, OSError):
                pass
        parents = sorted({posixpath.dirname(p) for p in mine}, key=lambda d: d.count("/"), reverse=True)
        for d in parents:
            self._remove_empty_dirs_up_to_root(fs, d)
        if self._created_root and self._fs_kind == "local":
            try:
                os.rmdir(self._root)  # only if empty: a table this write would have created
            except OSError:
                pass

    def _committed_anyway(self) -> bool:
        """Whether a commit of this write is in the table after all (an error raised after the
        commit, by a post-commit hook): its files must then stay."""
        try:
            if not self._table_exists():
                return False
            dt = self._open()
            if dt.version() == self._start_version:
                return False
            paths = pa.table(dt.get_add_actions(flatten=False)).column("path").to_pylist()
        except Exception:  # noqa: BLE001 - cannot tell: delete, as for any failed write
            return False
        return any(self._write_uuid in urllib.parse.unquote(p) for p in paths)

    def _remove_empty_dirs_up_to_root(self, fs: Any, directory: str) -> None:
        import pyarrow.fs as pafs

        root = (self._root or "").rstrip("/")
        while directory and directory.rstrip("/") != root and directory.startswith(root):
            try:
                if fs.get_file_info(pafs.FileSelector(directory, recursive=False)):
                    return
                fs.delete_dir(directory)
            except (FileNotFoundError, OSError):
                return
            directory = posixpath.dirname(directory)


# ---- helpers ----------------------------------------------------------------------------------
def _check_mode(mode: Any) -> SaveMode:
    valid = "'append', 'overwrite', 'error' (or 'create') and 'ignore'"
    if isinstance(mode, SaveMode):
        resolved = mode
    elif isinstance(mode, str) and mode in SaveMode._value2member_map_:
        resolved = SaveMode(mode)
    else:
        raise ValueError(f"{WRITER}: mode must be one of {valid} or a streamscope.SaveMode, got {mode!r}")
    if resolved not in _MODES:
        raise ValueError(f"{WRITER}: mode={resolved.value!r} is not supported for Delta tables; use one of {valid} "
                         "(merges need deltalake's DeltaTable.merge)")
    return resolved


def _writer_filesystem(path: str, filesystem: Any) -> tuple[str, str, Any]:
    """``(kind, root, user filesystem)``: a given pyarrow filesystem writes under the path less its
    scheme (as Ray's write_delta); local paths use pyarrow's local filesystem; other URIs
    deltalake's object store with ``storage_options`` (paths relative to the table)."""
    import pyarrow.fs as pafs

    if filesystem is not None:
        if not isinstance(filesystem, pafs.FileSystem):
            raise TypeError(f"{WRITER}: filesystem must be a pyarrow.fs.FileSystem, got {type(filesystem).__name__}")
        stripped = path.split("://", 1)[1] if "://" in path else os.path.abspath(path)
        return "user", stripped.rstrip("/"), filesystem
    if "://" not in path:
        return "local", os.path.abspath(path), None
    parsed = urllib.parse.urlparse(path)
    if parsed.scheme == "file":
        return "local", urllib.parse.unquote(parsed.path).rstrip("/") or "/", None
    return "delta", "", None


def _check_partition_columns(partition_by: list[str], names: Sequence[str]) -> None:
    missing = [c for c in partition_by if c not in names]
    if missing:
        raise ValueError(f"{WRITER}: partition columns {missing} are not in the data; its columns are {list(names)}")
    if partition_by and set(partition_by) >= set(names):
        raise ValueError(f"{WRITER}: partition_by={partition_by} names every column; the data files would hold none")


def _check_delta_types(schema: pa.Schema) -> None:
    from deltalake import Schema as DeltaSchema

    for f in schema:
        try:
            DeltaSchema.from_arrow(pa.schema([f]))
        except Exception as exc:  # noqa: BLE001 - deltalake raises several kinds for unsupported types
            raise ValueError(f"{WRITER}: column {f.name!r} has type {f.type}, which a Delta table cannot hold "
                             f"({exc}); cast it (e.g. Dataset.map_batches) before writing") from exc


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether values of ``source`` are of a kind ``target`` holds (ints as ints, numbers as
    floats, string and large_string, ...); values that do not fit fail the write's cast."""
    t = pa.types
    if t.is_integer(source) and t.is_integer(target):
        return True
    if (t.is_integer(source) or t.is_floating(source)) and t.is_floating(target):
        return True
    if t.is_string(source) or t.is_large_string(source):
        return t.is_string(target) or t.is_large_string(target)
    if t.is_binary(source) or t.is_large_binary(source):
        return t.is_binary(target) or t.is_large_binary(target)
    if t.is_timestamp(source) and t.is_timestamp(target):
        return True
    if t.is_date(source) and t.is_date(target):
        return True
    if t.is_null(source):
        return True
    return False


def _unify(schemas: list[pa.Schema]) -> pa.Schema:
    try:
        return pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{WRITER}: the dataset's blocks have schemas that do not agree: {exc}") from exc


def _encode(value: Any) -> str:
    from deltalake._util import encode_partition_value

    return encode_partition_value(value)


def _stats(table: pa.Table) -> str:
    """The add action's statistics: row count, per-column null counts and, where exact, min/max
    (numbers, short strings, dates; Delta readers skip files by them)."""
    stats: dict[str, Any] = {"numRecords": table.num_rows, "minValues": {}, "maxValues": {}, "nullCount": {}}
    for name, column in zip(table.column_names, table.columns):
        typ = column.type
        if pa.types.is_nested(typ) or isinstance(typ, pa.ExtensionType):
            continue
        stats["nullCount"][name] = column.null_count
        if column.null_count == len(column):
            continue
        if pa.types.is_integer(typ) or pa.types.is_floating(typ):
            if pa.types.is_floating(typ) and pc.any(pc.is_nan(column)).as_py():
                continue
            lo, hi = (v.as_py() for v in pc.min_max(column).values())
            if isinstance(lo, float) and not (math.isfinite(lo) and math.isfinite(hi)):
                continue
        elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
            lo, hi = (v.as_py() for v in pc.min_max(column).values())
            if len(lo) > _STRING_STATS_MAX or len(hi) > _STRING_STATS_MAX:
                continue
        elif pa.types.is_date32(typ) or pa.types.is_date64(typ):
            lo, hi = (v.as_py().isoformat() for v in pc.min_max(column).values())
        else:
            continue
        stats["minValues"][name], stats["maxValues"][name] = lo, hi
    return json.dumps(stats)
