"""WriteTransform: the task body of ``write_datasink``: hands the task's blocks to
``Datasink.write`` and returns a one-row table with what the driver needs for ``WriteResult``:
the rows and bytes the task was given and ``write``'s return value (pickled)."""

from __future__ import annotations

from typing import Any, Iterator

import cloudpickle
import pyarrow as pa

from streamscope.engine.block import block_size_bytes
from streamscope.engine.runtime.base import TaskContext

WRITE_UUID_KWARG_NAME = "write_uuid"
"""The ``ctx.kwargs`` key of the write's id (Ray Data's name), for sinks that name files by it."""


class WriteTransform:
    def __init__(self, datasink: Any, name: str, write_uuid: str):
        self.datasink = datasink
        self.name = name
        self.write_uuid = write_uuid

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        counted = _Counted(b for b in blocks if b.num_rows)
        ctx.kwargs[WRITE_UUID_KWARG_NAME] = self.write_uuid
        returned = self.datasink.write(counted, ctx)
        for _ in counted:  # blocks write() left unread still count as handed to it (as Ray's)
            pass
        ctx.rows_written += counted.num_rows
        row = {"num_rows": [counted.num_rows], "size_bytes": [counted.size_bytes],
               "write_return": [cloudpickle.dumps(returned)]}
        yield pa.table(row, schema=_SCHEMA)


_SCHEMA = pa.schema([("num_rows", pa.int64()), ("size_bytes", pa.int64()), ("write_return", pa.binary())])


class _Counted:
    """The blocks given to ``write``, counting rows and bytes as they are consumed."""

    def __init__(self, blocks: Iterator[pa.Table]):
        self._blocks = blocks
        self.num_rows = 0
        self.size_bytes = 0

    def __iter__(self) -> "_Counted":
        return self

    def __next__(self) -> pa.Table:
        block = next(self._blocks)
        self.num_rows += block.num_rows
        self.size_bytes += block_size_bytes(block)
        return block


def read_write_results(table: pa.Table) -> list[tuple[int, int, Any]]:
    """(rows, bytes, write return) of each task whose result row is in ``table``."""
    rows = table.column("num_rows").to_pylist()
    sizes = table.column("size_bytes").to_pylist()
    returns = [cloudpickle.loads(v) for v in table.column("write_return").to_pylist()]
    return list(zip(rows, sizes, returns))
