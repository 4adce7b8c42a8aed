"""Parquet via ``pyarrow.dataset``: metadata from footers, pushdowns into the scan.

Why footers first: a Parquet footer holds the schema, the row count of every row group and their
sizes, so ``schema()``, ``num_rows()`` (``count()``) and task splitting need no data pages.
Footers are read once per datasource on the driver, lazily (the first question that needs them),
and are not pickled into tasks.

Pushdowns narrow the scan itself: ``columns`` become the scanner's projection (other column
chunks are never read), a predicate becomes the scanner's ``filter`` (row groups whose statistics
rule it out are skipped, the rest filtered while decoding), and a limit drops whole tasks once the
footers' row counts cover it and stops each remaining task early. Canonical tensor extension
columns round-trip because pyarrow stores the Arrow schema in the file.

Partition columns (Hive by default, as Ray's ``read_parquet``) come from the paths: the schema
lists them after the file's columns without reading anything, a filter over them drops whole
files before their footers are read, and the rest of a filter is split: conjuncts over the file's
columns go into the scan, conjuncts that also use partition or ``path`` columns are applied to
each block after those columns are added.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.io.datasource import ReadTask
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_evenly, split_file_args
from streamscope.engine.io.file_partitions import join_and
from streamscope.engine.io.object_stores import describe_store_failure
from streamscope.engine.io.partitioning import Partitioning
from streamscope.engine.io.paths import display_path, to_arrow_filesystem
from streamscope.engine.io.retry import call_with_retry, is_transient
from streamscope.engine.io.tensor_columns import check_tensor_column_schema, decode_tensor_columns, tensor_type

# One unit of reading: a file and the row groups to read from it (None = all of them).
Piece = tuple[str, Optional[tuple[int, ...]]]


def _read_pieces(datasource: "ParquetDatasource", pieces: tuple[Piece, ...], limit: Optional[int]) -> Iterator[pa.Table]:
    return datasource._read_pieces(pieces, limit)


STREAM_BATCH_BYTES = 4 << 20
"""Bytes per block a Parquet read yields (decoded size, estimated from the footer)."""


def _rows_per_batch(fragment: Any, target_bytes: int) -> int:
    """Scan batch rows so that one batch decodes to about ``target_bytes`` (from the footer's
    uncompressed sizes; pyarrow's default of 131,072 rows is ~100 MiB for small images). Reading
    the footer can fail like any read of the file (a throttled object store): that error is raised,
    so the read's retry sees it, instead of being taken for a footer without sizes."""
    try:
        meta = fragment.metadata
        rows = meta.num_rows
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception as exc:
        if isinstance(exc, OSError) or is_transient(exc):  # pyarrow wraps a throttled open in ArrowInvalid
            raise
        return 131_072
    if not rows or not size:
        return 131_072
    return int(max(1024, min(1 << 20, target_bytes * rows / size)))


def _make_scanner(fragment: Any, **kwargs: Any) -> Any:
    """The one place a scan is built (tests watch it to see what was pushed down)."""
    import pyarrow.dataset as pads

    return pads.Scanner.from_fragment(fragment, **kwargs)


class ParquetDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = ["parquet"]

    def __init__(self, paths: Any, *, columns: Optional[list[str]] = None, file_extensions: Any = _DEFAULT,
                 partitioning: Any = _DEFAULT, filter: Any = None, tensor_column_schema: Any = None,
                 **kwargs: Any):
        user_schema = kwargs.pop("schema", None)  # Ray's pyarrow read schema, not FileBasedDatasource's
        file_args, arrow_parquet_args = split_file_args(kwargs)
        if partitioning is _DEFAULT:
            partitioning = Partitioning("hive")  # Ray's ParquetDatasource default
        super().__init__(paths, file_extensions=file_extensions, partitioning=partitioning, **file_args)
        self._columns = list(columns) if columns is not None else None
        self._predicate: Optional[Expr] = None  # over the files' own columns: goes into the scan
        self._arrow_filter: Optional[pc.Expression] = None
        self._tensor_columns = check_tensor_column_schema(tensor_column_schema, "read_parquet")
        self._format_args = _format_args(arrow_parquet_args.pop("dataset_kwargs", None),
                                         arrow_parquet_args.pop("read_options", None))
        self._user_schema = _check_schema(user_schema)
        unknown = set(arrow_parquet_args) - set(SCANNER_ARGS)
        if unknown:
            raise TypeError(f"read_parquet got unexpected arguments {sorted(unknown)}; the pyarrow arguments it "
                            f"takes are schema, dataset_kwargs, read_options and the scanner's {list(SCANNER_ARGS)}")
        self._scan_args = dict(arrow_parquet_args)
        self._meta: Optional[dict[int, Any]] = None
        if self._user_schema is not None:
            self._type_partitions_by(self._user_schema)
        elif len(self._partition_schema):
            # files that also store a partition column (delta-rs, some Spark writers) type it
            self._type_partitions_by(self._footer(0).schema.to_arrow_schema())
        if isinstance(filter, pc.Expression):
            self._arrow_filter = filter  # Ray's read_parquet(filter=pyarrow expression)
        elif filter is not None:
            self._push_predicate(as_expr(filter))

    def get_name(self) -> str:
        return "ReadParquet"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_meta"] = None  # footers stay on the driver
        return state

    # ---- metadata from footers ------------------------------------------------------------
    def _arrow_fs(self):
        return to_arrow_filesystem(self._fs)

    def _footer(self, index: int) -> Any:
        """The footer of file ``index``, read once on the driver (pruned files' never are)."""
        if self._meta is None:
            self._meta = {}
        if index not in self._meta:
            import pyarrow.parquet as pq

            import pyarrow as pa

            path = self._paths[index]
            shown = display_path(self._fs, path)
            try:  # a flaky store (DataContext.retried_io_errors) is retried, as a read task's opens are
                self._meta[index] = call_with_retry(lambda: pq.read_metadata(path, filesystem=self._arrow_fs()),
                                                    f"reading the Parquet footer of {shown!r}")
            except FileNotFoundError as exc:
                raise DataSourceError(f"ReadParquet: file not found: {shown!r}") from exc
            except pa.ArrowInvalid as exc:  # what pyarrow says of bytes that are no Parquet footer
                raise DataSourceError(
                    f"ReadParquet: cannot read the Parquet footer of {shown!r} (corrupt or not a Parquet file): {exc}"
                ) from exc
            except Exception as exc:
                raise DataSourceError(f"ReadParquet: cannot read the Parquet footer of {shown!r}: "
                                      f"{describe_store_failure(self._fs, exc)}") from exc
        return self._meta[index]

    def _footers(self) -> list[Any]:
        """The footers of the files left after pruning, in listing order."""
        return [self._footer(i) for i in self._kept_indices()]

    def _file_schema(self) -> pa.Schema:
        """The first file's columns (tensor columns typed as tensor_column_schema says)."""
        if not self._paths:
            return pa.schema([])
        if self._user_schema is not None:
            partitions = set(self._partition_schema.names)
            schema = pa.schema([f for f in self._user_schema if f.name not in partitions])
        else:
            schema = self._footer(0).schema.to_arrow_schema().remove_metadata()
        for name, (dtype, shape) in (self._tensor_columns or {}).items():
            if name in schema.names:
                i = schema.get_field_index(name)
                schema = schema.set(i, pa.field(name, tensor_type(dtype, shape)))
        return schema

    def _full_schema(self) -> pa.Schema:
        schema = self._file_schema()
        for field in self._partition_schema:
            if field.name not in schema.names:
                schema = schema.append(field)
        if self._include_paths and "path" not in schema.names:
            schema = schema.append(pa.field("path", pa.string()))
        return schema

    def schema(self) -> pa.Schema:
        schema = self._full_schema()
        if self._columns is not None:
            self._check_columns(self._columns, schema)
            schema = pa.schema([schema.field(c) for c in self._columns])
        return schema

    def _check_columns(self, columns: list[str], schema: pa.Schema) -> None:
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise DataSourceError(
                f"ReadParquet: columns {missing} not found in {display_path(self._fs, self._paths[0])!r}; "
                f"available columns: {schema.names}"
            )

    def _exact(self) -> bool:
        return self._predicate is None and self._arrow_filter is None and self._row_predicate is None

    def num_rows(self) -> Optional[int]:
        if not self._exact():
            return None
        total = sum(m.num_rows for m in self._footers())
        return total if self._limit is None else min(total, self._limit)

    def estimate_inmemory_data_size(self) -> Optional[int]:
        footers = self._footers()
        total = sum(m.row_group(i).total_byte_size for m in footers for i in range(m.num_row_groups))
        return int(total * self._column_fraction())

    def _column_fraction(self) -> float:
        width = len(self._file_schema()) or 1
        return 1.0 if self._columns is None else min(1.0, len(self._columns) / width)

    # ---- tasks ------------------------------------------------------------------------------
    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        order = self._run_order()
        if self._columns is not None:
            self.schema()  # validates the projection against the footer
        if self._predicate is not None:
            self._predicate.validate(self._file_schema().names)
        if self._row_predicate is not None:
            self._row_predicate.validate(self._full_schema().names)
        parallelism = max(1, int(parallelism))
        units: list[tuple[str, Optional[int], int, int]] = []  # path, row group, rows, bytes
        for i in order:
            path, m = self._paths[i], self._footer(i)
            if len(order) >= parallelism or m.num_row_groups == 0:
                size = sum(m.row_group(g).total_byte_size for g in range(m.num_row_groups))
                units.append((path, None, m.num_rows, size))
            else:
                for g in range(m.num_row_groups):
                    rg = m.row_group(g)
                    units.append((path, g, rg.num_rows, rg.total_byte_size))
        exact = self._exact()
        remaining = self._limit
        fraction = self._column_fraction()
        tasks: list[ReadTask] = []
        for group in split_evenly(units, [float(u[3] or u[2] or 1) for u in units], parallelism):
            if remaining is not None and remaining <= 0 and exact:
                break  # the footers say earlier tasks already cover the limit
            pieces = _merge_pieces(group)
            rows = sum(u[2] for u in group)
            task_limit = remaining
            if remaining is not None and exact:
                rows = min(rows, remaining)
                remaining -= rows
            tasks.append(
                ReadTask(
                    read_fn=functools.partial(_read_pieces, self, pieces, task_limit),
                    num_rows=rows if exact else None,
                    size_bytes=int(sum(u[3] for u in group) * fraction),
                    input_files=tuple(dict.fromkeys(display_path(self._fs, p) for p, _ in pieces)),
                )
            )
        return tasks

    def _scan_filter(self) -> Optional[pc.Expression]:
        parts = [e for e in (self._predicate.to_pyarrow() if self._predicate is not None else None, self._arrow_filter) if e is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else parts[0] & parts[1]

    def _read_pieces(self, pieces: tuple[Piece, ...], limit: Optional[int]) -> Iterator[pa.Table]:
        remaining = limit
        for path, row_groups in pieces:
            if remaining is not None and remaining <= 0:
                return
            make = functools.partial(self._scan_piece, path, row_groups)
            for table in self._read_file_checked(path, make):
                table = self._finish_block(table, path)
                if remaining is not None:
                    table = table.slice(0, remaining)
                    remaining -= table.num_rows
                yield table
                if remaining is not None and remaining <= 0:
                    return

    def _add_file_columns(self, table: pa.Table, path: str) -> pa.Table:
        if self._tensor_columns:  # first, so a row filter sees the tensors
            table = decode_tensor_columns(table, self._tensor_columns, display_path(self._fs, path))
        return super()._add_file_columns(table, path)

    def _scan_piece(self, path: str, row_groups: Optional[tuple[int, ...]]) -> Iterator[pa.Table]:
        """Worker side: scan one file (or some of its row groups) with projection and filter."""
        import pyarrow.dataset as pads

        fmt = pads.ParquetFileFormat(**self._format_args)
        fragment = fmt.make_fragment(path, filesystem=self._arrow_fs(),
                                     row_groups=list(row_groups) if row_groups is not None else None)
        columns = self._file_read_columns()
        if columns is not None:
            on_disk = set(fragment.physical_schema.names)
            columns = [c for c in columns if c in on_disk]
        scan_args = dict(self._scan_args)
        if "batch_size" not in scan_args:
            scan_args["batch_size"] = _rows_per_batch(fragment, STREAM_BATCH_BYTES)
        if self._user_schema is not None:
            partitions = set(self._partition_schema.names)  # files are cast to the given types as they are read
            scan_args["schema"] = pa.schema([f for f in self._user_schema if f.name not in partitions])
        scanner = _make_scanner(fragment, columns=columns, filter=self._scan_filter(), **scan_args)
        # Yield about STREAM_BATCH_BYTES at a time (never more than target_max_block_size): the
        # blocks reach downstream operators while the rest of the file is still being read.
        max_bytes = min(STREAM_BATCH_BYTES, DataContext.get_current().target_max_block_size or (128 << 20))
        batches: list[pa.RecordBatch] = []
        nbytes = 0
        emitted = False
        for batch in scanner.to_batches():
            if batch.num_rows == 0:
                continue
            batches.append(batch)
            nbytes += batch.nbytes
            if nbytes >= max_bytes:
                yield pa.Table.from_batches(batches)
                emitted = True
                batches, nbytes = [], 0
        if batches or not emitted:
            yield pa.Table.from_batches(batches, schema=scanner.projected_schema)

    def _type_partitions_by(self, schema: pa.Schema) -> None:
        """A ``schema`` (the user's, or the files' own) naming a partition field types that column."""
        fields = []
        for field in self._partition_schema:
            if field.name not in schema.names:
                fields.append(field)
                continue
            target = schema.field(field.name).type
            for i, values in enumerate(self._partition_values):
                if values.get(field.name) is not None:
                    try:
                        values[field.name] = pa.scalar(values[field.name]).cast(target).as_py()
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise ValueError(f"read_parquet: partition value {values[field.name]!r} of {field.name!r} in "
                                         f"{display_path(self._fs, self._paths[i])!r} cannot be read as {target} "
                                         "(the type the schema or the file gives it)") from exc
            fields.append(pa.field(field.name, target))
        self._partition_schema = pa.schema(fields)

    # ---- pushdowns ---------------------------------------------------------------------------
    def supports_predicate_pushdown(self) -> bool:
        return True

    def _push_rest(self, parts: list[Expr]) -> None:
        synthesized = set(self._synthesized_columns())
        scan = [p for p in parts if not synthesized.intersection(p.columns())]
        rows = [p for p in parts if synthesized.intersection(p.columns())]
        if scan:
            expr = join_and(scan)
            if self._meta:
                expr.validate(self._file_schema().names)
            self._predicate = expr if self._predicate is None else (self._predicate & expr)
        if rows:
            super()._push_rest(rows)

    def apply_projection(self, columns: list[str]) -> "ParquetDatasource":
        if self._columns is not None:
            missing = [c for c in columns if c not in self._columns]
            if missing:
                raise DataSourceError(f"ReadParquet: columns {missing} are not among the read columns {self._columns}")
        return super().apply_projection(columns)  # type: ignore[return-value]

    def pushdown_summary(self) -> list[str]:
        out = []
        if self._partition_filtered:
            out.append(f"partition_filter dropped {self._partition_filtered} files")
        out.extend(self._pruning)
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._predicate is not None:
            out.append(f"filter={self._predicate}")
        if self._arrow_filter is not None:
            out.append(f"filter={self._arrow_filter}")
        if self._row_predicate is not None:
            out.append(f"row filter={self._row_predicate}")
        if self._limit is not None:
            out.append(f"limit={self._limit}")
        return out


SCANNER_ARGS = ("batch_size", "batch_readahead", "fragment_readahead", "fragment_scan_options", "use_threads",
                "cache_metadata")
"""``pyarrow.dataset.Scanner.from_fragment`` arguments read_parquet passes on (Ray's ``**arrow_parquet_args``)."""


def _format_args(dataset_kwargs: Optional[dict], read_options: Any) -> dict:
    """``pyarrow.dataset.ParquetFileFormat`` arguments from Ray's ``dataset_kwargs`` (its
    ``read_dictionary`` is the format's ``dictionary_columns``) and ``read_options``."""
    out = dict(dataset_kwargs or {})
    if "partitioning" in out:
        raise ValueError("read_parquet: 'partitioning' in dataset_kwargs is not supported; pass partitioning= "
                         "to read_parquet itself")
    if "filter" in out or "filters" in out:
        raise ValueError("read_parquet: row filters in dataset_kwargs are not supported; use "
                         "Dataset.filter(expr=...), which is pushed into the scan")
    if "read_dictionary" in out:
        out["dictionary_columns"] = out.pop("read_dictionary")
    if read_options is not None:
        out["read_options"] = read_options
    try:
        import pyarrow.dataset as pads

        pads.ParquetFileFormat(**out)  # fail now, naming the argument, not in a worker
    except TypeError as exc:
        raise TypeError(f"read_parquet: dataset_kwargs {sorted(out)} are not pyarrow ParquetFileFormat "
                        f"arguments: {exc}") from None
    return out


def _check_schema(schema: Any) -> Optional[pa.Schema]:
    if schema is None or isinstance(schema, pa.Schema):
        return schema
    raise TypeError(f"read_parquet: schema must be a pyarrow.Schema, got {type(schema).__name__}")


def _merge_pieces(units: list[tuple[str, Optional[int], int, int]]) -> tuple[Piece, ...]:
    """Consecutive row groups of one file become one piece."""
    pieces: list[tuple[str, Optional[list[int]]]] = []
    for path, rg, _, _ in units:
        if rg is not None and pieces and pieces[-1][0] == path and pieces[-1][1] is not None:
            pieces[-1][1].append(rg)  # type: ignore[union-attr]
        else:
            pieces.append((path, None if rg is None else [rg]))
    return tuple((p, None if rgs is None else tuple(rgs)) for p, rgs in pieces)
