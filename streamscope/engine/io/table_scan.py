"""What the table-format readers (Delta Lake, Lance) share: grouping data files or fragments
into read tasks, and turning a scan's record batches into blocks.

Why here and not in ``file_datasource.py``: those readers are imported by ``import streamscope``
(their ``read_*`` functions are public names) and must stay free of fsspec, which the file
datasources import. The grouping follows the Parquet reader's rule: contiguous groups of about
equal bytes, at most ``parallelism`` of them, so a table of many small files becomes a few tasks
and one of large files a task per file.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa

from streamscope.engine.exceptions import DataSourceError

BLOCK_BYTES = 4 << 20
"""Bytes per block a table read yields (as the Parquet reader: blocks reach downstream operators
while the rest of a file is still being read)."""


def group_units(units: Sequence[Any], weights: Sequence[float], parallelism: int) -> list[list[Any]]:
    """``units`` in at most ``parallelism`` contiguous groups of about equal total weight.

    Examples:
        >>> group_units(["a", "b", "c", "d"], [1, 1, 1, 1], 2)
        [['a', 'b'], ['c', 'd']]
        >>> group_units(["big", "s1", "s2"], [10, 1, 1], 8)
        [['big'], ['s1'], ['s2']]
    """
    n = max(1, min(int(parallelism), len(units)))
    if not units:
        return []
    if n == 1:
        return [list(units)]
    w = [float(x) for x in weights]
    if not sum(w):
        w = [1.0] * len(units)
    total = sum(w)
    groups: list[list[Any]] = []
    current: list[Any] = []
    acc = 0.0
    for i, (unit, weight) in enumerate(zip(units, w)):
        current.append(unit)
        acc += weight
        left_units = len(units) - i - 1
        left_groups = n - len(groups) - 1
        if left_groups > 0 and (acc >= total * (len(groups) + 1) / n or left_units == left_groups):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def coalesce_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                     max_bytes: int = BLOCK_BYTES) -> Iterator[pa.Table]:
    """Tables of about ``max_bytes`` from a stream of batches (at least one table, maybe empty,
    so a reader always reports its schema).

    Examples:
        >>> b = pa.record_batch({"x": [1, 2]})
        >>> [t.num_rows for t in coalesce_batches([b, b, b], b.schema, max_bytes=20)]
        [4, 2]
    """
    pending: list[pa.RecordBatch] = []
    size = 0
    emitted = False
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        size += batch.nbytes
        if size >= max_bytes:
            yield pa.Table.from_batches(pending)
            emitted = True
            pending, size = [], 0
    if pending or not emitted:
        yield pa.Table.from_batches(pending, schema=schema)


def constant_column(value: Any, dtype: pa.DataType, n: int) -> pa.Array:
    """``n`` copies of ``value`` typed ``dtype`` (nulls for None)."""
    if value is None:
        return pa.nulls(n, dtype)
    return pa.repeat(pa.scalar(value, dtype), n)


def check_columns(reader: str, where: str, columns: Optional[Sequence[str]], available: Sequence[str]) -> Optional[list[str]]:
    """``columns`` as a list after checking each is ``available`` (a DataSourceError naming the
    reader, the table and the missing ones)."""
    if columns is None:
        return None
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"{reader}: columns must be a list of column names, got {columns!r}")
    missing = [c for c in columns if c not in available]
    if missing:
        raise DataSourceError(f"{reader}: columns {missing} not found in {where}; available columns: {list(available)}")
    return list(columns)
