"""Sort: sample keys -> choose range boundaries -> range-partition -> sort-merge in reducers.

Sample (streaming): each input block gives a few random key rows. The driver sorts the samples
and picks ``n - 1`` evenly spaced boundary rows. Map: a task sorts its rows together with the
boundary rows (``pc.sort_indices`` with the user's directions, nulls last as Ray Data places
them); the number of boundary rows before a data row is its partition, and each partition's slice
comes out already sorted. Reduce: a task merges its partition's sorted runs (concatenate + sort)
and emits in partition order, so the output is globally sorted.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.block import concat_blocks
from streamscope.engine.physical.exchange import ExchangeSpec
from streamscope.engine.runtime.base import TaskContext

SAMPLES_PER_BLOCK = 32
_BOUNDARY = "__streamscope_is_boundary"


def sort_keys(keys: list[str], descending: list[bool]) -> list[tuple[str, str, str]]:
    return [(k, "descending" if d else "ascending", "at_end") for k, d in zip(keys, descending)]


def sort_table(table: pa.Table, order: list[tuple[str, str]]) -> pa.Table:
    if table.num_rows <= 1:
        return table
    return table.take(pc.sort_indices(table, sort_keys=order))


class _Sample:
    def __init__(self, keys: list[str]):
        self.keys = keys

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for j, table in enumerate(blocks):
            missing = [k for k in self.keys if k not in table.column_names]
            if missing and table.num_columns:
                raise KeyError(f"sort: no key column {missing[0]!r} (columns: {table.column_names})")
            if table.num_rows == 0:
                continue
            k = min(table.num_rows, SAMPLES_PER_BLOCK)
            idx = np.sort(np.random.default_rng([table.num_rows, j]).choice(table.num_rows, k, replace=False))
            yield table.select(self.keys).take(pa.array(idx))


class _RangeMap:
    def __init__(self, keys: list[str], order: list[tuple[str, str]]):
        self.keys, self.order = keys, order

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        _, _, n, boundaries = payload
        table = concat_blocks([b for b in blocks if b.num_rows])
        if table.num_rows == 0:
            yield from [pa.table({})] * n
            return
        nb = boundaries.num_rows if boundaries is not None else 0
        if nb == 0:
            yield sort_table(table, self.order)
            yield from [table.slice(0, 0)] * (n - 1)
            return
        keys_part = table.select(self.keys)
        bounds = boundaries.select(self.keys).cast(keys_part.schema)
        combined = pa.concat_tables([keys_part, bounds]).append_column(
            _BOUNDARY, pa.array(np.r_[np.zeros(table.num_rows, bool), np.ones(nb, bool)]))
        # stable: a data row equal to a boundary stays before it, in every map task alike
        order = np.asarray(pc.sort_indices(combined, sort_keys=self.order))
        is_b = order >= table.num_rows
        part_of_sorted = np.cumsum(is_b)[~is_b]
        data_order = order[~is_b]
        ordered = table.take(pa.array(data_order))
        counts = np.bincount(part_of_sorted, minlength=n)
        start = 0
        for c in counts[:n]:
            yield ordered.slice(start, int(c))
            start += int(c)


class _MergeReduce:
    def __init__(self, order: list[tuple[str, str]]):
        self.order = order

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        runs = [b for b in blocks if b.num_rows]
        if runs:
            table = runs[0] if len(runs) == 1 else sort_table(concat_blocks(runs), self.order)
            yield table


class SortSpec(ExchangeSpec):
    ordered_output = True

    def __init__(self, keys: list[str], descending: list[bool], boundaries: Optional[list] = None):
        self.keys = list(keys)
        self.descending = list(descending)
        self.order = sort_keys(self.keys, self.descending)
        self._user_boundaries = boundaries
        self.boundaries: Optional[pa.Table] = None
        if boundaries is not None:
            if len(self.keys) != 1:
                raise ValueError("sort: boundaries work with a single sort key")
            self.requested_partitions = len(boundaries) + 1
            values = sorted(boundaries, reverse=self.descending[0])
            self.boundaries = pa.table({self.keys[0]: pa.array(values)})
        else:
            self.sample_fn = _Sample(self.keys)
        self.map_fn = _RangeMap(self.keys, self.order)
        self.reduce_fn = _MergeReduce(self.order)

    def on_samples(self, samples: list[pa.Table]) -> None:
        samples = [s for s in samples if s.num_rows]
        n = self.num_partitions
        if not samples or n <= 1:
            self.boundaries = None
            return
        table = sort_table(concat_blocks(samples), self.order)
        picks = [int(round(i * table.num_rows / n)) for i in range(1, n)]
        picks = [min(max(p, 0), table.num_rows - 1) for p in picks]
        self.boundaries = table.take(pa.array(picks, pa.int64()))

    def map_payload(self, input_index: int, task_index: int) -> Any:
        return (input_index, task_index, self.num_partitions, self.boundaries)

    def output_schema(self, schema):
        return schema

    def output_num_rows(self, rows):
        return rows
