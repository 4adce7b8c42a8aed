"""Compute strategies and ``concurrency=`` by Ray Data 2.60's rules (``get_compute_strategy`` and
the strategies' own validation), the expected values written out as Ray documents them; and the
pool sizes an actor operator really starts with."""

from __future__ import annotations

import logging
import math
import warnings

import pytest

import streamscope as ss
from streamscope.engine.physical.operators.actor_pool_map_operator import ActorPoolMapOperator


def double(row):
    return {"id": row["id"] * 2}


class Identity:
    def __call__(self, batch):
        return batch


def _compute(ds):
    return ds._plan.dag.compute


# ---- defaults -----------------------------------------------------------------------------------
def test_a_callable_class_without_compute_gets_an_autoscaling_pool_of_one_to_unlimited_actors():
    strategy = _compute(ss.range(4).map_batches(Identity))
    assert isinstance(strategy, ss.ActorPoolStrategy)
    assert (strategy.min_size, strategy.max_size, strategy.initial_size) == (1, math.inf, 1)
    assert strategy == ss.ActorPoolStrategy(min_size=1, max_size=None)


def test_a_function_without_compute_runs_as_uncapped_tasks():
    strategy = _compute(ss.range(4).map(double))
    assert strategy == ss.TaskPoolStrategy() and strategy.size is None
    assert ss.TaskPoolStrategy() == "tasks"  # Ray's equality with the legacy string


# ---- strategy / function mismatches ------------------------------------------------------------------
def test_a_function_with_an_actor_pool_is_refused_naming_the_operator():
    with pytest.raises(ValueError, match=r"Map\(double\).*regular functions can't be scheduled with the actor pool"):
        ss.range(4).map(double, compute=ss.ActorPoolStrategy(size=1))


def test_a_class_with_a_task_pool_is_refused_naming_the_operator():
    with pytest.raises(ValueError, match=r"MapBatches\(Identity\).*callable classes can't be scheduled with the task"):
        ss.range(4).map_batches(Identity, compute=ss.TaskPoolStrategy(size=2))


@pytest.mark.parametrize("fn, spec, match", [
    (Identity, "tasks", "task pool strategy"),
    (double, "actors", "actor pool strategy"),
    (double, "tasks", "must be either TaskPoolStrategy or ActorPoolStrategy"),
    (Identity, "actors", "must be either TaskPoolStrategy or ActorPoolStrategy"),
])
def test_legacy_compute_strings_are_refused(fn, spec, match):
    with pytest.raises(ValueError, match=match):
        ss.range(4).map_batches(fn, compute=spec)


def test_fn_constructor_args_need_a_callable_class():
    with pytest.raises(ValueError, match="fn_constructor_args.*callable class"):
        ss.range(4).map(double, fn_constructor_args=(1,))


def test_compute_and_concurrency_together_are_refused():
    with pytest.raises(ValueError, match="compute= or concurrency=, not both"):
        ss.range(4).map_batches(Identity, compute=ss.ActorPoolStrategy(size=1), concurrency=2)


# ---- concurrency= ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, concurrency, expected", [
    (Identity, 3, ss.ActorPoolStrategy(size=3)),
    (Identity, (1, 4), ss.ActorPoolStrategy(min_size=1, max_size=4)),
    (Identity, (2, 4, 3), ss.ActorPoolStrategy(min_size=2, max_size=4, initial_size=3)),
    (double, 3, ss.TaskPoolStrategy(size=3)),
])
def test_concurrency_maps_to_the_strategy_ray_picks(fn, concurrency, expected):
    assert _compute(ss.range(4).map_batches(fn, concurrency=concurrency)) == expected


@pytest.mark.parametrize("fn, concurrency, match", [
    (double, (1, 2), "not a callable class"),  # Ray refuses a tuple for a function
    (Identity, (1, 2, 3, 4), "tuple of integers"),
    (Identity, (1, 2.5), "tuple of integers"),
    (Identity, 2.0, "an integer or a tuple"),
    (double, "2", "an integer or a tuple"),
])
def test_bad_concurrency_is_refused(fn, concurrency, match):
    with pytest.raises(ValueError, match=match):
        ss.range(4).map_batches(fn, concurrency=concurrency)


def test_concurrency_is_logged_as_deprecated_without_a_deprecation_warning(caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # Ray raises no warning here: neither may we
        with caplog.at_level(logging.WARNING, logger="streamscope.engine.compute"):
            ss.range(4).map(double, concurrency=2)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "Map(double)" in messages[0] and "deprecated in Ray 2.51" in messages[0]


# ---- the strategies' own validation --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"size": 0}, "size must be >= 1"),
    ({"size": 2, "min_size": 1}, "cannot be set at the same time as `size`"),
    ({"size": 2, "max_size": 3}, "cannot be set at the same time as `size`"),
    ({"size": 2, "initial_size": 2}, "cannot be set at the same time as `size`"),
    ({"min_size": 0}, "min_size must be >= 1"),
    ({"min_size": 3, "max_size": 2}, "min_size must be <= max_size"),
    ({"min_size": 2, "initial_size": 1}, r"initial_size \(1\) must be >= min_size \(2\)"),
    ({"min_size": 1, "max_size": 2, "initial_size": 3}, r"initial_size \(3\) must be <= max_size \(2\)"),
    ({"max_tasks_in_flight_per_actor": 0}, "max_tasks_in_flight_per_actor must be >= 1"),
    ({"max_concurrent_calls_per_actor": 0}, "max_concurrent_calls_per_actor must be >= 1"),
])
def test_actor_pool_strategy_refuses_what_ray_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ss.ActorPoolStrategy(**kwargs)


@pytest.mark.parametrize("kwargs, expected", [
    ({}, (1, math.inf, 1)),
    ({"size": 3}, (3, 3, 3)),
    ({"max_size": 4}, (1, 4, 1)),  # Ray's legacy default min_size=1
    ({"min_size": 2}, (2, math.inf, 2)),
    ({"min_size": 1, "max_size": 5, "initial_size": 4}, (1, 5, 4)),
    ({"min_size": 2, "initial_size": 7}, (2, math.inf, 7)),  # no max: any initial >= min
])
def test_actor_pool_strategy_resolves_sizes_as_ray(kwargs, expected):
    s = ss.ActorPoolStrategy(**kwargs)
    assert (s.min_size, s.max_size, s.initial_size) == expected
    assert s.enable_true_multi_threading is False


def test_task_pool_strategy_refuses_a_size_below_one():
    with pytest.raises(ValueError, match="`size` must be >= 1"):
        ss.TaskPoolStrategy(size=0)


def test_more_than_one_concurrent_call_per_actor_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match=r"MapBatches\(Identity\).*max_concurrent_calls_per_actor=4.*one call at a time"):
        ss.range(4).map_batches(Identity, compute=ss.ActorPoolStrategy(size=1, max_concurrent_calls_per_actor=4))
    one = ss.ActorPoolStrategy(size=1, max_concurrent_calls_per_actor=1, enable_true_multi_threading=True)
    assert ss.range(4).map_batches(Identity, compute=one).count() == 4  # one call per actor: what Ray does too


# ---- what the actor operator starts ----------------------------------------------------------------------
def _actor_op(ds) -> ActorPoolMapOperator:
    ops = [op for op in ds._last_run.plan.ops if isinstance(op, ActorPoolMapOperator)]
    assert len(ops) == 1
    return ops[0]


def test_initial_size_actors_start_before_any_input_asks_for_them(ctx):
    # one small block: the autoscaler alone would never need a second actor, so both started
    # actors come from initial_size
    ds = ss.range(8, override_num_blocks=1).map_batches(
        Identity, compute=ss.ActorPoolStrategy(min_size=1, max_size=3, initial_size=3))
    assert sorted(r["id"] for r in ds.take_all()) == list(range(8))
    assert _actor_op(ds).actors_started == 3
    plain = ss.range(8, override_num_blocks=1).map_batches(Identity, compute=ss.ActorPoolStrategy(min_size=1, max_size=3))
    assert plain.count() == 8
    assert _actor_op(plain).actors_started == 1


def test_the_default_class_pool_runs_and_is_bounded_by_the_machine(ctx):
    ds = ss.range(40, override_num_blocks=4).map_batches(Identity)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(40))
    op = _actor_op(ds)
    cpus = int(ds._last_run.runtime.total_resources().cpu)
    assert op.min_size == 1 and 1 <= op.peak_actors <= cpus
