"""Active executions of this session, so a Cancel button or ``%dataset cancel`` can reach a run
by id without holding the executor, and code that starts a run can ask to hear when it ends
(``when_finished``: ``DataContext.enable_auto_log_stats``) without reaching into the executor."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:  # the executor registers itself: importing it here would be a cycle
    from streamscope.engine.execution.streaming_executor import StreamingExecutor

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_active: dict[str, StreamingExecutor] = {}
_on_finish: dict[str, list[Callable[[StreamingExecutor], None]]] = {}


def register(executor: StreamingExecutor) -> None:
    with _lock:
        _active[executor.run_id] = executor


def unregister(executor: StreamingExecutor) -> None:
    """The run ended (its final snapshot is published): forget it and call its finish hooks."""
    with _lock:
        _active.pop(executor.run_id, None)
        hooks = _on_finish.pop(executor.run_id, [])
    for hook in hooks:
        try:
            hook(executor)
        except Exception:  # a hook must never turn a finished run into a failed one
            logger.exception("a finish hook of run %s failed", executor.run_id)


def when_finished(executor: StreamingExecutor, hook: Callable[[StreamingExecutor], None]) -> None:
    """Call ``hook(executor)`` once the run has ended (succeeded, failed or cancelled). Register
    before ``executor.start()``: a run that already ended never calls it."""
    with _lock:
        _on_finish.setdefault(executor.run_id, []).append(hook)


def active_runs() -> list[str]:
    with _lock:
        return list(_active)


def cancel_run(run_id: Optional[str] = None) -> list[str]:
    """Cancel one run (by id) or every active run (``None``). Returns the ids cancelled."""
    with _lock:
        targets = [_active[run_id]] if run_id in _active else ([] if run_id else list(_active.values()))
    for executor in targets:
        executor.cancel(reason="cancel requested")
    return [e.run_id for e in targets]
