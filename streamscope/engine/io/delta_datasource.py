"""Delta Lake tables read through their transaction log, one task per data file (or group of
small files).

Why the log and not a directory listing: a Delta table's directory holds files of every version
(removed ones until vacuumed, uncommitted ones of failed writers); only the log says which
Parquet files make up the version asked for (``version=`` time travel), each file's partition
values (not stored in the files), its row count and min/max statistics, and which rows of a file
are deleted (deletion vectors). ``deltalake`` reads the log on the driver
(``DeltaTable.get_add_actions``, ``deletion_vectors``, ``file_uris``); the tasks read the Parquet
files with pyarrow, scanned with the table's schema, so files written before a column was added
yield nulls for it.

Pushdowns: ``columns`` (and a later ``select_columns``) narrow the scan; a filter's conjuncts over
partition columns only drop whole files before any task runs (exactly: every row of a kept file
passes them); the other conjuncts go to deltalake's file pruning, which drops files whose log
statistics rule them out, and then into each file's scan (row groups skipped by the Parquet
statistics) or, when they use partition columns or ``path``, onto the rows once those columns are
added. ``pushdown_summary()`` (shown by ``explain()``) says what each step dropped.

Deletion vectors are honoured: deltalake decodes them into a keep-mask per file and the task
drops the deleted row positions before any filter runs. Table features whose rows cannot be read
correctly from the Parquet files alone (column mapping, and reader features unknown here) are
refused with the feature named.
"""

from __future__ import annotations

import copy
import functools
import os
import posixpath
import urllib.parse
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_partitions import conjuncts, join_and
from streamscope.engine.io.file_shuffle import check_shuffle, shuffled_order
from streamscope.engine.io.retry import iterate_with_retry
from streamscope.engine.io.sql_predicate import join_sql, split_sql
from streamscope.engine.io.table_scan import check_columns, coalesce_batches, constant_column, group_units

READER = "read_delta"
OP = "ReadDelta"

SUPPORTED_READER_FEATURES = frozenset({"deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck",
                                       "typeWidening", "typeWidening-preview", "columnMapping"})
"""Reader features whose tables read correctly here (``columnMapping`` only while its mode is
``none``); any other is refused by name."""

SCANNER_ARGS = ("batch_size", "batch_readahead", "fragment_readahead", "fragment_scan_options", "use_threads",
                "cache_metadata")
"""``pyarrow.dataset.Scanner.from_fragment`` arguments read_delta passes on (Ray's ``**arrow_parquet_args``)."""


@dataclass(frozen=True)
class DeltaFile:
    """One data file of the version read, as the log describes it."""

    rel_path: str                 # on-disk path relative to the table root (decoded)
    shown: str                    # absolute path or URI, as users see it (``path`` column, errors)
    size: int
    num_records: Optional[int]    # rows in the Parquet file (before deletion vectors), when the log says
    partition: tuple              # partition values, in the table's partition column order
    deleted: Optional[np.ndarray] = None  # row positions a deletion vector removes

    @property
    def live_rows(self) -> Optional[int]:
        if self.num_records is None:
            return None
        return self.num_records - (0 if self.deleted is None else len(self.deleted))


def _read_files(scan: "DeltaScan", files: tuple[DeltaFile, ...], limit: Optional[int]) -> Iterator[pa.Table]:
    return scan.read(files, limit)


class DeltaScan:
    """What every task of one read shares (picklable; no file list): where the table is, how to
    open its files, the schema, the projection and the filters."""

    def __init__(self, *, table: str, root: str, fs_kind: str, table_uri: str, storage_options: Optional[dict],
                 filesystem: Any, data_schema: pa.Schema, partition_schema: pa.Schema, output_schema: pa.Schema,
                 include_paths: bool, scan_args: dict):
        self.table = table
        self.root = root
        self.fs_kind = fs_kind
        self.table_uri = table_uri
        self.storage_options = storage_options
        self.filesystem = filesystem if fs_kind == "user" else None
        self.data_schema = data_schema
        self.partition_schema = partition_schema
        self.output_schema = output_schema
        self.include_paths = include_paths
        self.scan_args = scan_args
        self.columns: Optional[list[str]] = None
        self.scan_predicate: Optional[Expr] = None
        self.row_predicate: Optional[Expr] = None
        self._fs: Any = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fs"] = None
        return state

    def arrow_filesystem(self) -> Any:
        if self._fs is None:
            import pyarrow.fs as pafs

            if self.fs_kind == "user":
                self._fs = self.filesystem
            elif self.fs_kind == "local":
                self._fs = pafs.LocalFileSystem()
            else:  # deltalake's object store, with the table's storage_options (paths relative to the table)
                from deltalake.fs import DeltaStorageHandler

                self._fs = pafs.PyFileSystem(DeltaStorageHandler(self.table_uri, self.storage_options))
        return self._fs

    def file_columns(self) -> list[str]:
        """Columns read from the files: the projection and what the filters need, less partition
        and ``path`` columns (all data columns without a projection)."""
        names = self.data_schema.names
        if self.columns is None:
            return list(names)
        wanted = list(self.columns)
        for pred in (self.scan_predicate, self.row_predicate):
            if pred is not None:
                wanted.extend(pred.columns())
        return [c for c in dict.fromkeys(wanted) if c in names]

    def read(self, files: Sequence[DeltaFile], limit: Optional[int]) -> Iterator[pa.Table]:
        remaining = limit
        for f in files:
            if remaining is not None and remaining <= 0:
                return
            try:
                for table in iterate_with_retry(lambda f=f: self._scan_file(f), f"reading {f.shown}"):
                    table = self._finish(table, f)
                    if remaining is not None:
                        table = table.slice(0, remaining)
                        remaining -= table.num_rows
                    yield table
                    if remaining is not None and remaining <= 0:
                        return
            except DataSourceError:
                raise
            except FileNotFoundError as exc:
                raise DataSourceError(f"{OP}: data file {f.shown!r} of the Delta table at {self.table!r} is listed "
                                      f"in the log but missing (vacuumed or deleted by hand?): {exc}") from exc
            except Exception as exc:
                raise DataSourceError(f"{OP}: failed to read data file {f.shown!r} of the Delta table at "
                                      f"{self.table!r} (corrupt or not Parquet?): {type(exc).__name__}: {exc}") from exc

    def _scan_file(self, f: DeltaFile) -> Iterator[pa.Table]:
        import pyarrow.dataset as pads

        path = posixpath.join(self.root, f.rel_path) if self.root else f.rel_path
        fragment = pads.ParquetFileFormat().make_fragment(path, filesystem=self.arrow_filesystem())
        columns = self.file_columns()
        args = dict(self.scan_args)
        if f.deleted is not None:
            # row positions must line up with the deletion vector: no filter before the mask, in order
            args["use_threads"] = False
            scanner = pads.Scanner.from_fragment(fragment, schema=self.data_schema, columns=columns, **args)
            yield from coalesce_batches(self._undeleted(scanner.to_batches(), f.deleted), scanner.projected_schema)
            return
        flt = self.scan_predicate.to_pyarrow() if self.scan_predicate is not None else None
        scanner = pads.Scanner.from_fragment(fragment, schema=self.data_schema, columns=columns, filter=flt, **args)
        yield from coalesce_batches(scanner.to_batches(), scanner.projected_schema)

    def _undeleted(self, batches: Iterator[pa.RecordBatch], deleted: np.ndarray) -> Iterator[pa.RecordBatch]:
        """The batches of a file read in order, less the rows at ``deleted`` positions, then
        filtered by the scan predicate (which could not go into the scan)."""
        offset = 0
        for batch in batches:
            n = batch.num_rows
            lo, hi = np.searchsorted(deleted, [offset, offset + n])
            if hi > lo:
                keep = np.ones(n, dtype=bool)
                keep[deleted[lo:hi] - offset] = False
                batch = batch.filter(pa.array(keep))
            offset += n
            if self.scan_predicate is not None:
                batch = batch.filter(self.scan_predicate.to_pyarrow())
            yield batch

    def _finish(self, table: pa.Table, f: DeltaFile) -> pa.Table:
        """Add partition and ``path`` columns, apply the row filter, put columns in output order."""
        n = table.num_rows
        for field, value in zip(self.partition_schema, f.partition):
            table = table.append_column(field, constant_column(value, field.type, n))
        if self.include_paths:
            table = table.append_column(pa.field("path", pa.string()), constant_column(f.shown, pa.string(), n))
        if self.row_predicate is not None:
            table = self.row_predicate.filter(table)
        names = self.output_schema.names
        return table.select(names).cast(self.output_schema)


class DeltaDatasource(Datasource):
    """The files of one version of a Delta table (see the module docstring)."""

    def __init__(self, path: str, version: Optional[int] = None, *, storage_options: Optional[dict] = None,
                 filesystem: Any = None, columns: Optional[list[str]] = None, shuffle: Any = None,
                 include_paths: bool = False, scan_args: Optional[dict] = None):
        check_shuffle(shuffle, READER)
        unknown = sorted(set(scan_args or {}) - set(SCANNER_ARGS))
        if unknown:
            raise TypeError(f"{READER} got unexpected arguments {unknown}; the pyarrow scan arguments it takes "
                            f"(**arrow_parquet_args) are {list(SCANNER_ARGS)}")
        self._path = path
        self._storage_options = dict(storage_options) if storage_options else None
        self._dt = _open_table(path, version, self._storage_options)
        self._version = self._dt.version()
        _check_features(self._dt, path)
        schema = pa.schema(self._dt.schema().to_arrow()).remove_metadata()
        partition_cols = list(self._dt.metadata().partition_columns)
        self._table_schema = schema
        table_uri = self._dt.table_uri
        local_root = _local_root(table_uri)
        if filesystem is not None:
            fs_kind, root = "user", ""
            filesystem = _arrow_filesystem(filesystem)
        elif local_root is not None:
            fs_kind, root = "local", local_root
        else:
            fs_kind, root = "delta", ""
        self._shown_root = local_root if local_root is not None else table_uri.rstrip("/")
        partition_schema = pa.schema([schema.field(c) for c in partition_cols])
        data_schema = pa.schema([f for f in schema if f.name not in partition_cols])
        self._files = _list_files(self._dt, partition_cols, self._shown_root)
        self._kept: list[int] = list(range(len(self._files)))
        self._shuffle = shuffle
        self._executions = [0]  # shared by pushdown copies: each planned run counts once
        self._include_paths = bool(include_paths)
        full = schema.append(pa.field("path", pa.string())) if self._include_paths else schema
        self._full_schema = full
        self._columns = check_columns(READER, f"the Delta table at {path!r}", columns, full.names)
        self._scan = DeltaScan(table=path, root=root, fs_kind=fs_kind, table_uri=table_uri,
                               storage_options=self._storage_options, filesystem=filesystem, data_schema=data_schema,
                               partition_schema=partition_schema, output_schema=self.schema(),
                               include_paths=self._include_paths, scan_args=dict(scan_args or {}))
        self._scan.columns = self._columns
        self._partition_cols = partition_cols
        self._limit: Optional[int] = None
        self._pruning: list[str] = []

    def get_name(self) -> str:
        return OP

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_dt"] = None  # the log stays on the driver; tasks carry only DeltaScan and their files
        return state

    # ---- metadata ------------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        if self._columns is None:
            return self._full_schema
        return pa.schema([self._full_schema.field(c) for c in self._columns])

    def _kept_files(self) -> list[DeltaFile]:
        return [self._files[i] for i in self._kept]

    def input_files(self) -> list[str]:
        return [f.shown for f in self._kept_files()]

    def _exact(self) -> bool:
        return self._scan.scan_predicate is None and self._scan.row_predicate is None

    def num_rows(self) -> Optional[int]:
        rows = [f.live_rows for f in self._kept_files()]
        if not self._exact() or any(r is None for r in rows):
            return None
        total = sum(rows)  # type: ignore[arg-type]
        return total if self._limit is None else min(total, self._limit)

    def _fraction(self) -> float:
        width = len(self._table_schema) or 1
        return 1.0 if self._columns is None else min(1.0, max(1, len(self._columns)) / width)

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return int(sum(f.size for f in self._kept_files()) * self._fraction())

    # ---- tasks ---------------------------------------------------------------------------
    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        kept = self._kept_files()
        execution = self._executions[0]
        self._executions[0] += 1
        order = [kept[i] for i in shuffled_order(len(kept), self._shuffle, execution)]
        exact = self._exact()
        remaining = self._limit
        fraction = self._fraction()
        tasks = []
        for group in group_units(order, [float(f.size or 1) for f in order], max(1, int(parallelism))):
            if remaining is not None and remaining <= 0 and exact:
                break  # the log's row counts say earlier tasks already cover the limit
            rows_known = [f.live_rows for f in group]
            rows = sum(rows_known) if exact and all(r is not None for r in rows_known) else None  # type: ignore[arg-type]
            task_limit = remaining
            if remaining is not None and rows is not None:
                rows = min(rows, remaining)
                remaining -= rows
            tasks.append(ReadTask(
                functools.partial(_read_files, self._scan, tuple(group), task_limit),
                per_task_row_limit=per_task_row_limit, num_rows=rows,
                size_bytes=int(sum(f.size for f in group) * fraction), input_files=tuple(f.shown for f in group)))
        return tasks

    # ---- pushdowns -----------------------------------------------------------------------
    def _copy(self) -> "DeltaDatasource":
        new = copy.copy(self)
        new._scan = copy.copy(self._scan)
        new._pruning = list(self._pruning)
        return new

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "DeltaDatasource":
        available = self._columns if self._columns is not None else self._full_schema.names
        cols = check_columns(READER, f"the columns read from {self._path!r}", columns, available)
        new = self._copy()
        new._columns = cols
        new._scan.columns = cols
        new._scan.output_schema = new.schema()
        return new

    def supports_limit_pushdown(self) -> bool:
        return True

    def apply_limit(self, limit: int) -> "DeltaDatasource":
        new = self._copy()
        new._limit = int(limit) if new._limit is None else min(new._limit, int(limit))
        return new

    def supports_predicate_pushdown(self) -> bool:
        return True

    def apply_predicate(self, expr: Any) -> "DeltaDatasource":
        new = self._copy()
        new._push(as_expr(expr))
        return new

    def _push(self, expr: Expr) -> None:
        expr.validate(self._full_schema.names)
        parts = conjuncts(expr)
        partitions = set(self._partition_cols)
        on_partitions = [p for p in parts if p.columns() and set(p.columns()) <= partitions]
        rest = [p for p in parts if not (p.columns() and set(p.columns()) <= partitions)]
        if on_partitions:
            self._prune_by_partitions(join_and(on_partitions))
        if not rest:
            return
        synthesized = partitions | ({"path"} if self._include_paths else set())
        self._prune_by_statistics([p for p in rest if not (self._include_paths and "path" in p.columns())])
        scan = [p for p in rest if not synthesized.intersection(p.columns())]
        rows = [p for p in rest if synthesized.intersection(p.columns())]
        if scan:
            existing = [self._scan.scan_predicate] if self._scan.scan_predicate is not None else []
            self._scan.scan_predicate = join_and(existing + scan)
        if rows:
            existing = [self._scan.row_predicate] if self._scan.row_predicate is not None else []
            self._scan.row_predicate = join_and(existing + rows)

    def _prune_by_partitions(self, predicate: Expr) -> None:
        before = list(self._kept)
        schema = self._scan.partition_schema
        columns = {f.name: pa.array([self._files[i].partition[j] for i in before], f.type)
                   for j, f in enumerate(schema)}
        columns["__file__"] = pa.array(before, pa.int64())
        try:
            kept = pa.table(columns).filter(predicate.to_pyarrow()).column("__file__").to_pylist()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            types = ", ".join(f"{c} is {schema.field(c).type}" for c in predicate.columns())
            raise ValueError(f"{READER}: cannot evaluate filter {str(predicate)!r} on the partition columns of the "
                             f"Delta table at {self._path!r} ({types}); compare with values of those types ({exc})") from exc
        self._kept = kept
        self._pruning.append(f"{len(before) - len(kept)} of {len(before)} files pruned by partition filter {predicate}")

    def _prune_by_statistics(self, parts: list[Expr]) -> None:
        """Drop files whose log statistics (min/max, null counts) rule the conjuncts out, as
        deltalake's file pruning decides (it keeps every file that may hold a matching row)."""
        if not parts:
            return
        sql_parts, _ = split_sql(join_and(parts), quote="`")  # type: ignore[arg-type]
        if not sql_parts:
            return
        sql = join_sql(sql_parts, quote="`")
        if self._dt is None:
            self._dt = _open_table(self._path, self._version, self._storage_options)
        try:
            listed = self._dt.file_uris(file_pruning_predicate=sql)
        except Exception:  # deltalake cannot evaluate it (e.g. a literal of another type): prune nothing
            return
        keep = {_normalize(u) for u in listed}
        before = list(self._kept)
        self._kept = [i for i in before if _normalize(self._files[i].shown) in keep]
        self._pruning.append(f"{len(before) - len(self._kept)} of {len(before)} files skipped by file statistics "
                             f"for {join_and(sql_parts)}")

    def pushdown_summary(self) -> list[str]:
        out = [f"version={self._version}"]
        out.extend(self._pruning)
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._scan.scan_predicate is not None:
            out.append(f"filter={self._scan.scan_predicate}")
        if self._scan.row_predicate is not None:
            out.append(f"row filter={self._scan.row_predicate}")
        if self._limit is not None:
            out.append(f"limit={self._limit}")
        return out

    def __repr__(self) -> str:
        return f"DeltaDatasource({self._path!r}, version={self._version}, {len(self._kept)} files)"


# ---- the log, on the driver ---------------------------------------------------------------
def _open_table(path: str, version: Optional[int], storage_options: Optional[dict]) -> Any:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(path, version=version, storage_options=storage_options)
    except TableNotFoundError as exc:
        local = _local_root(path) if "://" in path else os.path.abspath(path)
        if local is not None and not os.path.exists(local):
            why = "the path does not exist"
        elif local is not None and not os.path.isdir(os.path.join(local, "_delta_log")):
            why = "it is not a Delta table (no _delta_log directory)"
        else:
            why = "no Delta table there"
        raise DataSourceError(f"{READER}: cannot read {path!r}: {why} ({exc})") from exc
    except Exception as exc:
        if version is not None:
            try:
                latest = DeltaTable(path, storage_options=storage_options).version()
                hint = f"; the table has versions up to {latest}"
            except Exception:
                hint = ""
            raise DataSourceError(f"{READER}: cannot load version {version} of the Delta table at {path!r}{hint}: "
                                  f"{exc}") from exc
        raise DataSourceError(f"{READER}: cannot open the Delta table at {path!r}: {type(exc).__name__}: {exc}") from exc


def _check_features(dt: Any, path: str) -> None:
    protocol = dt.protocol()
    config = dt.metadata().configuration or {}
    mapping = config.get("delta.columnMapping.mode") or "none"
    if mapping != "none":
        raise DataSourceError(f"{READER}: the Delta table at {path!r} uses column mapping (mode {mapping!r}): its "
                              "Parquet files store columns under physical names this reader does not translate; "
                              "read it with deltalake (DeltaTable(path).to_pyarrow_table()) and streamscope.from_arrow")
    if protocol.min_reader_version > 3:
        raise DataSourceError(f"{READER}: the Delta table at {path!r} needs reader version "
                              f"{protocol.min_reader_version}, newer than this reader supports (3)")
    unknown = sorted(set(protocol.reader_features or ()) - SUPPORTED_READER_FEATURES)
    if unknown:
        raise DataSourceError(f"{READER}: the Delta table at {path!r} uses reader features {unknown}, which this "
                              f"reader cannot honour (it reads {sorted(SUPPORTED_READER_FEATURES)}); read it with "
                              "deltalake's DeltaTable(path).scan() and streamscope.from_arrow")


def _list_files(dt: Any, partition_cols: list[str], shown_root: str) -> list[DeltaFile]:
    actions = pa.table(dt.get_add_actions(flatten=False))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    records = actions.column("num_records").to_pylist() if "num_records" in actions.column_names else [None] * len(paths)
    if partition_cols and "partition" in actions.column_names:
        values = [tuple((row or {}).get(c) for c in partition_cols) for row in actions.column("partition").to_pylist()]
    else:
        values = [tuple(None for _ in partition_cols)] * len(paths)
    deleted = _deleted_rows(dt)
    files = []
    for rel, size, rows, part in zip(paths, sizes, records, values):
        decoded = urllib.parse.unquote(rel)
        if "://" in decoded or decoded.startswith("/"):
            raise DataSourceError(f"{READER}: the Delta table at {shown_root!r} lists a data file by absolute path "
                                  f"({decoded!r}, a shallow clone?), which this reader does not support")
        shown = f"{shown_root}/{decoded}"
        dv = deleted.get(_normalize(shown))
        files.append(DeltaFile(decoded, shown, int(size), None if rows is None else int(rows), part, dv))
    return files


def _deleted_rows(dt: Any) -> dict[str, np.ndarray]:
    """``{file: sorted deleted row positions}`` from the table's deletion vectors (none when the
    table does not use them)."""
    if "deletionVectors" not in set(dt.protocol().reader_features or ()):
        return {}
    vectors = pa.table(dt.deletion_vectors())
    out = {}
    for uri, keep in zip(vectors.column("filepath").to_pylist(), vectors.column("selection_vector").to_pylist()):
        out[_normalize(uri)] = np.flatnonzero(~np.asarray(keep, dtype=bool)).astype(np.int64)
    return out


def _local_root(uri: str) -> Optional[str]:
    """The local directory of a ``file://`` URI or plain path (None for other schemes)."""
    if "://" not in uri:
        return os.path.abspath(uri).rstrip("/") or "/"
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        return None
    return urllib.parse.unquote(parsed.path).rstrip("/") or "/"


def _normalize(uri: str) -> str:
    """A file's identity for matching deltalake's listings: decoded, ``file://`` dropped."""
    local = _local_root(uri)
    return local if local is not None else urllib.parse.unquote(uri)


def _arrow_filesystem(filesystem: Any) -> Any:
    import pyarrow.fs as pafs

    if isinstance(filesystem, pafs.FileSystem):
        return filesystem
    if callable(getattr(filesystem, "_strip_protocol", None)) and callable(getattr(filesystem, "open", None)):
        return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem))  # an fsspec filesystem
    raise TypeError(f"{READER}: filesystem must be a pyarrow.fs.FileSystem rooted at the table's directory "
                    f"(e.g. pyarrow.fs.SubTreeFileSystem(path, fs)), got {type(filesystem).__name__}")
