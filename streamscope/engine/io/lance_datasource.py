"""Lance datasets read fragment by fragment through Lance's own scanner.

Why fragments: a Lance dataset version is a list of fragments (data files plus deletion files),
each with its row count in the manifest, so planning needs no data reads: one task per fragment
(small ones grouped, by bytes as the Parquet reader groups files), ``count()`` from the manifest.
Every task opens the version the driver resolved (``version=`` time travel, a number or a tag), so
all tasks read one snapshot even while writers commit.

Pushdowns go into Lance's scanner: ``columns`` (and a later ``select_columns``) become its
projection; a filter becomes its SQL ``filter`` (Lance uses it with its statistics and scalar
indices), translated exactly where SQL and pyarrow agree (``io/sql_predicate.py``); the parts that
do not translate (``a % 2 == 0``, ``is_nan``) are applied to the rows after the scan. ``filter=``
given to ``read_lance`` (SQL, deprecated in Ray) is passed to the scanner as written.
``pushdown_summary()`` (shown by ``explain()``) lists both.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Iterator, Optional, Sequence

import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_partitions import join_and
from streamscope.engine.io.retry import iterate_with_retry
from streamscope.engine.io.sql_predicate import join_sql, split_sql
from streamscope.engine.io.table_scan import check_columns, coalesce_batches, group_units

READER = "read_lance"
OP = "ReadLance"

PASSED_SCANNER_OPTIONS = ("batch_size", "batch_size_bytes", "batch_readahead", "fragment_readahead", "scan_in_order",
                          "with_row_id", "with_row_address", "use_stats", "io_buffer_size", "late_materialization",
                          "use_scalar_index", "strict_batch_size", "prefilter", "fast_search")
"""``LanceDataset.scanner`` options that mean the same per fragment task as for one scan."""

REFUSED_SCANNER_OPTIONS = {
    "limit": "a limit per task is not a limit of the read; use Dataset.limit(n), which is pushed into the read",
    "offset": "an offset per task is not an offset of the read; use Dataset.limit() and skip rows after reading",
    "nearest": "a vector search per fragment task does not give the dataset's nearest rows; run it with lance "
               "(LanceDataset.to_table(nearest=...)) and use streamscope.from_arrow",
    "full_text_query": "a full-text search per fragment task does not rank across the dataset; run it with lance "
                       "and use streamscope.from_arrow",
    "index_segments": "index segments only apply to vector or full-text searches, which read_lance does not run",
    "order_by": "each task would order only its own fragments; use Dataset.sort() after the read",
    "disable_scoring_autoprojection": "only full-text searches score rows, and read_lance does not run them",
    "blob_handling": "blob columns read as descriptions would not match the dataset's schema; read blobs with "
                     "lance's take_blobs",
    "scan_stats_callback": "the callback would run inside the read tasks' worker processes, not here",
    "include_deleted_rows": "deleted rows are not part of the dataset's version; read them with lance",
    "row_addr_allowlist": "row address sets are per dataset; filter with Dataset.filter on _rowaddr instead",
    "row_addr_blocklist": "row address sets are per dataset; filter with Dataset.filter on _rowaddr instead",
}
_EXTRA_COLUMNS = {"with_row_id": pa.field("_rowid", pa.uint64()), "with_row_address": pa.field("_rowaddr", pa.uint64())}


def _read_fragments(scan: "LanceScan", groups: tuple, limit: Optional[int]) -> Iterator[pa.Table]:
    return scan.read(groups, limit)


def open_lance(uri: str, version: Any, storage_options: Optional[dict]) -> Any:
    """The dataset at ``uri`` as of ``version``, opened afresh (a cached handle could outlive a
    dataset deleted and written again under the same URI and version number)."""
    import lance

    return lance.dataset(uri, version=version, storage_options=storage_options)


class LanceScan:
    """What every task of one read shares (picklable): the datasets' URIs and resolved versions,
    the scanner options, the projection and the filters."""

    def __init__(self, *, uris: list[str], versions: list[int], storage_options: Optional[dict],
                 options: dict, schema: pa.Schema, user_filter: Optional[str]):
        self.uris, self.versions = uris, versions
        self.storage_options = storage_options
        self.options = options
        self.schema = schema  # every column the read can yield (with _rowid / _rowaddr if asked)
        self.user_filter = user_filter
        self.columns: Optional[list[str]] = None
        self.sql_parts: list[Expr] = []
        self.row_predicate: Optional[Expr] = None

    def output_schema(self) -> pa.Schema:
        if self.columns is None:
            return self.schema
        return pa.schema([self.schema.field(c) for c in self.columns])

    def sql_filter(self) -> Optional[str]:
        pushed = join_sql(self.sql_parts, quote="`")
        texts = [t for t in (self.user_filter, pushed) if t]
        if not texts:
            return None
        return texts[0] if len(texts) == 1 else " AND ".join(f"({t})" for t in texts)

    def scan_columns(self) -> Optional[list[str]]:
        """The columns asked of the scanner: the projection and what the row filter needs (None:
        all), without the row id columns the scanner adds by option."""
        extra = {f.name for f in _EXTRA_COLUMNS.values()}
        if self.columns is None:
            return None
        wanted = list(self.columns) + (self.row_predicate.columns() if self.row_predicate is not None else [])
        return [c for c in dict.fromkeys(wanted) if c not in extra]

    def read(self, groups: Sequence[tuple[int, tuple[int, ...]]], limit: Optional[int]) -> Iterator[pa.Table]:
        remaining = limit
        # DataContext.retried_io_errors only: Ray also retries every "LanceError(IO)", which Lance
        # reports for a truncated or corrupt file too; add it there to retry flaky object stores
        match = list(DataContext.get_current().retried_io_errors or [])
        for index, fragment_ids in groups:
            uri = self.uris[index]
            if remaining is not None and remaining <= 0:
                return
            try:
                for table in iterate_with_retry(lambda: self._scan(index, fragment_ids),
                                                f"reading fragments {list(fragment_ids)} of {uri}", match=match):
                    if remaining is not None:
                        table = table.slice(0, remaining)
                        remaining -= table.num_rows
                    yield table
                    if remaining is not None and remaining <= 0:
                        return
            except DataSourceError:
                raise
            except Exception as exc:
                raise DataSourceError(f"{OP}: failed to read fragments {list(fragment_ids)} of the Lance dataset at "
                                      f"{uri!r} (version {self.versions[index]}): {type(exc).__name__}: {exc}") from exc

    def _scan(self, index: int, fragment_ids: tuple[int, ...]) -> Iterator[pa.Table]:
        ds = open_lance(self.uris[index], self.versions[index], self.storage_options)
        fragments = [ds.get_fragment(i) for i in fragment_ids]
        columns = self.scan_columns()
        if columns is not None:
            have = set(ds.schema.names)
            columns = [c for c in columns if c in have]  # another dataset of the read has the rest: nulls here
        scanner = ds.scanner(columns=columns, filter=self.sql_filter(), fragments=fragments, **self.options)
        out = self.output_schema()
        for table in coalesce_batches(scanner.to_batches(), scanner.projected_schema):
            for field in self.schema:
                if field.name not in table.column_names and (self.columns is None or field.name in self.columns
                                                             or self._row_needs(field.name)):
                    table = table.append_column(field, pa.nulls(table.num_rows, field.type))
            if self.row_predicate is not None:
                table = self.row_predicate.filter(table)
            yield table.select(out.names).cast(out)

    def _row_needs(self, name: str) -> bool:
        return self.row_predicate is not None and name in self.row_predicate.columns()


class LanceDatasource(Datasource):
    """The fragments of one version of one or more Lance datasets (see the module docstring)."""

    def __init__(self, uris: Sequence[str], *, version: Any = None, columns: Optional[list[str]] = None,
                 filter: Optional[str] = None, storage_options: Optional[dict] = None,
                 scanner_options: Optional[dict] = None):
        options = dict(scanner_options or {})
        columns, filter, fragments = _take_special_options(options, columns, filter)
        for key in list(options):
            if key in REFUSED_SCANNER_OPTIONS:
                raise ValueError(f"{READER}: scanner_options[{key!r}] is not supported: {REFUSED_SCANNER_OPTIONS[key]}")
            if key not in PASSED_SCANNER_OPTIONS:
                raise ValueError(f"{READER}: unknown scanner_options key {key!r}; the options read_lance passes to "
                                 f"LanceDataset.scanner are {list(PASSED_SCANNER_OPTIONS)} (and columns, filter, "
                                 "fragments)")
        if fragments is not None and len(uris) > 1:
            raise ValueError(f"{READER}: scanner_options['fragments'] is not supported when reading several Lance "
                             "datasets; read them one by one and union() the datasets")
        self._uris = list(uris)
        self._storage_options = dict(storage_options) if storage_options else None
        datasets = [_open_driver(u, version, self._storage_options) for u in self._uris]
        self._versions = [int(d.version) for d in datasets]
        schemas = [d.schema for d in datasets]
        try:
            schema = schemas[0] if len(schemas) == 1 else pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataSourceError(f"{READER}: the Lance datasets {self._uris} have schemas that do not agree: {exc}") from exc
        for key, extra in _EXTRA_COLUMNS.items():
            if options.get(key):
                schema = schema.append(extra)
        self._units = _fragment_units(datasets, fragments)
        self._scan = LanceScan(uris=self._uris, versions=self._versions, storage_options=self._storage_options,
                               options=options, schema=schema.remove_metadata(), user_filter=filter)
        where = f"the Lance dataset at {self._uris[0]!r}" if len(self._uris) == 1 else f"the Lance datasets {self._uris}"
        self._where = where
        self._scan.columns = check_columns(READER, where, columns, schema.names)
        self._limit: Optional[int] = None

    def get_name(self) -> str:
        return OP

    # ---- metadata ------------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        return self._scan.output_schema()

    def _exact(self) -> bool:
        return not self._scan.sql_parts and self._scan.row_predicate is None and self._scan.user_filter is None

    def num_rows(self) -> Optional[int]:
        if not self._exact():
            return None
        total = sum(u[2] for u in self._units)
        return total if self._limit is None else min(total, self._limit)

    def _fraction(self) -> float:
        cols = self._scan.columns
        width = len(self._scan.schema) or 1
        return 1.0 if cols is None else min(1.0, max(1, len(cols)) / width)

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return int(sum(u[3] for u in self._units) * self._fraction())

    def input_files(self) -> list[str]:
        return [f for u in self._units for f in u[4]]

    # ---- tasks ---------------------------------------------------------------------------
    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        exact = self._exact()
        remaining = self._limit
        fraction = self._fraction()
        tasks = []
        units = self._units
        for group in group_units(units, [float(u[3] or u[2] or 1) for u in units], max(1, int(parallelism))):
            if remaining is not None and remaining <= 0 and exact:
                break  # the manifests' row counts say earlier tasks already cover the limit
            rows: Optional[int] = sum(u[2] for u in group) if exact else None
            task_limit = remaining
            if remaining is not None and rows is not None:
                rows = min(rows, remaining)
                remaining -= rows
            by_dataset: list[tuple[int, tuple[int, ...]]] = []
            for index, fragment_id, *_ in group:
                if by_dataset and by_dataset[-1][0] == index:
                    by_dataset[-1] = (index, by_dataset[-1][1] + (fragment_id,))
                else:
                    by_dataset.append((index, (fragment_id,)))
            tasks.append(ReadTask(functools.partial(_read_fragments, self._scan, tuple(by_dataset), task_limit),
                                  per_task_row_limit=per_task_row_limit, num_rows=rows,
                                  size_bytes=int(sum(u[3] for u in group) * fraction),
                                  input_files=tuple(f for u in group for f in u[4])))
        return tasks

    # ---- pushdowns -----------------------------------------------------------------------
    def _copy(self) -> "LanceDatasource":
        new = copy.copy(self)
        new._scan = copy.copy(self._scan)
        new._scan.sql_parts = list(self._scan.sql_parts)
        return new

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "LanceDatasource":
        available = self._scan.columns if self._scan.columns is not None else self._scan.schema.names
        new = self._copy()
        new._scan.columns = check_columns(READER, f"the columns read from {self._where}", columns, available)
        return new

    def supports_limit_pushdown(self) -> bool:
        return True

    def apply_limit(self, limit: int) -> "LanceDatasource":
        new = self._copy()
        new._limit = int(limit) if new._limit is None else min(new._limit, int(limit))
        return new

    def supports_predicate_pushdown(self) -> bool:
        return True

    def apply_predicate(self, expr: Any) -> "LanceDatasource":
        expr = as_expr(expr)
        expr.validate(self._scan.schema.names)
        new = self._copy()
        extra = {f.name for f in _EXTRA_COLUMNS.values()}
        if extra.intersection(expr.columns()):
            sql, rest = [], [expr]  # row id columns are the scanner's additions, not filterable by name
        else:
            sql, rest = split_sql(expr, quote="`")
        new._scan.sql_parts.extend(sql)
        if rest:
            existing = [new._scan.row_predicate] if new._scan.row_predicate is not None else []
            new._scan.row_predicate = join_and(existing + rest)
        return new

    def pushdown_summary(self) -> list[str]:
        scan = self._scan
        out = [f"version={self._versions[0] if len(self._versions) == 1 else self._versions}"]
        if scan.columns is not None:
            out.append(f"columns={scan.columns}")
        if scan.user_filter is not None:
            out.append(f"filter (SQL, from read_lance)={scan.user_filter}")
        if scan.sql_parts:
            out.append(f"filter (Lance SQL)={join_sql(scan.sql_parts, quote='`')}")
        if scan.row_predicate is not None:
            out.append(f"row filter={scan.row_predicate}")
        if self._limit is not None:
            out.append(f"limit={self._limit}")
        return out

    def __repr__(self) -> str:
        return f"LanceDatasource({self._uris!r}, {len(self._units)} fragments)"


def _take_special_options(options: dict, columns: Any, filter: Any) -> tuple[Any, Any, Any]:
    """``columns``, ``filter`` and ``fragments`` out of ``scanner_options`` (Ray sets the first
    two there too), refusing the same option given two different ways."""
    for key, value in (("columns", columns), ("filter", filter)):
        if key in options:
            given = options.pop(key)
            if value is not None and given is not None and given != value:
                raise ValueError(f"{READER}: {key} given twice, as {key}= and in scanner_options, with different "
                                 "values; give it once")
            if value is None:
                if key == "columns":
                    columns = given
                else:
                    filter = given
    if isinstance(columns, dict):
        raise ValueError(f"{READER}: columns as a dict of SQL expressions is not supported; pass a list of column "
                         "names and derive columns with Dataset.with_column")
    if filter is not None and not isinstance(filter, str):
        raise TypeError(f"{READER}: filter must be a SQL string (e.g. \"label = 2 AND text IS NOT NULL\"), got "
                        f"{type(filter).__name__}; for expressions use Dataset.filter(expr=...)")
    fragments = options.pop("fragments", None)
    if fragments is not None:
        ids = []
        for f in fragments:
            fid = f if isinstance(f, int) and not isinstance(f, bool) else getattr(f, "fragment_id", None)
            if not isinstance(fid, int):
                raise TypeError(f"{READER}: scanner_options['fragments'] must hold LanceFragments or fragment ids, "
                                f"got {f!r}")
            ids.append(fid)
        fragments = ids
    return columns, filter, fragments


def _open_driver(uri: str, version: Any, storage_options: Optional[dict]) -> Any:
    import lance

    try:
        return lance.dataset(uri, version=version, storage_options=storage_options)
    except Exception as exc:
        text = str(exc)
        if version is not None and ("_versions" in text or "version" in text.lower()):
            try:
                latest = lance.dataset(uri, storage_options=storage_options).version
                why = f"version {version!r} not found (the dataset's latest version is {latest})"
            except Exception:
                why = "no Lance dataset there (or it cannot be opened)"
        elif "not found" in text.lower():
            why = "no Lance dataset there (no _versions directory)"
        else:
            why = "it cannot be opened as a Lance dataset"
        raise DataSourceError(f"{READER}: cannot read {uri!r}: {why}: {type(exc).__name__}: {text}") from exc


def _fragment_units(datasets: list[Any], only: Optional[list[int]]) -> list[tuple]:
    """``(dataset index, fragment id, live rows, bytes, data files)`` of every fragment read."""
    units = []
    for index, ds in enumerate(datasets):
        fragments = ds.get_fragments()
        if only is not None:
            known = {f.fragment_id for f in fragments}
            unknown = [i for i in only if i not in known]
            if unknown:
                raise ValueError(f"{READER}: scanner_options['fragments'] names fragments {unknown}, which version "
                                 f"{ds.version} of {ds.uri!r} does not have (it has {sorted(known)})")
            fragments = [f for f in fragments if f.fragment_id in set(only)]
        base = str(ds.uri).rstrip("/")
        for f in fragments:
            meta = f.metadata
            deleted = meta.deletion_file.num_deleted_rows if meta.deletion_file is not None else 0
            rows = int(meta.physical_rows) - int(deleted) if deleted is not None else int(f.count_rows())
            size = sum(int(d.file_size_bytes or 0) for d in meta.files)
            units.append((index, f.fragment_id, rows, size,
                          tuple(f"{base}/data/{d.path}" for d in meta.files)))
    return units
