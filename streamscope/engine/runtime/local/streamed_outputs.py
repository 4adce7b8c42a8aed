"""Outputs a streaming task reports while it runs, and what a retry must skip.

Why: a task that reads a large file or runs a long UDF produces many blocks; reporting each as it
is written lets downstream operators (an actor pool, a GPU stage, a ``Limit``) start at once
instead of after the whole task. The price is exactness on retries: when the worker dies after
reporting blocks holding k rows, the next attempt must not report them again, so it is told to
skip its first k output rows. Rows, not blocks: block boundaries may differ between attempts
(small outputs are merged on a timer), row order does not (task functions are deterministic, as
in Ray Data).
"""

from __future__ import annotations

import os
from typing import Any, Optional

from streamscope.engine.runtime.base import TaskSpec
from streamscope.engine.runtime.local import blockfile


class StreamedOutputs:
    def __init__(self) -> None:
        self._reported_rows: dict[int, int] = {}

    def task_args(self, spec: TaskSpec, task_id: int) -> Optional[tuple[bool, int]]:
        """The (stream, skip_rows) item of a TASK message, or None for a non-streaming task."""
        if not spec.stream_outputs:
            return None
        return (True, self._reported_rows.get(task_id, 0))

    def reported(self, task_id: int, rows: int) -> None:
        self._reported_rows[task_id] = self._reported_rows.get(task_id, 0) + rows

    def finished(self, task_id: int) -> None:
        self._reported_rows.pop(task_id, None)


def delete_unheld_task_files(store: Any, task_ids: "set[int]") -> None:
    """Remove every block file of these tasks (any attempt) that the store does not hold: called
    when their run has closed, so nothing of it can still be reported."""
    for directory in [store.directory, *store.spill_dirs()]:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            block_id = entry.name.split(".", 1)[0]
            if blockfile.task_of_block(block_id) in task_ids and block_id not in store:
                blockfile.remove_quietly(entry.path)


def delete_unreported_attempt_files(store: Any, task_id: int, attempt: int) -> None:
    """Remove block files an attempt wrote but never reported (a dead or cancelled attempt).
    Blocks it did report already belong to the store (and to whoever received them)."""
    if store is None:
        return
    pattern = blockfile.attempt_file_pattern(task_id, attempt)
    for directory in [store.directory, *store.spill_dirs()]:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if pattern.match(entry.name) and entry.name.split(".", 1)[0] not in store:
                blockfile.remove_quietly(entry.path)
