"""Worker deaths, retries and cancellation."""

from __future__ import annotations

import os
import signal
import sys
import time

import cloudpickle
import psutil
import pyarrow as pa

from local_runtime_helpers import NUM_WORKERS, collect, is_gone, task_files, wait_for
from streamscope.engine.runtime.base import TaskSpec

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def write_then_sleep_once(flag, blocks, ctx):
    """First attempt: write a block, then hang until killed. Later attempts finish at once."""
    yield pa.table({"x": list(range(1000))})
    if not os.path.exists(flag):
        open(flag, "w").close()
        time.sleep(30)
    yield pa.table({"y": [1]})


def die(payload, blocks, ctx):
    yield pa.table({"x": [1]})
    os.kill(os.getpid(), signal.SIGKILL)


def quick(payload, blocks, ctx):
    yield pa.table({"ok": [payload]})


def _live_worker_pids(rt):
    return [w.pid for w in rt.workers() if psutil.pid_exists(w.pid) and not is_gone(w.pid)]


def test_killed_worker_task_is_retried_once_without_duplicates(shared_rt, tmp_path):
    flag = str(tmp_path / "started")
    fn = shared_rt.register_function(write_then_sleep_once, "SleepyMap")
    handle = shared_rt.submit(TaskSpec(fn, payload=flag, operator="SleepyMap", max_retries=2))
    assert wait_for(lambda: os.path.exists(flag))
    directory = shared_rt.store.directory
    assert task_files(directory, handle.task_id) == [f"t{handle.task_id}-a1-0.arrow"]
    [victim] = [w.pid for w in shared_rt.workers() if w.busy]
    os.kill(victim, signal.SIGKILL)
    results = collect(shared_rt, 1)
    assert shared_rt.wait(0.3) == []
    [(h, result)] = results
    assert h is handle and result.error is None and result.stats.attempts == 2
    assert len(result.outputs) == 2
    assert task_files(directory, handle.task_id) == [f"t{handle.task_id}-a2-0.arrow", f"t{handle.task_id}-a2-1.arrow"]
    assert shared_rt.get(result.outputs[0][0]).num_rows == 1000
    pids = _live_worker_pids(shared_rt)
    assert len(pids) == NUM_WORKERS and victim not in pids
    shared_rt.free([ref for ref, _ in result.outputs])
    assert task_files(directory, handle.task_id) == []


def test_crashes_past_max_retries_fail_with_worker_crashed(shared_rt):
    fn = shared_rt.register_function(die, "die")
    shared_rt.submit(TaskSpec(fn, operator="MapBatches(die)", max_retries=1))
    [(handle, result)] = collect(shared_rt, 1)
    err = result.error
    assert err is not None and err.system and err.type_name == "WorkerCrashedError"
    assert "MapBatches(die)" in err.message and "2 attempts" in err.message
    assert result.outputs == [] and result.stats.attempts == 2
    assert task_files(shared_rt.store.directory, handle.task_id) == []
    assert wait_for(lambda: len(_live_worker_pids(shared_rt)) == NUM_WORKERS, timeout=5)


def test_cancel_stops_running_and_queued_tasks(shared_rt, tmp_path):
    fn = shared_rt.register_function(write_then_sleep_once, "SleepyMap")
    flags = [str(tmp_path / f"flag{i}") for i in range(NUM_WORKERS + 1)]
    handles = [shared_rt.submit(TaskSpec(fn, payload=f, operator="SleepyMap")) for f in flags]
    assert wait_for(lambda: all(os.path.exists(f) for f in flags[:NUM_WORKERS]))
    busy = [w.pid for w in shared_rt.workers() if w.busy]
    t0 = time.monotonic()
    shared_rt.cancel(handles)
    assert time.monotonic() - t0 < 1.0
    assert shared_rt.wait(0.5) == []  # cancelled tasks yield no result
    assert not os.path.exists(flags[-1])  # the queued one never ran
    for h in handles:
        assert task_files(shared_rt.store.directory, h.task_id) == []
    assert all(is_gone(pid) for pid in busy)
    assert len(_live_worker_pids(shared_rt)) == NUM_WORKERS
    ok = shared_rt.register_function(quick, "quick")
    shared_rt.submit(TaskSpec(ok, payload=7, operator="quick"))
    [(_, result)] = collect(shared_rt, 1)
    assert result.error is None and shared_rt.get(result.outputs[0][0]).column("ok").to_pylist() == [7]
    shared_rt.free([ref for ref, _ in result.outputs])
