"""``write_iceberg``: tasks write Parquet data files into the table, the driver commits one snapshot.

Why two phases: a data file is invisible until a snapshot references it. Each write task turns
its blocks into Parquet files under the table's data location with PyIceberg's writer
(``_dataframe_to_data_files``: the table's partition spec, field ids, column statistics) and
returns their ``DataFile`` entries; once every task succeeded, ``on_write_complete`` commits them
in one transaction producing one snapshot (with ``snapshot_properties`` in its summary):

* ``append``: a fast append of the new files;
* ``overwrite``: an overwrite snapshot that drops the files holding rows matching
  ``overwrite_filter`` (all of them without a filter), adds back their other rows as new files
  and adds the new files;
* ``upsert``: the same, dropping the rows whose ``join_cols`` values the data brings (copy on
  write: matched rows take every column from the data, new keys are inserted).

New columns of the data are added to the table (and narrower types widened, as PyIceberg's
``union_by_name`` does) in the same transaction, when the data's schema is known before the write
starts. A failure anywhere (a task, the commit) calls ``on_write_failed``, which deletes every
data file of the write, found by the write's uuid in their names, so the table and its storage
are as before. Required columns stay required: a null in one fails the task, naming the column.
"""

from __future__ import annotations

import contextlib
import io as _io
import itertools
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import pyarrow as pa

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.iceberg_expressions import as_iceberg_filter, bind_check
from streamscope.engine.io.iceberg_rewrites import (
    Replacement, kept_writer, replace_keys, replace_matching, unique_non_null_keys,
)
from streamscope.engine.io.iceberg_tables import load_table, open_catalog, require_pyiceberg, resolve_catalog
from streamscope.engine.io.retry import call_with_retry
from streamscope.engine.io.save_mode import SaveMode

logger = logging.getLogger(__name__)

CONNECTOR = "write_iceberg"
MODES = (SaveMode.APPEND, SaveMode.OVERWRITE, SaveMode.UPSERT)
UPSERT_KWARGS = ("join_cols", "case_sensitive", "branch")
OVERWRITE_KWARGS = ("case_sensitive", "branch")
_DRIVER_ONLY = ("_catalog", "_table", "_txn")


@dataclass
class IcebergWriteReturn:
    """One write task's result: the data files it wrote and, for an upsert, its key columns."""

    data_files: list
    upsert_keys: Optional[pa.Table] = None


class IcebergDatasink(Datasink[IcebergWriteReturn]):
    """Writes a dataset into an existing Iceberg table (see the module docstring)."""

    def __init__(self, table_identifier: str, *, catalog_kwargs: Optional[dict] = None, catalog: Any = None,
                 snapshot_properties: Optional[dict] = None, mode: Any = SaveMode.APPEND,
                 overwrite_filter: Any = None, upsert_kwargs: Optional[dict] = None,
                 overwrite_kwargs: Optional[dict] = None):
        require_pyiceberg(CONNECTOR)
        identifier, kwargs, catalog_obj = resolve_catalog(CONNECTOR, table_identifier, catalog_kwargs, catalog,
                                                          for_write=True)
        self._identifier = identifier
        self._catalog_kwargs = kwargs
        self._catalog = catalog_obj
        self._mode = _check_mode(mode)
        self._snapshot_properties = _check_properties(snapshot_properties)
        self._upsert_kwargs = _check_kwargs("upsert_kwargs", upsert_kwargs, UPSERT_KWARGS, SaveMode.UPSERT, self._mode)
        self._overwrite_kwargs = _check_kwargs("overwrite_kwargs", overwrite_kwargs, OVERWRITE_KWARGS,
                                               SaveMode.OVERWRITE, self._mode)
        if overwrite_filter is not None and self._mode != SaveMode.OVERWRITE:
            raise ValueError(f"{CONNECTOR}: overwrite_filter is for mode=SaveMode.OVERWRITE, but mode is "
                             f"{self._mode.value!r}")
        self._overwrite_filter = as_iceberg_filter(overwrite_filter, CONNECTOR, "overwrite_filter", identifier)
        join_cols = self._upsert_kwargs.get("join_cols")
        if join_cols is not None and (isinstance(join_cols, str) or not all(isinstance(c, str) for c in join_cols)):
            raise TypeError(f"{CONNECTOR}: upsert_kwargs['join_cols'] must be a list of column names, "
                            f"got {join_cols!r}")
        self._write_uuid = uuid.uuid4()
        self._join_cols: list[str] = []
        self._io: Any = None
        self._metadata: Any = None  # the table's metadata the files are written for (schema changes staged)
        self._table: Any = None
        self._txn: Any = None
        self._committing: Optional[int] = None  # the snapshot id being committed

    def get_name(self) -> str:
        return "Iceberg"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for key in _DRIVER_ONLY:  # catalogs hold connections; tasks need only the FileIO and metadata
            state[key] = None
        return state

    # ---- driver: before the tasks -------------------------------------------------------------
    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        catalog = open_catalog(CONNECTOR, self._identifier, self._catalog_kwargs, self._catalog)
        self._catalog = catalog
        self._table = load_table(CONNECTOR, catalog, self._identifier)
        self._txn = self._table.transaction()
        schema = getattr(schema, "base_schema", schema)  # a streamscope Schema wraps the pyarrow one
        if isinstance(schema, pa.Schema):
            self._fit_schema(schema)
        else:
            schema = None
        metadata = self._txn.table_metadata
        self._metadata = metadata.model_copy(update={"snapshots": [], "snapshot_log": [], "metadata_log": [],
                                                     "refs": {}, "current_snapshot_id": None})
        self._io = self._table.io
        table_schema = metadata.schema()
        if self._mode == SaveMode.UPSERT:
            self._join_cols = self._resolve_join_cols(table_schema, schema)
        if self._mode == SaveMode.OVERWRITE:
            bind_check(table_schema, self._overwrite_filter, self._overwrite_kwargs.get("case_sensitive", True),
                       CONNECTOR, "overwrite_filter", self._identifier)

    def _fit_schema(self, schema: pa.Schema) -> None:
        """Stage the schema change the data needs (new columns, widened types) in the commit's
        transaction; a column that cannot take the data's type fails now."""
        table_schema = self._txn.table_metadata.schema()
        if _mismatch(table_schema, schema, self._txn.table_metadata.format_version) is None:
            return
        required = {f.name for f in table_schema.fields if f.required}
        as_table = pa.schema([f.with_nullable(False) if f.name in required else f for f in schema])
        try:
            with self._txn.update_schema() as update:
                update.union_by_name(as_table)
        except Exception as exc:
            raise DataSourceError(f"{CONNECTOR}: the data's columns do not fit table {self._identifier!r}: "
                                  f"{type(exc).__name__}: {_short(exc)}") from exc
        problem = _mismatch(self._txn.table_metadata.schema(), schema, self._txn.table_metadata.format_version)
        if problem is not None:
            raise DataSourceError(f"{CONNECTOR}: the data does not fit table {self._identifier!r}: {problem}")

    def _resolve_join_cols(self, table_schema: Any, schema: Optional[pa.Schema]) -> list[str]:
        cols = list(self._upsert_kwargs.get("join_cols") or [])
        if not cols:  # as Ray: the table's identifier fields
            cols = [table_schema.find_column_name(i) for i in table_schema.identifier_field_ids]
            if not cols:
                raise ValueError(f"{CONNECTOR}: mode=upsert needs upsert_kwargs={{'join_cols': [...]}}: table "
                                 f"{self._identifier!r} has no identifier fields")
        names = [f.name for f in table_schema.fields]
        if not self._upsert_kwargs.get("case_sensitive", True):
            lower = {n.lower(): n for n in names}
            cols = [lower.get(c.lower(), c) for c in cols]
        missing = [c for c in cols if c not in names or (schema is not None and c not in schema.names)]
        if missing:
            where = f"table {self._identifier!r} ({names})" if any(c not in names for c in missing) else "the data"
            raise ValueError(f"{CONNECTOR}: upsert join_cols {missing} are not columns of {where}")
        return cols

    # ---- worker ---------------------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> IcebergWriteReturn:
        from pyiceberg.io.pyarrow import _dataframe_to_data_files

        task_idx = getattr(ctx, "task_idx", 0) or 0
        files: list = []
        keys: list = []
        for i, block in enumerate(blocks):
            if block.num_rows == 0:
                continue
            block = self._fit_block(block)
            if self._join_cols:
                keys.append(block.select(self._join_cols))
            # names 00000-<n>-<write uuid>.parquet with n fixed by (task, block): a retried write
            # rewrites the same files, and a failed write's cleanup finds them by the uuid
            first = (task_idx << 32) + (i << 16)

            def write_block(block: pa.Table = block, first: int = first) -> list:
                return list(_dataframe_to_data_files(table_metadata=self._metadata, df=block, io=self._io,
                                                     write_uuid=self._write_uuid, counter=itertools.count(first)))

            try:
                files.extend(call_with_retry(write_block, f"writing data files of Iceberg table {self._identifier!r}"))
            except Exception as exc:
                raise DataSourceError(f"{CONNECTOR}: cannot write data files of table {self._identifier!r}: "
                                      f"{type(exc).__name__}: {_short(exc)}") from exc
        upsert_keys = pa.concat_tables(keys, promote_options="permissive") if keys else None
        return IcebergWriteReturn(data_files=files, upsert_keys=upsert_keys)

    def _fit_block(self, block: pa.Table) -> pa.Table:
        schema = self._metadata.schema()
        problem = _mismatch(schema, block.schema, self._metadata.format_version)
        if problem is not None:
            hint = ""
            if any(name not in [f.name for f in schema.fields] for name in block.column_names):
                hint = ("; new columns are added to the table only when the dataset's schema is known before the "
                        "write (not after a map_batches or map); add them with table.update_schema() first, or "
                        "select the table's columns")
            raise DataSourceError(f"{CONNECTOR}: the data does not fit table {self._identifier!r}: {problem}{hint}")
        missing = [c for c in self._join_cols if c not in block.column_names]
        if missing:
            raise DataSourceError(f"{CONNECTOR}: the data has no upsert join column(s) {missing} "
                                  f"(table {self._identifier!r})")
        for f in schema.fields:
            if f.required and f.name in block.column_names and block.column(f.name).null_count:
                raise DataSourceError(f"{CONNECTOR}: column {f.name!r} of table {self._identifier!r} is required, "
                                      f"but the data has {block.column(f.name).null_count} null(s) in it")
        return block

    # ---- driver: after the tasks ----------------------------------------------------------------
    def on_write_complete(self, write_result: WriteResult) -> None:
        returns = [r for r in write_result.write_returns if r is not None]
        files = [f for r in returns for f in r.data_files]
        if not files:
            return  # nothing was written; as Ray, no snapshot (an overwrite with no rows deletes nothing)
        self._table.refresh()  # plan replacements against the latest snapshot; staged changes stay
        txn = self._txn
        if self._mode == SaveMode.APPEND:
            make = getattr(txn, "_append_snapshot_producer", None)  # a merge append when the table asks for one
            producer = (make(self._snapshot_properties) if make is not None
                        else txn.update_snapshot(snapshot_properties=self._snapshot_properties).fast_append())
            with producer:
                for data_file in files:
                    producer.append_data_file(data_file)
        else:
            replacement = self._replacement(txn, returns)
            branch = self._branch()
            producer = txn.update_snapshot(snapshot_properties=self._snapshot_properties, branch=branch).overwrite()
            with producer:
                if self._mode == SaveMode.OVERWRITE:  # for PyIceberg's check of concurrent commits
                    producer.delete_by_predicate(self._overwrite_filter, self._case_sensitive())
                for data_file in replacement.dropped:
                    producer.delete_data_file(data_file)
                for data_file in replacement.kept_files + files:
                    producer.append_data_file(data_file)
        self._committing = producer.snapshot_id
        try:
            txn.commit_transaction()
        except Exception as exc:
            raise DataSourceError(f"{CONNECTOR}: committing {len(files)} data file(s) to table "
                                  f"{self._identifier!r} failed: {type(exc).__name__}: {_short(exc)}") from exc

    def _case_sensitive(self) -> bool:
        kwargs = self._upsert_kwargs if self._mode == SaveMode.UPSERT else self._overwrite_kwargs
        return bool(kwargs.get("case_sensitive", True))

    def _branch(self) -> Optional[str]:
        kwargs = self._upsert_kwargs if self._mode == SaveMode.UPSERT else self._overwrite_kwargs
        return kwargs.get("branch", "main")

    def _replacement(self, txn: Any, returns: list) -> Any:
        write_kept = kept_writer(txn.table_metadata, self._io, self._write_uuid, first_id=1 << 62)
        if self._mode == SaveMode.OVERWRITE:
            return replace_matching(txn, self._io, self._overwrite_filter, self._case_sensitive(), self._branch(),
                                    write_kept)
        keys = unique_non_null_keys([r.upsert_keys for r in returns if r.upsert_keys is not None], self._join_cols)
        if keys is None:
            return Replacement()  # no key to match: a plain insert
        return replace_keys(txn, self._io, keys, self._join_cols, self._case_sensitive(), self._branch(),
                            write_kept)

    def on_write_failed(self, error: BaseException) -> None:
        """Delete every data file this write made, unless its snapshot did land (a commit whose
        answer was lost): then the files are the table's."""
        if self._table is None:
            return
        try:
            if self._committing is not None:
                self._table.refresh()
                if self._table.metadata.snapshot_by_id(self._committing) is not None:
                    return
            removed = delete_files_of_write(self._io, self._table.location_provider().data_path, str(self._write_uuid))
            logger.info("%s: removed %d data file(s) of the failed write to %r", CONNECTOR, removed, self._identifier)
        except Exception:  # never hide the write's own error behind a cleanup error
            logger.warning("%s: could not remove the data files of the failed write to %r", CONNECTOR,
                           self._identifier, exc_info=True)


def delete_files_of_write(io: Any, data_path: str, write_uuid: str) -> int:
    """Delete the files under ``data_path`` whose names hold ``write_uuid``; how many were."""
    fs, root = _filesystem(io, data_path)
    from pyarrow.fs import FileSelector, FileType

    count = 0
    for info in fs.get_file_info(FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type == FileType.File and write_uuid in info.base_name:
            fs.delete_file(info.path)
            count += 1
    return count


def _filesystem(io: Any, location: str) -> tuple[Any, str]:
    """A pyarrow filesystem for ``location`` with the FileIO's settings, and the path in it."""
    from pyiceberg.io.pyarrow import PyArrowFileIO

    if isinstance(io, PyArrowFileIO):
        scheme, netloc, path = PyArrowFileIO.parse_location(location)
        return io.fs_by_scheme(scheme, netloc), path
    from urllib.parse import urlparse

    import pyarrow.fs as pafs

    parsed = urlparse(location)
    fsspec_fs = io.get_fs(parsed.scheme or "file")  # FsspecFileIO
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs)), (parsed.netloc + parsed.path)


def _mismatch(table_schema: Any, data_schema: pa.Schema, format_version: int) -> Optional[str]:
    """Why data of ``data_schema`` cannot be written to a table of ``table_schema`` (None if it
    can). Nullability is left out (streamscope's columns are all nullable): nulls in a required
    column are found in the rows instead."""
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible

    required = {f.name for f in table_schema.fields if f.required}
    data_schema = pa.schema([f.with_nullable(False) if f.name in required else f for f in data_schema])
    try:
        with contextlib.redirect_stdout(_io.StringIO()):  # PyIceberg prints its comparison table
            _check_pyarrow_schema_compatible(table_schema, data_schema, format_version=format_version)
    except ValueError as exc:
        rows = [" ".join(line.replace("│", " ").replace("❌", "").split()) for line in str(exc).splitlines()
                if "❌" in line]
        return ("table column vs data column: " + "; ".join(rows)) if rows else _short(exc)
    return None


def _check_mode(mode: Any) -> SaveMode:
    valid = ", ".join(repr(m.value) for m in MODES)
    if isinstance(mode, str) and not isinstance(mode, SaveMode) and mode in SaveMode._value2member_map_:
        mode = SaveMode(mode)
    if not isinstance(mode, SaveMode):
        raise ValueError(f"{CONNECTOR}: mode must be one of {valid} or a streamscope.SaveMode, got {mode!r}")
    if mode not in MODES:
        raise ValueError(f"{CONNECTOR}: mode={mode.value!r} is not supported for Iceberg tables (Ray Data fails it "
                         f"after writing the files); use one of {valid}")
    return mode


def _check_properties(properties: Optional[dict]) -> dict:
    if properties is None:
        return {}
    if not isinstance(properties, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in properties.items()):
        raise TypeError(f"{CONNECTOR}: snapshot_properties must be a dict of str to str, got {properties!r}")
    return dict(properties)


def _check_kwargs(name: str, kwargs: Optional[dict], allowed: tuple, for_mode: SaveMode, mode: SaveMode) -> dict:
    if not kwargs:
        return {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"{CONNECTOR}: {name} must be a dict, got {type(kwargs).__name__}")
    if mode != for_mode:
        raise ValueError(f"{CONNECTOR}: {name} is for mode=SaveMode.{for_mode.name}, but mode is {mode.value!r}")
    if "overwrite_filter" in kwargs or "delete_filter" in kwargs:
        raise ValueError(f"{CONNECTOR}: give the filter as write_iceberg(overwrite_filter=...), not in {name}")
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"{CONNECTOR}: {name} {unknown} are not supported; it takes {list(allowed)} (matched rows "
                         "always take every column of the data and new keys are always inserted, as in Ray)"
                         if name == "upsert_kwargs" else
                         f"{CONNECTOR}: {name} {unknown} are not supported; it takes {list(allowed)}")
    return dict(kwargs)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:400] if text else type(exc).__name__
