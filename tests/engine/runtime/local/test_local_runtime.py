"""LocalRuntime end to end: tasks in worker processes, function shipping, errors, settings."""

from __future__ import annotations

import os
import sys
import time

import cloudpickle
import numpy as np
import pyarrow as pa

from local_runtime_helpers import NUM_WORKERS, collect
from streamscope.engine.context import DataContext
from streamscope.engine.runtime.base import TaskSpec
from streamscope.engine.runtime.local import LocalBlockRef
from streamscope.engine.runtime.local import worker as worker_module

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def report_pid(payload, blocks, ctx):
    time.sleep(payload or 0)
    yield pa.table({"pid": [os.getpid()], "loads": [worker_module.fn_loads()]})


def double(payload, blocks, ctx):
    for block in blocks:
        with ctx.time_udf():
            yield pa.table({"x": pa.compute.multiply(block.column("x"), 2)})


def explode(payload, blocks, ctx):
    raise ValueError(f"boom-{payload}")


def test_tasks_run_in_worker_processes(shared_rt):
    fn = shared_rt.register_function(report_pid, "ReportPid")
    handles = [shared_rt.submit(TaskSpec(fn, payload=0.05, operator="ReportPid")) for _ in range(4)]
    results = collect(shared_rt, 4)
    assert sorted(h.task_id for h, _ in results) == sorted(h.task_id for h in handles)
    pids = {shared_rt.get(r.outputs[0][0]).column("pid")[0].as_py() for _, r in results}
    assert os.getpid() not in pids
    assert pids <= {w.pid for w in shared_rt.workers()}
    assert all(isinstance(ref, LocalBlockRef) for _, r in results for ref, _ in r.outputs)
    assert all(r.stats.worker.startswith("task-worker-") and r.stats.attempts == 1 for _, r in results)
    assert shared_rt.total_resources().cpu == NUM_WORKERS
    shared_rt.free([ref for _, r in results for ref, _ in r.outputs])


def test_function_is_sent_once_per_worker(shared_rt):
    sends_before = shared_rt.pool.fn_sends
    fn = shared_rt.register_function(report_pid, "ReportPid")
    for _ in range(6):  # waves of tasks, so each worker runs several
        for _ in range(NUM_WORKERS):
            shared_rt.submit(TaskSpec(fn, payload=0.01, operator="ReportPid"))
        results = collect(shared_rt, NUM_WORKERS)
    results = []
    for _ in range(12):
        shared_rt.submit(TaskSpec(fn, payload=0.0, operator="ReportPid"))
    results = collect(shared_rt, 12)
    loads_by_pid: dict[int, set] = {}
    for _, r in results:
        row = shared_rt.get(r.outputs[0][0]).to_pylist()[0]
        loads_by_pid.setdefault(row["pid"], set()).add(row["loads"])
    # the worker never unpickled the function again after its first task
    assert all(len(loads) == 1 for loads in loads_by_pid.values())
    assert shared_rt.pool.fn_sends - sends_before <= NUM_WORKERS
    shared_rt.release_function(fn)
    shared_rt.free([ref for _, r in results for ref, _ in r.outputs])


def test_inputs_are_read_and_outputs_split(shared_rt):
    fn = shared_rt.register_function(double, "Double")
    refs = [shared_rt.put(pa.table({"x": np.arange(i * 1000, (i + 1) * 1000)}))[0] for i in range(3)]
    h = shared_rt.submit(TaskSpec(fn, inputs=refs, operator="Double", max_block_bytes=2000, free_inputs=True))
    [(handle, result)] = collect(shared_rt, 1)
    assert handle is h and result.error is None
    assert len(result.outputs) > 3  # 8 KB per input block, split to 2 KB pieces
    out = pa.concat_tables([shared_rt.get(ref) for ref, _ in result.outputs])
    np.testing.assert_array_equal(out.column("x").to_numpy(), np.arange(3000) * 2)
    assert sum(m.num_rows for _, m in result.outputs) == 3000
    assert result.stats.rows_in == 3000 and result.stats.udf_s > 0
    assert all(ref.block_id not in shared_rt.store for ref in refs)  # free_inputs
    shared_rt.free([ref for ref, _ in result.outputs])


def test_user_exception_is_reported_once_and_pool_survives(shared_rt):
    fn = shared_rt.register_function(explode, "explode")
    pids = {w.pid for w in shared_rt.workers()}
    shared_rt.submit(TaskSpec(fn, payload=123, operator="MapBatches(explode)", max_retries=3))
    [(_, result)] = collect(shared_rt, 1)
    assert shared_rt.wait(0.2) == []
    err = result.error
    assert err is not None and not err.system
    assert err.operator == "MapBatches(explode)"
    assert err.type_name == "ValueError" and "boom-123" in err.message
    assert "explode" in err.traceback and "boom-123" in err.traceback
    assert isinstance(err.exception, ValueError)
    assert result.outputs == [] and result.stats.attempts == 1
    assert {w.pid for w in shared_rt.workers()} == pids  # no worker was harmed
    ok = shared_rt.register_function(report_pid, "ReportPid")
    shared_rt.submit(TaskSpec(ok, operator="ReportPid"))
    [(_, result)] = collect(shared_rt, 1)
    assert result.error is None
    shared_rt.free([ref for ref, _ in result.outputs])


def test_unknown_input_block_fails_the_task(shared_rt):
    fn = shared_rt.register_function(double, "Double")
    ref, _ = shared_rt.put(pa.table({"x": [1]}))
    shared_rt.free([ref])
    shared_rt.submit(TaskSpec(fn, inputs=[ref], operator="Double"))
    [(_, result)] = collect(shared_rt, 1)
    assert result.error is not None and result.error.system and ref.block_id in result.error.message


def test_warm_round_trip_is_fast(shared_rt):
    fn = shared_rt.register_function(report_pid, "ReportPid")
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        shared_rt.submit(TaskSpec(fn, operator="ReportPid"))
        [(_, result)] = collect(shared_rt, 1)
        shared_rt.get(result.outputs[0][0])
        shared_rt.free([ref for ref, _ in result.outputs])
        times.append(time.perf_counter() - t0)
    median = sorted(times)[len(times) // 2]
    assert median < 0.02, f"warm task round trip median {median * 1000:.1f} ms"


def test_ensure_started_applies_changed_settings(make_rt, tmp_path):
    rt = make_rt(num_workers=None)
    ctx = DataContext()
    ctx.num_workers = 3
    ctx.object_store_capacity_bytes = 1 << 20
    ctx.spill_dir = str(tmp_path)
    rt.ensure_started(ctx)
    assert len(rt.workers()) == 3 and rt.total_resources().cpu == 3
    for _ in range(3):
        rt.put(pa.table({"v": np.zeros(100_000)}))
    stats = rt.store_stats()
    assert stats.capacity_bytes == 1 << 20 and stats.spilled_total_bytes > 0
    assert rt.store.spill_dir().startswith(str(tmp_path))
    ctx.num_workers = 1
    ctx.object_store_capacity_bytes = 1 << 30
    rt.ensure_started(ctx)
    assert len(rt.workers()) == 1 and rt.store_stats().capacity_bytes == 1 << 30
    fn = rt.register_function(report_pid, "ReportPid")
    rt.submit(TaskSpec(fn, operator="ReportPid"))
    [(_, result)] = collect(rt, 1)
    assert result.error is None


def test_submit_from_another_thread_wakes_a_blocked_wait(shared_rt):
    import threading

    fn = shared_rt.register_function(report_pid, "ReportPid")
    got = []
    waiter = threading.Thread(target=lambda: got.extend(shared_rt.wait(10.0)))
    t0 = time.monotonic()
    waiter.start()
    time.sleep(0.1)
    shared_rt.submit(TaskSpec(fn, operator="ReportPid"))
    waiter.join(12)
    assert len(got) == 1 and got[0][1].error is None
    assert time.monotonic() - t0 < 2.0
    shared_rt.free([ref for ref, _ in got[0][1].outputs])
