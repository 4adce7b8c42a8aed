"""Blocks are ``pyarrow.Table``; this module converts them to and from the batch formats users see.

Why one block type: Arrow tables are zero-copy to memory-map from the shared-memory store, cheap
to slice, and pyarrow compute works on them directly. pandas is imported only when a user asks
for the ``"pandas"`` format, which keeps ``import streamscope`` and cold starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import pyarrow as pa

from streamscope.engine import batch_conversion, tensor
from streamscope.engine.python_objects import is_python_object_type, object_array, objects_to_arrow

Block = pa.Table

BATCH_FORMATS = ("default", "numpy", "pandas", "pyarrow")


@dataclass(frozen=True)
class BlockMetadata:
    """What the executor knows about a block without reading it."""

    num_rows: int
    size_bytes: int
    schema: pa.Schema | None = None
    input_files: tuple[str, ...] = field(default_factory=tuple)

    @staticmethod
    def of(table: pa.Table, input_files: Iterable[str] = ()) -> "BlockMetadata":
        return BlockMetadata(table.num_rows, block_size_bytes(table), table.schema, tuple(input_files))

    def __reduce__(self):
        # Schemas travel as Arrow IPC bytes: pickling a pa.Schema fails for extension types that
        # only Arrow's C++ layer knows (the canonical variable-shape tensor), IPC keeps them.
        schema = None if self.schema is None else self.schema.serialize().to_pybytes()
        return (_metadata_from_wire, (self.num_rows, self.size_bytes, schema, self.input_files))


def _metadata_from_wire(num_rows: int, size_bytes: int, schema: bytes | None, input_files: tuple) -> BlockMetadata:
    import pyarrow.ipc as ipc

    decoded = None if schema is None else ipc.read_schema(pa.py_buffer(schema))
    return BlockMetadata(num_rows, size_bytes, decoded, tuple(input_files))


def block_size_bytes(table: pa.Table) -> int:
    """Bytes the block's buffers hold (slices count their share)."""
    try:
        return int(table.nbytes)
    except Exception:  # pragma: no cover - extension arrays without nbytes
        return int(table.get_total_buffer_size())


def _is_pandas_frame(obj: Any) -> bool:
    module = type(obj).__module__
    return module.startswith("pandas") and type(obj).__name__ == "DataFrame"


def to_block(data: Any) -> pa.Table:
    """Convert what a user function returned into a block.

    Accepts a ``pyarrow.Table`` or ``RecordBatch``, a ``pandas.DataFrame``, or a mapping of column
    name to values (ndarray, list, torch tensor, Arrow array...), converted by Ray Data's column
    rules (:mod:`streamscope.engine.batch_conversion`). Raises ``TypeError`` naming the type
    otherwise. ``map_batches`` first refuses what Ray Data refuses (``check_batch_output``).
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if _is_pandas_frame(data):
        return pandas_to_block(data)
    if isinstance(data, Mapping):
        return columns_to_block(data)
    raise TypeError(
        "expected a dict of column name to array, a pandas.DataFrame or a pyarrow.Table, "
        f"got {type(data).__name__}"
    )


def columns_to_block(columns: Mapping[str, Any]) -> pa.Table:
    """A mapping of column name -> values (ndarray, list, array-like, Arrow array; scalars are not
    broadcast); every column must have the same length."""
    arrays: list[pa.Array | pa.ChunkedArray] = []
    names: list[str] = []
    length: int | None = None
    for name, values in columns.items():
        if not isinstance(name, str):
            raise TypeError(f"column names must be str, got {name!r} ({type(name).__name__})")
        arr = _to_arrow_column(name, values)
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            raise ValueError(
                f"column {name!r} has {len(arr)} values but earlier columns have {length}; "
                "all columns of a batch must have the same length"
            )
        names.append(name)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=names) if names else pa.Table.from_arrays([], names=[])


def _to_arrow_column(name: str, values: Any) -> pa.Array | pa.ChunkedArray:
    return batch_conversion.column_to_arrow(name, values)


def pandas_to_block(df: Any) -> pa.Table:
    """pandas -> Arrow as Ray Data does it: object columns follow the batch-column rules (ndarrays
    become tensors, values Arrow cannot type become Python objects), the others go through
    ``pyarrow`` (extension dtypes via ``__arrow_array__``); columns holding only nulls become
    null-typed so they concatenate with typed blocks. A frame without object columns keeps
    pyarrow's pandas metadata, so its dtypes (``Int64``, ``category``) come back in pandas
    batches."""
    names = [str(c) for c in df.columns]
    if not any(dtype == object for dtype in df.dtypes):
        table = pa.Table.from_pandas(df, preserve_index=False)
    else:
        arrays = []
        for position, name in enumerate(names):
            series = df.iloc[:, position]
            if series.dtype == object:
                arrays.append(batch_conversion.column_to_arrow(name, series.to_numpy()))
            else:
                arrays.append(pa.array(series, from_pandas=True))
        table = pa.Table.from_arrays(arrays, names=names)
    for position, dtype in enumerate(df.dtypes):
        column = table.column(position)
        if (column.null_count == len(column) and not isinstance(column.type, pa.BaseExtensionType)
                and type(dtype).__name__ != "ArrowDtype" and not pa.types.is_null(column.type)):
            table = table.set_column(position, names[position], pa.nulls(len(column)))
    return table


def block_to_batch(table: pa.Table, batch_format: str | None) -> Any:
    """Convert a block to the batch format a user function asked for."""
    fmt = batch_format or "default"
    if fmt in ("default", "numpy"):
        return {name: tensor.arrow_to_numpy(table.column(name)) for name in table.column_names}
    if fmt == "pyarrow":
        return table
    if fmt == "pandas":
        return block_to_pandas(table)
    raise ValueError(f"batch_format must be one of {BATCH_FORMATS}, got {batch_format!r}")


def block_to_pandas(table: pa.Table) -> Any:
    """Arrow -> pandas; tensor and Python-object columns become object columns of ndarrays / the
    original objects (as Ray Data's pandas batches hold them)."""
    import pandas as pd

    special = [f.name for f in table.schema if _is_object_like(f.type)]
    if not special:
        return table.to_pandas()
    plain = table.drop_columns(special).to_pandas()
    data = {}
    for name in table.column_names:
        if name in special:
            values = tensor.arrow_to_numpy(table.column(name))
            data[name] = values if values.ndim == 1 else object_array(list(values))
        else:
            data[name] = plain[name]
    return pd.DataFrame(data, columns=table.column_names)


def _is_object_like(arrow_type: pa.DataType) -> bool:
    return tensor.is_tensor_type(arrow_type) or is_python_object_type(arrow_type)


def iter_rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """Rows as dicts of Python values; tensor cells come back as ndarrays."""
    return iter(table_rows(table))


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """All rows of a block as a list of dicts (column-wise conversion, then one zip)."""
    names = table.column_names
    columns = []
    for name in names:
        col = table.column(name)
        if tensor.is_tensor_type(col.type):
            columns.append(list(tensor.arrow_to_numpy(col)))
        else:
            columns.append(col.to_pylist())
    if len(names) == 1:
        name = names[0]
        return [{name: v} for v in columns[0]]
    return [dict(zip(names, values)) for values in zip(*columns)]


def rows_to_block(rows: list[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts) -> block; each key's values become a column by the batch-column rules
    (ndarrays -> tensor columns, values Arrow cannot type -> Python objects).

    Fast path: every row has the first row's keys (one pass per column); otherwise the union of
    keys in first-seen order, with None where a row lacks a key.
    """
    if not rows:
        return pa.Table.from_arrays([], names=[])
    names = list(rows[0])
    width = len(names)
    columns: dict[str, list] = {}
    try:
        if any(len(row) != width for row in rows):
            raise KeyError
        for name in names:
            columns[name] = [row[name] for row in rows]
    except KeyError:
        names, seen = [], set()
        for row in rows:
            for key in row:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
        columns = {name: [row.get(name) for row in rows] for name in names}
    return columns_to_block({name: _column_from_values(name, values) for name, values in columns.items()})


def _column_from_values(name: str, values: list) -> pa.Array:
    return batch_conversion.values_to_arrow(name, values)


def empty_block(schema: pa.Schema) -> pa.Table:
    """A block of no rows with ``schema``. Why not ``schema.empty_table()``: pyarrow makes no empty
    array of a fixed-shape tensor type from the type alone, so extension columns are built from
    their empty storage."""
    return pa.Table.from_arrays([_empty_array(f.type) for f in schema], schema=schema)


def _empty_array(arrow_type: pa.DataType) -> pa.Array:
    if isinstance(arrow_type, pa.BaseExtensionType):
        return pa.ExtensionArray.from_storage(arrow_type, _empty_array(arrow_type.storage_type))
    return pa.array([], type=arrow_type)


def concat_blocks(tables: list[pa.Table]) -> pa.Table:
    """Concatenate blocks, unifying schemas where types differ only by nullability or promotion."""
    tables = [t for t in tables if t.num_columns or t.num_rows]
    if not tables:
        return pa.Table.from_arrays([], names=[])
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        tables = _unify_tensor_columns(tables)
        return pa.concat_tables(tables, promote_options="permissive")


def _unify_tensor_columns(tables: list[pa.Table]) -> list[pa.Table]:
    """Blocks whose tensor column has different shapes (one block of 1x2 tensors, the next of 3x2)
    concatenate as a variable-shape tensor column, as Ray Data does; Arrow cannot cast between
    fixed-shape tensor types by itself."""
    names = [n for n in tables[0].column_names if all(n in t.column_names for t in tables)]
    for name in names:
        types = [t.schema.field(name).type for t in tables]
        if all(ty == types[0] for ty in types):
            continue
        if any(is_python_object_type(ty) for ty in types):
            tables = _as_object_column(tables, name, types)
            continue
        if not all(tensor.is_tensor_type(ty) for ty in types):
            continue
        rows: list = []
        for t in tables:
            values = tensor.arrow_to_numpy(t.column(name))
            rows.extend(list(values))
        merged = tensor.tensors_to_arrow(rows)
        out, offset = [], 0
        for t in tables:
            piece = merged.slice(offset, t.num_rows)
            offset += t.num_rows
            out.append(t.set_column(t.column_names.index(name), name, piece))
        tables = out
    return tables


def _as_object_column(tables: list[pa.Table], name: str, types: list[pa.DataType]) -> list[pa.Table]:
    """A column that is Python objects in one block and typed in another concatenates as Python
    objects (Ray Data promotes it the same way); with tensors it cannot (Ray Data refuses too)."""
    if any(tensor.is_tensor_type(ty) for ty in types):
        raise ValueError(
            f"column {name!r} holds Python objects in some blocks and tensors in others; they cannot "
            "be concatenated: return values of one kind (for instance ndarrays of one rank) for it")
    out = []
    for t in tables:
        column = t.column(name)
        if not is_python_object_type(column.type):
            column = objects_to_arrow(column.to_pylist())
        out.append(t.set_column(t.column_names.index(name), name, column))
    return out


def split_block(table: pa.Table, max_bytes: int | None, max_rows: int | None = None) -> list[pa.Table]:
    """Slice a block so each piece stays under ``max_bytes`` (and ``max_rows`` when given)."""
    n = table.num_rows
    if n <= 1:
        return [table]
    rows_per = n
    if max_bytes:
        size = block_size_bytes(table)
        if size > max_bytes:
            rows_per = max(1, int(n * max_bytes / size))
    if max_rows:
        rows_per = min(rows_per, max_rows)
    if rows_per >= n:
        return [table]
    return [table.slice(i, rows_per) for i in range(0, n, rows_per)]
