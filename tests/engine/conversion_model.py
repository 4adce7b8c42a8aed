"""A small, independent model of Ray Data 2.60's rules for turning a column's values into a
column, written from what Ray 2.60 was seen to do (``BlockAccessor.batch_to_block`` then
``to_batch_format``), not from streamscope's code: the property tests compare streamscope's
conversion against it.

``predict(values)`` says what kind of column a list of values becomes, and what numpy batches
give back:

* ``Fixed(shape, dtype)``: a fixed-shape tensor column; numpy gives one ``(n, *shape)`` array.
* ``Variable(ndim, dtype)``: a variable-shape tensor column; numpy gives an object array of ndarrays.
* ``Native(arrow_type)``: a plain Arrow column of the type pyarrow infers for the values.
* ``Objects()``: a column of Python objects; numpy gives an object array of the values themselves.
* ``Refused()``: Ray raises (the values look like arrays but numpy cannot stack them).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Fixed:
    shape: tuple
    dtype: np.dtype


@dataclass(frozen=True)
class Variable:
    ndim: int
    dtype: np.dtype


@dataclass(frozen=True)
class Native:
    arrow_type: pa.DataType


@dataclass(frozen=True)
class Objects:
    pass


@dataclass(frozen=True)
class Refused:
    pass


def _array_like(value: Any) -> bool:
    """ndarrays, and things with ``__array__`` and ``__len__`` that are not Arrow arrays."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return False
    return hasattr(value, "__array__") and hasattr(value, "__len__")


def _scalar(value: Any) -> bool:
    return np.isscalar(value) and not isinstance(value, bytes)


def predict(values: list) -> Any:
    """What Ray 2.60 makes of a column given as a list of ``values``."""
    if not values:
        return Native(pa.null())
    if _array_like(values[0]):
        return _predict_arrays(values)
    return _predict_native(values)


def _predict_native(values: list) -> Any:
    if isinstance(values[0], datetime.datetime):
        if not all(isinstance(v, datetime.datetime) for v in values):
            return Objects()
        if any(v.microsecond % 1000 for v in values):
            return Native(pa.timestamp("us"))
        if any(v.microsecond for v in values):
            return Native(pa.timestamp("ms"))
        return Native(pa.timestamp("s"))
    if any(isinstance(v, complex) for v in values):
        return Objects()
    try:
        return Native(pa.array(values, type=pa.infer_type(values)).type)
    except Exception:  # pyarrow cannot type them: Ray keeps Python objects
        return Objects()


def _predict_arrays(values: list) -> Any:
    torch_like = all(_array_like(v) and not isinstance(v, np.ndarray) for v in values)
    items = [np.asarray(v) for v in values] if torch_like else list(values)
    if len(items) == 1 and isinstance(items[0], np.ndarray):
        return _predict_stacked(items[0][None])
    arrays = [v for v in items if isinstance(v, np.ndarray)]
    odd = [v for v in items if not isinstance(v, np.ndarray) and not _scalar(v)]
    layouts = {(a.dtype, a.shape) for a in arrays}
    if not odd and len(layouts) == 1:
        try:
            return _predict_stacked(np.asarray(items))
        except ValueError:  # ndarrays mixed with scalars: numpy cannot stack them
            return Refused()
    # an object array of the values
    if len(arrays) == len(items) and len({a.shape for a in arrays}) > 1:
        if len({a.ndim for a in arrays}) > 1:
            return Objects()
        return Variable(arrays[0].ndim, np.result_type(*arrays))
    try:
        converted = [np.asarray(v) for v in items]
    except Exception:
        return Objects()
    if len({a.shape for a in converted}) != 1:
        return Objects()
    return _predict_stacked(np.stack(converted))


def _predict_stacked(stacked: np.ndarray) -> Any:
    if stacked.dtype.kind in "cOV":
        return Objects()
    if stacked.ndim == 1:
        return Native(pa.array(stacked).type)
    return Fixed(tuple(stacked.shape[1:]), stacked.dtype)


def expected_numpy(values: list, prediction: Any) -> np.ndarray:
    """The numpy column a numpy-format batch holds for these values (plain numpy/pyarrow only)."""
    if isinstance(prediction, Fixed):
        return np.stack([np.asarray(v) for v in values]).astype(prediction.dtype)
    if isinstance(prediction, Variable):
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = np.asarray(v).astype(prediction.dtype)
        return out
    if isinstance(prediction, Objects):
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out
    if prediction.arrow_type == pa.null():  # Ray gives all-null columns as float32 NaNs
        return np.full(len(values), np.nan, dtype=np.float32)
    plain = [v.item() if isinstance(v, (np.ndarray, np.generic)) else v for v in values]
    return pa.array(plain, type=prediction.arrow_type).to_numpy(zero_copy_only=False)
