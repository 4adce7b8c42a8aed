"""Numeric numpy/list -> Arrow conversion that never imports pandas.

Why: ``pyarrow.array`` asks "is this a pandas object?" on every call, which imports pandas
(~0.2 s) the first time. A cold ``range(1000).map(...).take(5)`` would pay that for nothing. For
the common case — a 1-D numeric or boolean array without nulls — the Arrow array can be built
straight from the numpy buffer (zero-copy for numbers). Anything else falls back to
``pyarrow.array``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

_NUMERIC_KINDS = "iuf"


def numpy_to_arrow(values: np.ndarray) -> pa.Array:
    """1-D numeric/bool ndarray -> Arrow array without touching pandas; others via pa.array."""
    if values.ndim == 1 and values.dtype.kind in _NUMERIC_KINDS and values.dtype.byteorder in ("=", "|", "<"):
        contiguous = np.ascontiguousarray(values)
        arrow_type = pa.from_numpy_dtype(contiguous.dtype)
        return pa.Array.from_buffers(arrow_type, len(contiguous), [None, pa.py_buffer(contiguous)])
    if values.ndim == 1 and values.dtype.kind == "b":
        packed = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(packed)])
    return pa.array(values)


def list_to_arrow(values: list) -> pa.Array:
    """A list of Python scalars -> Arrow. Homogeneous int/float/bool lists take the numpy path."""
    if values:
        first = type(values[0])
        if first in (int, float, bool) and all(type(v) is first for v in values):
            try:
                arr = np.array(values, dtype=np.int64 if first is int else (np.float64 if first is float else np.bool_))
            except OverflowError:
                return pa.array(values)
            return numpy_to_arrow(arr)
    return pa.array(values)


def to_arrow_column(values: Any) -> pa.Array:
    if isinstance(values, np.ndarray):
        return numpy_to_arrow(values)
    if isinstance(values, list):
        return list_to_arrow(values)
    return pa.array(values)
