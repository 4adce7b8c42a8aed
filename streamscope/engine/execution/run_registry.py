"""Active executions of this session, so a Cancel button or ``%dataset cancel`` can reach a run
by id without holding the executor."""

from __future__ import annotations

import threading
from typing import Any, Optional

_lock = threading.Lock()
_active: dict[str, Any] = {}


def register(executor: Any) -> None:
    with _lock:
        _active[executor.run_id] = executor


def unregister(executor: Any) -> None:
    with _lock:
        _active.pop(executor.run_id, None)


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
