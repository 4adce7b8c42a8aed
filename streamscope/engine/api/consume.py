"""Consumption methods of Dataset: everything that triggers execution (or answers from metadata).

Each execution optimizes the logical plan, plans physical operators and runs them in a
StreamingExecutor; the last run is kept on the Dataset for ``stats()`` and the notebook views.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.batching import iter_batches
from streamscope.engine.api.data_iterator import DatasetIterator
from streamscope.engine.api.explain import explain_plan
from streamscope.engine.api.streaming_split import streaming_split as split_stream
from streamscope.engine.block import block_to_batch, block_to_pandas, concat_blocks, iter_rows
from streamscope.engine.execution.run import start_execution
from streamscope.engine.execution.stats import DatasetStats
from streamscope.engine.io.datasource import source_input_files
from streamscope.engine.logical.operators import InputData, Read
from streamscope.engine.logical.plan import post_order
from streamscope.engine.schema import Schema


class ConsumeMixin:
    # ---- execution plumbing --------------------------------------------------------------------
    """Dataset methods that run the plan (or answer from metadata without running it)."""

    def _start_execution(self, purpose: str, plan=None):
        executor = start_execution(plan or self._plan, name=self._name or _default_name(self), purpose=purpose)
        self._last_run = executor
        return executor

    def _iter_tables(self, plan=None) -> Iterator[pa.Table]:
        yield from self._open_tables(plan)

    def _open_tables(self, plan=None) -> Iterator[pa.Table]:
        """Create the run now, on the calling thread, and return the stream of its output blocks
        (the executor starts at the stream's first step). Batch iteration calls this on the
        consumer's thread before its prefetch thread pulls the stream: the notebook extension
        shows a live view only for runs created on the thread running the cell."""
        return _output_tables(self._start_execution("iterate", plan))

    # ---- rows -----------------------------------------------------------------------------------
    def take(self, limit: int = 20) -> list[dict[str, Any]]:
        """The first ``limit`` rows as dicts. Runs only as much of the plan as it needs (the limit is
        pushed towards the source and the run stops once it has the rows), in order.

        Examples:
            >>> streamscope.range(100).take(3)
            [{'id': 0}, {'id': 1}, {'id': 2}]
        """
        rows: list[dict[str, Any]] = []
        if limit <= 0:
            return rows
        for table in self._iter_tables(self.limit(limit)._plan):
            rows.extend(iter_rows(table))
        return rows[:limit]

    def take_all(self, limit: Optional[int] = None) -> list[dict[str, Any]]:
        """Every row as a dict. ``limit`` guards a notebook against pulling a huge dataset into
        memory: more rows than that raise instead. Rows arrive as blocks finish; sort first when
        their order matters.

        Examples:
            >>> sorted(row["id"] for row in streamscope.range(5).take_all())
            [0, 1, 2, 3, 4]
            >>> streamscope.range(5).take_all(limit=3)
            Traceback (most recent call last):
            ...
            ValueError: The dataset has more than the given limit of 3 records.
        """
        rows: list[dict[str, Any]] = []
        for table in self._iter_tables():
            rows.extend(iter_rows(table))
            if limit is not None and len(rows) > limit:
                raise ValueError(f"The dataset has more than the given limit of {limit} records.")
        return rows

    def take_batch(self, batch_size: int = 20, *, batch_format: Optional[str] = "default") -> Any:
        """The first ``batch_size`` rows as one batch in ``batch_format`` (by default a dict of
        numpy arrays), handy to see what ``map_batches`` will hand a function.

        Examples:
            >>> streamscope.range(10).take_batch(3)
            {'id': array([0, 1, 2])}
            >>> streamscope.range(10).take_batch(2, batch_format="pandas")  # doctest: +NORMALIZE_WHITESPACE
               id
            0   0
            1   1
        """
        tables = list(self._iter_tables(self.limit(batch_size)._plan))
        if not tables:
            raise ValueError("The dataset is empty.")
        return block_to_batch(concat_blocks(tables).slice(0, batch_size), batch_format)

    def show(self, limit: int = 20) -> None:
        """Print the first ``limit`` rows, one per line.

        Examples:
            >>> streamscope.range(3).show()
            {'id': 0}
            {'id': 1}
            {'id': 2}
        """
        for row in self.take(limit):
            print(row)

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Iterate over the rows as dicts, streaming: blocks are read as the run produces them.

        Examples:
            >>> sorted(row["id"] for row in streamscope.range(4).iter_rows())
            [0, 1, 2, 3]
        """
        for table in self._iter_tables():
            yield from iter_rows(table)

    def iter_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256,
                     batch_format: Optional[str] = "default", drop_last: bool = False,
                     local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                     _collate_fn=None) -> Iterator[Any]:
        """Iterate over batches of exactly ``batch_size`` rows (the last may be smaller unless
        ``drop_last``), across block boundaries, in ``batch_format`` (a dict of numpy arrays by
        default, ``"pandas"`` or ``"pyarrow"``). A prefetch thread formats ``prefetch_batches``
        ahead of the loop; ``local_shuffle_buffer_size`` draws rows at random from a buffer.

        Examples:
            >>> for batch in streamscope.range(10).iter_batches(batch_size=4):
            ...     print(len(batch["id"]))
            4
            4
            2
        """
        return iter_batches(
            self._open_tables, batch_size=batch_size, batch_format=batch_format, drop_last=drop_last,
            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
            prefetch_batches=prefetch_batches, collate_fn=_collate_fn,
        )

    def iterator(self):
        """A :class:`DataIterator` over this dataset; each iteration executes it anew.

        Examples:
            >>> it = streamscope.range(5).iterator()
            >>> sum(len(batch["id"]) for batch in it.iter_batches(batch_size=2))
            5
        """
        return DatasetIterator(self)

    def streaming_split(self, n: int, *, equal: bool = False, locality_hints: Optional[list] = None):
        """n DataIterators fed by one execution of this dataset (blocks are dealt out, so every row
        reaches exactly one of them). ``equal=True`` gives every split the same number of rows,
        dropping fewer than n leftover rows. Consume the splits concurrently (one per training
        worker): a split that is not read holds the others back once its queue is full.
        ``locality_hints`` is accepted for Ray compatibility and ignored (one machine).

        Examples:
            >>> from concurrent.futures import ThreadPoolExecutor
            >>> splits = streamscope.range(10).streaming_split(2, equal=True)
            >>> with ThreadPoolExecutor(2) as pool:
            ...     print(list(pool.map(lambda it: sum(1 for _ in it.iter_rows()), splits)))
            [5, 5]
        """
        return split_stream(self, n, equal)

    def to_pandas(self, limit: Optional[int] = None):
        """All rows as one pandas DataFrame. ``limit`` raises instead of building a frame with more
        rows than that.

        Examples:
            >>> df = streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).to_pandas()
            >>> print(df.sort_values("a").to_string(index=False))
             a b
             1 x
             2 y
        """
        tables = list(self._iter_tables())
        table = concat_blocks(tables) if tables else pa.Table.from_arrays([], names=[])
        if limit is not None and table.num_rows > limit:
            raise ValueError(f"the dataset has more than the given limit of {limit} rows: {table.num_rows}")
        return block_to_pandas(table)

    def to_arrow(self) -> pa.Table:
        """All rows as one pyarrow Table (a streamscope extension, handy in notebooks).

        Examples:
            >>> table = streamscope.range(3).to_arrow()
            >>> table.num_rows, table.column_names
            (3, ['id'])
        """
        tables = list(self._iter_tables())
        return concat_blocks(tables) if tables else pa.Table.from_arrays([], names=[])

    # ---- metadata -------------------------------------------------------------------------------
    def count(self) -> int:
        """Rows in the dataset, from metadata when the plan knows it (no UDF runs), else by
        executing and summing block metadata (blocks are never pulled to the driver).

        Examples:
            >>> streamscope.range(10).map(lambda row: row).count()  # a map keeps the row count: no run
            10
            >>> streamscope.range(10).filter(lambda row: row["id"] < 4).count()
            4
        """
        known = self._plan.dag.output_num_rows()
        if known is not None:
            return known
        executor = self._start_execution("count")
        total = 0
        for ref, meta, owned in executor.iter_output():
            total += meta.num_rows
            executor.release(ref, owned)
        return total

    def schema(self, fetch_if_missing: bool = True) -> Optional[Schema]:
        """Column names and types, from metadata when known (a Parquet footer, in-memory data),
        else by running the plan for its first block (``fetch_if_missing=False`` answers None
        instead).

        Examples:
            >>> streamscope.from_items([{"a": 1, "b": "x"}]).schema()
            Column  Type
            ------  ----
            a       int64
            b       string
        """
        known = self._plan.dag.output_schema()
        if known is not None:
            return Schema(known)
        if not fetch_if_missing:
            return None
        for table in self._iter_tables(self.limit(1)._plan):
            return Schema(table.schema)
        # an empty result still has a schema when a block came through with 0 rows
        return None

    def columns(self, fetch_if_missing: bool = True) -> Optional[list[str]]:
        """The column names (see :meth:`schema`).

        Examples:
            >>> streamscope.from_items([{"a": 1, "b": "x"}]).columns()
            ['a', 'b']
        """
        schema = self.schema(fetch_if_missing=fetch_if_missing)
        return None if schema is None else schema.names

    def num_blocks(self) -> int:
        """Blocks of the dataset: known for a materialized one, else it is materialized to count them.

        Examples:
            >>> streamscope.from_items(list(range(6)), override_num_blocks=3).num_blocks()
            3
        """
        dag = self._plan.dag
        if isinstance(dag, InputData):
            return dag.num_blocks()
        return self.materialize().num_blocks()

    def size_bytes(self) -> int:
        """In-memory bytes of the dataset's blocks (a materialized dataset answers from metadata).

        Examples:
            >>> streamscope.from_items(list(range(10))).size_bytes()  # ten int64 values
            80
        """
        dag = self._plan.dag
        if isinstance(dag, InputData) and dag.refs is not None:
            return sum(m.size_bytes for _, m in dag.refs)
        mat = self.materialize()
        return mat.size_bytes()

    def input_files(self) -> list[str]:
        """The files this dataset reads, from its read operators (no data is read).

        Examples:
            >>> import os, tempfile
            >>> import pyarrow as pa, pyarrow.parquet as pq
            >>> tmp = tempfile.TemporaryDirectory()
            >>> pq.write_table(pa.table({"a": [1, 2]}), os.path.join(tmp.name, "part-0.parquet"))
            >>> [os.path.basename(path) for path in streamscope.read_parquet(tmp.name).input_files()]
            ['part-0.parquet']
            >>> tmp.cleanup()
        """
        files: list[str] = []
        for op in post_order(self._plan.dag):
            if isinstance(op, Read):
                for f in source_input_files(op.datasource):
                    if f not in files:
                        files.append(f)
        return files

    # ---- plans and stats ------------------------------------------------------------------------
    def explain(self, *, rules: bool = False) -> None:
        """Print the logical, optimized logical and physical plans (as Ray Data does), with the
        optimizer rules that fired; nothing runs. ``rules=True`` (a streamscope extension) adds
        each rule's rewrite as the plan before and after it. In a notebook, ``%dataset explain ds``
        shows the same plans as graphs (``--rules``: a before/after pair of graphs per rule).

        Examples:
            >>> streamscope.range(10).map(lambda row: row).filter(expr="id > 5").explain()
            -------- Logical Plan --------
            Filter[Filter(id > 5)]
            +- MapRows[Map(<lambda>)]
               +- Read[ReadRange]
            -------- Logical Plan (Optimized) --------
            Filter[Filter(id > 5)]
            +- MapRows[Map(<lambda>)]
               +- Read[ReadRange]
            -------- Physical Plan --------
            TaskPoolMapOperator[ReadRange->Map(<lambda>)->Filter(id > 5)]
        """
        result = self._explain()
        print(result.text() + ("\n" + result.rules_text() if rules else ""))

    def _explain(self):
        return explain_plan(self._plan, name=self._name or _default_name(self), executed=self._last_run is not None)

    def stats(self):
        """Statistics of this dataset's last execution: readable text (``print(ds.stats())``) that
        is also a structured object (``.operators``, ``.wall_s``, ``.state``, ``.spilled_bytes``,
        ``.to_dict()``).

        Examples:
            >>> ds = streamscope.range(100).filter(lambda row: row["id"] % 2 == 0)
            >>> ds.count()
            50
            >>> stats = ds.stats()
            >>> stats.state, stats.rows_out
            ('succeeded', 50)
            >>> [op.name for op in stats.operators]
            ['ReadRange->Filter(<lambda>)']
        """
        run = self._last_run
        if run is None:
            return DatasetStats(None)
        run.join(5.0)
        snapshot = run.final_snapshot or run.buffer.latest()
        return DatasetStats(snapshot, getattr(run, "peak_store_bytes", 0), history=run.buffer.history())

    @property
    def _last_telemetry(self):
        """The SnapshotBuffer of the last execution (for the notebook views), or None."""
        return None if self._last_run is None else self._last_run.buffer


def _output_tables(executor: Any) -> Iterator[pa.Table]:
    runtime = executor.runtime
    for ref, meta, owned in executor.iter_output():
        table = runtime.get(ref)
        executor.release(ref, owned)
        yield table


def _default_name(ds: Any) -> str:
    return ds._plan.dag.name if getattr(ds, "_plan", None) is not None else "dataset"


__all__ = ["ConsumeMixin"]
