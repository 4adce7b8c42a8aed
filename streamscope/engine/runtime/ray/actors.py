"""Actors on Ray: one Ray actor per streamscope actor, its tasks as streaming actor methods.

Why Ray actors: Ray then places them on any node with the resources (GPUs included), restarts
them when their process or node dies (``max_restarts``) and re-runs their in-flight tasks
(``max_task_retries``), which is the contract the local runtime's actor processes keep by hand.
A constructor error is caught in the actor and reported through :meth:`ready`, so it fails the
actor (``ActorState.error``) instead of being retried like a crash.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from streamscope.engine.context import use_context
from streamscope.engine.runtime.base import (
    ACTOR_ALIVE,
    ACTOR_DEAD,
    ACTOR_FAILED,
    ACTOR_STARTING,
    ActorHandle,
    ActorState,
    TaskError,
)
from streamscope.engine.runtime.ray import serialization
from streamscope.engine.runtime.ray.remote import contexts, failed_record, stream_task, worker_label
from streamscope.engine.runtime.task_runner import error_from_exception


class StreamscopeActor:
    """The Ray actor class (made remote by the runtime with the actor's resources)."""

    def __init__(self, fn_box: list, operator: str, packed_context: Any = None):
        import cloudpickle
        import ray

        serialization.install()
        self._fn: Any = None
        self._error: Optional[TaskError] = None
        try:
            fn = cloudpickle.loads(ray.get(fn_box[0]))
            init = getattr(fn, "init_actor", None)
            if init is not None:
                # The constructor sees the run's settings, as the actor's tasks do.
                with use_context(contexts.get(packed_context), process_wide=True):
                    init()
            self._fn = fn
        except Exception as exc:  # noqa: BLE001 - the driver reads it through ready()
            self._error = error_from_exception(operator, exc)

    def ready(self) -> tuple[Optional[TaskError], str, int]:
        return self._error, worker_label(), os.getpid()

    def run(self, payload: Any, operator: str, task_index: int, max_block_bytes: Any, packed_context: Any,
            *blocks: Any):
        label = worker_label()
        if self._fn is None:
            yield failed_record(operator, RuntimeError(f"actor of {operator} failed to start"), label)
            return
        try:
            data_context = contexts.get(packed_context)
        except Exception as exc:  # a setting whose value does not unpickle here: the task's error
            yield failed_record(operator, exc, label)
            return
        yield from stream_task(self._fn, payload, blocks, operator, task_index, max_block_bytes, label, data_context)


class RayActor:
    """Driver-side record of one actor."""

    def __init__(self, handle: ActorHandle, ray_actor: Any, ready_ref: Any):
        self.handle = handle
        self.ray_actor = ray_actor
        self.ready_ref = ready_ref
        self.state = ACTOR_STARTING
        self.error: Optional[TaskError] = None
        self.pid: Optional[int] = None
        self.node = ""
        self.restarts = 0

    def poll(self) -> None:
        """Move from starting to alive or failed once the constructor has run."""
        if self.state != ACTOR_STARTING:
            return
        import ray

        ready, _ = ray.wait([self.ready_ref], timeout=0, fetch_local=False)
        if not ready:
            return
        try:
            error, label, pid = ray.get(self.ready_ref)
        except Exception:  # died before it ever answered, beyond its restarts
            self.state = ACTOR_DEAD
            return
        self.node, self.pid = label.rsplit("/", 1)[0], pid
        if error is not None:
            self.state, self.error = ACTOR_FAILED, error
        else:
            self.state = ACTOR_ALIVE

    def on_task_error(self, exc: BaseException) -> None:
        """A task failed because the actor died (Ray gave up restarting it)."""
        if self.state not in (ACTOR_FAILED,):
            self.state = ACTOR_DEAD

    def snapshot(self, in_flight: int) -> ActorState:
        return ActorState(self.state, in_flight, self.pid, self.restarts, (), self.error)
