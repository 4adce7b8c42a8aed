"""Hash join: both sides are hash-partitioned on their keys by streaming map tasks; reduce task
*p* joins partition *p* of the left with partition *p* of the right using ``pyarrow.Table.join``.

Rows with equal keys always meet in one partition because both sides use the same key hash. A
side whose partition is empty still joins (as an empty table of its schema) so outer joins keep
the other side's rows.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.block import concat_blocks
from streamscope.engine.physical.exchange import ExchangeSpec, split_inputs
from streamscope.engine.physical.exchange.partition import hash_partition, split_by_partition
from streamscope.engine.runtime.base import TaskContext

JOIN_TYPES = {
    "inner": "inner", "left_outer": "left outer", "right_outer": "right outer", "full_outer": "full outer",
    "left_semi": "left semi", "right_semi": "right semi", "left_anti": "left anti", "right_anti": "right anti",
}


class _JoinMap:
    def __init__(self, left_keys: list[str], right_keys: list[str]):
        self.keys = (left_keys, right_keys)

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        side, _, n = payload
        keys = self.keys[side]
        table = concat_blocks([b for b in blocks if b.num_rows])
        if table.num_rows == 0:
            yield from [pa.table({})] * n
            return
        for k in keys:
            if k not in table.column_names:
                raise KeyError(f"join: no key column {k!r} on the {'left' if side == 0 else 'right'} side "
                               f"(columns: {table.column_names})")
        yield from split_by_partition(table, hash_partition(table, keys, n), n)


class _JoinReduce:
    def __init__(self, join_type: str, left_keys: list[str], right_keys: list[str], left_suffix, right_suffix):
        self.join_type = JOIN_TYPES[join_type]
        self.left_keys, self.right_keys = left_keys, right_keys
        self.left_suffix, self.right_suffix = left_suffix, right_suffix

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        _, counts, schemas = payload
        left_blocks, right_blocks = split_inputs(blocks, counts)
        left = _side(left_blocks, schemas[0])
        right = _side(right_blocks, schemas[1])
        if left is None or right is None:
            return
        if left.num_rows == 0 and right.num_rows == 0:
            return
        with ctx.time_udf():
            out = left.join(right, keys=self.left_keys, right_keys=self.right_keys, join_type=self.join_type,
                            left_suffix=self.left_suffix, right_suffix=self.right_suffix, use_threads=False)
        if out.num_rows:
            yield out


def _side(blocks: list[pa.Table], schema: Optional[pa.Schema]) -> Optional[pa.Table]:
    blocks = [b for b in blocks if b.num_rows]
    if blocks:
        return concat_blocks(blocks)
    return schema.empty_table() if schema is not None else None


class JoinSpec(ExchangeSpec):
    num_inputs = 2
    ordered_output = False
    hash_partitioned = True

    def __init__(self, join_type: str, num_partitions: Optional[int], on: list[str], right_on: Optional[list[str]],
                 left_suffix: Optional[str], right_suffix: Optional[str]):
        if join_type not in JOIN_TYPES:
            raise ValueError(f"join: join_type must be one of {sorted(JOIN_TYPES)}, got {join_type!r}")
        self.join_type = join_type
        self.left_keys = list(on)
        self.right_keys = list(right_on) if right_on else list(on)
        if len(self.left_keys) != len(self.right_keys):
            raise ValueError(f"join: on {self.left_keys} and right_on {self.right_keys} name different numbers of keys")
        self.requested_partitions = num_partitions
        self.map_fn = _JoinMap(self.left_keys, self.right_keys)
        self.reduce_fn = _JoinReduce(join_type, self.left_keys, self.right_keys, left_suffix, right_suffix)

    def reduce_tasks(self, parts):
        schemas = tuple(getattr(self, "input_schemas", [None, None]))
        return [((p, counts, schemas), refs) for (p, counts), refs in super().reduce_tasks(parts)]


def check_join_key_types(left_schema: Any, right_schema: Any, on: list[str], right_on: list[str]) -> None:
    """``join(validate_schemas=True)``: the key lists pair up, every key exists, and each left key
    has the type of its right key (Ray Data's check), before the run.

    Examples:
        >>> import pyarrow as pa
        >>> check_join_key_types(pa.schema([("id", pa.int64())]), pa.schema([("id", pa.string())]), ["id"], ["id"])
        Traceback (most recent call last):
        ...
        ValueError: join: key types differ: left ['id'] are [int64], right ['id'] are [string]
    """
    if not on:
        raise ValueError("join: at least one key column to join on is needed")
    if len(on) != len(right_on):
        raise ValueError(f"join: {len(on)} left key columns {on} but {len(right_on)} right ones {right_on}")
    left_schema, right_schema = _arrow_schema(left_schema), _arrow_schema(right_schema)
    for side, schema, keys in (("left", left_schema, on), ("right", right_schema, right_on)):
        missing = [k for k in keys if k not in schema.names]
        if missing:
            raise ValueError(f"join: {side} dataset has no column {missing[0]!r} (columns: {schema.names})")
    left_types = [left_schema.field(k).type for k in on]
    right_types = [right_schema.field(k).type for k in right_on]
    if left_types != right_types:
        raise ValueError(f"join: key types differ: left {on} are [{', '.join(map(str, left_types))}], "
                         f"right {right_on} are [{', '.join(map(str, right_types))}]")


def _arrow_schema(schema: Any) -> Any:
    if isinstance(schema, pa.Schema):
        return schema
    base = getattr(schema, "base_schema", None)
    if isinstance(base, pa.Schema):
        return base
    raise ValueError("join: validate_schemas=True needs both schemas, and one could not be determined")
