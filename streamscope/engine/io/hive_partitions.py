"""Hive-style partitioned writes: a table split by the values of ``partition_cols`` into
``col=value/`` directories, the partition columns dropped from the files (Ray Data's
``write_parquet(partition_cols=...)``, which writes through pyarrow's Hive partitioning).

Directory names come from pyarrow's own ``HivePartitioning.format``, so values are escaped as
pyarrow (and Ray) write them (``a b`` -> ``a%20b``; null -> ``__HIVE_DEFAULT_PARTITION__``) and
pyarrow's ``partitioning="hive"`` reads them back.
"""

from __future__ import annotations

from typing import Iterator, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads


def check_partition_cols(writer: str, partition_cols: Optional[Sequence[str]]) -> Optional[list[str]]:
    """``partition_cols`` as a list of column names, or None; anything else is refused."""
    if partition_cols is None:
        return None
    if isinstance(partition_cols, str) or not all(isinstance(c, str) for c in partition_cols):
        raise TypeError(f"{writer}: partition_cols must be a list of column names, got {partition_cols!r}")
    cols = list(partition_cols)
    if len(set(cols)) != len(cols):
        raise ValueError(f"{writer}: partition_cols has a column twice: {cols}")
    return cols or None


def split_by_partition(table: pa.Table, partition_cols: list[str], writer: str) -> Iterator[tuple[str, pa.Table]]:
    """``(relative directory, rows of that partition without the partition columns)`` for each
    distinct combination of values in ``table``, in first-seen order."""
    missing = [c for c in partition_cols if c not in table.column_names]
    if missing:
        raise KeyError(f"{writer}: partition_cols {missing} not found; available columns: {table.column_names}")
    if len(partition_cols) == len(table.column_names):
        raise ValueError(f"{writer}: partition_cols {partition_cols} name every column; the files would hold none")
    schema = pa.schema([table.schema.field(c) for c in partition_cols])
    hive = pads.partitioning(schema, flavor="hive")
    keys = table.select(partition_cols).group_by(partition_cols, use_threads=False).aggregate([])
    data = table.drop_columns(partition_cols)
    for row in keys.to_pylist():
        mask = None
        expr = None
        for col in partition_cols:
            value = row[col]
            column = table.column(col)
            if value is None:
                hit, term = pc.is_null(column), pc.field(col).is_null()
            else:
                scalar = pa.scalar(value, type=schema.field(col).type)
                hit, term = pc.fill_null(pc.equal(column, scalar), False), pc.field(col) == scalar
            mask = hit if mask is None else pc.and_(mask, hit)
            expr = term if expr is None else expr & term
        directory, _ = hive.format(expr)
        yield directory, data.filter(mask)
