"""``range(n)`` and ``range_tensor(n, shape)``: synthetic rows with metadata known up front.

As in Ray Data 2.60: ``range`` gives column ``id`` (int64); ``range_tensor`` gives column
``data``, a fixed-shape int64 tensor per row filled with the row's index (row 2 of shape (2, 2) is
``[[2, 2], [2, 2]]``). Rows split into ``parallelism`` contiguous tasks; a task producing more than
``DataContext.target_max_block_size`` bytes yields several blocks.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa

from streamscope.engine import tensor
from streamscope.engine.arrow_fast import numpy_to_arrow
from streamscope.engine.context import DataContext
from streamscope.engine.io.datasource import Datasource, ReadTask


def _range_block(start: int, end: int, kind: str, column: str, shape: tuple) -> pa.Table:
    ids = np.arange(start, end, dtype=np.int64)
    if kind == "tensor":
        data = np.broadcast_to(ids.reshape((-1,) + (1,) * len(shape)), (len(ids),) + shape)
        return pa.Table.from_arrays([tensor.ndarray_to_arrow(np.ascontiguousarray(data))], names=[column])
    return pa.Table.from_arrays([numpy_to_arrow(ids)], names=[column])


def _read_range(start: int, end: int, kind: str, column: str, shape: tuple,
                rows_per_block: int, keep: Optional[tuple]) -> Iterator[pa.Table]:
    for lo in range(start, end, rows_per_block):
        table = _range_block(lo, min(end, lo + rows_per_block), kind, column, shape)
        yield table.select(list(keep)) if keep is not None else table


class RangeDatasource(Datasource):
    def __init__(self, n: int, *, block_format: str = "arrow", tensor_shape: Sequence[int] = (1,),
                 column_name: Optional[str] = None):
        if int(n) < 0:
            raise ValueError(f"range needs n >= 0, got {n}")
        if block_format not in ("arrow", "tensor"):
            raise ValueError(f"block_format must be 'arrow' or 'tensor', got {block_format!r}")
        self._n = int(n)
        self._kind = block_format
        self._shape = tuple(int(s) for s in tensor_shape)
        self._column = column_name or ("data" if block_format == "tensor" else "id")
        self._columns: Optional[tuple] = None

    def get_name(self) -> str:
        return "ReadRange"

    def _row_bytes(self) -> int:
        return 8 * (math.prod(self._shape) if self._kind == "tensor" else 1)

    def schema(self) -> pa.Schema:
        if self._kind == "tensor":
            schema = pa.schema([(self._column, pa.fixed_shape_tensor(pa.int64(), self._shape))])
        else:
            schema = pa.schema([(self._column, pa.int64())])
        if self._columns is not None:
            schema = pa.schema([schema.field(c) for c in self._columns])
        return schema

    def num_rows(self) -> int:
        return self._n

    def estimate_inmemory_data_size(self) -> int:
        return self._n * self._row_bytes()

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        if self._n == 0:
            return []
        parallelism = max(1, min(int(parallelism), self._n))
        block_size = max(1, math.ceil(self._n / parallelism))
        max_bytes = DataContext.get_current().target_max_block_size or (128 << 20)
        rows_per_block = max(1, max_bytes // self._row_bytes())
        tasks = []
        for start in range(0, self._n, block_size):
            end = min(self._n, start + block_size)
            fn = functools.partial(_read_range, start, end, self._kind, self._column, self._shape,
                                   rows_per_block, self._columns)
            tasks.append(ReadTask(read_fn=fn, num_rows=end - start, size_bytes=(end - start) * self._row_bytes()))
        return tasks

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "RangeDatasource":
        missing = [c for c in columns if c != self._column]
        if missing:
            raise KeyError(f"columns {missing} not in range output; available columns: [{self._column!r}]")
        new = copy.copy(self)
        new._columns = tuple(columns)
        return new

    def supports_limit_pushdown(self) -> bool:
        return True

    def apply_limit(self, limit: int) -> "RangeDatasource":
        new = copy.copy(self)
        new._n = min(self._n, int(limit))
        return new

    def pushdown_summary(self) -> list[str]:
        out = []
        if self._columns is not None:
            out.append(f"columns={list(self._columns)}")
        return out
