"""run_in_background: the user keeps working, cancel stops the run within a second, frees its
blocks, and the worker pool runs the next dataset at once."""

import time

import pytest

import streamscope as ss
from streamscope.engine.execution import run_registry
from streamscope.engine.execution.background import RunHandle, run_in_background
from streamscope.engine.runtime import get_runtime


def _slow(batch):
    time.sleep(0.1)
    return batch


@pytest.fixture(autouse=True)
def quiet(restore_context):
    restore_context.progress_mode = "off"
    restore_context.num_workers = 2


def test_background_materialize_returns_a_handle_at_once_and_a_result_later():
    ds = ss.range(2000, override_num_blocks=8).map_batches(_slow)
    t0 = time.monotonic()
    handle = run_in_background(ds)
    assert handle.buffer is not None and handle.run_id == handle.buffer.run_id
    assert not handle.done or time.monotonic() - t0 < 30
    mat = handle.result(timeout=60)
    assert handle.done and handle.state == "succeeded" and handle.error is None
    assert mat.count() == 2000 and sorted(r["id"] for r in mat.take_all())[-1] == 1999
    assert handle.buffer.latest().state == "succeeded"
    assert "succeeded" in repr(handle)


def test_cancel_within_a_second_frees_blocks_and_pool_stays_ready():
    runtime = get_runtime()
    before = runtime.store_stats().num_blocks
    ds = ss.range(200_000, override_num_blocks=400).map_batches(_slow)
    handle = run_in_background(ds)
    deadline = time.monotonic() + 20
    while (handle.buffer.latest() is None or handle.buffer.latest().rows_out == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert handle.buffer.latest().rows_out > 0, "run delivered nothing before the cancel"
    t0 = time.monotonic()
    assert handle.cancel() is True
    assert time.monotonic() - t0 < 1.0
    assert handle.state == "cancelled" and isinstance(handle.error, ss.ExecutionCancelled)
    assert handle.buffer.latest().state == "cancelled"
    with pytest.raises(ss.ExecutionCancelled):
        handle.result(timeout=1)
    assert handle.run_id not in run_registry.active_runs()
    assert runtime.store_stats().num_blocks == before, "a cancelled run left blocks in the store"
    t0 = time.monotonic()
    assert ss.range(400, override_num_blocks=4).map_batches(_slow).materialize().count() == 400
    assert time.monotonic() - t0 < 5.0


def test_failure_is_reported_on_the_handle():
    def boom(batch):
        raise ValueError("bad batch")

    handle = run_in_background(ss.range(100, override_num_blocks=2).map_batches(boom))
    handle.wait(30)
    assert handle.state == "failed" and "bad batch" in str(handle.error)
    with pytest.raises(Exception, match="bad batch"):
        handle.result()


def test_actions_and_callables():
    assert run_in_background(ss.range(300, override_num_blocks=3), "consume").result(30) == 300
    with pytest.raises(ValueError, match="unknown action"):
        run_in_background(ss.range(3), "explode")
    seen = []
    handle = RunHandle(lambda: ss.range(50).filter(lambda r: True).count() + ss.range(7).filter(lambda r: True).count(), name="two runs")
    handle.add_done_callback(lambda h: seen.append(h.state))
    handle.start()
    assert handle.result(30) == 57 and len(handle.buffers) == 2 and seen == ["succeeded"]


def test_timeout_then_cancel():
    handle = run_in_background(ss.range(100_000, override_num_blocks=200).map_batches(_slow))
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.2)
    assert handle.cancel() and handle.state == "cancelled"
