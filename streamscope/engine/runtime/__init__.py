"""Runtimes: the only code that knows where tasks run. ``get_runtime()`` returns the session's.

The embedded default is the local runtime (warm worker processes + shared-memory store); the
in-process runtime serves small plans and tests; the Ray runtime is chosen with
``streamscope.init(runtime="ray")`` or ``DataContext.runtime = "ray"``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # kept out of the import: ``import streamscope`` loads no runtime
    from streamscope.engine.context import DataContext
    from streamscope.engine.runtime.base import Runtime

_lock = threading.Lock()
_runtimes: dict[str, Runtime] = {}


def get_runtime(context: Optional[DataContext] = None, kind: Optional[str] = None) -> Runtime:
    from streamscope.engine.context import DataContext

    ctx = context or DataContext.get_current()
    kind = kind or ctx.runtime or "local"
    with _lock:
        runtime = _runtimes.get(kind)
        if runtime is None:
            runtime = _create(kind, ctx)
            _runtimes[kind] = runtime
    runtime.ensure_started(ctx)
    return runtime


def _create(kind: str, ctx: DataContext) -> Runtime:
    if kind == "local":
        from streamscope.engine.runtime.local.runtime import LocalRuntime

        return LocalRuntime()
    if kind == "inprocess":
        from streamscope.engine.runtime.inprocess import InProcessRuntime

        return InProcessRuntime(num_threads=ctx.resolved_num_workers())
    if kind == "ray":
        try:
            from streamscope.engine.runtime.ray.runtime import RayRuntime
        except ImportError as exc:
            raise ImportError(
                "the Ray runtime needs Ray: pip install 'streamscope[ray]'"
            ) from exc
        return RayRuntime()
    raise ValueError(f"unknown runtime {kind!r}; expected 'local', 'inprocess' or 'ray'")


def set_runtime(kind: str, runtime: Runtime) -> None:
    """Install a runtime object under a name (used by ``streamscope.init``)."""
    with _lock:
        old = _runtimes.get(kind)
        _runtimes[kind] = runtime
    if old is not None and old is not runtime:
        old.shutdown()


def shutdown_all() -> None:
    with _lock:
        runtimes = list(_runtimes.values())
        _runtimes.clear()
    for runtime in runtimes:
        runtime.shutdown()
