"""Compute strategies, as in Ray Data: where a map's function runs.

``TaskPoolStrategy`` runs stateless tasks on the worker pool (``size`` caps concurrency).
``ActorPoolStrategy`` runs a callable class in long-lived actor processes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class TaskPoolStrategy:
    """Run a map's function as stateless tasks on the worker pool (the default for functions);
    ``size`` caps how many run at once.

    Examples:
        >>> ds = streamscope.range(4).map(lambda row: {"id": row["id"] + 1},
        ...                               compute=streamscope.TaskPoolStrategy(size=2))
        >>> ds.take()
        [{'id': 1}, {'id': 2}, {'id': 3}, {'id': 4}]
    """

    size: Optional[int] = None

    def __post_init__(self):
        if self.size is not None and self.size < 1:
            raise ValueError(f"TaskPoolStrategy size must be >= 1, got {self.size}")


@dataclass(frozen=True)
class ActorPoolStrategy:
    """Run a callable class in long-lived actor processes: each actor constructs it once (load a
    model once, not per batch) and then serves batches. ``size`` fixes the pool; ``min_size``
    and ``max_size`` let it grow with the input queue and shrink when idle;
    ``max_tasks_in_flight_per_actor`` queues batches per actor to hide the hand-off.

    Examples:
        >>> class AddOffset:
        ...     def __init__(self):
        ...         self.offset = 100  # expensive setup goes here, once per actor
        ...     def __call__(self, batch):
        ...         return {"id": batch["id"] + self.offset}
        >>> ds = streamscope.range(4).map_batches(AddOffset, compute=streamscope.ActorPoolStrategy(size=1))
        >>> ds.take()
        [{'id': 100}, {'id': 101}, {'id': 102}, {'id': 103}]
        >>> streamscope.ActorPoolStrategy(min_size=1, max_size=4).max_size
        4
    """

    size: Optional[int] = None
    min_size: Optional[int] = None
    max_size: Optional[int] = None
    initial_size: Optional[int] = None
    max_tasks_in_flight_per_actor: Optional[int] = None
    max_concurrent_calls_per_actor: Optional[int] = None
    enable_true_multi_threading: Optional[bool] = None

    def __post_init__(self):
        if self.size is not None:
            if self.min_size is not None or self.max_size is not None:
                raise ValueError("ActorPoolStrategy: give either size or min_size/max_size, not both")
            if self.size < 1:
                raise ValueError(f"ActorPoolStrategy size must be >= 1, got {self.size}")
            object.__setattr__(self, "min_size", self.size)
            object.__setattr__(self, "max_size", self.size)
        lo = self.min_size if self.min_size is not None else 1
        hi = self.max_size
        if lo < 1:
            raise ValueError(f"ActorPoolStrategy min_size must be >= 1, got {lo}")
        if hi is not None and hi < lo:
            raise ValueError(f"ActorPoolStrategy max_size ({hi}) must be >= min_size ({lo})")
        object.__setattr__(self, "min_size", lo)
        if self.max_tasks_in_flight_per_actor is not None and self.max_tasks_in_flight_per_actor < 1:
            raise ValueError("max_tasks_in_flight_per_actor must be >= 1")


def resolve(compute: Any, concurrency: Any, fn: Any, operator: str) -> Any:
    """Ray Data's rules: ``concurrency=`` still works (with a deprecation warning) and picks an
    actor pool for callable classes, a capped task pool for functions."""
    if compute is not None and concurrency is not None:
        raise ValueError(f"{operator}: give compute= or concurrency=, not both")
    if compute is not None:
        if isinstance(compute, str):
            if compute == "tasks":
                return TaskPoolStrategy()
            if compute == "actors":
                return ActorPoolStrategy()
            raise ValueError(f"{operator}: compute must be a TaskPoolStrategy or ActorPoolStrategy, got {compute!r}")
        if not isinstance(compute, (TaskPoolStrategy, ActorPoolStrategy)):
            raise ValueError(f"{operator}: compute must be a TaskPoolStrategy or ActorPoolStrategy, got {compute!r}")
        return compute
    if concurrency is None:
        return None
    warnings.warn(
        f"{operator}: `concurrency` is deprecated; use compute=ActorPoolStrategy(...) or compute=TaskPoolStrategy(size=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    is_class = isinstance(fn, type)
    if isinstance(concurrency, tuple):
        if len(concurrency) == 2:
            return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
        if len(concurrency) == 3:
            return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1], initial_size=concurrency[2])
        raise ValueError(f"{operator}: concurrency tuple must have 2 or 3 items, got {concurrency!r}")
    if is_class:
        return ActorPoolStrategy(size=int(concurrency))
    return TaskPoolStrategy(size=int(concurrency))
