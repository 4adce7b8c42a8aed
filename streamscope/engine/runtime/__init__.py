"""Runtimes: the only code that knows where tasks run. ``get_runtime()`` returns the session's.

The embedded default is the local runtime (warm worker processes + shared-memory store); the
in-process runtime serves small plans and tests; the Ray runtime is chosen with
``streamscope.init(runtime="ray")`` or ``DataContext.runtime = "ray"``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Optional

from streamscope.engine.context import DataContext

if TYPE_CHECKING:  # kept out of the import: ``import streamscope`` loads no runtime
    from streamscope.engine.runtime.base import Runtime

# The runtime classes are imported inside the factory functions on purpose: the local runtime
# brings multiprocessing, its worker pool and store (not needed until a plan runs, and
# ``import streamscope`` must stay fast), and Ray is optional. No runtime class imports this
# package, so these lazy imports are in no cycle.

_lock = threading.Lock()
_runtimes: dict[str, Runtime] = {}


def get_runtime(context: Optional[DataContext] = None, kind: Optional[str] = None) -> Runtime:
    """The session's runtime of ``kind`` (default: the context's ``runtime``), created on first
    use and started with ``context`` (default: the current DataContext)."""
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


def new_runtime(kind: str, address: Optional[str] = None, **kwargs: Any) -> Runtime:
    """A new runtime of ``kind`` built with explicit arguments (``streamscope.init``): for
    ``"local"``, ``num_workers``, ``store_capacity``, ``spill_dir``; for ``"ray"``, the cluster
    ``address`` and ``ray.init`` arguments."""
    if kind == "local":
        from streamscope.engine.runtime.local.runtime import LocalRuntime

        return LocalRuntime(**kwargs)
    if kind == "ray":
        try:
            from streamscope.engine.runtime.ray.runtime import RayRuntime
        except ImportError as exc:
            raise ImportError("streamscope.init(runtime='ray') needs Ray: pip install 'streamscope[ray]'") from exc
        return RayRuntime(address, **kwargs)
    raise ValueError(f"unknown runtime {kind!r}; expected 'local' or 'ray'")


def set_runtime(kind: str, runtime: Runtime) -> None:
    """Install a runtime object under a name (used by ``streamscope.init``)."""
    with _lock:
        old = _runtimes.get(kind)
        _runtimes[kind] = runtime
    if old is not None and old is not runtime:
        old.shutdown()


def shutdown_all() -> None:
    """Shut down every runtime this session made; the next plan starts a fresh one."""
    with _lock:
        runtimes = list(_runtimes.values())
        _runtimes.clear()
    for runtime in runtimes:
        runtime.shutdown()
