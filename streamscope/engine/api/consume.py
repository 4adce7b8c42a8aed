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
from streamscope.engine.logical.operators import InputData, Read
from streamscope.engine.logical.plan import post_order
from streamscope.engine.schema import Schema


class ConsumeMixin:
    # ---- execution plumbing --------------------------------------------------------------------
    def _start_execution(self, purpose: str, plan=None):
        executor = start_execution(plan or self._plan, name=self._name or _default_name(self), purpose=purpose)
        self._last_run = executor
        return executor

    def _iter_tables(self, plan=None) -> Iterator[pa.Table]:
        executor = self._start_execution("iterate", plan)
        runtime = executor.runtime
        for ref, meta, owned in executor.iter_output():
            table = runtime.get(ref)
            executor.release(ref, owned)
            yield table

    # ---- rows -----------------------------------------------------------------------------------
    def take(self, limit: int = 20) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if limit <= 0:
            return rows
        for table in self._iter_tables(self.limit(limit)._plan):
            rows.extend(iter_rows(table))
        return rows[:limit]

    def take_all(self, limit: Optional[int] = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for table in self._iter_tables():
            rows.extend(iter_rows(table))
            if limit is not None and len(rows) > limit:
                raise ValueError(f"The dataset has more than the given limit of {limit} records.")
        return rows

    def take_batch(self, batch_size: int = 20, *, batch_format: Optional[str] = "default") -> Any:
        tables = list(self._iter_tables(self.limit(batch_size)._plan))
        if not tables:
            raise ValueError("The dataset is empty.")
        return block_to_batch(concat_blocks(tables).slice(0, batch_size), batch_format)

    def show(self, limit: int = 20) -> None:
        for row in self.take(limit):
            print(row)

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        for table in self._iter_tables():
            yield from iter_rows(table)

    def iter_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256,
                     batch_format: Optional[str] = "default", drop_last: bool = False,
                     local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                     _collate_fn=None) -> Iterator[Any]:
        return iter_batches(
            self._iter_tables(), batch_size=batch_size, batch_format=batch_format, drop_last=drop_last,
            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
            prefetch_batches=prefetch_batches, collate_fn=_collate_fn,
        )

    def iterator(self):
        """A DataIterator over this dataset (each iteration executes it)."""
        return DatasetIterator(self)

    def streaming_split(self, n: int, *, equal: bool = False, locality_hints: Optional[list] = None):
        """n DataIterators fed by one execution of this dataset (blocks dealt out; ``equal=True``
        gives every split the same number of rows, dropping fewer than n leftover rows).
        ``locality_hints`` is accepted for Ray compatibility and ignored (one machine)."""
        return split_stream(self, n, equal)

    def to_pandas(self, limit: Optional[int] = None):
        tables = list(self._iter_tables())
        table = concat_blocks(tables) if tables else pa.Table.from_arrays([], names=[])
        if limit is not None and table.num_rows > limit:
            raise ValueError(f"the dataset has more than the given limit of {limit} rows: {table.num_rows}")
        return block_to_pandas(table)

    def to_arrow(self) -> pa.Table:
        """All rows as one pyarrow Table (streamscope extension, handy in notebooks)."""
        tables = list(self._iter_tables())
        return concat_blocks(tables) if tables else pa.Table.from_arrays([], names=[])

    # ---- metadata -------------------------------------------------------------------------------
    def count(self) -> int:
        """Rows in the dataset, from metadata when the plan knows it (no UDF runs), else by
        executing and summing block metadata (blocks are never pulled to the driver)."""
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
        schema = self.schema(fetch_if_missing=fetch_if_missing)
        return None if schema is None else schema.names

    def num_blocks(self) -> int:
        dag = self._plan.dag
        if isinstance(dag, InputData):
            return dag.num_blocks()
        return self.materialize().num_blocks()

    def size_bytes(self) -> int:
        dag = self._plan.dag
        if isinstance(dag, InputData) and dag.refs is not None:
            return sum(m.size_bytes for _, m in dag.refs)
        mat = self.materialize()
        return mat.size_bytes()

    def input_files(self) -> list[str]:
        files: list[str] = []
        for op in post_order(self._plan.dag):
            if isinstance(op, Read):
                for f in op.datasource.input_files():
                    if f not in files:
                        files.append(f)
        return files

    # ---- plans and stats ------------------------------------------------------------------------
    def explain(self) -> None:
        """Print the logical, optimized logical and physical plans (as Ray Data does)."""
        result = self._explain()
        print(result.text())

    def _explain(self):
        return explain_plan(self._plan, name=self._name or _default_name(self), executed=self._last_run is not None)

    def stats(self):
        """Readable text of the last execution that is also a structured object
        (``.operators``, ``.wall_s``, ``.spilled_bytes``, ``.to_dict()``)."""
        run = self._last_run
        if run is None:
            return DatasetStats(None)
        run.join(5.0)
        snapshot = run.final_snapshot or run.buffer.latest()
        return DatasetStats(snapshot, getattr(run, "peak_store_bytes", 0))

    @property
    def _last_telemetry(self):
        """The SnapshotBuffer of the last execution (for the notebook views), or None."""
        return None if self._last_run is None else self._last_run.buffer


def _default_name(ds: Any) -> str:
    return ds._plan.dag.name if getattr(ds, "_plan", None) is not None else "dataset"


__all__ = ["ConsumeMixin"]
