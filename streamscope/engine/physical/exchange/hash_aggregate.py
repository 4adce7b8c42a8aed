"""Hash aggregation (groupby + aggregate, and global aggregates).

Map side: each task aggregates its input blocks into one state row per group (partial
aggregation: a block with many rows per key sends few rows through the exchange), then
hash-partitions the state rows by key. Reduce side: each task re-aggregates the state rows of its
partition and finalizes the output columns. Global aggregates use a constant key and one
partition.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine import aggregate as A
from streamscope.engine.block import concat_blocks
from streamscope.engine.physical.exchange import ExchangeSpec
from streamscope.engine.physical.exchange.partition import hash_partition, split_by_partition
from streamscope.engine.runtime.base import TaskContext

GLOBAL_KEY = "__streamscope_global"


def _prefix(i: int) -> str:
    return f"__a{i}_"


def _group(work: pa.Table, keys: list[str], specs: list) -> pa.Table:
    """One group_by call; output columns renamed to the specs' state names."""
    res = work.group_by(keys, use_threads=False).aggregate([(c, f, o) if o is not None else (c, f) for c, f, o, _ in specs])
    return res.rename_columns(list(keys) + [s for *_, s in specs])


def _state_specs(table: pa.Table, keys: list[str], aggs: Sequence[A.AggregateFnV2]) -> tuple[dict, list, list]:
    """Input columns and group_by specs of the vectorized aggregations, and the Python ones apart."""
    columns = {k: table.column(k) for k in keys}
    specs: list = []
    python_aggs = []
    for i, agg in enumerate(aggs):
        if A.is_python(agg):
            python_aggs.append((i, agg))
            continue
        extra, s = agg._map_specs(table, _prefix(i))
        columns.update(extra)
        specs.extend(s)
    return columns, specs, python_aggs


def partial_aggregate(table: pa.Table, keys: list[str], aggs: Sequence[A.AggregateFnV2]) -> pa.Table:
    """Block -> keys + state columns, one row per group."""
    if not keys:
        table = table.append_column(GLOBAL_KEY, pa.array(np.zeros(table.num_rows, dtype=np.int8)))
        keys = [GLOBAL_KEY]
    for k in keys:
        if k not in table.column_names:
            raise KeyError(f"groupby: no key column {k!r} (columns: {table.column_names})")
    columns, specs, python_aggs = _state_specs(table, keys, aggs)
    if python_aggs:
        columns["__rows"] = pa.array(np.arange(table.num_rows, dtype=np.int64))
        specs.append(("__rows", "list", None, "__rows"))
    if not specs:
        columns["__one"] = pa.nulls(table.num_rows, pa.int8())
        specs.append(("__one", "count", None, "__one"))
    work = pa.table(columns)
    res = _group(work, keys, specs)
    if python_aggs:
        rows = res.column("__rows").to_pylist()
        key_values = _key_values(res, keys)
        for i, agg in python_aggs:
            states = []
            for key, idx in zip(key_values, rows):
                acc = agg._init_for_key(key)
                acc = agg._accumulate(acc, table.take(pa.array(idx, pa.int64())))
                states.append(A.dumps(acc))
            res = res.append_column(_prefix(i) + "acc", pa.array(states, pa.binary()))
        res = res.drop_columns(["__rows"])
    return res


ROW_STATE_FUNCTIONS = ("sum", "min", "max", "count")


def row_states(table: pa.Table, keys: list[str], aggs: Sequence[A.AggregateFnV2]) -> Optional[pa.Table]:
    """What :func:`partial_aggregate` returns, but with every row its own group: the state
    columns computed per row, without a hash table. None when an aggregation's state is not a
    plain sum/min/max/count (variance, lists, Python aggregations): those keep grouping.

    Why: with many distinct keys (a million customers) a block's partial aggregate is almost as
    long as the block, so grouping on the map side costs time and saves nothing; the reduce side
    groups anyway.
    """
    if not keys:
        return None
    columns, specs, python_aggs = _state_specs(table, keys, aggs)
    if python_aggs or not specs or any(f not in ROW_STATE_FUNCTIONS for _, f, _, _ in specs):
        return None
    work = pa.table(columns)
    schema = _group(work.slice(0, 0), keys, specs).schema  # the exact state types pyarrow produces
    out = [work.column(k) for k in keys]
    for (column, function, options, _state), field in zip(specs, list(schema)[len(keys):]):
        values = work.column(column)
        if function == "count":
            mode = _count_mode(options)
            if mode == "all":
                state = np.ones(work.num_rows, dtype=np.int64)
            else:
                valid = np.asarray(values.is_valid()) if values.null_count else np.ones(work.num_rows, dtype=bool)
                state = (valid if mode == "only_valid" else ~valid).astype(np.int64)
            out.append(pa.array(state, type=field.type))
        else:
            out.append(values.cast(field.type))
    return pa.Table.from_arrays(out, schema=schema)


def _count_mode(options: Any) -> str:
    """pyarrow's CountOptions hides its mode; compare with each possible one."""
    for mode in ("all", "only_null", "only_valid"):
        if options is not None and options == pc.CountOptions(mode=mode):
            return mode
    return "only_valid"


def _key_values(res: pa.Table, keys: list[str]) -> list:
    if keys == [GLOBAL_KEY]:
        return [None] * res.num_rows
    cols = [res.column(k).to_pylist() for k in keys]
    return cols[0] if len(cols) == 1 else list(zip(*cols))


def combine_partials(partials: pa.Table, keys: list[str], aggs: Sequence[A.AggregateFnV2]) -> pa.Table:
    """Many state rows per group -> one state row per group."""
    keys = keys or [GLOBAL_KEY]
    columns = {k: partials.column(k) for k in keys}
    specs: list = []
    posts = []
    for i, agg in enumerate(aggs):
        p = _prefix(i)
        if A.is_python(agg):
            columns[p + "acc"] = partials.column(p + "acc")
            specs.append((p + "acc", "list", None, p + "acc"))
            continue
        prepare, s = agg._combine_specs(p)
        for name in {c for c, *_ in s}:
            if name in partials.column_names:
                columns[name] = partials.column(name)
        columns.update(prepare(partials))
        specs.extend(s)
        posts.append((agg, p))
    list_aggs = [(i, agg) for i, agg in enumerate(aggs) if getattr(agg, "list_state", False)]
    if list_aggs:
        columns["__prow"] = pa.array(np.arange(partials.num_rows, dtype=np.int64))
        specs.append(("__prow", "list", None, "__prow"))
    if not specs:
        columns["__one"] = pa.nulls(partials.num_rows, pa.int8())
        specs.append(("__one", "count", None, "__one"))
    res = _group(pa.table(columns), keys, specs)
    if list_aggs:
        rows = res.column("__prow").combine_chunks()
        order = rows.flatten()
        group_offsets = np.asarray(rows.offsets)
        for i, _agg in list_aggs:
            name = _prefix(i) + "vals"
            taken = partials.column(name).take(order).combine_chunks()
            lens = np.asarray(pc.fill_null(pc.list_value_length(taken), 0), dtype=np.int64)
            cum = np.concatenate([[0], np.cumsum(lens)])
            merged = pa.ListArray.from_arrays(pa.array(cum[group_offsets], pa.int32()), taken.flatten())
            res = res.append_column(name, merged)
        res = res.drop_columns(["__prow"])
    for agg, p in posts:
        for name, values in agg._post_combine(res, p).items():
            res = res.set_column(res.schema.get_field_index(name), name, values)
    for i, agg in enumerate(aggs):
        if A.is_python(agg):
            p = _prefix(i)
            merged = []
            for states in res.column(p + "acc").to_pylist():
                acc = A.loads(states[0])
                for other in states[1:]:
                    acc = agg.combine(acc, A.loads(other))
                merged.append(A.dumps(acc))
            res = res.set_column(res.schema.get_field_index(p + "acc"), p + "acc", pa.array(merged, pa.binary()))
    return res


def finalize(combined: pa.Table, keys: list[str], aggs: Sequence[A.AggregateFnV2]) -> pa.Table:
    out = {} if not keys else {k: combined.column(k) for k in keys}
    for i, agg in enumerate(aggs):
        p = _prefix(i)
        if A.is_python(agg):
            values = [agg.finalize(A.loads(s)) for s in combined.column(p + "acc").to_pylist()]
            out[agg.name] = pa.array(values)
        else:
            out[agg.name] = agg._finalize(combined, p)
    if len(out) != len(keys) + len(aggs):
        raise ValueError(f"aggregate: output column names collide: {[a.name for a in aggs]}")
    return pa.table(out)


class _AggMap:
    """Map side of a group-by. Adaptive: once a task's partial aggregate keeps most rows (keys
    barely repeat within a block), this worker's later tasks send per-row states instead."""

    SKIP_WHEN_KEPT = 0.7
    MIN_ROWS_TO_JUDGE = 50_000

    def __init__(self, keys: list[str], aggs: list):
        self.keys, self.aggs = keys, aggs
        self._skip_grouping = False

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_skip_grouping"] = False
        return state

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        n = payload[2]
        table = concat_blocks(list(blocks))
        with ctx.time_udf():
            partial = row_states(table, self.keys, self.aggs) if self._skip_grouping else None
            if partial is None:
                partial = partial_aggregate(table, self.keys, self.aggs)
                if table.num_rows >= self.MIN_ROWS_TO_JUDGE and partial.num_rows > self.SKIP_WHEN_KEPT * table.num_rows:
                    self._skip_grouping = True
        yield from split_by_partition(partial, hash_partition(partial, self.keys or [GLOBAL_KEY], n), n)


class _AggReduce:
    def __init__(self, keys: list[str], aggs: list):
        self.keys, self.aggs = keys, aggs

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        partials = concat_blocks([b for b in blocks if b.num_rows])
        if partials.num_rows == 0:
            return
        with ctx.time_udf():
            yield finalize(combine_partials(partials, self.keys, self.aggs), self.keys, self.aggs)


class HashAggregateSpec(ExchangeSpec):
    ordered_output = False
    hash_partitioned = True

    def __init__(self, keys: list[str], aggs: list, num_partitions: Optional[int] = None):
        self.keys = list(keys)
        self.aggs = list(aggs)
        self.requested_partitions = 1 if not self.keys else num_partitions
        self.map_fn = _AggMap(self.keys, self.aggs)
        self.reduce_fn = _AggReduce(self.keys, self.aggs)

    def output_schema(self, schema: Any) -> Any:
        return None

    def required_columns(self) -> Optional[list[str]]:
        """Columns this aggregation reads (keys + aggregated columns), or None when an
        aggregation may look at whole rows (custom AggregateFn), for the column-pruning rule."""
        needed = list(self.keys)
        for agg in self.aggs:
            if not isinstance(agg, (A._Vectorized, A._ListState)):
                return None
            on = getattr(agg, "_target_col_name", None)
            if on is not None and on not in needed:
                needed.append(on)
        return needed
