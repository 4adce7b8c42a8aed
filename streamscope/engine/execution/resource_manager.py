"""ResourceManager: CPU/GPU slots and the object-store budget for one execution.

Limits are the runtime's totals, narrowed by ``DataContext.execution_options.resource_limits``.
Tasks asking for 0 CPUs (limit slices) always fit. The ``memory=`` requests of running tasks and
live actors (Ray's logical memory) are counted against the node's memory budget (the runtime's
``total_resources().memory``), narrowed by ``resource_limits.memory``; a task is dispatched only
while its request fits next to them. A request larger than the node is refused when the run is
planned (``resource_check``); one larger than ``resource_limits.memory`` alone runs alone instead of
never. Custom resources (``resources={"name": n}``) the runtime declares are counted the same way,
strictly: a task waits until its amount is free.

CPU and GPU slots are not divided between concurrent runs: each run may ask for all of them, and
the runtime's fair queue hands each free worker to the run with the fewest tasks running, so a new
run gets slots as soon as any task ends and an idle run holds none. The store budget is divided
(:meth:`ResourceManager.store_share`), because blocks, unlike slots, stay held while a run waits.

Actors are counted apart from tasks: an actor holds its CPUs and GPUs for its whole life (the
runtime reports them through ``actor_resources()``), and its tasks ask for nothing more. Their
CPUs come out of the task budget, but never the last slot: on 2 cores, two actors of
``num_cpus=1`` would otherwise leave the reads that feed them no slot at all (Ray Data deadlocks
exactly there). So upstream task stages always keep at least one slot; the actors' processes and
that one task share the cores, and backpressure stops the task stage from running far ahead.
"""

from __future__ import annotations

import math
from typing import Optional

from streamscope.engine.context import DataContext
from streamscope.engine.execution.blocked_reason import RESOURCES, BlockedReason
from streamscope.engine.runtime.base import Resources, Runtime


class ResourceManager:
    def __init__(self, runtime: Runtime, context: DataContext):
        self._runtime = runtime
        total = runtime.total_resources()
        limits = context.execution_options.resource_limits
        self.cpu_limit = _min(total.cpu, limits.cpu)
        self.gpu_limit = _min(total.gpu, limits.gpu)
        store_cap = runtime.store_stats().capacity_bytes or 0
        self.store_limit = _min(float(store_cap) if store_cap else math.inf, limits.object_store_memory)
        node_memory = total.memory if total.memory > 0 else math.inf
        self.memory_limit = _min(node_memory, limits.memory)
        self.custom_limits: dict[str, float] = total.custom_dict()
        self.cpu_used = 0.0
        self.gpu_used = 0.0
        self.memory_used = 0.0
        self.custom_used: dict[str, float] = {}

    def store_share(self) -> float:
        """This run's part of the store budget: runs open on the same runtime at once split it
        evenly, so a second run never finds the store already promised to the first (each run's
        backpressure then keeps it inside its part)."""
        runs = len(self._runtime.open_runs())
        return self.store_limit / max(1, runs)

    def actor_held(self) -> Resources:
        fn = getattr(self._runtime, "actor_resources", None)
        return fn() if fn is not None else Resources(cpu=0.0, gpu=0.0)

    def task_cpu_limit(self) -> float:
        """CPU slots left to tasks once actors took theirs (never fewer than one)."""
        held = self.actor_held().cpu
        return max(min(1.0, self.cpu_limit), self.cpu_limit - held) if held else self.cpu_limit

    def can_start(self, res: Resources) -> bool:
        if res.cpu > 0 and self.cpu_used + res.cpu > self.task_cpu_limit() + 1e-9 and self.cpu_used > 0:
            return False
        if res.gpu > 0 and self.gpu_used + res.gpu + self.actor_held().gpu > self.gpu_limit + 1e-9:
            return False
        if self._memory_full(res):
            return False
        if self._custom_short(res) is not None:
            return False
        return True

    def _memory_full(self, res: Resources) -> bool:
        if res.memory <= 0:
            return False
        # with no task running one always may start, even next to actors holding memory: the
        # actors' input must keep coming (as with the last CPU slot above)
        held = self.actor_held().memory
        return self.memory_used > 0 and self.memory_used + held + res.memory > self.memory_limit + 1e-9

    def _custom_short(self, res: Resources) -> Optional[str]:
        """The first custom resource ``res`` asks for that is all taken now (by running tasks and
        live actors). Only resources the runtime declares are counted here: the Ray runtime
        declares none and lets Ray place tasks by its own count; elsewhere the plan-time check
        refused undeclared ones."""
        if not res.custom:
            return None
        held = self.actor_held().custom_dict()
        for name, amount in res.custom:
            limit = self.custom_limits.get(name)
            if limit is None:
                continue
            if self.custom_used.get(name, 0.0) + held.get(name, 0.0) + amount > limit + 1e-9:
                return name
        return None

    def allocate(self, res: Resources) -> None:
        self.cpu_used += res.cpu
        self.gpu_used += res.gpu
        self.memory_used += res.memory
        for name, amount in res.custom:
            self.custom_used[name] = self.custom_used.get(name, 0.0) + amount

    def release(self, res: Resources) -> None:
        self.cpu_used = max(0.0, self.cpu_used - res.cpu)
        self.gpu_used = max(0.0, self.gpu_used - res.gpu)
        self.memory_used = max(0.0, self.memory_used - res.memory)
        for name, amount in res.custom:
            self.custom_used[name] = max(0.0, self.custom_used.get(name, 0.0) - amount)

    def reason(self, res: Resources) -> BlockedReason:
        held = self.actor_held()
        if res.gpu > 0 and self.gpu_used + res.gpu + held.gpu > self.gpu_limit + 1e-9:
            return BlockedReason(RESOURCES, f"waiting for a GPU ({self.gpu_used + held.gpu:g}/{self.gpu_limit:g} in use)")
        if self._memory_full(res):
            return BlockedReason(RESOURCES, f"memory requests at the limit ({self.memory_used + held.memory:.0f}/"
                                            f"{self.memory_limit:.0f} bytes: the node's memory, or "
                                            "execution_options.resource_limits.memory)")
        short = self._custom_short(res)
        if short is not None:
            used = self.custom_used.get(short, 0.0) + held.custom_dict().get(short, 0.0)
            return BlockedReason(RESOURCES, f"waiting for custom resource {short!r} ({used:g}/"
                                            f"{self.custom_limits[short]:g} in use)")
        return BlockedReason(RESOURCES, f"all CPU slots busy ({self.cpu_used:g}/{self.task_cpu_limit():g} for tasks)")


def _min(a: float, b: Optional[float]) -> float:
    if b is None:
        return float(a)
    return float(min(a, b))
