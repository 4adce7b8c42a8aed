"""DataContext fields the engine acts on at run level: what a run logs when it starts and ends
(print_on_execution_start, enable_auto_log_stats), how terminal progress reads Ray Data's
progress switches (verbose_progress, enable_operator_progress_bars), resource_limits.memory, and
downstream_capacity_backpressure_ratio=None."""

from __future__ import annotations

import io
import logging
import types

import streamscope
from streamscope.engine.context import ExecutionResources
from streamscope.engine.execution.backpressure.downstream_capacity import DownstreamCapacityPolicy
from streamscope.engine.execution.progress import TerminalProgress
from streamscope.engine.execution.resource_manager import ResourceManager
from streamscope.engine.runtime.base import Resources, StoreStats

from executor_output import drain

RUN_LOGGER = "streamscope.engine.execution.run"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _records(caplog, text):
    return [r for r in caplog.records if r.name == RUN_LOGGER and text in r.getMessage()]


def test_print_on_execution_start_logs_the_plan(runtime, ctx, caplog):
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    ds = streamscope.range(100, override_num_blocks=2).map_batches(lambda b: b)
    ds.set_name("logged")
    ds.count()
    (record,) = _records(caplog, "Starting execution of Dataset logged")
    assert "ReadRange->MapBatches(<lambda>)" in record.getMessage()
    caplog.clear()
    ctx.print_on_execution_start = False
    ds.count()
    assert _records(caplog, "Starting execution") == []


def test_enable_auto_log_stats_logs_the_stats_when_a_run_ends(runtime, ctx, caplog):
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    ds = streamscope.range(100, override_num_blocks=2).map_batches(lambda b: b)
    ds.take_all()
    ds._last_run.join(10)
    assert _records(caplog, "Operator 0") == []  # off by default, as in Ray Data
    ctx.enable_auto_log_stats = True
    ds.take_all()
    ds._last_run.join(10)  # the hook runs on the executor thread as the run ends
    (record,) = _records(caplog, "Operator 0")
    assert record.getMessage() == str(ds.stats())


def _mode(ctx, stream) -> str:
    return TerminalProgress(executor=None, context=ctx, stream=stream)._mode()


def test_verbose_progress_and_operator_bars_choose_the_progress_lines(ctx):
    ctx.enable_progress_bars = True
    assert _mode(ctx, FakeTerminal()) == "line"
    ctx.execution_options.verbose_progress = True
    assert _mode(ctx, FakeTerminal()) == "operators"
    assert _mode(ctx, io.StringIO()) == "log"
    ctx.enable_operator_progress_bars = False
    assert _mode(ctx, FakeTerminal()) == "line"
    ctx.progress_mode = "operators"
    assert _mode(ctx, FakeTerminal()) == "line"  # per-operator lines are off, whoever asks


def test_verbose_progress_logs_a_line_per_operator(runtime, ctx):
    ctx.enable_progress_bars, ctx.progress_interval_s = True, 0.0
    ctx.execution_options.verbose_progress = True
    out = io.StringIO()
    ds = streamscope.range(200, override_num_blocks=4).map_batches(lambda b: b)
    executor = ds._start_execution("test")
    progress = TerminalProgress(executor, ctx, stream=out).start()
    assert drain(executor) == 200
    progress._thread.join(10)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("  ReadRange->MapBatches(<lambda>)") and "tasks" in line for line in lines)


class _FakeRuntime:
    def total_resources(self):
        return Resources(cpu=8.0, gpu=0.0)

    def store_stats(self):
        return StoreStats(capacity_bytes=1 << 30)

    def actor_resources(self):
        return Resources(cpu=0.0, gpu=0.0)


def test_resource_limits_memory_caps_running_tasks_memory_requests(ctx):
    ctx.execution_options.resource_limits = ExecutionResources(memory=100)
    rm = ResourceManager(_FakeRuntime(), ctx)
    task = Resources(cpu=1.0, memory=60)
    assert rm.can_start(task)
    rm.allocate(task)
    assert not rm.can_start(task)
    assert "memory" in rm.reason(task).message and not rm.reason(task).is_backpressure
    assert rm.can_start(Resources(cpu=1.0))  # tasks that ask for no memory are not held back
    rm.release(task)
    big = Resources(cpu=1.0, memory=500)
    assert rm.can_start(big)  # alone, a request above the cap still runs


def test_a_downstream_capacity_ratio_of_none_turns_the_policy_off_between_operators():
    consumer = types.SimpleNamespace(name="next", queued_input=lambda: (100, 0))
    executor = types.SimpleNamespace(consumer_of=lambda op: consumer, parallelism_of=lambda op: 1,
                                     consumer_queue_blocks=lambda: 100)
    assert "100 blocks queued at next" in DownstreamCapacityPolicy(2.0).blocks(object(), executor).message
    assert DownstreamCapacityPolicy(None).blocks(object(), executor) is None
    executor.consumer_of = lambda op: None  # the last operator: the consumer's queue stays bounded
    assert "waiting for the consumer" in DownstreamCapacityPolicy(None).blocks(object(), executor).message
