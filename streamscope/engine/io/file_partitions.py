"""Partition columns of file reads: their schema, adding them to blocks, and pruning files.

Why a module of its own: every file format shares it (Parquet, CSV, JSON, text, images, ...),
and file pruning is the one place a filter is evaluated on the driver: the partition values of
all files form a small table (one row per file), a predicate over partition columns only is
evaluated on it, and files whose row fails are never read.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.expressions import BoolOp, Expr
from streamscope.engine.io.partitioning import PARTITION_TYPES, Partitioning

_FILE_INDEX = "__streamscope_file_index__"


def partition_schema(partitioning: Optional[Partitioning], values: Sequence[dict[str, Any]]) -> pa.Schema:
    """The partition fields of a read: every key found in the paths, in first-seen order, typed
    by ``field_types`` (strings otherwise, as Ray Data types them)."""
    if partitioning is None:
        return pa.schema([])
    names: dict[str, None] = {}
    for file_values in values:
        for key in file_values:
            names.setdefault(key, None)
    types = partitioning.field_types or {}
    return pa.schema([(n, PARTITION_TYPES[types.get(n, str)]) for n in names])


def add_partition_columns(table: pa.Table, values: dict[str, Any], schema: pa.Schema, where: str) -> pa.Table:
    """``table`` with one column per partition field holding this file's value (null where the
    path lacks it). A field the file itself holds is checked, not duplicated: the path's value
    must equal the data's (as Ray Data checks), else a ValueError names the file and column."""
    n = table.num_rows
    for field in schema:
        value = values.get(field.name)
        if field.name in table.column_names:
            data = table.column(field.name)
            try:
                expected = pa.scalar(value, field.type).cast(data.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"{where}: partition value {value!r} of column {field.name!r} cannot be cast to "
                                 f"the file's type {data.type}") from exc
            same = pc.all(pc.equal(data, expected)).as_py() if n else True
            if same is False or (same is None and value is not None):
                raise ValueError(f"{where}: column {field.name!r} holds {pc.unique(data).to_pylist()[:5]} but its "
                                 f"path says {field.name}={value!r}; rename the column or read with partitioning=None")
            continue
        table = table.append_column(field.name, pa.array([value] * n, field.type) if value is not None
                                    else pa.nulls(n, field.type))
    return table


def conjuncts(expr: Expr) -> list[Expr]:
    """The parts of a predicate joined by ``and`` (one part when it is not an ``and``)."""
    if isinstance(expr, BoolOp) and expr.op == "and":
        return list(expr.operands)
    return [expr]


def join_and(parts: Sequence[Expr]) -> Optional[Expr]:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))


def split_predicate(expr: Expr, partition_columns: Sequence[str]) -> tuple[Optional[Expr], list[Expr]]:
    """``(the conjuncts over partition columns only, the other conjuncts)``."""
    names = set(partition_columns)
    on_partitions, others = [], []
    for part in conjuncts(expr):
        cols = part.columns()
        (on_partitions if cols and set(cols) <= names else others).append(part)
    return join_and(on_partitions), others


def prune_files(predicate: Expr, candidates: Sequence[int], values: Sequence[dict[str, Any]], schema: pa.Schema,
                reader: str) -> list[int]:
    """The files of ``candidates`` (indices into ``values``) whose partition values pass
    ``predicate``; a null result drops the file, as it would drop its rows."""
    columns = {f.name: pa.array([values[i].get(f.name) for i in candidates], f.type) for f in schema}
    columns[_FILE_INDEX] = pa.array(list(candidates), pa.int64())
    table = pa.table(columns)
    try:
        kept = table.filter(predicate.to_pyarrow())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        types = ", ".join(f"{c} is {schema.field(c).type}" for c in predicate.columns())
        raise ValueError(
            f"{reader}: cannot evaluate filter {str(predicate)!r} on partition columns ({types}; partition values "
            "are strings unless Partitioning(field_types=...) types them): compare with a value of that type, e.g. "
            f"year == '2023', or read with partitioning=Partitioning('hive', field_types={{'year': int}}) ({exc})"
        ) from exc
    return kept.column(_FILE_INDEX).to_pylist()
