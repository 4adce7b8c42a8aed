"""ORC files via ``pyarrow.orc`` (Ray Data's ``read_orc``): stripes as the unit of reading.

Why stripes: an ORC file is a sequence of independently decodable stripes with the schema, row
count and stripe count in its footer. Ray Data 2.60 reads a file one stripe at a time (so a task
never holds a whole large file); here too, and when there are fewer files than the read's
parallelism the stripes of a file are spread over several tasks, as Parquet row groups are.

Footers are read on the driver only when they are needed, once each: the first file's for
``schema()``, every file's for ``count()`` (``num_rows``), and those of the files a read splits
into stripes. A projection (``select_columns``, or columns a later operator never uses) goes into
``read_stripe(columns=...)``: the other columns' streams are never decoded. Types are what
pyarrow gives for the file, as in Ray.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasource import ReadTask
from streamscope.engine.io.file_datasource import _DEFAULT, FileBasedDatasource, split_evenly, split_file_args
from streamscope.engine.io.parquet_datasource import STREAM_BATCH_BYTES
from streamscope.engine.io.paths import display_path, to_arrow_filesystem
from streamscope.engine.io.retry import call_with_retry

# One unit of reading: a file and the stripes to read from it (None = all of them).
Piece = tuple[str, Optional[tuple[int, ...]]]


class OrcFooter:
    """What the driver keeps of one file's footer."""

    __slots__ = ("num_rows", "num_stripes", "schema")

    def __init__(self, num_rows: int, num_stripes: int, schema: pa.Schema):
        self.num_rows, self.num_stripes, self.schema = num_rows, num_stripes, schema


def _read_pieces(datasource: "ORCDatasource", pieces: tuple[Piece, ...]) -> Iterator[pa.Table]:
    return datasource._read_pieces(pieces)


class ORCDatasource(FileBasedDatasource):
    _FILE_EXTENSIONS = ["orc"]

    def __init__(self, paths: Any, *, file_extensions: Any = _DEFAULT, **kwargs: Any):
        file_args, unknown = split_file_args(kwargs)
        if unknown:
            raise TypeError(f"read_orc got unexpected arguments {sorted(unknown)}")
        super().__init__(paths, file_extensions=file_extensions, **file_args)
        self._footers_read: Optional[dict[int, OrcFooter]] = None

    def get_name(self) -> str:
        return "ReadORC"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_footers_read"] = None  # footers stay on the driver
        return state

    # ---- footers -------------------------------------------------------------------------------
    def _open(self, path: str) -> Any:
        """A seekable file (ORC's footer is at its end), through pyarrow's filesystem."""
        return to_arrow_filesystem(self._fs).open_input_file(path)

    def _footer(self, index: int) -> OrcFooter:
        if self._footers_read is None:
            self._footers_read = {}
        if index not in self._footers_read:
            from pyarrow import orc

            path = self._paths[index]
            shown = display_path(self._fs, path)

            def read() -> OrcFooter:
                with self._open(path) as f:
                    orc_file = orc.ORCFile(f)
                    return OrcFooter(orc_file.nrows, orc_file.nstripes, orc_file.schema)

            try:
                self._footers_read[index] = call_with_retry(read, f"reading the ORC footer of {shown!r}")
            except FileNotFoundError as exc:
                raise DataSourceError(f"ReadORC: file not found: {shown!r}") from exc
            except Exception as exc:
                raise DataSourceError(f"ReadORC: cannot read the ORC footer of {shown!r} (corrupt or not an ORC "
                                      f"file): {type(exc).__name__}: {exc}") from exc
        return self._footers_read[index]

    def schema(self) -> pa.Schema:
        kept = self._kept_indices()
        return self._schema_with_file_columns(self._footer(kept[0] if kept else 0).schema)

    def num_rows(self) -> Optional[int]:
        if self._row_predicate is not None:
            return None
        total = sum(self._footer(i).num_rows for i in self._kept_indices())
        return total if self._limit is None else min(total, self._limit)

    def supports_predicate_pushdown(self) -> bool:
        """A filter is taken into the read: conjuncts over partition columns drop whole files,
        the rest is applied to each block as it is decoded, so a projection after the filter
        still narrows the columns decoded (to those kept plus those the filter reads)."""
        return True

    def apply_projection(self, columns: list[str]) -> "ORCDatasource":
        if self._columns is not None:
            missing = [c for c in columns if c not in self._columns]
            if missing:
                raise DataSourceError(f"ReadORC: columns {missing} are not among the read columns {self._columns}")
        return super().apply_projection(columns)  # type: ignore[return-value]

    # ---- tasks -------------------------------------------------------------------------------------
    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        if self._columns is not None:
            self.schema()  # a projection of a column the files lack fails now, on the driver
        sizes = self._file_sizes()
        order = self._run_order()
        parallelism = max(1, int(parallelism))
        units: list[tuple[str, Optional[int], float]] = []  # path, stripe, weight (bytes)
        for i in order:
            size = float(sizes[i] or 1)
            if len(order) >= parallelism:
                units.append((self._paths[i], None, size))  # enough files: no footer read here
                continue
            stripes = self._footer(i).num_stripes
            if stripes <= 1:
                units.append((self._paths[i], None, size))
            else:
                units.extend((self._paths[i], s, size / stripes) for s in range(stripes))
        tasks = []
        for group in split_evenly(units, [u[2] for u in units], parallelism):
            pieces = _merge_pieces(group)
            whole = all(stripes is None for _, stripes in pieces)
            rows = None
            if whole and self._footers_read and self._row_predicate is None and self._limit is None and all(
                    self._path_index(p) in self._footers_read for p, _ in pieces):
                rows = sum(self._footers_read[self._path_index(p)].num_rows for p, _ in pieces)
            tasks.append(ReadTask(
                read_fn=functools.partial(_read_pieces, self, pieces),
                num_rows=rows,
                size_bytes=int(sum(u[2] for u in group)),
                input_files=tuple(dict.fromkeys(display_path(self._fs, p) for p, _ in pieces)),
            ))
        return tasks

    # ---- reading (worker side) --------------------------------------------------------------------
    def _read_pieces(self, pieces: tuple[Piece, ...]) -> Iterator[pa.Table]:
        remaining = self._limit
        for path, stripes in pieces:
            if remaining is not None and remaining <= 0:
                return
            make = functools.partial(self._scan_piece, path, stripes)
            for table in self._read_file_checked(path, make):
                table = self._finish_block(table, path)
                if remaining is not None:
                    table = table.slice(0, remaining)
                    remaining -= table.num_rows
                yield table
                if remaining is not None and remaining <= 0:
                    return

    def _scan_piece(self, path: str, stripes: Optional[tuple[int, ...]]) -> Iterator[pa.Table]:
        with self._open(path) as f:
            yield from self._read_stripes(f, stripes)

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        """Every stripe of one open (seekable) ORC file (Ray's hook, for subclasses)."""
        yield from self._read_stripes(f, None)

    def _read_stripes(self, f: Any, stripes: Optional[tuple[int, ...]]) -> Iterator[pa.Table]:
        """The chosen stripes, projected, gathered into blocks of about 4 MiB (a stripe is never
        split: ORC writers make stripes of 64 MiB of encoded data by default)."""
        from pyarrow import orc

        orc_file = orc.ORCFile(f)
        columns = self._file_read_columns()
        drop_all = False
        if columns is not None:
            present = set(orc_file.schema.names)
            columns = [c for c in columns if c in present]
            if not columns and orc_file.schema.names:
                # only partition/path columns wanted: read the first column for the row counts
                columns, drop_all = [orc_file.schema.names[0]], True
        limit = DataContext.get_current().target_max_block_size or (128 << 20)
        target = min(STREAM_BATCH_BYTES, limit)
        batches: list[pa.RecordBatch] = []
        nbytes = 0
        emitted = False
        schema = None
        for index in (range(orc_file.nstripes) if stripes is None else stripes):
            batch = orc_file.read_stripe(index, columns=columns)
            schema = batch.schema
            if batch.num_rows == 0:
                continue
            batches.append(batch)
            nbytes += batch.nbytes
            if nbytes >= target:
                yield _table(batches, schema, drop_all)
                emitted = True
                batches, nbytes = [], 0
        if batches or not emitted:
            if schema is None:
                schema = orc_file.schema if columns is None else pa.schema(
                    [orc_file.schema.field(c) for c in columns])
            yield _table(batches, schema, drop_all)


def _table(batches: list, schema: pa.Schema, drop_all: bool) -> pa.Table:
    table = pa.Table.from_batches(batches, schema=schema)
    return table.select([]) if drop_all else table


def _merge_pieces(units: list[tuple[str, Optional[int], float]]) -> tuple[Piece, ...]:
    """Consecutive stripes of one file become one piece."""
    pieces: list[tuple[str, Optional[list[int]]]] = []
    for path, stripe, _ in units:
        if stripe is not None and pieces and pieces[-1][0] == path and pieces[-1][1] is not None:
            pieces[-1][1].append(stripe)  # type: ignore[union-attr]
        else:
            pieces.append((path, None if stripe is None else [stripe]))
    return tuple((p, None if s is None else tuple(s)) for p, s in pieces)
