"""Shuffles: random_shuffle / repartition(shuffle=True) (random partitioning), repartition by keys
(hash partitioning) and map_groups (hash partitioning, then the user's function per group).

Random shuffle: a map task sends each row to a random partition; a reducer concatenates its
partition and permutes it. With a seed, every block's assignment comes from ``(seed, block order)``
so a run over the same blocks gives the same result.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator, Mapping
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.block import block_to_batch, concat_blocks, to_block
from streamscope.engine.physical.exchange import ExchangeSpec
from streamscope.engine.physical.exchange.partition import hash_partition, split_by_partition
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.batches import writable_batch


def _rng(seed: Optional[int], *salt: int) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *salt])


class _RandomMap:
    def __init__(self, seed: Optional[int]):
        self.seed = seed

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        _, task_index, n = payload
        pieces: list[list[pa.Table]] = [[] for _ in range(n)]
        for j, table in enumerate(blocks):
            parts = _rng(self.seed, task_index, j).integers(0, n, table.num_rows)
            for p, piece in enumerate(split_by_partition(table, parts, n)):
                if piece.num_rows:
                    pieces[p].append(piece)
        for p in range(n):
            yield concat_blocks(pieces[p]) if pieces[p] else pa.table({})


class _RandomReduce:
    def __init__(self, seed: Optional[int]):
        self.seed = seed

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        table = concat_blocks([b for b in blocks if b.num_rows])
        if table.num_rows:
            perm = _rng(self.seed, 1 << 20, payload[0]).permutation(table.num_rows)
            yield table.take(pa.array(perm))


class RandomShuffleSpec(ExchangeSpec):
    ordered_output = True

    def __init__(self, seed: Optional[int] = None, num_blocks: Optional[int] = None):
        self.seed = seed
        self.requested_partitions = num_blocks
        self.map_fn = _RandomMap(seed)
        self.reduce_fn = _RandomReduce(seed)

    def output_schema(self, schema):
        return schema

    def output_num_rows(self, rows):
        return rows


class _HashMap:
    def __init__(self, keys: list[str]):
        self.keys = keys

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        n = payload[2]
        table = concat_blocks(list(blocks))
        for k in self.keys:
            if table.num_columns and k not in table.column_names:
                raise KeyError(f"no key column {k!r} (columns: {table.column_names})")
        if table.num_rows == 0:
            yield from [pa.table({})] * n
            return
        yield from split_by_partition(table, hash_partition(table, self.keys, n), n)


class _ConcatReduce:
    def __init__(self, sort_keys: Optional[list[str]]):
        self.sort_keys = sort_keys

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        table = concat_blocks([b for b in blocks if b.num_rows])
        if table.num_rows:
            if self.sort_keys:
                table = table.sort_by([(k, "ascending", "at_end") for k in self.sort_keys])
            yield table


class HashRepartitionSpec(ExchangeSpec):
    ordered_output = True
    hash_partitioned = True

    def __init__(self, keys: list[str], num_blocks: Optional[int], sort: bool = False):
        self.keys = list(keys)
        self.requested_partitions = num_blocks
        self.map_fn = _HashMap(self.keys)
        self.reduce_fn = _ConcatReduce(self.keys if sort else None)

    def output_schema(self, schema):
        return schema

    def output_num_rows(self, rows):
        return rows


class _GroupsReduce:
    """Rows of a partition grouped by key (groups in key order); ``udf`` runs once per group."""

    def __init__(self, keys: list[str], udf: Any, batch_format: str, zero_copy_batch: bool = True):
        self.keys, self.udf, self.batch_format = keys, udf, batch_format
        self.zero_copy_batch = zero_copy_batch

    def for_execution(self) -> "_GroupsReduce":
        """This reduce for one run: expressions that number executions (``random(seed=...)``) learn it."""
        bind = getattr(self.udf, "for_execution", None)
        if bind is None:
            return self
        bound = copy.copy(self)
        bound.udf = bind()
        return bound

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        table = concat_blocks([b for b in blocks if b.num_rows])
        if not table.num_rows:
            return
        rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
        groups = pa.table({**{k: table.column(k) for k in self.keys}, "__rows": rows}).group_by(
            self.keys, use_threads=False).aggregate([("__rows", "list")])
        groups = groups.sort_by([(k, "ascending", "at_end") for k in self.keys])
        apply_group = getattr(self.udf, "apply_group", None)  # GroupedData.with_column: expressions per group
        for idx in groups.column("__rows_list").to_pylist():
            group = table.take(pa.array(idx, pa.int64()))
            if apply_group is not None:
                with ctx.time_udf():
                    yield apply_group(group, ctx)
                continue
            batch = block_to_batch(group, self.batch_format)
            if not self.zero_copy_batch:
                batch = writable_batch(batch)
            with ctx.time_udf():
                result = self.udf(batch)
                outs = list(result) if isinstance(result, (types.GeneratorType, Iterator)) and not isinstance(result, Mapping) else [result]
            for out in outs:
                block = to_block(out)
                if block.num_rows:
                    yield block


class MapGroupsSpec(ExchangeSpec):
    ordered_output = False
    hash_partitioned = True

    def __init__(self, keys: list[str], udf: Any, batch_format: str, num_partitions: Optional[int] = None,
                 zero_copy_batch: bool = True):
        self.keys = list(keys)
        self.requested_partitions = num_partitions
        self.map_fn = _HashMap(self.keys)
        self.reduce_fn = _GroupsReduce(self.keys, udf, batch_format or "default", zero_copy_batch)
