"""Datasets from data the user already holds: from_items, from_pandas, from_numpy, from_arrow,
from_blocks, from_torch, and the from_*_refs functions (the same from references to the data).

These mirror Ray Data's column conventions: scalars from ``from_items`` land in column ``item``,
arrays from ``from_numpy`` in column ``data`` (n-D arrays as tensor columns).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Optional, Union

import numpy as np
import pyarrow as pa

from streamscope.engine.api.dataset import MaterializedDataset
from streamscope.engine.api.refs import resolve_refs
from streamscope.engine.api.remote_split_iterator import set_materializer as set_split_materializer
from streamscope.engine.api.torch import rows_from_torch
from streamscope.engine.block import concat_blocks, pandas_to_block, rows_to_block, to_block
from streamscope.engine.logical.operators import InputData
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.tensor import ndarray_to_arrow


def _materialized(tables: list[pa.Table], name: str):
    return MaterializedDataset(LogicalPlan(InputData(tables=tables, name=name)))


def _split(table: pa.Table, n: Optional[int]) -> list[pa.Table]:
    if not n or n <= 1 or table.num_rows == 0:
        return [table]
    n = min(n, table.num_rows)
    bounds = [table.num_rows * i // n for i in range(n + 1)]
    return [table.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(n)]


def _default_blocks(num_rows: int) -> int:
    return max(1, min(num_rows, 2 * (os.cpu_count() or 1)))


def from_items(items: list, *, parallelism: int = -1, override_num_blocks: Optional[int] = None):
    """A dataset from a list of rows: dicts become rows, any other value a row ``{"item": value}``.
    The rows are split into blocks (``override_num_blocks``, default two per core) held in
    memory.

    Examples:
        >>> streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).take()
        [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
        >>> streamscope.from_items([10, 20]).take()
        [{'item': 10}, {'item': 20}]
    """
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"from_items expects a list, got {type(items).__name__}")
    rows = [dict(item) if isinstance(item, Mapping) else {"item": item} for item in items]
    table = rows_to_block(rows) if rows else pa.Table.from_arrays([], names=[])
    n = override_num_blocks or (parallelism if parallelism and parallelism > 0 else _default_blocks(len(rows)))
    return _materialized(_split(table, n), "FromItems")


def from_pandas(dfs: Any, override_num_blocks: Optional[int] = None):
    """A dataset from a pandas DataFrame (or a list of them, one block each).

    Examples:
        >>> import pandas as pd
        >>> streamscope.from_pandas(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})).take()
        [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    frames = dfs if isinstance(dfs, (list, tuple)) else [dfs]
    tables = [pandas_to_block(df) for df in frames]
    if override_num_blocks:
        tables = _split(concat_blocks(tables), override_num_blocks)
    return _materialized(tables, "FromPandas")


def from_numpy(ndarrays: Union[np.ndarray, list]):
    """A dataset from a numpy array (or a list of them): one row per element of the first axis, in
    column ``data``; rows of an n-D array are tensors.

    Examples:
        >>> import numpy as np
        >>> streamscope.from_numpy(np.arange(3)).take()
        [{'data': 0}, {'data': 1}, {'data': 2}]
        >>> streamscope.from_numpy(np.ones((2, 3))).take(1)
        [{'data': array([1., 1., 1.])}]
    """
    arrays = ndarrays if isinstance(ndarrays, (list, tuple)) else [ndarrays]
    return _materialized([_numpy_table(arr) for arr in arrays], "FromNumpy")


def _numpy_table(arr: Any) -> pa.Table:
    arr = np.asarray(arr)
    if arr.ndim == 0:
        raise ValueError("from_numpy needs arrays with at least one dimension (rows)")
    return pa.Table.from_arrays([ndarray_to_arrow(arr)], names=["data"])


def from_arrow(tables: Any, *, override_num_blocks: Optional[int] = None):
    """A dataset from a pyarrow Table (or a list of them, one block each), without copying.

    Examples:
        >>> import pyarrow as pa
        >>> ds = streamscope.from_arrow(pa.table({"a": [1, 2, 3]}))
        >>> ds.count(), ds.columns()
        (3, ['a'])
    """
    items = tables if isinstance(tables, (list, tuple)) else [tables]
    out = []
    for t in items:
        if isinstance(t, (bytes, bytearray)):
            import pyarrow.ipc as ipc

            t = ipc.open_stream(pa.py_buffer(t)).read_all()
        out.append(to_block(t))
    if override_num_blocks:
        out = _split(concat_blocks(out), override_num_blocks)
    return _materialized(out, "FromArrow")


def from_blocks(blocks: list):
    """A dataset from blocks you already have (pyarrow Tables or pandas DataFrames), one block each.

    Examples:
        >>> import pyarrow as pa
        >>> streamscope.from_blocks([pa.table({"a": [1]}), pa.table({"a": [2]})]).take()
        [{'a': 1}, {'a': 2}]
    """
    return _materialized([to_block(b) for b in blocks], "FromBlocks")


def from_torch(dataset: Any, local_read: bool = False):
    """A dataset of ``{"item": sample}`` rows from a torch map-style or iterable dataset (as Ray
    Data does; tuple samples become ``item_0``, ``item_1``, ... columns). Samples are read in the
    driver (``local_read`` is accepted for Ray compatibility); tensors become numpy arrays.

    Examples:
        >>> import torch
        >>> class Squares(torch.utils.data.Dataset):
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> streamscope.from_torch(Squares()).take()
        [{'item': 0}, {'item': 1}, {'item': 4}]
    """
    return from_items(rows_from_torch(dataset))


def from_arrow_refs(tables: Any):
    """A dataset from references to pyarrow Tables (or Arrow IPC stream bytes), one block each:
    ``ray.ObjectRef``\\ s (fetched with ``ray.get``) or :class:`streamscope.ObjectRef` handles, as
    ``to_arrow_refs`` returns them. A value that is no reference is refused: pass Tables you hold
    to :func:`from_arrow`.

    Examples:
        >>> import pyarrow as pa
        >>> ref = streamscope.ObjectRef(pa.table({"a": [1, 2]}))
        >>> streamscope.from_arrow_refs([ref]).take()
        [{'a': 1}, {'a': 2}]
    """
    values = resolve_refs(tables, "from_arrow_refs")
    for value in values:
        if not isinstance(value, (pa.Table, bytes, bytearray)):
            raise TypeError(f"from_arrow_refs: a reference resolved to a {type(value).__name__}; expected a "
                            "pyarrow.Table or Arrow IPC bytes")
    return from_arrow(values)


def from_pandas_refs(dfs: Any):
    """A dataset from references to pandas DataFrames, one block each: ``ray.ObjectRef``\\ s or
    :class:`streamscope.ObjectRef` handles, as ``to_pandas_refs`` returns them. A DataFrame
    itself is refused: pass it to :func:`from_pandas`.

    Examples:
        >>> import pandas as pd
        >>> refs = [streamscope.ObjectRef(pd.DataFrame({"a": [i]})) for i in range(3)]
        >>> streamscope.from_pandas_refs(refs).sum("a")
        3
    """
    import pandas as pd

    values = resolve_refs(dfs, "from_pandas_refs")
    for value in values:
        if not isinstance(value, pd.DataFrame):
            raise TypeError(f"from_pandas_refs: a reference resolved to a {type(value).__name__}; expected a "
                            "pandas.DataFrame")
    return from_pandas(values)


def from_numpy_refs(ndarrays: Any):
    """A dataset from references to numpy arrays (rows in column ``data``, as :func:`from_numpy`
    makes them), one block each; a reference to a dict of column name to array (what
    ``to_numpy_refs()`` returns) becomes a block of those columns.

    Examples:
        >>> import numpy as np
        >>> streamscope.from_numpy_refs(streamscope.ObjectRef(np.arange(3))).take()
        [{'data': 0}, {'data': 1}, {'data': 2}]
    """
    values = resolve_refs(ndarrays, "from_numpy_refs")
    tables = []
    for value in values:
        if isinstance(value, Mapping):
            tables.append(to_block(dict(value)))
        elif isinstance(value, np.ndarray):
            tables.append(_numpy_table(value))
        else:
            raise TypeError(f"from_numpy_refs: a reference resolved to a {type(value).__name__}; expected a "
                            "numpy.ndarray or a dict of them")
    return _materialized(tables, "FromNumpy")


set_split_materializer(from_arrow)  # a split consumed in another process materializes there
