"""FairTaskQueue: tasks waiting for a worker, shared fairly between the runs that queued them.

Why: with one queue in submission order, a foreground ``take`` started next to a long background
run waits behind everything the background run has queued. Here each run has its own FIFO (so a
run's own tasks keep their order, and a retry can go to the front of its run's line), and a free
worker goes to the run with the fewest tasks running right now, ties going to the run served
longest ago. A run that queues nothing (its consumer paused, backpressure holding it) takes
nothing, so slots are never reserved for an idle run: the machine stays fully used, and a new run
gets its first slot as soon as any task ends.

Example::

    q = FairTaskQueue()
    q.push("bg", handle_a, 1); q.push("bg", handle_b, 1); q.push("fg", handle_c, 1)
    q.pop_next(running={"bg": 2})   # -> (handle_c, 1): "fg" has nothing running
"""

from __future__ import annotations

import collections
import itertools
from typing import TYPE_CHECKING, Collection, Mapping, Optional

if TYPE_CHECKING:
    from streamscope.engine.runtime.base import TaskHandle

Entry = tuple["TaskHandle", int]
"""A queued task and the attempt number it will run as."""


class FairTaskQueue:
    """Per-run FIFOs; :meth:`pop_next` picks the least-served run (see the module docstring)."""

    def __init__(self) -> None:
        self._runs: dict[str, "collections.OrderedDict[int, Entry]"] = {}
        self._served_at: dict[str, int] = {}
        self._clock = itertools.count(1)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __contains__(self, task_id: int) -> bool:
        return any(task_id in fifo for fifo in self._runs.values())

    def push(self, handle: "TaskHandle", attempt: int, *, front: bool = False) -> None:
        """Queue a task at the back of its run's line (``front``: a retry, or a task that must
        keep its place while it waits for a device)."""
        fifo = self._runs.setdefault(handle.spec.run_id, collections.OrderedDict())
        if handle.task_id not in fifo:
            self._size += 1
        fifo[handle.task_id] = (handle, attempt)
        fifo.move_to_end(handle.task_id, last=not front)

    def remove(self, task_id: int) -> Optional[Entry]:
        """Take a task out wherever it waits (a cancel); None when it is not queued."""
        for run_id, fifo in self._runs.items():
            entry = fifo.pop(task_id, None)
            if entry is not None:
                self._size -= 1
                if not fifo:
                    del self._runs[run_id]
                return entry
        return None

    def pop_next(self, running: Mapping[str, int], skip: Collection[str] = ()) -> Optional[Entry]:
        """The head of the line of the run with the fewest tasks in ``running`` (ties: the run
        served longest ago); runs in ``skip`` are passed over. None when nothing is eligible."""
        candidates = [r for r in self._runs if r not in skip]
        if not candidates:
            return None
        run_id = min(candidates, key=lambda r: (running.get(r, 0), self._served_at.get(r, 0)))
        fifo = self._runs[run_id]
        _task_id, entry = fifo.popitem(last=False)
        if not fifo:
            del self._runs[run_id]
        self._size -= 1
        self._served_at[run_id] = next(self._clock)
        if len(self._served_at) > 4 * max(1, len(self._runs)) + 64:  # forget runs long gone
            self._served_at = {r: t for r, t in self._served_at.items() if r in self._runs}
        return entry

    def run_ids(self) -> list[str]:
        """Runs with tasks waiting."""
        return list(self._runs)

    def clear(self) -> None:
        self._runs.clear()
        self._size = 0


__all__ = ["FairTaskQueue"]
