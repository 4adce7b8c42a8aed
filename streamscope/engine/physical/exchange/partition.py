"""Vectorized partitioning helpers shared by the exchange kinds.

Why our own key hash: pyarrow exposes no hash kernel to Python, and the partition of a key must be
the same in every map task (and on both sides of a join), so it has to be a pure function of the
key's value. Integers, floats, booleans and temporal types are mixed with splitmix64 in numpy;
other types (strings, binary, decimals) go through pandas' vectorized hash of their distinct values.
Nulls hash to a constant so all null keys meet in one partition, as they form one group.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL_HASH = np.uint64(0x5BD1E9955BD1E995)


def _mix(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _column_hash(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    valid = None if col.null_count == 0 else np.asarray(col.is_valid())
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_temporal(t):
        if pa.types.is_boolean(t):
            col = col.cast(pa.int8())
        elif pa.types.is_temporal(t):
            col = col.cast(pa.int64()) if t.bit_width == 64 else col.cast(pa.int32())
        values = np.asarray(col.fill_null(0)).astype(np.int64).view(np.uint64)
        h = _mix(values)
    elif pa.types.is_floating(t):
        values = np.asarray(col.cast(pa.float64()).fill_null(0.0))
        values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 are one key
        values = np.where(np.isnan(values), np.nan, values)
        h = _mix(values.view(np.uint64))
    else:
        import pandas as pd

        encoded = pc.dictionary_encode(col)
        uniques = encoded.dictionary.to_pandas().to_numpy(dtype=object)
        uh = pd.util.hash_array(uniques, categorize=False) if len(uniques) else np.zeros(0, np.uint64)
        idx = np.asarray(encoded.indices.fill_null(0)).astype(np.int64)
        h = uh[idx] if len(uh) else np.zeros(len(col), np.uint64)
    if valid is not None:
        h = np.where(valid, h, _NULL_HASH)
    return h


def hash_keys(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """One uint64 hash per row of the key columns."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in keys:
            h = _mix(h * np.uint64(31) + _column_hash(table.column(key)))
    return h


def hash_partition(table: pa.Table, keys: Sequence[str], n: int) -> np.ndarray:
    if n == 1:
        return np.zeros(table.num_rows, dtype=np.int64)
    return (hash_keys(table, keys) % np.uint64(n)).astype(np.int64)


def split_by_partition(table: pa.Table, part: np.ndarray, n: int) -> list[pa.Table]:
    """Exactly ``n`` tables, table *i* holding the rows whose ``part`` is *i* (input order kept)."""
    if n == 1:
        return [table]
    if table.num_rows == 0:
        return [table] * n
    order = np.argsort(part, kind="stable")
    counts = np.bincount(part, minlength=n)
    ordered = table.take(pa.array(order))
    out = []
    start = 0
    for c in counts:
        out.append(ordered.slice(start, int(c)))
        start += int(c)
    return out
