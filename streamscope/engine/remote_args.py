"""The per-task arguments of maps, reads and writes (Ray's ``ray.remote`` options): one rule each.

Why one table: Ray Data 2.60 passes any ``ray.remote`` option through ``**ray_remote_args`` (and
the named ``resources=``, ``runtime_env=``, ``max_calls=``... parameters), and each one must here
either do what it does on Ray or be refused by name before anything runs. The rule for a key —
what it is checked against, whether it works on the local runtimes, whether it is passed to Ray —
lives in :data:`RULES` alone; the API, the plan-time check and the docs
(:func:`remote_arg_rules`) all read it.

Two moments: :func:`validate_remote_args` runs when the map is built (unknown keys, Ray's types,
keys that can never work in streamscope, task-only keys on actors and the reverse);
:func:`runtime_refusal` runs when the plan meets its runtime (keys that need a Ray cluster).
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Optional

SUPPORTED = "supported"
DIFFERENCE = "difference"
REFUSED = "refused"

TASKS = "tasks"
ACTORS = "actors"
BOTH = "both"

RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory")
"""Keys the engine itself sizes tasks with; they leave ``ray_remote_args`` for the op's fields."""

RETRY_KEYS = ("max_retries", "retry_exceptions")
"""Validated here and kept in ``ray_remote_args`` unchanged: task retries are honoured by the
retry logic, which reads them from there."""

NAMED_REMOTE_PARAMS = ("label_selector", "fallback_strategy", "max_calls", "resources", "accelerator_type",
                       "runtime_env")
"""Ray 2.60's named map parameters merged into ``ray_remote_args`` (as Ray does)."""

REMOTE_ARGS_DEPRECATION = ("`ray_remote_args` is deprecated and will be removed in Ray 2.64. "
                           "Use the named remote parameters instead.")
REMOTE_ARGS_FN_DEPRECATION = "`ray_remote_args_fn` is deprecated and will be removed in Ray 2.64."

Check = Callable[[str, str, Any], None]


# ---- value checks (Ray's option types) ----------------------------------------------------------
def _type_error(where: str, key: str, value: Any, expected: str) -> TypeError:
    return TypeError(f"{where}: the type of keyword {key!r} must be {expected}, but received {type(value).__name__} "
                     f"({value!r})")


def _resource(where: str, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(where, key, value, "a number or None")
    _quantity(where, key, float(value))


def _quantity(where: str, name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{where}: the quantity of resource {name} cannot be negative (got {value:g})")
    if value != 0 and not math.isclose(round(value * 10000) / 10000, value, rel_tol=0, abs_tol=1e-12):
        raise ValueError(f"{where}: the precision of the fractional quantity of resource {name} cannot go beyond "
                         f"0.0001 (got {value!r})")


def _resources_dict(where: str, key: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise _type_error(where, key, value, "a dict of resource name to quantity, or None")
    if "CPU" in value or "GPU" in value:
        raise ValueError(f"{where}: use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
                         "'resources' keyword")
    for name, qty in value.items():
        if not isinstance(name, str):
            raise TypeError(f"{where}: resources names must be str, got {name!r}")
        if isinstance(qty, bool) or not isinstance(qty, numbers.Real):
            raise TypeError(f"{where}: resources[{name!r}] must be a number, got {qty!r}")
        _quantity(where, name, float(qty))


def _counting(minimum: int) -> Check:
    def check(where: str, key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(where, key, value, "an int or None")
        if value < minimum:
            allowed = "None, 0, -1 or a positive integer, where -1 represents infinity" if minimum < 0 \
                else "None, 0 or a positive integer"
            raise ValueError(f"{where}: the keyword {key!r} only accepts {allowed} (got {value})")
    return check


def _of_type(types: tuple, expected: str) -> Check:
    def check(where: str, key: str, value: Any) -> None:
        if not isinstance(value, types):
            raise _type_error(where, key, value, expected)
    return check


def _retry_exceptions(where: str, key: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(e, type) and issubclass(e, Exception) for e in value):
        return
    if not isinstance(value, (list, tuple)):
        raise _type_error(where, key, value, "a bool or a list of exception classes")
    raise ValueError(f"{where}: retry_exceptions must be either a boolean or a list of exceptions, got {value!r}")


def _one_call(where: str, key: str, value: Any) -> None:
    _counting(0)(where, key, value)
    if value not in (None, 1):
        raise ValueError(f"{where}: {key}={value} is not supported: streamscope actors run one call at a time on "
                         "every runtime; use more actors (ActorPoolStrategy(max_size=...)) instead")


def _no_check(where: str, key: str, value: Any) -> None:
    return None


_DICT = _of_type((dict, type(None)), "a dict or None")
_STR = _of_type((str, type(None)), "a str or None")
_BOOL = _of_type((bool,), "a bool")
_OPT_BOOL = _of_type((bool, type(None)), "a bool or None")
_LIST = _of_type((list, type(None)), "a list or None")
_INT = _of_type((int,), "an int")


@dataclass(frozen=True)
class RemoteArgRule:
    """How streamscope treats one ``ray.remote`` option given to a map (or a read or write).

    ``on``: what Ray accepts it on (task maps, actor maps, both). ``local``: on the local and
    in-process runtimes, "honour" (it takes effect), "accept" (valid, no effect needed: see
    ``note``), "accept-some" (the values ``local_ok`` allows are accepted, others need the Ray
    runtime), "refuse" (needs the Ray runtime) or "never" (refused on every runtime).
    ``to_ray``: passed to Ray's ``.options()`` on the Ray runtime (otherwise the engine acts on it
    itself, or it is refused there too).
    """

    key: str
    status: str
    note: str
    on: str = BOTH
    local: str = "refuse"
    to_ray: bool = True
    check: Check = _no_check
    local_ok: Optional[Callable[[Any], bool]] = None
    """For ``local="accept-some"``: which values work on one machine."""


_RAY_ONLY = "it needs the Ray runtime: run with streamscope.init(runtime='ray'), or remove it"
_DEFAULT_STRATEGIES = ("DEFAULT", "SPREAD")

RULES: dict[str, RemoteArgRule] = {r.key: r for r in [
    RemoteArgRule("num_cpus", SUPPORTED, "CPUs per task or actor; fractions allowed (0.0001 precision), 0 asks "
                  "for none. Counted by the resource manager on every runtime.", local="honour", to_ray=False,
                  check=_resource),
    RemoteArgRule("num_gpus", SUPPORTED, "GPUs per task or actor (fractions up to 1, whole numbers above); "
                  "devices are assigned through CUDA_VISIBLE_DEVICES.", local="honour", to_ray=False,
                  check=_resource),
    RemoteArgRule("memory", SUPPORTED, "Bytes of heap reserved per task or actor: a task is dispatched only "
                  "while the node's memory budget (and execution_options.resource_limits.memory) has room, "
                  "and a request larger than the node is refused when the run is planned.",
                  local="honour", to_ray=False, check=_resource),
    RemoteArgRule("resources", SUPPORTED, "Custom resources per task or actor. On the local runtime they are "
                  "declared with streamscope.init(resources={'name': n}) and counted like CPUs (a request for "
                  "an undeclared or too large amount is refused when the run is planned); on Ray, passed to Ray.",
                  local="honour", to_ray=False, check=_resources_dict),
    RemoteArgRule("max_retries", SUPPORTED, "Task retries (tasks only, as Ray: actor pools retry with "
                  "DataContext.actor_task_retry_on_errors): user errors named by retry_exceptions, and re-runs "
                  "after a worker died; rows already delivered are never delivered again (docs/architecture.md, "
                  "Retries).", on=TASKS, local="honour", to_ray=False, check=_counting(-1)),
    RemoteArgRule("retry_exceptions", SUPPORTED, "Which exceptions a task retries on (tasks only, as Ray): True or "
                  "a list of exception classes; retried inside the task, on every runtime.", on=TASKS,
                  local="honour", to_ray=False, check=_retry_exceptions),
    RemoteArgRule("max_restarts", SUPPORTED, "Times a dead actor is restarted (-1: without limit, Ray Data's "
                  "default); its in-flight batches are re-run on the new actor. The engine hands it to the actor's "
                  "runtime (Ray too) itself.", on=ACTORS, local="honour", to_ray=False, check=_counting(-1)),
    RemoteArgRule("max_task_retries", DIFFERENCE, "On the local runtime the batches a dead actor was running are "
                  "always re-run on its restarted actor (Ray Data's default, -1); other values need the Ray "
                  "runtime.", on=ACTORS, local="accept-some", check=_counting(-1),
                  local_ok=lambda v: v in (None, -1)),
    RemoteArgRule("max_concurrency", DIFFERENCE, "Streamscope actors run one call at a time on every runtime: "
                  "only 1 (Ray's default for these actors) is accepted; use more actors (max_size=) instead.",
                  on=ACTORS, local="accept", check=_one_call),
    RemoteArgRule("allow_out_of_order_execution", DIFFERENCE, "Accepted; with one call at a time per actor the "
                  "order of calls cannot differ (outputs are ordered by the executor either way).", on=ACTORS,
                  local="accept", check=_OPT_BOOL),
    RemoteArgRule("scheduling_strategy", DIFFERENCE, "Passed to Ray on the Ray runtime. On one machine 'DEFAULT' "
                  "and 'SPREAD' place tasks the same way and are accepted; placement-group and node-affinity "
                  "strategies need the Ray runtime.", local="accept-some",
                  local_ok=lambda v: isinstance(v, str) and v in _DEFAULT_STRATEGIES),
    RemoteArgRule("runtime_env", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime " + _RAY_ONLY
                  + " (workers share the driver's environment).", check=_DICT),
    RemoteArgRule("label_selector", DIFFERENCE, "Passed to Ray on the Ray runtime; the local runtime is one "
                  "unlabelled node, so " + _RAY_ONLY + ".", check=_DICT),
    RemoteArgRule("fallback_strategy", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime "
                  + _RAY_ONLY + ".", check=_LIST),
    RemoteArgRule("accelerator_type", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime "
                  + _RAY_ONLY + ".", check=_STR),
    RemoteArgRule("max_calls", DIFFERENCE, "Passed to Ray on the Ray runtime (a task worker exits after N "
                  "calls); the local runtime keeps its workers warm, so " + _RAY_ONLY + ".", on=TASKS,
                  check=_counting(0)),
    RemoteArgRule("placement_group", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime "
                  + _RAY_ONLY + "."),
    RemoteArgRule("placement_group_bundle_index", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local "
                  "runtime " + _RAY_ONLY + ".", check=_INT),
    RemoteArgRule("placement_group_capture_child_tasks", DIFFERENCE, "Passed to Ray on the Ray runtime; on the "
                  "local runtime " + _RAY_ONLY + ".", check=_OPT_BOOL),
    RemoteArgRule("object_store_memory", DIFFERENCE, "Actors only (Ray refuses it for tasks): passed to Ray on the "
                  "Ray runtime; on the local runtime " + _RAY_ONLY + ".", on=ACTORS, check=_counting(0)),
    RemoteArgRule("enable_task_events", DIFFERENCE, "Ray dashboard task events: passed to Ray on the Ray "
                  "runtime; on the local runtime " + _RAY_ONLY + ".", check=_BOOL),
    RemoteArgRule("lifetime", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime "
                  + _RAY_ONLY + ".", on=ACTORS, check=_STR),
    RemoteArgRule("max_pending_calls", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime use "
                  "ActorPoolStrategy(max_tasks_in_flight_per_actor=...) to bound the calls queued per actor.",
                  on=ACTORS, check=_counting(-1)),
    RemoteArgRule("enable_tensor_transport", DIFFERENCE, "Passed to Ray on the Ray runtime; on the local runtime "
                  + _RAY_ONLY + ".", on=ACTORS, check=_OPT_BOOL),
    RemoteArgRule("_labels", DIFFERENCE, "Ray-internal task labels: passed to Ray on the Ray runtime; on the "
                  "local runtime " + _RAY_ONLY + ".", check=_DICT),
    RemoteArgRule("_generator_backpressure_num_objects", DIFFERENCE, "Passed to Ray on the Ray runtime; the "
                  "local runtime's streaming is bounded by the executor's backpressure, so " + _RAY_ONLY + ".",
                  on=TASKS),
    RemoteArgRule("_actor_generator_backpressure_num_objects", DIFFERENCE, "Passed to Ray on the Ray runtime; "
                  "on the local runtime " + _RAY_ONLY + ".", on=ACTORS),
    RemoteArgRule("name", REFUSED, "Ray Data names every task and actor after its operator (a name given here "
                  "would be replaced, or clash between the pool's actors); name the dataset with "
                  "Dataset.set_name instead.", local="never", to_ray=False),
    RemoteArgRule("namespace", REFUSED, "Only meaningful for named actors, and map actors are not named; remove "
                  "it.", on=ACTORS, local="never", to_ray=False),
    RemoteArgRule("get_if_exists", REFUSED, "Only meaningful for named actors, and map actors are not named; "
                  "remove it.", on=ACTORS, local="never", to_ray=False),
    RemoteArgRule("num_returns", REFUSED, "Map tasks stream their output blocks; the engine sets num_returns "
                  "itself. Remove it.", on=TASKS, local="never", to_ray=False),
    RemoteArgRule("_num_objects_per_yield", REFUSED, "The engine controls how task outputs stream; remove it.",
                  on=TASKS, local="never", to_ray=False),
    RemoteArgRule("concurrency_groups", REFUSED, "Map actors have one method and run one call at a time; remove "
                  "it.", on=ACTORS, local="never", to_ray=False),
]}

RAY_REMOTE_ARGS_FN_NOTE = ("Named map parameter: on the Ray runtime it is called before each task or actor "
                           "starts and what it returns is passed to Ray over ray_remote_args (maps using it "
                           "are not fused, as in Ray); the local runtime refuses it (" + _RAY_ONLY + ").")


def remote_arg_rules() -> list[dict]:
    """Every ``ray.remote`` option a map accepts in Ray Data 2.60, with how streamscope treats it:
    ``key``, ``status`` (``"supported"``, ``"difference"`` or ``"refused"``), ``applies_to``
    (``"tasks"``, ``"actors"``, ``"both"``) and a ``note`` (the generated compatibility docs read it).

    Examples:
        >>> rules = {r["key"]: r for r in streamscope.engine.remote_args.remote_arg_rules()}
        >>> rules["runtime_env"]["status"], rules["name"]["status"], rules["memory"]["status"]
        ('difference', 'refused', 'supported')
    """
    rows = [{"key": r.key, "status": r.status, "applies_to": r.on, "note": r.note} for r in RULES.values()]
    rows.append({"key": "ray_remote_args_fn", "status": DIFFERENCE, "applies_to": BOTH,
                 "note": RAY_REMOTE_ARGS_FN_NOTE})
    return rows


def _closest(key: str) -> str:
    names = list(RULES) + ["ray_remote_args_fn", "concurrency", "compute"]
    match = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else f"; valid ones are {', '.join(sorted(RULES))}"


def validate_remote_args(where: str, args: dict, *, on: Optional[str] = None) -> None:
    """Check ``args`` (a map's ``ray_remote_args``, named parameters merged in) when the map is
    built: unknown keys are a TypeError with the closest valid name; values get Ray's type and
    range checks; keys refused on every runtime, and task-only keys on an actor pool (or
    actor-only keys on tasks; ``on`` is "tasks" or "actors"), are a ValueError naming the key."""
    for key, value in args.items():
        rule = RULES.get(key)
        if rule is None:
            raise TypeError(f"{where}: {key!r} is not a Ray remote argument{_closest(key)}")
        rule.check(where, key, value)
        if rule.local == "never":
            raise ValueError(f"{where}: {key}= is not supported: {rule.note}")
        if on is not None and rule.on not in (BOTH, on):
            kind = "tasks (functions)" if rule.on == TASKS else "actors (callable classes)"
            here = "a function's tasks" if on == TASKS else "a callable class's actors"
            raise ValueError(f"{where}: {key}= applies only to {kind}, and this map runs {here}; remove it")


def runtime_refusal(where: str, args: dict, runtime: str, *, has_args_fn: bool = False) -> Optional[str]:
    """The error for the first key of ``args`` that cannot work on ``runtime`` ("local",
    "inprocess" or "ray"), or None when all can. Checked when the plan meets its runtime, since a
    dataset may be built before ``streamscope.init(runtime='ray')``."""
    if runtime == "ray":
        return None
    if has_args_fn:
        return f"{where}: ray_remote_args_fn is not supported on the {runtime} runtime: {_RAY_ONLY}"
    for key, value in args.items():
        rule = RULES.get(key)
        if rule is None or rule.local in ("honour", "accept"):
            continue
        if rule.local == "accept-some":
            if rule.local_ok is not None and rule.local_ok(value):
                continue
            return f"{where}: {key}={value!r} is not supported on the {runtime} runtime: {rule.note}"
        return (f"{where}: {key}= needs the Ray runtime (streamscope passes it to Ray), and the {runtime} runtime "
                f"cannot honour it: run with streamscope.init(runtime='ray'), or remove it")
    return None


def ray_options(args: dict) -> dict:
    """The part of ``args`` passed to Ray's ``.options()`` as given (the engine sets the rest)."""
    return {k: v for k, v in args.items() if k in RULES and RULES[k].to_ray}


def custom_resources(args: dict) -> tuple[tuple[str, float], ...]:
    """The ``resources=`` request as sorted ``(name, quantity)`` pairs, zero amounts dropped (as
    Ray canonicalizes them)."""
    res = args.get("resources") or {}
    return tuple(sorted((name, float(qty)) for name, qty in res.items() if qty))


def split_resources(where: str, num_cpus: Any, num_gpus: Any, memory: Any, args: dict) -> tuple[Any, Any, Any, dict]:
    """Ray's merge: ``num_cpus``/``num_gpus``/``memory`` given as parameters win over the same keys
    in ``ray_remote_args``; returns them and the remaining args (checked with Ray's rules)."""
    rest = dict(args)
    out = []
    for key, named in (("num_cpus", num_cpus), ("num_gpus", num_gpus), ("memory", memory)):
        value = rest.pop(key, None)
        value = named if named is not None else value
        _resource(where, key, value)
        out.append(value)
    return out[0], out[1], out[2], rest


def merge_named(args: dict, named: dict) -> dict:
    """``ray_remote_args`` with the named remote parameters that were given (not None) over it."""
    merged = dict(args)
    merged.update({k: v for k, v in named.items() if v is not None})
    return merged


def fusable(up: dict, down: dict) -> bool:
    """Ray Data's rule for fusing two maps: their remote args are equal, except that the
    downstream map inherits ``scheduling_strategy`` and ``label_selector`` from the upstream one
    when it sets none (custom resources of amount 0 count as not asked for)."""
    def canonical(args: dict) -> dict:
        out = {k: v for k, v in args.items() if k != "resources"}
        out["resources"] = dict(custom_resources(args))
        return out
    a, b = canonical(up), canonical(down)
    for key in ("scheduling_strategy", "label_selector"):
        if key in a and key not in b:
            b[key] = a[key]
    return a == b
