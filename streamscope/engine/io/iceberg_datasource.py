"""Iceberg tables via PyIceberg: the scan is planned in the driver, data files read in tasks.

Why plan in the driver: an Iceberg table is its metadata. ``table.scan(...).plan_files()`` reads
only manifests and returns one ``FileScanTask`` per data file that may hold matching rows (files
ruled out by partition values or by the column bounds the manifests keep are never listed), each
with the delete files that apply to it. The schema and, when nothing is left to filter or
delete, the row counts come from the same metadata, so ``schema()`` and ``count()`` read no data.

Each read task gets a group of those FileScanTasks (balanced by size, one task per data file when
there are enough tasks to go round, as Parquet reads are split) and reads them with PyIceberg's
own ``ArrowScan``: positional deletes are applied, columns are matched by field id (renamed and
added columns read right), and the row filter is applied to the decoded rows. Tasks carry the
table's ``FileIO`` and a copy of its metadata without the snapshot history, never the catalog.

Pushdowns: a projection narrows ``selected_fields``; a filter is translated to a PyIceberg
expression and AND-ed into the ``row_filter`` (so it prunes files, shown as fewer read tasks),
except for the parts with no Iceberg equivalent, which are applied to each block; a limit stops
tasks early and drops whole tasks once the manifests' row counts cover it.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.iceberg_expressions import (
    and_iceberg, as_iceberg_filter, bind_check, iceberg_text, split_for_iceberg,
)
from streamscope.engine.io.iceberg_tables import load_table, open_catalog, require_pyiceberg, resolve_catalog
from streamscope.engine.io.retry import call_with_retry

CONNECTOR = "read_iceberg"

STREAM_BATCH_BYTES = 4 << 20
"""Bytes per block a read yields (batches of one data file are gathered up to this size)."""

PARQUET_DECODE_RATIO = 5
"""Decoded bytes per byte of Parquet on disk, to size reads from the manifests' file sizes (the
ratio Ray Data assumes for Parquet)."""

SCAN_KWARGS = ("case_sensitive", "options", "snapshot_id")
"""``Table.scan`` arguments ``scan_kwargs`` may hold (``limit`` is taken by read_iceberg)."""


class IcebergReadSpec:
    """What every read task of one read shares (picklable): the table's FileIO and metadata, the
    row filter, the Iceberg schema to read, and what is done to each block after reading."""

    def __init__(self, table_identifier: str, io: Any, metadata: Any, row_filter: Any, projected: Any,
                 case_sensitive: bool, residual: Optional[Expr], output_columns: Optional[list[str]],
                 read_schema: pa.Schema):
        self.table_identifier = table_identifier
        self.io = io
        self.metadata = metadata
        self.row_filter = row_filter
        self.projected = projected
        self.case_sensitive = case_sensitive
        self.residual = residual
        self.output_columns = output_columns  # None: every column read, in the scan's order
        self.read_schema = read_schema

    def read(self, tasks: tuple, limit: Optional[int]) -> Iterator[pa.Table]:
        """Worker side: read ``tasks`` (FileScanTasks) one data file at a time, deletes applied."""
        from pyiceberg.io.pyarrow import ArrowScan

        remaining = limit
        emitted = False
        max_bytes = min(STREAM_BATCH_BYTES, DataContext.get_current().target_max_block_size or (128 << 20))
        for task in tasks:
            if remaining is not None and remaining <= 0:
                break
            path = task.file.file_path
            scan_limit = remaining if self.residual is None else None  # a residual filter runs after the scan
            scanner = ArrowScan(table_metadata=self.metadata, io=self.io, projected_schema=self.projected,
                                row_filter=self.row_filter, case_sensitive=self.case_sensitive, limit=scan_limit)
            try:  # a flaky store (DataContext.retried_io_errors) is retried, as file reads are
                batches = call_with_retry(lambda: list(scanner.to_record_batches([task])),
                                          f"reading Iceberg data file {path!r}")
            except Exception as exc:
                raise DataSourceError(f"{CONNECTOR}: table {self.table_identifier!r}: cannot read data file "
                                      f"{path!r}: {type(exc).__name__}: {exc}") from exc
            for table in _gather(batches, max_bytes):
                table = self._finish(table)
                if remaining is not None:
                    table = table.slice(0, remaining)
                    remaining -= table.num_rows
                if table.num_rows:
                    emitted = True
                    yield table
                if remaining is not None and remaining <= 0:
                    break
        if not emitted:
            yield self._finish(self.read_schema.empty_table())

    def _finish(self, table: pa.Table) -> pa.Table:
        """Types as the schema says (PyIceberg reads ``string`` where it reports ``large_string``),
        the residual filter applied, then only the output columns in their order."""
        if not table.schema.equals(self.read_schema):
            table = table.cast(self.read_schema)
        if self.residual is not None:
            table = self.residual.filter(table)
        if self.output_columns is not None:
            table = table.select(self.output_columns)
        return table


def _read_files(spec: IcebergReadSpec, tasks: tuple, limit: Optional[int]) -> Iterator[pa.Table]:
    return spec.read(tasks, limit)


def _gather(batches: list, max_bytes: int) -> Iterator[pa.Table]:
    """Tables of consecutive batches, each about ``max_bytes`` at most."""
    group: list = []
    size = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        group.append(batch)
        size += batch.nbytes
        if size >= max_bytes:
            yield pa.Table.from_batches(group)
            group, size = [], 0
    if group:
        yield pa.Table.from_batches(group)


class IcebergDatasource(Datasource):
    """Reads one snapshot of an Iceberg table (the current one unless ``snapshot_id`` is given).

    Opening the catalog and the table, parsing and checking ``row_filter`` and
    ``selected_fields`` and finding the snapshot all happen here, in the driver, so a wrong name
    fails when ``read_iceberg`` is called. Planning (``plan_files``) waits for the first question
    that needs it.
    """

    read_function_name = "read_iceberg"  # errors about read arguments name it

    def __init__(self, table_identifier: str, *, row_filter: Any = None, selected_fields: Any = ("*",),
                 snapshot_id: Optional[int] = None, scan_kwargs: Optional[dict] = None,
                 catalog_kwargs: Optional[dict] = None, catalog: Any = None):
        require_pyiceberg(CONNECTOR)
        identifier, kwargs, catalog_obj = resolve_catalog(CONNECTOR, table_identifier, catalog_kwargs, catalog,
                                                          for_write=False)
        self._identifier = identifier
        self._catalog_kwargs = kwargs
        self._catalog_given = catalog_obj is not None
        self._catalog = open_catalog(CONNECTOR, identifier, kwargs, catalog_obj)
        self._table = load_table(CONNECTOR, self._catalog, identifier)
        scan = _check_scan_kwargs(scan_kwargs, identifier)
        self._case_sensitive = bool(scan.get("case_sensitive", True))
        self._options = dict(scan.get("options") or {})
        self._snapshot_id = self._check_snapshot(snapshot_id, scan.get("snapshot_id"))
        self._row_filter = as_iceberg_filter(row_filter, CONNECTOR, "row_filter", identifier)
        bind_check(self._table.schema(), self._row_filter, self._case_sensitive, CONNECTOR, "row_filter", identifier)
        self._selected = _check_selected_fields(selected_fields, identifier)
        self._pushed: Optional[Expr] = None  # the translated part of pushed filters (for plans)
        self._pushed_iceberg: Any = None
        self._residual: Optional[Expr] = None  # the part applied to blocks
        self._columns: Optional[list[str]] = None  # projection pushdown
        self._limit: Optional[int] = None
        self._plan: Optional[list] = None
        self._projection()  # an unknown selected field fails now

    def get_name(self) -> str:
        return "ReadIceberg"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for key in ("_table", "_catalog", "_plan"):  # the driver's: a catalog holds connections
            state[key] = None
        return state

    # ---- the table, the scan ----------------------------------------------------------------
    def _get_table(self) -> Any:
        if self._table is None:
            if self._catalog is None and self._catalog_given:
                raise DataSourceError(f"{CONNECTOR}: this copy of the read of {self._identifier!r} was unpickled "
                                      "without its catalog object; pass catalog_kwargs to read it elsewhere")
            if self._catalog is None:
                self._catalog = open_catalog(CONNECTOR, self._identifier, self._catalog_kwargs, None)
            self._table = load_table(CONNECTOR, self._catalog, self._identifier)
        return self._table

    def _check_snapshot(self, snapshot_id: Any, from_scan_kwargs: Any) -> Optional[int]:
        if snapshot_id is not None and from_scan_kwargs is not None and snapshot_id != from_scan_kwargs:
            raise ValueError(f"{CONNECTOR}: snapshot_id={snapshot_id} and scan_kwargs['snapshot_id']="
                             f"{from_scan_kwargs} differ; give it once")
        snapshot_id = snapshot_id if snapshot_id is not None else from_scan_kwargs
        if snapshot_id is None:
            return None
        if not isinstance(snapshot_id, int) or isinstance(snapshot_id, bool):
            raise TypeError(f"{CONNECTOR}: snapshot_id must be an int, got {snapshot_id!r}")
        if self._table.snapshot_by_id(snapshot_id) is None:
            known = [s.snapshot_id for s in self._table.snapshots()][-10:]
            raise DataSourceError(f"{CONNECTOR}: table {self._identifier!r} has no snapshot {snapshot_id} "
                                  f"(latest snapshots: {known})")
        return snapshot_id

    def _filter(self) -> Any:
        return and_iceberg(self._row_filter, self._pushed_iceberg)

    def _read_columns(self) -> Optional[list[str]]:
        """Columns to read (selected, or pushed down, plus what the residual filter needs), or
        None for all of them."""
        if self._columns is None and self._selected is None:
            return None
        wanted = list(self._columns if self._columns is not None else self._selected)  # type: ignore[arg-type]
        if self._residual is not None:
            wanted += [c for c in self._residual.columns() if c not in wanted]
        if not wanted:  # an empty projection still needs one column to count rows by
            wanted = [self._get_table().schema().fields[0].name]
        return wanted

    def _scan(self) -> Any:
        columns = self._read_columns()
        kwargs: dict[str, Any] = {"row_filter": self._filter(), "case_sensitive": self._case_sensitive,
                                  "selected_fields": tuple(columns) if columns is not None else ("*",)}
        if self._snapshot_id is not None:
            kwargs["snapshot_id"] = self._snapshot_id
        if self._options:
            kwargs["options"] = self._options
        return self._get_table().scan(**kwargs)

    def _projection(self) -> Any:
        try:
            return self._scan().projection()
        except Exception as exc:
            raise DataSourceError(f"{CONNECTOR}: table {self._identifier!r}: cannot select "
                                  f"{self._read_columns()}: {exc}") from exc

    def _planned(self) -> list:
        """The FileScanTasks of the scan, planned once per datasource (manifests only)."""
        if self._plan is None:
            try:
                self._plan = list(self._scan().plan_files())
            except Exception as exc:
                raise DataSourceError(f"{CONNECTOR}: cannot plan the scan of table {self._identifier!r}: "
                                      f"{type(exc).__name__}: {exc}") from exc
        return self._plan

    def _read_schema(self) -> pa.Schema:
        from pyiceberg.io.pyarrow import schema_to_pyarrow

        return schema_to_pyarrow(self._projection(), include_field_ids=False)

    def _output_columns(self) -> Optional[list[str]]:
        if self._columns is not None:
            return list(self._columns)
        if self._residual is not None and self._selected is not None:  # drop what only the residual needed
            keep = {f.split(".")[0] for f in self._selected}
            return [name for name in self._read_schema().names if name in keep]
        return None

    # ---- metadata -----------------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        schema = self._read_schema()
        columns = self._output_columns()
        return pa.schema([schema.field(c) for c in columns]) if columns is not None else schema

    def _exact(self, tasks: list) -> bool:
        """Whether the manifests' row counts are the rows these tasks yield: nothing left to
        filter (the residual PyIceberg computes from partition values is true), no deletes."""
        from pyiceberg.expressions import AlwaysTrue

        return self._residual is None and all(
            isinstance(getattr(t, "residual", None), AlwaysTrue) and not t.delete_files for t in tasks)

    def num_rows(self) -> Optional[int]:
        tasks = self._planned()
        if not self._exact(tasks):
            return None
        total = sum(t.file.record_count for t in tasks)
        return total if self._limit is None else min(total, self._limit)

    def input_files(self) -> list[str]:
        return [t.file.file_path for t in self._planned()]

    def _file_bytes(self, tasks: list) -> list[int]:
        """Decoded bytes of the columns read from each data file (from the manifests' sizes: the
        columns' own when the read is narrowed and the manifest has them, else the file's)."""
        ids = [f.field_id for f in self._projection().fields] if self._read_columns() is not None else None
        out = []
        for task in tasks:
            sizes = task.file.column_sizes or {}
            if ids is not None and sizes and all(i in sizes for i in ids):
                out.append(int(sum(sizes[i] for i in ids) * PARQUET_DECODE_RATIO))
            else:
                out.append(int(task.file.file_size_in_bytes * PARQUET_DECODE_RATIO))
        return out

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return sum(self._file_bytes(self._planned()))

    # ---- tasks --------------------------------------------------------------------------------
    def _spec(self) -> IcebergReadSpec:
        table = self._get_table()
        metadata = table.metadata.model_copy(update={"snapshots": [], "snapshot_log": [], "metadata_log": [],
                                                     "refs": {}, "current_snapshot_id": None})
        return IcebergReadSpec(self._identifier, table.io, metadata, self._filter(), self._projection(),
                               self._case_sensitive, self._residual, self._output_columns(), self._read_schema())

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        planned = self._planned()
        if not planned:
            return []
        spec = self._spec()
        schema = self.schema()
        sizes = self._file_bytes(planned)
        groups = balanced_groups(list(zip(planned, sizes)), [s or 1 for s in sizes], int(parallelism))
        remaining = self._limit
        all_exact = self._exact(planned)
        tasks: list[ReadTask] = []
        for group in groups:
            files = tuple(t for t, _ in group)
            if remaining is not None and remaining <= 0 and all_exact:
                break  # the manifests say earlier tasks already cover the limit
            rows: Optional[int] = sum(t.file.record_count for t in files) if self._exact(list(files)) else None
            task_limit = remaining
            if remaining is not None and rows is not None and all_exact:
                rows = min(rows, remaining)
                remaining -= rows
            tasks.append(ReadTask(functools.partial(_read_files, spec, files, task_limit),
                                  num_rows=rows, size_bytes=sum(s for _, s in group),
                                  input_files=tuple(t.file.file_path for t in files),
                                  schema=schema, per_task_row_limit=per_task_row_limit))
        return tasks

    # ---- pushdowns ----------------------------------------------------------------------------
    def _copy(self) -> "IcebergDatasource":
        return copy.copy(self)

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "IcebergDatasource":
        available = self.schema().names
        missing = [c for c in columns if c not in available]
        if missing:
            raise DataSourceError(f"{CONNECTOR}: columns {missing} are not among the columns of table "
                                  f"{self._identifier!r} read: {available}")
        new = self._copy()
        new._columns = list(columns)
        return new

    def supports_predicate_pushdown(self) -> bool:
        return True

    def apply_predicate(self, expr: Any) -> "IcebergDatasource":
        expr = as_expr(expr)
        expr.validate(self.schema().names)
        pushed, iceberg, rest = split_for_iceberg(expr)
        new = self._copy()
        if iceberg is not None:
            try:
                bind_check(self._get_table().schema(), iceberg, self._case_sensitive, CONNECTOR, "filter",
                           self._identifier)
            except ValueError as exc:
                raise DataSourceError(str(exc)) from None
            new._pushed = pushed if self._pushed is None else (self._pushed & pushed)
            new._pushed_iceberg = and_iceberg(self._pushed_iceberg, iceberg)
        if rest is not None:
            new._residual = rest if self._residual is None else (self._residual & rest)
        new._plan = None  # planned without this filter
        return new

    def supports_limit_pushdown(self) -> bool:
        return True

    def apply_limit(self, limit: int) -> "IcebergDatasource":
        new = self._copy()
        new._limit = int(limit) if self._limit is None else min(self._limit, int(limit))
        return new

    def pushdown_summary(self) -> list[str]:
        from pyiceberg.expressions import AlwaysTrue

        out = []
        if self._snapshot_id is not None:
            out.append(f"snapshot_id={self._snapshot_id}")
        if not isinstance(self._row_filter, AlwaysTrue):
            out.append(f"row_filter={iceberg_text(self._row_filter)}")
        if self._pushed is not None:
            out.append(f"filter={self._pushed}")
        if not isinstance(self._filter(), AlwaysTrue):
            try:
                total, kept = self._total_data_files(), len(self._planned())
            except Exception:  # a plan view never fails for this line; the read will say why
                total = None
            if total is not None:
                out.append(f"{kept} of {total} data files left by manifest pruning")
        if self._residual is not None:
            out.append(f"row filter={self._residual}")
        if self._selected is not None:
            out.append(f"selected_fields={list(self._selected)}")
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._limit is not None:
            out.append(f"limit={self._limit}")
        return out

    def _total_data_files(self) -> Optional[int]:
        table = self._get_table()
        snapshot = table.snapshot_by_id(self._snapshot_id) if self._snapshot_id is not None else table.current_snapshot()
        value = snapshot.summary.get("total-data-files") if snapshot is not None and snapshot.summary else None
        return int(value) if value is not None else None

    def __repr__(self) -> str:
        return f"IcebergDatasource({self._identifier!r})"


def balanced_groups(items: list, weights: list, n: int) -> list[list]:
    """``items`` in at most ``n`` groups of about equal weight, each a run of consecutive items
    (the data files in plan order, one group per read task).

    Examples:
        >>> balanced_groups(["a", "b", "c", "d"], [1, 1, 1, 1], 2)
        [['a', 'b'], ['c', 'd']]
        >>> balanced_groups(["big", "s1", "s2"], [10, 1, 1], 2)
        [['big'], ['s1', 's2']]
    """
    n = max(1, min(n, len(items)))
    groups: list[list] = []
    current: list = []
    done = 0.0
    total = float(sum(weights)) or 1.0
    for i, (item, weight) in enumerate(zip(items, weights)):
        current.append(item)
        done += weight
        left_items, left_groups = len(items) - i - 1, n - len(groups) - 1
        if left_groups > 0 and (done >= total * (len(groups) + 1) / n or left_items == left_groups):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _check_scan_kwargs(scan_kwargs: Optional[dict], table: str) -> dict:
    if scan_kwargs is None:
        return {}
    if not isinstance(scan_kwargs, dict):
        raise TypeError(f"{CONNECTOR}: scan_kwargs must be a dict, got {type(scan_kwargs).__name__}")
    for name, instead in (("row_filter", "read_iceberg(row_filter=...) or Dataset.filter"),
                          ("selected_fields", "read_iceberg(selected_fields=...) or Dataset.select_columns")):
        if name in scan_kwargs:
            raise ValueError(f"{CONNECTOR}: scan_kwargs[{name!r}] for table {table!r}: pass it as {instead}")
    unknown = sorted(set(scan_kwargs) - set(SCAN_KWARGS) - {"limit"})
    if unknown:
        raise ValueError(f"{CONNECTOR}: scan_kwargs {unknown} for table {table!r} are not pyiceberg Table.scan "
                         f"arguments; it takes {list(SCAN_KWARGS) + ['limit']}")
    options = scan_kwargs.get("options")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"{CONNECTOR}: scan_kwargs['options'] must be a dict, got {type(options).__name__}")
    return dict(scan_kwargs)


def _check_selected_fields(selected_fields: Any, table: str) -> Optional[tuple[str, ...]]:
    if selected_fields is None:
        return None
    if isinstance(selected_fields, str) or not all(isinstance(f, str) for f in selected_fields):
        raise TypeError(f"{CONNECTOR}: selected_fields must be a tuple of column names such as ('id', 'name'), "
                        f"got {selected_fields!r}")
    fields = tuple(selected_fields)
    return None if fields == ("*",) else fields
