"""``tensor_column_schema``: Parquet columns of serialized ndarrays read back as tensors.

Why: data written as ``array.tobytes()`` per row (C order, raw NumPy bytes) is common in Parquet
files made outside Ray; Ray Data's ``read_parquet(tensor_column_schema={"col": (dtype, shape)})``
turns such a binary column into a tensor column. The bytes are reinterpreted without a copy per
row: one view of each chunk's data buffer, checked to hold exactly one tensor per row.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor

TensorColumnSchema = dict[str, tuple[np.dtype, tuple[int, ...]]]


def check_tensor_column_schema(spec: Any, reader: str) -> Optional[TensorColumnSchema]:
    """``spec`` as ``{column: (numpy dtype, shape tuple)}``, or a TypeError naming what is wrong."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise TypeError(f"{reader}: tensor_column_schema must be a dict of column -> (dtype, shape), got {spec!r}")
    out: TensorColumnSchema = {}
    for name, value in spec.items():
        try:
            dtype, shape = value
            out[name] = (np.dtype(dtype), tuple(int(d) for d in shape))
        except (TypeError, ValueError):
            raise TypeError(f"{reader}: tensor_column_schema[{name!r}] must be (dtype, shape), e.g. "
                            f"(np.float32, (2, 2)); got {value!r}") from None
    return out


def tensor_type(dtype: np.dtype, shape: tuple[int, ...]) -> pa.DataType:
    """The Arrow type of a column of ``shape`` tensors of ``dtype``."""
    return tensor.ndarray_to_arrow(np.zeros((1,) + shape, dtype=dtype)).type


def decode_tensor_columns(table: pa.Table, spec: TensorColumnSchema, where: str) -> pa.Table:
    """Replace each binary column named in ``spec`` by its tensors (columns not read are skipped)."""
    for name, (dtype, shape) in spec.items():
        if name not in table.column_names:
            continue
        column = table.column(name)
        if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            raise ValueError(f"{where}: tensor_column_schema names column {name!r}, which is {column.type}, "
                             "not binary (serialized ndarray bytes)")
        per_row = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        parts = [_chunk_values(chunk, per_row, name, where) for chunk in column.chunks]
        flat = np.concatenate(parts) if parts else np.empty(0, np.uint8)
        values = flat.view(dtype).reshape((len(column),) + shape)
        table = table.set_column(table.column_names.index(name), name, tensor.ndarray_to_arrow(values))
    return table


def _chunk_values(chunk: pa.Array, per_row: int, name: str, where: str) -> np.ndarray:
    if chunk.null_count:
        raise ValueError(f"{where}: column {name!r} has {chunk.null_count} null values; tensor_column_schema "
                         "needs one serialized tensor in every row")
    width = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset: chunk.offset + len(chunk) + 1]
    sizes = np.diff(offsets)
    bad = np.flatnonzero(sizes != per_row)
    if bad.size:
        raise ValueError(f"{where}: column {name!r} row {int(bad[0])} holds {int(sizes[bad[0]])} bytes, but "
                         f"tensor_column_schema's dtype and shape need {per_row}")
    data = chunk.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    return raw[int(offsets[0]): int(offsets[-1])]
