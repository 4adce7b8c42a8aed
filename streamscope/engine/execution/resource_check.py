"""Resource requests checked against the runtime before a run starts.

Why before: a map asking for more GPUs than the machine has would otherwise wait forever for a
device that never frees up. Checking the physical plan against the runtime's totals when the run
is planned turns that hang into an error that names the operator, before any task runs.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.exceptions import StreamscopeError
from streamscope.engine.physical.operators.actor_pool_map_operator import ActorPoolMapOperator
from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.physical.operators.map_operator import TaskPoolMapOperator
from streamscope.engine.physical.plan import PhysicalPlan
from streamscope.engine.remote_args import runtime_refusal
from streamscope.engine.runtime.base import Resources, Runtime

EPS = 1e-9


class ResourceRequestError(StreamscopeError, ValueError):
    """A plan asks for resources this runtime can never provide."""


def check_plan_resources(plan: PhysicalPlan, runtime: Runtime) -> None:
    total = runtime.total_resources()
    for op in plan.ops:
        res = _requested(op)
        if res is None or res.gpu <= 0:
            continue
        have = f"{total.gpu:g} GPU(s)" if total.gpu else "no GPU"
        hint = " (declare devices with DataContext.num_gpus, or STREAMSCOPE_FAKE_GPUS=n to test scheduling)"
        if res.gpu > 1 + EPS and abs(res.gpu - round(res.gpu)) > EPS:
            raise ResourceRequestError(f"{op.name} asks for num_gpus={res.gpu:g}: above 1 a GPU request must be a whole number")
        if res.gpu > total.gpu + EPS:
            raise ResourceRequestError(f"{op.name} asks for num_gpus={res.gpu:g} per {_unit(op)} but this machine has {have}{hint}")
        min_size = _actor_min_size(op)
        if min_size:
            per_device = int(1 / res.gpu + EPS) if res.gpu < 1 else 0
            fits = per_device * int(total.gpu + EPS) if per_device else int((total.gpu + EPS) // res.gpu)
            if min_size > fits:
                raise ResourceRequestError(
                    f"{op.name} needs at least {min_size} actors with num_gpus={res.gpu:g} each, but {have} fit only {fits}{hint}"
                )


def check_remote_args(plan: PhysicalPlan, runtime: Runtime) -> None:
    """The per-task arguments that depend on where the plan runs: ``ray.remote`` options only a
    Ray cluster can honour (``runtime_env``, ``label_selector``, ``max_calls``...; see
    :mod:`streamscope.engine.remote_args`), ``memory=`` larger than the node, and custom
    ``resources=`` the runtime does not declare or cannot fit (on Ray, Ray places those itself)."""
    total = runtime.total_resources()
    declared = total.custom_dict()
    for op in plan.ops:
        if not isinstance(op, TaskPoolMapOperator):
            continue
        why = runtime_refusal(op.name, op.ray_remote_args, runtime.name, has_args_fn=op.ray_remote_args_fn is not None)
        if why is not None:
            raise ResourceRequestError(why)
        res = op.resources
        count = max(1, _actor_min_size(op))
        each = f" each x {count} actors (min_size)" if _actor_min_size(op) > 1 else ""
        if res.memory > 0 and total.memory > 0 and res.memory * count > total.memory + EPS:
            raise ResourceRequestError(
                f"{op.name} asks for memory={res.memory:.0f} bytes{each} but this node offers {total.memory:.0f} to "
                "memory requests, so it could never run; ask for less memory (or, on the local runtime, give "
                "streamscope.init(memory=...) if the machine really has it)")
        if runtime.name == "ray":
            continue
        for name, amount in res.custom:
            if name not in declared:
                raise ResourceRequestError(
                    f"{op.name} asks for resources={{{name!r}: {amount:g}}} but the {runtime.name} runtime declares no "
                    f"{name!r}: declare it with streamscope.init(resources={{{name!r}: n}}), or remove it")
            if amount * count > declared[name] + EPS:
                raise ResourceRequestError(
                    f"{op.name} asks for resources={{{name!r}: {amount:g}}}{each} but only {declared[name]:g} is "
                    f"declared (streamscope.init(resources=...)), so it could never run")
            if _actor_min_size(op):
                _check_feeders_keep(op, name, amount * count, declared[name])


def _check_feeders_keep(op: PhysicalOperator, name: str, reserved: float, declared: float) -> None:
    """Actors hold their custom resources for life: the pool's minimum must leave enough for a
    task upstream that asks for the same resource, or that task (and so the pool's input) would
    wait forever."""
    for up in _upstream(op):
        if isinstance(up, ActorPoolMapOperator) or not isinstance(up, TaskPoolMapOperator):
            continue
        need = up.resources.custom_dict().get(name, 0.0)
        if need and reserved + need > declared + EPS:
            raise ResourceRequestError(
                f"{op.name}: its actors reserve {reserved:g} of the {declared:g} {name!r} declared, leaving "
                f"{up.name} (resources={{{name!r}: {need:g}}}) none to produce their input, so the run could never "
                f"finish; declare more {name!r}, or use a smaller min_size")


def check_actor_cpu_reservations(plan: PhysicalPlan, runtime: Runtime) -> None:
    """On runtimes where an actor holds its CPUs for its whole life (a Ray cluster), an actor pool
    whose minimum size takes every CPU leaves the task stages feeding it none: the run would wait
    forever (Ray Data hangs in exactly this shape). Say so before the run starts. The local runtime
    always keeps a slot for upstream tasks, so it does not need this check."""
    if not getattr(runtime, "actors_reserve_cpus", False):
        return
    total = runtime.total_resources().cpu
    for op in plan.ops:
        min_size = _actor_min_size(op)
        res = _requested(op)
        if not min_size or res is None or res.cpu <= 0:
            continue
        reserved = min_size * res.cpu
        feeders = [(u, r) for u in _upstream(op) if not isinstance(u, ActorPoolMapOperator)
                   and (r := _requested(u)) is not None and r.cpu > 0]
        if not feeders:
            continue
        need = min(r.cpu for _, r in feeders)
        if reserved + need > total + EPS:
            raise ResourceRequestError(
                f"{op.name}: {min_size} actors x num_cpus={res.cpu:g} reserve {reserved:g} of the cluster's "
                f"{total:g} CPUs, leaving {feeders[0][0].name} (num_cpus={need:g}) no CPU to produce their input, "
                "so the run could never finish. Use a fractional num_cpus for the actors (e.g. 0.5), a smaller "
                "min_size, or a bigger cluster."
            )


def _upstream(op: PhysicalOperator) -> list[PhysicalOperator]:
    out: list[PhysicalOperator] = []
    stack = list(op.inputs)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.inputs)
    return out


def _requested(op: PhysicalOperator) -> Optional[Resources]:
    """What a map operator asks for per task (per actor, for an actor pool); None for others."""
    return op.resources if isinstance(op, TaskPoolMapOperator) else None


def _actor_min_size(op: PhysicalOperator) -> int:
    """An actor pool's minimum size (0 for operators that run tasks)."""
    return op.min_size if isinstance(op, ActorPoolMapOperator) else 0


def _unit(op: PhysicalOperator) -> str:
    return "actor" if _actor_min_size(op) else "task"
