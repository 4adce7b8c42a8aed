"""Compute strategies, as in Ray Data 2.60: where a map's function runs.

``TaskPoolStrategy`` runs stateless tasks on the worker pool (``size`` caps concurrency).
``ActorPoolStrategy`` runs a callable class in long-lived actor processes. :func:`resolve` holds
Ray Data's rules for choosing one from a map's ``fn``, ``compute=`` and ``concurrency=``, so every
map method (``map``, ``map_batches``, ``flat_map``, ``filter``, ``map_groups``...) applies the same
ones and names itself in their errors.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

logger = logging.getLogger(__name__)

CONCURRENCY_DEPRECATION = (
    "The argument ``concurrency`` is deprecated in Ray 2.51. Please specify argument ``compute`` "
    "instead (compute=streamscope.ActorPoolStrategy(...) or compute=streamscope.TaskPoolStrategy(size=n))."
)
"""What Ray Data 2.60 logs (a logging warning, not a ``DeprecationWarning``) for ``concurrency=``."""


class TaskPoolStrategy:
    """Run a map's function as stateless tasks on the worker pool (the default for functions);
    ``size`` caps how many run at once (``None``: as many as resources allow).

    Examples:
        >>> ds = streamscope.range(4).map(lambda row: {"id": row["id"] + 1},
        ...                               compute=streamscope.TaskPoolStrategy(size=2))
        >>> ds.take()
        [{'id': 1}, {'id': 2}, {'id': 3}, {'id': 4}]
        >>> streamscope.TaskPoolStrategy(size=2)
        TaskPoolStrategy(size=2)
    """

    def __init__(self, size: Optional[int] = None):
        if size is not None and size < 1:
            raise ValueError("`size` must be >= 1", size)
        self.size = size

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, TaskPoolStrategy) and self.size == other.size) or (
            other == "tasks" and self.size is None)

    def __hash__(self) -> int:
        return hash(("tasks", self.size))

    def __repr__(self) -> str:
        return f"TaskPoolStrategy(size={self.size})"


class ActorPoolStrategy:
    """Run a callable class in long-lived actor processes: each actor constructs it once (load a
    model once, not per batch) and then serves batches. ``size`` fixes the pool; ``min_size`` and
    ``max_size`` let it grow with the input queue and shrink when idle (``max_size`` unset: up to
    what the machine's resources allow); ``initial_size`` actors start first;
    ``max_tasks_in_flight_per_actor`` queues batches per actor to hide the hand-off.

    Validation is Ray Data 2.60's: ``size`` excludes ``min_size``/``max_size``/``initial_size``,
    ``min_size <= initial_size <= max_size``, counts are >= 1. Streamscope actors run one call at a
    time, so a map refuses ``max_concurrent_calls_per_actor`` above 1 (``enable_true_multi_threading``
    then changes nothing, as in Ray with one call per actor).

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
        >>> streamscope.ActorPoolStrategy(min_size=2).max_size
        inf
    """

    def __init__(self, *, size: Optional[int] = None, min_size: Optional[int] = None, max_size: Optional[int] = None,
                 initial_size: Optional[int] = None, max_tasks_in_flight_per_actor: Optional[int] = None,
                 max_concurrent_calls_per_actor: Optional[int] = None,
                 enable_true_multi_threading: Optional[bool] = None):
        if size is not None:
            if size < 1:
                raise ValueError("size must be >= 1", size)
            if max_size is not None or min_size is not None or initial_size is not None:
                raise ValueError("min_size, max_size, and initial_size cannot be set at the same time as `size`")
            min_size = max_size = initial_size = size
        if min_size is not None and min_size < 1:
            raise ValueError("min_size must be >= 1", min_size)
        if max_size is not None:
            if min_size is None:
                min_size = 1
            if min_size > max_size:
                raise ValueError("min_size must be <= max_size", min_size, max_size)
        if max_tasks_in_flight_per_actor is not None and max_tasks_in_flight_per_actor < 1:
            raise ValueError("max_tasks_in_flight_per_actor must be >= 1, got: ", max_tasks_in_flight_per_actor)
        if max_concurrent_calls_per_actor is not None and max_concurrent_calls_per_actor < 1:
            raise ValueError("max_concurrent_calls_per_actor must be >= 1, got: ", max_concurrent_calls_per_actor)
        self.min_size: int = min_size or 1
        self.max_size: float = max_size or math.inf
        if initial_size is not None:
            if initial_size < self.min_size:
                raise ValueError(f"initial_size ({initial_size}) must be >= min_size ({self.min_size})")
            if self.max_size != math.inf and initial_size > self.max_size:
                raise ValueError(f"initial_size ({initial_size}) must be <= max_size ({self.max_size})")
        self.initial_size: int = initial_size or self.min_size
        self.max_tasks_in_flight_per_actor = max_tasks_in_flight_per_actor
        self.max_concurrent_calls_per_actor = max_concurrent_calls_per_actor
        self._enable_true_multi_threading = enable_true_multi_threading

    @property
    def enable_true_multi_threading(self) -> bool:
        """Whether the UDF may run on several threads of one actor at once (``None`` reads False).

        Examples:
            >>> streamscope.ActorPoolStrategy(size=1).enable_true_multi_threading
            False
        """
        return bool(self._enable_true_multi_threading)

    def _key(self) -> tuple:
        return (self.min_size, self.max_size, self.initial_size, self.enable_true_multi_threading,
                self.max_tasks_in_flight_per_actor, self.max_concurrent_calls_per_actor)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ActorPoolStrategy) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"ActorPoolStrategy(min_size={self.min_size}, max_size={self.max_size}, "
                f"initial_size={self.initial_size}, "
                f"max_tasks_in_flight_per_actor={self.max_tasks_in_flight_per_actor}, "
                f"max_concurrent_calls_per_actor={self.max_concurrent_calls_per_actor}, "
                f"enable_true_multi_threading={self.enable_true_multi_threading})")


def resolve(compute: Any, concurrency: Any, fn: Any, operator: str, fn_constructor_args: Any = None) -> Any:
    """The compute strategy of a map, by Ray Data 2.60's rules.

    * A callable class runs on actors: ``compute=None`` gives an autoscaling pool of 1 to
      unlimited actors (``ActorPoolStrategy(min_size=1, max_size=None)``); a ``TaskPoolStrategy``
      is refused. A function runs as tasks (``TaskPoolStrategy()``); an ``ActorPoolStrategy``
      is refused, as are ``fn_constructor_args``.
    * ``concurrency=`` (deprecated in Ray 2.51: logged as a warning, as Ray does): an int is a
      fixed actor pool for a class and a task cap for a function; ``(min, max)`` and
      ``(min, max, initial)`` are actor pools, refused for functions.
    * The strings ``"tasks"``/``"actors"`` are refused (Ray 2.60 refuses them when it plans).

    Giving both ``compute`` and ``concurrency`` is refused (Ray uses ``compute`` and drops
    ``concurrency`` without a word).
    """
    is_class = isinstance(fn, type)
    if not is_class and fn_constructor_args is not None:
        raise ValueError(f"{operator}: ``fn_constructor_args`` can only be specified if providing a callable "
                         f"class instance for ``fn``, but got: {fn}.")
    if compute is not None:
        if concurrency is not None:
            raise ValueError(f"{operator}: give compute= or concurrency=, not both (Ray Data would use compute= "
                             "and drop concurrency=); put the pool size in the strategy, e.g. "
                             "compute=ActorPoolStrategy(size=n) or TaskPoolStrategy(size=n)")
        if is_class and (compute == "tasks" or isinstance(compute, TaskPoolStrategy)):
            raise ValueError(f"{operator}: you specified the callable class {fn} as your UDF with the compute "
                             f"{compute}, but callable classes can't be scheduled with the task pool strategy. "
                             "Pass an ActorPoolStrategy to compute, or None to use the default compute strategy.")
        if not is_class and (compute == "actors" or isinstance(compute, ActorPoolStrategy)):
            raise ValueError(f"{operator}: you specified the function {fn} as your UDF with the compute "
                             f"{compute}, but regular functions can't be scheduled with the actor pool strategy. "
                             "Pass a TaskPoolStrategy to compute, or None to use the default compute strategy.")
        if not isinstance(compute, (TaskPoolStrategy, ActorPoolStrategy)):
            raise ValueError(f"{operator}: the compute spec must be either TaskPoolStrategy or ActorPoolStrategy, "
                             f"was: {compute!r}.")
        return compute
    if concurrency is not None:
        logger.warning("%s: %s", operator, CONCURRENCY_DEPRECATION)
        return _from_concurrency(concurrency, fn, is_class, operator)
    return ActorPoolStrategy(min_size=1, max_size=None) if is_class else TaskPoolStrategy()


def _from_concurrency(concurrency: Any, fn: Any, is_class: bool, operator: str) -> Any:
    if isinstance(concurrency, tuple):
        if len(concurrency) not in (2, 3) or not all(isinstance(c, int) for c in concurrency):
            raise ValueError(f"{operator}: ``concurrency`` is expected to be set as a tuple of integers, "
                             f"but got: {concurrency}.")
        if not is_class:
            raise ValueError(f"{operator}: ``concurrency`` is set as a tuple of integers, but ``fn`` is not a "
                             f"callable class: {fn}. Use ``concurrency=n`` to control maximum number of "
                             "workers to use.")
        if len(concurrency) == 2:
            return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1], initial_size=concurrency[2])
    if isinstance(concurrency, int):
        return ActorPoolStrategy(size=concurrency) if is_class else TaskPoolStrategy(size=concurrency)
    raise ValueError(f"{operator}: ``concurrency`` is expected to be set as an integer or a tuple of integers, "
                     f"but got: {concurrency}.")


def task_pool_size(compute: Any) -> Optional[int]:
    """The task cap a compute strategy sets (``TaskPoolStrategy(size=n)``), else None."""
    return compute.size if isinstance(compute, TaskPoolStrategy) else None
