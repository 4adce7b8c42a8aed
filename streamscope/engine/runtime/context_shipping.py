"""Carry a run's DataContext to the worker processes that run its tasks.

Why: code inside a task (datasources sizing blocks by ``target_max_block_size``, the IO retry
reading ``retried_io_errors``, a user's function) calls ``DataContext.get_current()``; in a worker
process that is the worker's own default context, not the one the user configured. Ray Data passes
its context to every map task and installs it there; streamscope does the same on every runtime:
``TaskSpec.context`` travels with the task, and the shared task body
(:func:`~streamscope.engine.runtime.task_runner.iter_task`) installs it for the task's duration.

Cost: a context pickles to a couple of kilobytes. :func:`pack` pickles each context object once
and caches the bytes under a key, until any context field is assigned again (a run's context is
its own copy, fixed when the run starts, so in practice once per run); a worker keeps the last few unpickled contexts by key
(:class:`ContextCache`), so a run's thousands of tasks cost one unpickle per worker process.
"""

from __future__ import annotations

import pickle
import secrets
import threading
import weakref
from collections import OrderedDict
from typing import Any, Optional

from streamscope.engine.context_fields import settings_generation

PackedContext = tuple[str, bytes]

_lock = threading.Lock()
_packed: dict[int, tuple[Any, int, PackedContext]] = {}


def pack(ctx: Any) -> Optional[PackedContext]:
    """``(key, pickled bytes)`` of ``ctx``, pickled once per context object and settings
    generation; None for None."""
    if ctx is None:
        return None
    ident = id(ctx)
    generation = settings_generation()
    with _lock:
        entry = _packed.get(ident)
        if entry is not None and entry[0]() is ctx and entry[1] == generation:
            return entry[2]
    try:
        data = pickle.dumps(ctx, protocol=5)
    except Exception:  # a field holding something only cloudpickle handles (a local class)
        import cloudpickle

        data = cloudpickle.dumps(ctx, protocol=5)
    packed = (secrets.token_hex(8), data)
    ref = weakref.ref(ctx, lambda _ref, ident=ident: _forget(ident, _ref))
    with _lock:
        _packed[ident] = (ref, generation, packed)
    return packed


def _forget(ident: int, ref: Any) -> None:
    with _lock:
        entry = _packed.get(ident)
        if entry is not None and entry[0] is ref:
            del _packed[ident]


_total_loads = 0


def total_loads() -> int:
    """Contexts unpickled by every :class:`ContextCache` of this process (tests use it to prove
    "once per run and worker")."""
    return _total_loads


class ContextCache:
    """Worker side: the unpickled context of a :func:`pack` result, by key (last ``size`` kept)."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: "OrderedDict[str, Any]" = OrderedDict()
        self.loads = 0
        """Contexts this cache has unpickled (tests use it to prove "once per key")."""

    def get(self, packed: Optional[PackedContext]) -> Any:
        if packed is None:
            return None
        key, data = packed
        ctx = self._items.get(key)
        if ctx is not None:
            self._items.move_to_end(key)
            return ctx
        global _total_loads
        ctx = pickle.loads(data)
        self.loads += 1
        _total_loads += 1
        self._items[key] = ctx
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return ctx
