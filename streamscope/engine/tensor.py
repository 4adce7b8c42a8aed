"""Tensor columns: a multi-dimensional ndarray per row, stored as Arrow's canonical tensor types.

Why canonical types: files written by streamscope (Parquet, Arrow IPC) stay readable by any Arrow
tool, and tensors survive the shared-memory store zero-copy.

* Uniform shapes use ``arrow.fixed_shape_tensor`` (pyarrow exposes it directly).
* Ragged shapes use the canonical ``arrow.variable_shape_tensor``: storage
  ``struct<data: list<T>, shape: fixed_size_list<int32>[ndim]>``. pyarrow's C++ layer knows this
  type but the Python layer offers no constructor, so the type object is obtained once per
  (value type, ndim) by reading an empty IPC stream whose field carries the extension name.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from streamscope.engine.arrow_fast import numpy_to_arrow
from streamscope.engine.python_objects import is_python_object_type, object_array, objects_to_numpy

FIXED_SHAPE_TENSOR = "arrow.fixed_shape_tensor"
VARIABLE_SHAPE_TENSOR = "arrow.variable_shape_tensor"


def is_tensor_type(arrow_type: pa.DataType) -> bool:
    """True for either canonical tensor extension type."""
    return isinstance(arrow_type, pa.BaseExtensionType) and arrow_type.extension_name in (
        FIXED_SHAPE_TENSOR,
        VARIABLE_SHAPE_TENSOR,
    )


@functools.lru_cache(maxsize=None)
def variable_shape_tensor_type(value_type: pa.DataType, ndim: int) -> pa.DataType:
    """The canonical variable-shape tensor type for ``value_type`` and ``ndim`` dimensions."""
    import pyarrow.ipc as ipc

    storage = pa.struct([("data", pa.list_(value_type)), ("shape", pa.list_(pa.int32(), ndim))])
    field = pa.field(
        "t",
        storage,
        metadata={b"ARROW:extension:name": VARIABLE_SHAPE_TENSOR.encode(), b"ARROW:extension:metadata": b"{}"},
    )
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, pa.schema([field])):
        pass
    return ipc.open_stream(sink.getvalue()).schema.field(0).type


def ndarray_to_arrow(values: np.ndarray) -> pa.Array:
    """Convert a column given as an ndarray (first axis = rows) to an Arrow array.

    1-D arrays of scalars become plain Arrow arrays; n-D arrays become fixed-shape tensors; 1-D
    object arrays whose items are ndarrays become fixed-shape tensors when the shapes agree and
    variable-shape tensors otherwise.
    """
    if values.ndim > 1:
        values = np.ascontiguousarray(values)
        if values.dtype == object:
            return _ragged_to_arrow(list(values))
        return fixed_tensor_from_ndarray(values)
    if values.dtype == object and len(values) and any(isinstance(v, np.ndarray) for v in values):
        return tensors_to_arrow(list(values))
    return numpy_to_arrow(values)


def tensors_to_arrow(items: Sequence[Any]) -> pa.Array:
    """Convert a list of per-row ndarrays (or None) to a tensor array."""
    arrays = [None if v is None else np.asarray(v) for v in items]
    present = [a for a in arrays if a is not None]
    if present and all(a is not None for a in arrays):
        first = present[0]
        if all(a.shape == first.shape and a.dtype == first.dtype for a in present) and first.ndim >= 1:
            return fixed_tensor_from_ndarray(np.stack(present))
    return _ragged_to_arrow(arrays)


def fixed_tensor_from_ndarray(values: np.ndarray) -> pa.Array:
    """An n-D ndarray (first axis = rows) as a fixed-shape tensor column.

    pyarrow builds numeric tensors from the buffer directly; booleans, strings and timestamps
    (which its ``from_numpy_ndarray`` refuses, and Ray Data keeps as tensors) are stored through
    a fixed-size list of the Arrow value type.
    """
    values = np.ascontiguousarray(values)
    if values.dtype.kind in "iuf" and values.size:
        return pa.FixedShapeTensorArray.from_numpy_ndarray(values)
    shape = list(values.shape[1:])
    size = int(np.prod(shape)) if shape else 1
    flat = pa.array(values.reshape(-1))
    ext_type = pa.fixed_shape_tensor(flat.type, shape)
    storage = pa.FixedSizeListArray.from_arrays(flat, size) if size else pa.array(
        [[]] * len(values), type=pa.list_(flat.type, 0))
    return pa.ExtensionArray.from_storage(ext_type, storage)


def _ragged_to_arrow(arrays: Sequence[np.ndarray | None]) -> pa.Array:
    present = [a for a in arrays if a is not None]
    if not present:
        return pa.nulls(len(arrays))
    ndim = present[0].ndim
    if any(a.ndim != ndim for a in present):
        raise ValueError(
            "tensor column mixes arrays of different ranks "
            f"({sorted({a.ndim for a in present})}); reshape them to one rank"
        )
    dtype = np.result_type(*[a.dtype for a in present])
    value_type = pa.from_numpy_dtype(dtype)
    # One flat buffer plus offsets: a single copy, not an Arrow conversion per row.
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum([0 if a is None else a.size for a in arrays], out=offsets[1:])
    flat = np.concatenate([a.astype(dtype, copy=False).ravel() for a in present])
    values = numpy_to_arrow(flat) if flat.dtype.kind in "iufb" else pa.array(flat, type=value_type)
    shapes = [None if a is None else list(a.shape) for a in arrays]
    ext_type = variable_shape_tensor_type(value_type, ndim)
    data_arr = pa.ListArray.from_arrays(pa.array(offsets), values)
    shape_arr = pa.array(shapes, type=pa.list_(pa.int32(), ndim))
    mask = pa.array([a is None for a in arrays])
    storage = pa.StructArray.from_arrays([data_arr, shape_arr], fields=list(ext_type.storage_type), mask=mask)
    return pa.ExtensionArray.from_storage(ext_type, storage)


def arrow_to_numpy(column: pa.ChunkedArray | pa.Array, zero_copy_only: bool = False) -> np.ndarray:
    """Convert an Arrow column to numpy; tensor columns become an n-D array (or an object array of
    ndarrays for ragged shapes)."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            column = column.chunk(0)
        elif column.num_chunks == 0:
            column = pa.array([], type=column.type)
        else:
            column = column.combine_chunks()
    arrow_type = column.type
    if isinstance(arrow_type, pa.FixedShapeTensorType):
        if column.null_count:
            return object_array(_fixed_rows(column))
        if not len(column) or not all(arrow_type.shape):  # no elements: pyarrow cannot view them
            dtype = np.dtype(arrow_type.value_type.to_pandas_dtype())
            return np.empty((len(column), *arrow_type.shape), dtype=dtype)
        if not _numeric(arrow_type.value_type):
            return _flat_values(column.storage.flatten(), arrow_type.value_type).reshape(
                (len(column), *arrow_type.shape))
        return column.to_numpy_ndarray()
    if isinstance(arrow_type, pa.BaseExtensionType) and arrow_type.extension_name == VARIABLE_SHAPE_TENSOR:
        return object_array(_variable_rows(column))
    if is_python_object_type(arrow_type):
        return objects_to_numpy(column)
    if pa.types.is_null(arrow_type):  # all-null columns: float32 NaNs, as Ray Data gives them
        return np.full(len(column), np.nan, dtype=np.float32)
    if isinstance(arrow_type, pa.BaseExtensionType):
        column = column.storage
    try:
        return column.to_numpy(zero_copy_only=zero_copy_only)
    except (pa.ArrowInvalid, NotImplementedError):
        return np.asarray(column.to_pylist(), dtype=object)


def _fixed_rows(column: pa.Array) -> list[np.ndarray | None]:
    shape = tuple(column.type.shape)
    out: list[np.ndarray | None] = []
    for i in range(len(column)):
        if not column[i].is_valid:
            out.append(None)
        else:
            values = _flat_values(column.storage[i].values, column.type.value_type)
            out.append(values.reshape(shape))
    return out


def _numeric(value_type: pa.DataType) -> bool:
    return pa.types.is_integer(value_type) or pa.types.is_floating(value_type)


def _flat_values(values: pa.Array, value_type: pa.DataType) -> np.ndarray:
    """Tensor elements as numpy; strings come back as numpy's fixed-width ``<U`` (as they went in)."""
    out = values.to_numpy(zero_copy_only=False)
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return out.astype(str)
    return out


def _variable_rows(column: pa.Array) -> list[np.ndarray | None]:
    storage = column.storage
    data = storage.field("data")
    shapes = storage.field("shape")
    out: list[np.ndarray | None] = []
    for i in range(len(column)):
        if not storage[i].is_valid:
            out.append(None)
            continue
        shape = tuple(shapes[i].values.to_numpy())
        out.append(_flat_values(data[i].values, data.type.value_type).reshape(shape))
    return out


def tensor_scalar_to_numpy(column: pa.Array, index: int) -> np.ndarray | None:
    """One row of a tensor column as an ndarray (used when iterating rows)."""
    if isinstance(column.type, pa.FixedShapeTensorType):
        if not column[index].is_valid:
            return None
        return _flat_values(column.storage[index].values, column.type.value_type).reshape(tuple(column.type.shape))
    return _variable_rows(column.slice(index, 1))[0]


def stack_equal_shapes(array: Any) -> Any:
    """A tensor column's batch as one n-D array when its rows share a shape (they arrive as an
    object array of ndarrays when the block held ragged or per-row tensors); otherwise unchanged.
    What the framework bridges (jax, TensorFlow) hand their converters.

    Example:
        >>> rows = np.empty(2, dtype=object); rows[0], rows[1] = np.zeros(3), np.ones(3)
        >>> stack_equal_shapes(rows).shape
        (2, 3)
    """
    if isinstance(array, np.ndarray) and array.dtype == object and len(array) and isinstance(array[0], np.ndarray):
        try:
            return np.stack(list(array))
        except ValueError:
            return array
    return array
