"""ResultRouter: every finished task's result reaches the run that submitted it, and no other.

Why it exists: one runtime (one worker pool, one store) serves any number of runs at once — a
background run next to a foreground ``take``, two threads consuming one Dataset, the n consumers of
``streaming_split`` next to a ``count()``. A runtime produces results in completion order, for
whoever asks; if each run's executor asked the runtime directly, the first one to ask would get
(and free) the others' results, and both runs would wait forever.

So each runtime only *collects* results (``Runtime._collect``) and this router deals them into
one mailbox per run, keyed by ``TaskSpec.run_id``. Whichever waiting thread finds the runtime free
becomes the collector for a moment (leader/followers): it collects with the runtime's own blocking
wait, deals what arrived to every mailbox, and wakes the other waiters, who either find their
results or take their turn collecting. No thread polls on a timer, and a run whose thread is busy
elsewhere never delays another's results by more than one collection.

A result whose run has closed, or whose task its run cancelled, has nobody to go to: its output
blocks are freed here, so nothing leaks whatever order cancels and completions happen in.

Example::

    router = ResultRouter(collect=runtime._collect, free=runtime.free)
    router.open("run-1")
    results = router.wait("run-1", timeout=0.05)   # only run-1's tasks
    router.close("run-1")                           # frees anything still undelivered
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

if TYPE_CHECKING:
    from streamscope.engine.runtime.base import BlockRef

DEFAULT_RUN = ""
"""Mailbox of tasks submitted without a run (runtime tests, diagnostics); always open."""

_COLLECT_SLICE_S = 0.05
"""Longest one collection blocks: a follower whose own deadline passes returns within this."""


@dataclass
class _Mailbox:
    results: list = field(default_factory=list)
    cancelled: set = field(default_factory=set)
    """Task ids this run gave up on: their results, whenever they come, are freed unseen."""


class ResultRouter:
    """Per-run mailboxes over a runtime's single stream of results (see the module docstring)."""

    def __init__(self, collect: Callable[[float], list], free: Callable[[Sequence["BlockRef"]], None]):
        self._collect = collect
        self._free = free
        self._cond = threading.Condition()
        self._boxes: dict[str, _Mailbox] = {DEFAULT_RUN: _Mailbox()}
        self._collecting = False

    # ---- runs -----------------------------------------------------------------------------------
    def open(self, run_id: str) -> None:
        with self._cond:
            if run_id in self._boxes:
                raise ValueError(f"run {run_id!r} is already open on this runtime")
            self._boxes[run_id] = _Mailbox()

    def close(self, run_id: str) -> None:
        """Forget the run; free the outputs of results it never took, and of any that come later."""
        if run_id == DEFAULT_RUN:
            return
        with self._cond:
            box = self._boxes.pop(run_id, None)
        if box is not None:
            self._free_outputs(box.results)

    def is_open(self, run_id: str) -> bool:
        with self._cond:
            return run_id in self._boxes

    def open_runs(self) -> list[str]:
        with self._cond:
            return [r for r in self._boxes if r != DEFAULT_RUN]

    def discard(self, run_id: str, task_ids: Iterable[int]) -> None:
        """The run cancelled these tasks: drop (and free) their results, now and when they come."""
        ids = set(task_ids)
        with self._cond:
            box = self._boxes.get(run_id)
            if box is None:
                return
            box.cancelled |= ids
            dropped = [item for item in box.results if item[0].task_id in ids]
            box.results = [item for item in box.results if item[0].task_id not in ids]
        self._free_outputs(dropped)

    # ---- results --------------------------------------------------------------------------------
    def wait(self, run_id: str, timeout: float) -> list:
        """This run's results that arrived since the last call; waits up to ``timeout`` seconds
        when there are none yet."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._cond:
                while True:
                    box = self._boxes.get(run_id)
                    if box is None:
                        raise KeyError(f"run {run_id!r} is not open on this runtime")
                    if box.results:
                        out, box.results = box.results, []
                        return out
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    if not self._collecting:
                        self._collecting = True
                        break
                    self._cond.wait(remaining)
            arrived: list = []
            try:
                arrived = self._collect(min(remaining, _COLLECT_SLICE_S))
            finally:
                orphans = self._deal(arrived)
                self._free_outputs(orphans)

    def _deal(self, arrived: list) -> list:
        """Put each result in its run's mailbox; return those nobody will take. Ends this
        thread's turn as collector and wakes the other waiters."""
        orphans = []
        with self._cond:
            self._collecting = False
            for handle, result in arrived:
                box = self._boxes.get(handle.spec.run_id)
                if box is None or handle.task_id in box.cancelled:
                    if box is not None and not result.partial:
                        box.cancelled.discard(handle.task_id)
                    orphans.append((handle, result))
                else:
                    box.results.append((handle, result))
            self._cond.notify_all()
        return orphans

    def _free_outputs(self, items: list) -> None:
        refs = [ref for _handle, result in items for ref, _meta in result.outputs]
        if refs:
            self._free(refs)


__all__ = ["DEFAULT_RUN", "ResultRouter"]
