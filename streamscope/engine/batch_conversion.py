"""What a user function's column values become: Ray Data 2.60's rules for turning a batch column
(or the values of one key across rows) into an Arrow column.

Why a module of its own: UDF outputs of ``map_batches``, the rows of ``map``/``flat_map`` and
``from_items``, pandas object columns and ``add_column`` results all go through the same rules,
and they are subtle enough (which lists become tensors, which fall back to pickled objects, which
are refused) to deserve one place. The rules, in the order they are tried:

* An Arrow array is kept as it is. A 1-D numeric/bool ndarray takes the zero-copy fast path.
* *Tensor path*: an ndarray with ``ndim > 1``, an ndarray-like (anything with ``__array__`` and
  ``__len__`` that is not an Arrow array: ``torch.Tensor``, ``pandas.Series``), or a list / object
  ndarray whose FIRST value is an ndarray or ndarray-like. Lists are first made one ndarray:
  ndarray-likes become ndarrays (``np.asarray``); values of one dtype and shape stack to an
  ``(n, *shape)`` array; otherwise (several shapes or dtypes, ``bytes`` or non-scalar values) they
  are kept as an object ndarray. A failure here (``[np.zeros(2), 3]``, a bfloat16 tensor) is an
  error naming the column. The ndarray then becomes: a plain column when its first value is a
  scalar; a fixed-shape tensor (``arrow.fixed_shape_tensor``, dtype promoted) when every value has
  one shape; a variable-shape tensor (``arrow.variable_shape_tensor``) when ndarrays of one rank
  differ in shape; anything else (ranks differ, a ``None`` among ndarrays) falls back.
* *Native path* (everything else): Arrow infers the type. ``datetime`` lists become timestamps at
  the finest unit any value needs (``"s"``/``"ms"``/``"us"``), ``datetime64`` arrays timestamps
  (days and coarser as seconds); a list whose first value is an Arrow array becomes a list column.
* *Fallback*: values Arrow cannot type (``[1, "a"]``, ``[True, 1]``, complex numbers, ints past
  64 bits, PIL images, user objects) become a Python-object column
  (:mod:`streamscope.engine.python_objects`), unless
  ``DataContext.enable_fallback_to_arrow_object_ext_type`` is ``False``, which makes them an error.

Example::

    >>> import numpy as np
    >>> from streamscope.engine.batch_conversion import column_to_arrow
    >>> column_to_arrow("x", [np.zeros((2, 2)), np.ones((2, 2))]).type.extension_name
    'arrow.fixed_shape_tensor'
    >>> str(column_to_arrow("x", [1, 2.5]).type)
    'double'
    >>> column_to_arrow("x", [1, "a"]).type.extension_name
    'streamscope.python_object'
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.arrow_fast import list_to_arrow, numpy_to_arrow
from streamscope.engine.context import DataContext
from streamscope.engine.python_objects import object_array, objects_to_arrow

_FAST_KINDS = "iufb"
# numpy datetime units -> the Arrow timestamp unit Ray Data uses for them
_TIMESTAMP_UNITS = {"Y": "s", "M": "s", "W": "s", "D": "s", "h": "s", "m": "s", "s": "s",
                    "ms": "ms", "us": "us", "ns": "ns", "ps": "ns", "fs": "ns", "as": "ns"}


class ColumnConversionError(TypeError):
    """Values of a column that Arrow cannot hold and that may not fall back to Python objects."""


def is_ndarray_like(value: Any) -> bool:
    """True for objects numpy can view as an array and that have a length, ndarrays excluded
    (``torch.Tensor``, ``pandas.Series``, Arrow arrays): Ray Data's test for "array-like".

    Examples:
        >>> from streamscope.engine.batch_conversion import is_ndarray_like
        >>> import numpy as np
        >>> is_ndarray_like([1, 2]), is_ndarray_like(np.zeros(2))
        (False, False)
    """
    return hasattr(value, "__array__") and hasattr(value, "__len__") and not isinstance(value, np.ndarray)


def is_valid_column(values: Any) -> bool:
    """Whether ``map_batches`` accepts ``values`` as a dict value: a list, an ndarray or an
    ndarray-like (tuples and scalars are refused, as in Ray Data).

    Examples:
        >>> from streamscope.engine.batch_conversion import is_valid_column
        >>> is_valid_column([1]), is_valid_column((1,)), is_valid_column(3)
        (True, False, False)
    """
    return isinstance(values, (list, np.ndarray)) or is_ndarray_like(values)


def column_to_arrow(name: str, values: Any) -> pa.Array | pa.ChunkedArray:
    """One column of a batch (list, tuple, ndarray, ndarray-like or Arrow array) -> Arrow.

    Raises ``TypeError``/``ValueError`` naming the column when the values cannot be a column.

    Examples:
        >>> import numpy as np
        >>> from streamscope.engine.batch_conversion import column_to_arrow
        >>> column_to_arrow("x", np.arange(3)).to_pylist()
        [0, 1, 2]
        >>> str(column_to_arrow("x", [[1, 2], [3]]).type)
        'list<item: int64>'
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, np.ndarray):
        if values.ndim == 1 and values.dtype.kind in _FAST_KINDS:
            return numpy_to_arrow(values)
        return _ndarray_column(name, values)
    if isinstance(values, tuple):
        values = list(values)
    if isinstance(values, list):
        return _list_column(name, values)
    if is_ndarray_like(values):
        return _ndarray_column(name, _asarray(name, values))
    if values is None or np.isscalar(values):
        raise TypeError(
            f"column {name!r} is a scalar ({values!r}); a batch column must be a list or an array "
            "with one value per row")
    raise TypeError(
        f"column {name!r} is a {type(values).__name__}; a batch column must be a list, a numpy "
        "ndarray, an array-like (torch.Tensor, pandas.Series) or a pyarrow Array")


def values_to_arrow(name: str, values: list) -> pa.Array:
    """The values one key took across rows (``map``, ``flat_map``, ``from_items``) -> Arrow;
    the same rules as a batch column.

    Examples:
        >>> import numpy as np
        >>> from streamscope.engine.batch_conversion import values_to_arrow
        >>> values_to_arrow("x", [np.zeros(2), np.zeros(3)]).type.extension_name
        'arrow.variable_shape_tensor'
    """
    return _list_column(name, values)


def _asarray(name: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values)
    except Exception as exc:
        raise ValueError(f"column {name!r}: cannot convert {type(values).__name__} to a numpy array ({exc})") from exc


def _ndarray_column(name: str, values: np.ndarray) -> pa.Array:
    first_is_array = values.dtype == object and len(values) and (
        isinstance(values[0], np.ndarray) or _array_like_not_arrow(values[0]))
    if values.ndim > 1 or first_is_array:
        return _tensor_column(name, values)
    return _native_column(name, values)


def _array_like_not_arrow(value: Any) -> bool:
    return is_ndarray_like(value) and not isinstance(value, (pa.Array, pa.ChunkedArray))


def _list_column(name: str, values: list) -> pa.Array:
    if not values:
        return pa.array([])
    first = values[0]
    if isinstance(first, np.ndarray) or _array_like_not_arrow(first):
        return _tensor_column(name, _list_to_ndarray(name, values), values)
    try:
        return list_to_arrow(values) if type(first) in (int, float, bool) else _native_values(values)
    except Exception as exc:  # whatever Arrow cannot type falls back, as in Ray Data
        return _fallback(name, values, exc)


def _list_to_ndarray(name: str, values: list) -> np.ndarray:
    """A list whose first value is an array -> one ndarray (stacked) or an object ndarray."""
    if len(values) == 1 and isinstance(values[0], np.ndarray):
        return np.expand_dims(values[0], 0)
    try:
        if all(_array_like_not_arrow(v) for v in values):
            values = [np.asarray(v) for v in values]
        layouts = set()
        mixed = False
        for v in values:
            if isinstance(v, np.ndarray):
                layouts.add((v.dtype, v.shape))
            elif isinstance(v, bytes) or not np.isscalar(v):
                mixed = True
        if mixed or len(layouts) > 1:
            return object_array(values)
        return np.asarray(values)
    except Exception as exc:
        raise ValueError(
            f"column {name!r}: cannot convert the values to a numpy array ({exc}); return arrays "
            "of one shape, or lists/ndarrays only") from exc


def _tensor_column(name: str, arr: np.ndarray, original: Any = None) -> pa.Array:
    """``original``: the values as the function returned them (a fallback keeps those, e.g. the
    torch tensors themselves, not the ndarrays made of them)."""
    try:
        return _tensor_from_ndarray(arr)
    except Exception as exc:  # any failure to build a tensor falls back, as in Ray Data
        return _fallback(name, arr if original is None else original, exc)


def _tensor_from_ndarray(arr: np.ndarray) -> pa.Array:
    if len(arr) and np.isscalar(arr[0]):
        return _native_values(arr)
    if arr.dtype == object:
        items = list(arr)
        if _variable_shaped(items):
            return tensor.tensors_to_arrow(items)
        items = [np.asarray(v) for v in items]
        shapes = {v.shape for v in items}
        if len(shapes) != 1:
            raise ValueError(f"values of different shapes {sorted(shapes)} that are not all ndarrays")
        arr = np.stack(items) if items else arr
        if arr.dtype == object:
            raise ValueError("the values are not numbers")
    if arr.dtype.kind in "cOV":
        raise ValueError(f"numpy dtype {arr.dtype} has no Arrow tensor type")
    if arr.ndim == 1:
        return _native_values(arr)
    return tensor.fixed_tensor_from_ndarray(arr)


def _variable_shaped(items: list) -> bool:
    if not items or not all(isinstance(v, np.ndarray) for v in items):
        return False
    shape = items[0].shape
    return any(v.shape != shape for v in items[1:])


def _native_column(name: str, values: np.ndarray) -> pa.Array:
    try:
        return _native_values(values)
    except Exception as exc:  # whatever Arrow cannot type falls back, as in Ray Data
        return _fallback(name, values, exc)


def _native_values(values: Any) -> pa.Array:
    """Arrow's own types only (no extension types); raises when Arrow cannot type the values."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            unit, _ = np.datetime_data(values.dtype)
            target = _TIMESTAMP_UNITS[unit]
            if unit != target:
                values = values.astype(f"datetime64[{target}]")
            return pa.array(values, type=pa.timestamp(target))
        if values.ndim == 1 and values.dtype.kind in _FAST_KINDS:
            return numpy_to_arrow(values)
        if values.dtype.kind == "c":
            raise TypeError("complex numbers have no Arrow type")
        return pa.array(values, type=pa.infer_type(values) if values.dtype == object else None)
    first = values[0]
    if isinstance(first, datetime.datetime) and first.tzinfo is None:
        return _native_values(_datetimes_to_numpy(values))
    if isinstance(first, (pa.Array, pa.ChunkedArray)):
        return _arrow_arrays_as_list(values)
    if isinstance(first, complex):
        raise TypeError("complex numbers have no Arrow type")
    # the type Arrow infers from the values, then strictly that type (as Ray Data does): a
    # column mixing str and non-UTF-8 bytes is refused by it and falls back
    return pa.array(values, type=pa.infer_type(values))


def _datetimes_to_numpy(values: list) -> np.ndarray:
    """``datetime`` values at the finest unit any of them needs (Ray Data keeps seconds when no
    value has a fraction of a second, milliseconds when all fractions are whole ms)."""
    unit = "s"
    if not all(isinstance(v, datetime.datetime) and v.tzinfo is None for v in values):
        raise TypeError("a column mixing naive datetimes with other values")
    for v in values:
        if v.microsecond:
            unit = "us" if v.microsecond % 1000 else ("ms" if unit == "s" else unit)
            if unit == "us":
                break
    return np.array([np.datetime64(v, unit) for v in values])


def _arrow_arrays_as_list(values: list) -> pa.Array:
    chunks = [v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v for v in values]
    offsets = np.zeros(len(chunks) + 1, dtype=np.int32)
    np.cumsum([len(c) for c in chunks], out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.concat_arrays(chunks))


def _fallback(name: str, values: Any, cause: BaseException) -> pa.Array:
    if DataContext.get_current().enable_fallback_to_arrow_object_ext_type is False:
        raise ColumnConversionError(
            f"column {name!r}: Arrow cannot hold these values ({cause}); set "
            "DataContext.enable_fallback_to_arrow_object_ext_type to None or True to keep them as "
            "pickled Python objects") from cause
    # ndarray.tolist() gives Python scalars (as Ray Data stores them); object arrays keep their items
    return objects_to_arrow(values.tolist() if isinstance(values, np.ndarray) else list(values))


def check_batch_output(out: Any, operator: str) -> None:
    """Refuse what Ray Data's ``map_batches`` refuses, with its reasons, naming the operator: a
    value that is not a dict / ``pandas.DataFrame`` / ``pyarrow.Table``, a list, a bare ndarray,
    or a dict value that is not a list, ndarray or array-like.

    Examples:
        >>> from streamscope.engine.batch_conversion import check_batch_output
        >>> check_batch_output({"x": [1, 2]}, "MapBatches(f)")
        >>> check_batch_output([1, 2], "MapBatches(f)")
        Traceback (most recent call last):
        ...
        ValueError: MapBatches(f): the function returned a list; map_batches cannot make a batch of a list of objects: wrap them in a named dict field, e.g. return {'results': objects} instead of objects
    """
    if isinstance(out, Mapping):
        for key, values in out.items():
            if not is_valid_column(values):
                raise ValueError(
                    f"{operator}: the function returned a dict whose value for key {key!r} is of type "
                    f"{type(values).__name__}; map_batches expects every dict value to be a list or a "
                    f"numpy.ndarray (or an array-like such as torch.Tensor): convert the "
                    f"{type(values).__name__} to an np.ndarray")
        return
    if isinstance(out, pa.Table) or _is_pandas_frame(out):
        return
    if isinstance(out, list):
        raise ValueError(
            f"{operator}: the function returned a list; map_batches cannot make a batch of a list of "
            "objects: wrap them in a named dict field, e.g. return {'results': objects} instead of objects")
    if isinstance(out, np.ndarray):
        raise ValueError(
            f"{operator}: the function returned a bare numpy.ndarray; return a dict of column name to "
            "array, e.g. {'data': array} instead of array")
    raise ValueError(
        f"{operator}: the function returned a value of type {type(out).__name__}; map_batches expects "
        "it to return a pandas.DataFrame, a pyarrow.Table or a dict[str, numpy.ndarray]")


def _is_pandas_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and type(obj).__module__.startswith("pandas")
