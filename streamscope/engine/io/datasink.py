"""Datasink and WriteResult: where ``write_datasink`` sends blocks, with Ray Data 2.60's interface.

Why this shape: ``write`` runs in each write task and returns whatever the sink wants the driver
to know (Ray's ``WriteReturnType``: a list of temporary paths, a transaction id, None); the driver
collects every task's return with the rows and bytes the task was given into one
:class:`WriteResult` and calls ``on_write_complete`` once, after every task succeeded. A failed or
cancelled run calls ``on_write_failed(error)`` instead, so a two-phase sink (the file sinks: hidden
temporary files, renamed on completion) never leaves output that looks complete.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Iterable, List, Optional, TypeVar

import pyarrow as pa

if TYPE_CHECKING:
    from streamscope.engine.runtime.base import TaskContext

WriteReturnType = TypeVar("WriteReturnType")
"""What one ``Datasink.write`` call returns (any picklable value)."""


@dataclass
class WriteResult(Generic[WriteReturnType]):
    """Every write task's result, combined: rows and bytes handed to ``write`` in all tasks, and
    each task's return value (``write_returns``, one entry per task).

    Examples:
        >>> from streamscope.datasource import WriteResult
        >>> total = WriteResult.combine(WriteResult(2, 16, ["a"]), WriteResult(3, 24, ["b"]))
        >>> total.num_rows, total.size_bytes, total.write_returns
        (5, 40, ['a', 'b'])
    """

    num_rows: int
    size_bytes: int
    write_returns: List[WriteReturnType]

    @classmethod
    def combine(cls, *results: "WriteResult") -> "WriteResult":
        """One result summing several (rows and bytes added, returns concatenated in order).

        Examples:
            >>> from streamscope.datasource import WriteResult
            >>> WriteResult.combine().num_rows
            0
        """
        return WriteResult(num_rows=sum(r.num_rows for r in results), size_bytes=sum(r.size_bytes for r in results),
                           write_returns=list(itertools.chain.from_iterable(r.write_returns for r in results)))


class Datasink(Generic[WriteReturnType]):
    """Where ``write_datasink`` sends blocks; subclass it for a new destination.

    ``on_write_start`` runs in the driver before any write task; ``write(blocks, ctx)`` runs in
    each task (``ctx.task_idx`` numbers the tasks of the write) and returns a value for the driver;
    once every task succeeded, ``on_write_complete`` gets a :class:`WriteResult` with all of them.
    A failed or cancelled run calls ``on_write_failed(error)`` instead (also when
    ``on_write_complete`` itself raises).

    Examples:
        >>> class RowCounterDatasink(streamscope.Datasink[int]):
        ...     def write(self, blocks, ctx):
        ...         return sum(block.num_rows for block in blocks)
        ...     def on_write_complete(self, write_result):
        ...         print("rows written:", sum(write_result.write_returns), "=", write_result.num_rows)
        >>> streamscope.range(5).write_datasink(RowCounterDatasink())
        rows written: 5 = 5
    """

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        """Driver side, before any write task: validate and prepare the destination. ``schema``
        is the data's schema when the plan knows it without running (else None).

        Examples:
            >>> streamscope.Datasink().on_write_start() is None
            True
        """

    def write(self, blocks: Iterable[pa.Table], ctx: "TaskContext") -> WriteReturnType:
        """Worker side: write ``blocks`` (pyarrow Tables); the return value reaches the driver in
        ``WriteResult.write_returns``.

        Examples:
            >>> class ListDatasink(streamscope.Datasink[list]):
            ...     def write(self, blocks, ctx):
            ...         return [block.num_rows for block in blocks]
            >>> import pyarrow as pa
            >>> ListDatasink().write([pa.table({"a": [1, 2]})], None)
            [2]
        """
        raise NotImplementedError(f"{type(self).__name__} must implement write(blocks, ctx)")

    def on_write_complete(self, write_result: WriteResult[WriteReturnType]) -> None:
        """Driver side, once every write task succeeded: commit the output.

        Examples:
            >>> streamscope.Datasink().on_write_complete(streamscope.datasource.WriteResult(0, 0, [])) is None
            True
        """

    def on_write_failed(self, error: BaseException) -> None:
        """Driver side, when the write failed or was cancelled: ``error`` is the first error.

        Examples:
            >>> streamscope.Datasink().on_write_failed(RuntimeError("boom")) is None
            True
        """

    def get_name(self) -> str:
        """Name of the sink: the class name less a leading ``_`` and a ``Datasink`` suffix (the
        write operator is called ``Write`` + this name).

        Examples:
            >>> class _MongoDatasink(streamscope.Datasink):
            ...     pass
            >>> _MongoDatasink().get_name()
            'Mongo'
        """
        name = type(self).__name__
        if name.startswith("_"):
            name = name[1:]
        return name[: -len("Datasink")] if name.endswith("Datasink") and name != "Datasink" else name

    @property
    def supports_distributed_writes(self) -> bool:
        """False when the write tasks must run on the driver's machine (Ray's meaning). The local
        runtime's workers are all on this machine; on a Ray cluster such a write is refused.

        Examples:
            >>> streamscope.Datasink().supports_distributed_writes
            True
        """
        return True

    @property
    def min_rows_per_write(self) -> Optional[int]:
        """Rows each ``write`` call should get at least (the last may get fewer); None lets the
        engine choose.

        Examples:
            >>> streamscope.Datasink().min_rows_per_write is None
            True
        """
        return None

    @property
    def min_bytes_per_write(self) -> Optional[int]:
        """Bytes each ``write`` call should get at least. streamscope bundles write input by rows
        only: a sink that sets this is refused when the write starts (use ``min_rows_per_write``).

        Examples:
            >>> streamscope.Datasink().min_bytes_per_write is None
            True
        """
        return None

    def is_process_local(self) -> bool:
        """True when the destination exists only in this Python process (``memory://``), so the
        write runs in the driver process.

        Examples:
            >>> streamscope.Datasink().is_process_local()
            False
        """
        return False


def write_operator_name(datasink: Any) -> str:
    """The write operator's name: ``"Write" + get_name()``, except for streamscope's own sinks,
    whose ``get_name`` already gives the full name (``WriteParquet``)."""
    name = datasink.get_name()
    defined_in = getattr(type(datasink).get_name, "__module__", "") or ""
    if defined_in.startswith("streamscope.") and defined_in != __name__ and name.startswith("Write"):
        return name
    return "Write" + name
