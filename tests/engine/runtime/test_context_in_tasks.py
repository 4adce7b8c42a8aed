"""Tasks see their run's DataContext: on the local runtime's worker processes (tasks and actors)
and on the in-process runtime's threads. The same checks run on Ray in
``ray/test_ray_context_in_tasks.py``; ``context_task_helpers`` says how each check is set up."""

from __future__ import annotations

import os
import pickle

import pyarrow as pa
import pytest

import streamscope
from context_task_helpers import (
    MARK,
    PlannedSizedSource,
    check_actor_sees_user_setting,
    check_read_block_sizes_follow_setting,
    check_retried_io_errors_apply_in_tasks,
    check_udf_sees_user_setting,
    collect,
    column,
    report_settings,
)
from streamscope.engine.context import DataContext

KINDS = ["local", "inprocess"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_user_function_sees_the_users_setting(kind, ctx):
    check_udf_sees_user_setting(kind, ctx)


@pytest.mark.parametrize("kind", KINDS)
def test_an_actor_sees_the_users_setting_in_its_constructor_and_calls(kind, ctx):
    check_actor_sees_user_setting(kind, ctx)


@pytest.mark.parametrize("kind", KINDS)
def test_target_max_block_size_sizes_the_blocks_a_read_task_makes(kind, ctx):
    check_read_block_sizes_follow_setting(kind, ctx)


def test_planning_a_read_sees_the_runs_setting(ctx):
    """get_read_tasks runs on the executor thread: with the run's context, not the driver's."""
    check_read_block_sizes_follow_setting("inprocess", ctx, PlannedSizedSource)


@pytest.mark.parametrize("kind", KINDS)
def test_retried_io_errors_decide_what_a_read_task_retries(kind, ctx, tmp_path):
    check_retried_io_errors_apply_in_tasks(kind, ctx, tmp_path)


def test_in_process_runs_see_their_own_context_on_their_threads_only(ctx):
    from streamscope.engine.execution.run import start_execution
    from streamscope.engine.runtime import get_runtime
    from streamscope.engine.runtime.base import TaskSpec

    ds = streamscope.range(400, override_num_blocks=8).map_batches(report_settings)
    for mark in (MARK, MARK + 1):
        run_ctx = ctx.copy()
        run_ctx.runtime = "inprocess"
        run_ctx.stall_timeout_s = mark
        assert set(column(collect(start_execution(ds._plan, name=f"run-{mark}", context=run_ctx)), "stall")) == {mark}
        assert DataContext.get_current() is ctx and ctx.stall_timeout_s == DataContext().stall_timeout_s
    # The pool threads that ran those tasks are back on the driver's context: a task that carries
    # no context sees the process's one, not the last run's.
    rt = get_runtime(ctx, kind="inprocess")
    fn = rt.register_function(report_stall_task, "report_stall")
    handles = {rt.submit(TaskSpec(fn, operator="bare")) for _ in range(8)}
    seen = []
    while handles:
        for handle, result in rt.wait(5.0):
            assert result.error is None, result.error
            handles.discard(handle)
            seen += [v for ref, _ in result.outputs for v in rt.get(ref).column("stall").to_pylist()]
    rt.release_function(fn)
    assert seen == [ctx.stall_timeout_s] * 8


def report_stall_task(payload, blocks, task_ctx):
    yield pa.table({"stall": [DataContext.get_current().stall_timeout_s]})


def test_a_worker_unpickles_a_runs_context_once(ctx):
    ctx.stall_timeout_s = MARK + 2  # a context no earlier run shipped
    rows = streamscope.range(400, override_num_blocks=16).map_batches(report_worker_loads).take_all()
    by_pid: dict[int, set[int]] = {}
    for row in rows:
        by_pid.setdefault(row["pid"], set()).add(row["loads"])
    assert by_pid, rows
    for pid, counts in by_pid.items():  # every task in a worker saw the same count: one unpickle
        assert len(counts) == 1 and min(counts) >= 1, (pid, counts)


def report_worker_loads(batch):
    from streamscope.engine.runtime import context_shipping

    n = len(batch["id"])
    return {"pid": [os.getpid()] * n, "loads": [context_shipping.total_loads()] * n}


def test_pack_pickles_a_context_once_until_a_setting_changes():
    from streamscope.engine.runtime import context_shipping

    ctx = DataContext()
    first = context_shipping.pack(ctx)
    assert context_shipping.pack(ctx) is first
    assert pickle.loads(first[1]) == ctx
    ctx.stall_timeout_s = MARK
    second = context_shipping.pack(ctx)
    assert second[0] != first[0] and pickle.loads(second[1]).stall_timeout_s == MARK
    assert context_shipping.pack(None) is None

    cache = context_shipping.ContextCache(size=1)
    assert cache.get(second) is cache.get(second) and cache.loads == 1
    cache.get(first)
    assert cache.get(second).stall_timeout_s == MARK and cache.loads == 3  # size 1: evicted, loaded again


def test_use_context_restores_the_thread_and_process_context():
    from streamscope.engine.context import use_context

    ctx = DataContext.get_current()
    run_ctx = DataContext()
    run_ctx.stall_timeout_s = MARK
    with use_context(run_ctx):
        assert DataContext.get_current() is run_ctx
        assert DataContext._current is ctx  # thread only
    assert DataContext.get_current() is ctx
    with use_context(run_ctx, process_wide=True):
        assert DataContext.get_current() is run_ctx and DataContext._current is run_ctx
    assert DataContext.get_current() is ctx and DataContext._current is ctx
    with use_context(None):
        assert DataContext.get_current() is ctx
