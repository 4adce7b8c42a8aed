"""Datasink: where ``write_*`` sends blocks.

Why two-phase: a write task stores each block as one file under a hidden temporary name in the
destination; only when every task has succeeded does :meth:`Datasink.on_write_complete` rename
them to their final names. A failed or cancelled run deletes its temporary files, so nothing is
ever left looking like complete output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pyarrow as pa


@dataclass
class WriteResult:
    """What one write task produced (returned to the driver)."""

    num_rows: int = 0
    size_bytes: int = 0
    temp_paths: list[str] = field(default_factory=list)
    final_paths: list[str] = field(default_factory=list)


class Datasink:
    """Where ``write_datasink`` sends blocks; subclass it for a new destination.

    Why two-phase: ``write`` runs in each task and should store its blocks under temporary
    names; only when every task has succeeded does ``on_write_complete`` (in the driver) make
    them final. A failed or cancelled run calls ``on_write_failed`` instead, so nothing is ever
    left looking like complete output.

    Examples:
        >>> from streamscope.engine.io.datasink import WriteResult
        >>> class RowCounter(streamscope.Datasink):
        ...     def write(self, blocks, task_index):
        ...         return WriteResult(num_rows=sum(block.num_rows for block in blocks))
        ...     def on_write_complete(self, results):
        ...         print("rows written:", sum(result.num_rows for result in results))
        ...         return []
        >>> streamscope.range(5).write_datasink(RowCounter())
        rows written: 5
    """

    def get_name(self) -> str:
        return "Write" + type(self).__name__.replace("Datasink", "")

    def is_process_local(self) -> bool:
        """True when the destination exists only in this Python process (``memory://``)."""
        return False

    def on_write_start(self) -> None:
        """Driver side, before any task: validate and create the destination."""

    def write(self, blocks: Iterable[pa.Table], task_index: int) -> WriteResult:
        """Worker side: write each block to a temporary file; return their paths."""
        raise NotImplementedError

    def on_write_complete(self, results: list[WriteResult]) -> list[str]:
        """Driver side, after every task succeeded: rename temporaries to final names."""
        raise NotImplementedError

    def on_write_failed(self, results: list[WriteResult], error: BaseException | None) -> None:
        """Driver side, when the run failed or was cancelled: delete temporaries."""
