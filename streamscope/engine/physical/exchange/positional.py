"""Positional exchanges: zip (align datasets row by row) and row-range slicing (splits).

No map phase: the operator holds the input blocks in dataset order and the spec plans each task
from block metadata (row counts) alone, so the driver never reads a block. A task reads only the
blocks that overlap its row range.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.block import concat_blocks
from streamscope.engine.physical.exchange import ExchangeSpec, split_inputs
from streamscope.engine.runtime.base import TaskContext


def _overlapping(blocks: list, lo: int, hi: int) -> tuple[list, int]:
    """Refs of the blocks covering rows [lo, hi) and the offset of ``lo`` in the first one."""
    refs, first, offset = [], None, 0
    for ref, meta in blocks:
        if offset + meta.num_rows > lo and offset < hi:
            refs.append(ref)
            if first is None:
                first = offset
        offset += meta.num_rows
    return refs, lo - (first or 0)


class _SliceReduce:
    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        offset, length = payload
        if length > 0:
            table = concat_blocks(list(blocks))
            yield table.slice(offset, length)


class SliceSpec(ExchangeSpec):
    """Rows [lo, hi) per range, emitted in range order (used by split_at_indices and friends)."""

    ordered_output = True
    requires_input_order = True  # row positions are only meaningful in dataset order

    def __init__(self, bounds: list[tuple[int, int]]):
        self.bounds = bounds
        self.requested_partitions = 1
        self.reduce_fn = _SliceReduce()

    def reduce_tasks(self, parts):
        blocks = parts[0]
        total = sum(m.num_rows for _, m in blocks)
        tasks = []
        for lo, hi in self.bounds:
            lo, hi = min(lo, total), min(hi, total)
            refs, offset = _overlapping(blocks, lo, hi)
            tasks.append(((offset, hi - lo), refs if hi > lo else []))
        return tasks

    def output_schema(self, schema):
        return schema


class _ZipReduce:
    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        counts, offsets, length = payload
        groups = split_inputs(blocks, counts)
        names: list[str] = []
        arrays = []
        for i, (group, offset) in enumerate(zip(groups, offsets)):
            table = concat_blocks(group).slice(offset, length)
            for name in table.column_names:
                out = name
                k = 1
                while out in names:
                    out = f"{name}_{k}"
                    k += 1
                names.append(out)
                arrays.append(table.column(name))
        if length:
            yield pa.Table.from_arrays(arrays, names=names)


class ZipSpec(ExchangeSpec):
    ordered_output = True
    requires_input_order = True  # rows pair up by position

    def __init__(self, num_inputs: int):
        self.num_inputs = num_inputs
        self.requested_partitions = 1
        self.reduce_fn = _ZipReduce()

    def reduce_tasks(self, parts):
        totals = [sum(m.num_rows for _, m in blocks) for blocks in parts]
        if len(set(totals)) > 1:
            raise ValueError(f"zip: the datasets have different numbers of rows: {totals}")
        tasks = []
        offset = 0
        for _, meta in parts[0]:
            lo, hi = offset, offset + meta.num_rows
            offset = hi
            if hi == lo:
                continue
            refs, counts, offsets = [], [], []
            for blocks in parts:
                r, off = _overlapping(blocks, lo, hi)
                refs.extend(r)
                counts.append(len(r))
                offsets.append(off)
            tasks.append(((tuple(counts), tuple(offsets), hi - lo), refs))
        return tasks

    def output_num_rows(self, *rows: int) -> Optional[int]:
        return rows[0]
