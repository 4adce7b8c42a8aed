"""WriteTransform: the task body of ``write_*``: hands blocks to the datasink and returns a
one-row table describing what was written (the driver commits the files afterwards)."""

from __future__ import annotations

import pickle
from typing import Any, Iterator

import pyarrow as pa

from streamscope.engine.runtime.base import TaskContext


class WriteTransform:
    def __init__(self, datasink: Any):
        self.datasink = datasink
        self.name = datasink.get_name()

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        result = self.datasink.write((b for b in blocks if b.num_rows), ctx.task_index)
        ctx.rows_written += result.num_rows
        yield pa.Table.from_arrays([pa.array([pickle.dumps(result)], type=pa.binary())], names=["write_result"])


def read_write_results(table: pa.Table) -> list:
    return [pickle.loads(v) for v in table.column("write_result").to_pylist()]
