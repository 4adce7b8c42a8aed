"""The arguments every map method shares — ``compute``, ``concurrency``, ``num_cpus``,
``num_gpus``, ``memory``, the named remote parameters and ``**ray_remote_args`` — turned into what
the logical map operator carries, by Ray Data 2.60's rules and in one place, so ``map``,
``map_batches``, ``flat_map``, ``filter`` and ``add_column`` cannot drift apart.

Everything here runs when the map is built: a bad strategy, an unknown or ill-typed remote
argument, or one streamscope can never honour is an error naming the operator before anything
runs. What depends on the runtime (``runtime_env`` needs Ray) is checked when the plan meets it
(:mod:`streamscope.engine.execution.resource_check`).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from streamscope.engine import compute as compute_mod
from streamscope.engine import remote_args as RA

_STACK = 3
"""warnings point at the user's call: user -> Dataset.map -> map_task_args."""


def map_task_args(operator: str, fn: Any, *, compute: Any = None, concurrency: Any = None,
                  fn_constructor_args: Any = None, num_cpus: Any = None, num_gpus: Any = None, memory: Any = None,
                  named: Optional[dict] = None, ray_remote_args_fn: Optional[Callable[[], dict]] = None,
                  ray_remote_args: Optional[dict] = None, expression_compute: Any = None) -> dict:
    """Keyword arguments for a logical map operator: ``compute`` (a resolved strategy),
    ``num_cpus``/``num_gpus``/``memory`` (parameters win over the same keys in
    ``ray_remote_args``, as in Ray), ``ray_remote_args`` (the rest, named parameters merged in)
    and ``ray_remote_args_fn``. Emits Ray 2.60's deprecation warnings for ``**ray_remote_args``
    and ``ray_remote_args_fn``.

    ``expression_compute``: for expression maps (``with_column``), whose "function" is
    streamscope's own: tasks or actors as ``compute=`` says, ``expression_compute`` (the default
    the expressions call for) when it is None, as Ray Data's projections."""
    extra = dict(ray_remote_args or {})
    if ray_remote_args_fn is not None:
        if not callable(ray_remote_args_fn):
            raise TypeError(f"{operator}: ray_remote_args_fn must be a callable returning a dict, got "
                            f"{type(ray_remote_args_fn).__name__}")
        warnings.warn(RA.REMOTE_ARGS_FN_DEPRECATION, DeprecationWarning, stacklevel=_STACK)
    if extra:
        warnings.warn(RA.REMOTE_ARGS_DEPRECATION, DeprecationWarning, stacklevel=_STACK)
    if expression_compute is not None:
        strategy = compute if compute is not None else expression_compute
        if not isinstance(strategy, (compute_mod.TaskPoolStrategy, compute_mod.ActorPoolStrategy)):
            raise ValueError(f"{operator}: the compute spec must be either TaskPoolStrategy or ActorPoolStrategy, "
                             f"was: {compute!r}.")
    else:
        strategy = compute_mod.resolve(compute, concurrency, fn, operator, fn_constructor_args)
    is_actor = isinstance(strategy, compute_mod.ActorPoolStrategy)
    if is_actor:
        _check_actor_strategy(operator, strategy)
    cpus, gpus, mem, rest = RA.split_resources(operator, num_cpus, num_gpus, memory, extra)
    rest = RA.merge_named(rest, named or {})
    RA.validate_remote_args(operator, rest, on=RA.ACTORS if is_actor else RA.TASKS)
    return {"compute": strategy, "num_cpus": cpus, "num_gpus": gpus, "memory": mem, "ray_remote_args": rest,
            "ray_remote_args_fn": ray_remote_args_fn}


def _check_actor_strategy(operator: str, strategy: compute_mod.ActorPoolStrategy) -> None:
    """Streamscope actors run one call at a time (one thread), so more concurrent calls per actor
    cannot be honoured; ``enable_true_multi_threading`` only matters with more than one."""
    calls = strategy.max_concurrent_calls_per_actor
    if calls is not None and calls > 1:
        raise ValueError(f"{operator}: ActorPoolStrategy(max_concurrent_calls_per_actor={calls}) is not supported: "
                         "streamscope actors run one call at a time. Use more actors (max_size=...) for more "
                         "parallelism, and max_tasks_in_flight_per_actor to queue batches per actor")


def refuse_map_args(operator: str, why: str, **given: Any) -> None:
    """For operators that have no tasks of their own to size (``map_groups`` runs inside the
    shuffle's reduce tasks): refuse any task argument given, by name, instead of dropping it."""
    named = sorted(k for k, v in given.items() if v is not None and v != {})
    if named:
        raise ValueError(f"{operator}: {', '.join(named)} not supported: {why}; leave "
                         f"{'them' if len(named) > 1 else 'it'} out")


def named_remote_params(label_selector: Any, fallback_strategy: Any, max_calls: Any, resources: Any, accelerator_type: Any,
           runtime_env: Any) -> dict:
    """Ray 2.60's named remote parameters of the map methods, by name (``map_task_args(named=...)``)."""
    return {"label_selector": label_selector, "fallback_strategy": fallback_strategy, "max_calls": max_calls,
            "resources": resources, "accelerator_type": accelerator_type, "runtime_env": runtime_env}
