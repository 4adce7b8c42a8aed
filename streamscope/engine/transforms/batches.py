"""Batch transforms: map_batches and add_column. The user's function sees a batch in the format
they asked for; outputs of any supported format become blocks again."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.batch_conversion import check_batch_output
from streamscope.engine.block import BATCH_FORMATS, block_to_batch, concat_blocks, to_block
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.udf import UserFunction, tag


def rebatch(blocks: Iterator[pa.Table], batch_size: Optional[int]) -> Iterator[pa.Table]:
    """Yield tables of exactly ``batch_size`` rows (the last may be shorter); ``None`` passes
    blocks through whole."""
    if batch_size is None:
        yield from blocks
        return
    pending: list[pa.Table] = []
    pending_rows = 0
    for table in blocks:
        offset = 0
        while offset < table.num_rows:
            take = min(batch_size - pending_rows, table.num_rows - offset)
            pending.append(table.slice(offset, take))
            pending_rows += take
            offset += take
            if pending_rows == batch_size:
                yield concat_blocks(pending) if len(pending) > 1 else pending[0]
                pending, pending_rows = [], 0
    if pending_rows:
        yield concat_blocks(pending) if len(pending) > 1 else pending[0]


def writable_batch(batch: Any) -> Any:
    """The batch with every read-only numpy array copied (``zero_copy_batch=False``: the UDF may
    write into its input, as Ray Data allows)."""
    if isinstance(batch, dict):
        return {k: (np.array(v) if isinstance(v, np.ndarray) and not v.flags.writeable else v) for k, v in batch.items()}
    return batch


class MapBatchesTransform:
    def __init__(self, udf: UserFunction, batch_size: Optional[int], batch_format: Optional[str], zero_copy_batch: bool = True):
        fmt = batch_format or "default"
        if fmt not in BATCH_FORMATS:
            raise ValueError(f"{udf.operator}: batch_format must be one of {BATCH_FORMATS}, got {batch_format!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"{udf.operator}: batch_size must be a positive int or None, got {batch_size!r}")
        self.udf = udf
        self.name = udf.operator
        self.batch_size = batch_size
        self.batch_format = fmt
        self.zero_copy_batch = zero_copy_batch

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in rebatch(blocks, self.batch_size):
            batch = block_to_batch(table, self.batch_format)
            if not self.zero_copy_batch:
                batch = writable_batch(batch)
            with ctx.time_udf():
                result = self.udf(batch)
                outputs = list(result) if isinstance(result, (types.GeneratorType, Iterator)) and not isinstance(result, Mapping) else [result]
            for out in outputs:
                yield self._validate(out)

    def _validate(self, out: Any) -> pa.Table:
        try:
            check_batch_output(out, self.name)
        except ValueError as exc:
            tag(exc, self.name)
            raise
        try:
            return to_block(out)
        except (TypeError, ValueError) as exc:
            err = type(exc)(f"{self.name}: {exc}")
            tag(err, self.name)
            raise err from exc


class AddColumnTransform:
    def preserves_row_count(self) -> bool:
        return True

    def __init__(self, udf: UserFunction, column: str, batch_format: Optional[str]):
        self.udf = udf
        self.name = udf.operator
        self.column = column
        self.batch_format = batch_format or "pandas"

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            batch = block_to_batch(table, self.batch_format)
            with ctx.time_udf():
                values = self.udf(batch)
            try:
                column = to_block({self.column: values}).column(0)
            except (TypeError, ValueError) as exc:
                err = TypeError(f"{self.name}: the function must return one value per row for column {self.column!r}: {exc}")
                tag(err, self.name)
                raise err from exc
            if len(column) != table.num_rows:
                err = ValueError(f"{self.name}: returned {len(column)} values for {table.num_rows} rows")
                tag(err, self.name)
                raise err
            if self.column in table.column_names:
                table = table.set_column(table.column_names.index(self.column), self.column, column)
            else:
                table = table.append_column(self.column, column)
            yield table
