"""Fault tests on the warm local runtime: a killed worker, a raising UDF, a KeyboardInterrupt at
the consumer, a store far smaller than the data, bad files."""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest

import streamscope


def _wait_for(pred, timeout=15.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def _tree_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def _quiet(runtime, blocks_before):
    """The runtime is back to idle: no busy worker, no block beyond what the session held."""
    return _wait_for(lambda: not any(w.busy for w in runtime.workers()) and runtime.store_stats().num_blocks <= blocks_before)


def _slow_identity(delay):
    def slow(batch):
        time.sleep(delay)
        return batch

    return slow


def test_sigkill_worker_mid_run_gives_exact_results(runtime):
    n_workers = len(runtime.workers())
    killed = []

    def killer():
        if _wait_for(lambda: any(w.busy for w in runtime.workers()), timeout=10):
            victim = next(w for w in runtime.workers() if w.busy)
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    t = threading.Thread(target=killer)
    t.start()
    ds = streamscope.range(240, override_num_blocks=12).map_batches(_slow_identity(0.15))
    ids = sorted(r["id"] for r in ds.take_all())
    t.join()
    assert killed, "no busy worker to kill"
    assert ids == list(range(240))
    assert _wait_for(lambda: len(runtime.workers()) == n_workers and killed[0] not in {w.pid for w in runtime.workers()})
    assert streamscope.range(10).map(lambda r: r).count() == 10


def boom(batch):
    if batch["id"].max() >= 50:
        return 1 / 0
    return batch


def test_udf_error_names_operator_keeps_traceback_pool_usable(runtime):
    n_workers = len(runtime.workers())
    ds = streamscope.range(100, override_num_blocks=4).map_batches(boom)
    with pytest.raises(ZeroDivisionError) as info:
        ds.take_all()
    exc = info.value
    text = str(exc)
    assert "MapBatches(boom)" in text
    assert "ZeroDivisionError" in text
    assert "1 / 0" in text and "in boom" in text  # the worker's traceback, with the user's frame
    assert isinstance(exc, streamscope.UserCodeException)
    assert isinstance(exc.__cause__, ZeroDivisionError)
    assert ds.stats().state == "failed"
    # the pool survives a user error (a worker still running a sibling task may be replaced when
    # the run's tasks are cancelled): as many live workers as before, and they work
    assert _wait_for(lambda: len(runtime.workers()) == n_workers and all(psutil.pid_exists(w.pid) for w in runtime.workers()))
    assert sorted(r["id"] for r in streamscope.range(20).map(lambda r: r).take_all()) == list(range(20))


def test_row_udf_error_in_fused_chain_names_the_right_operator(runtime):
    def bad_row(row):
        raise ValueError(f"bad row {row['id']}")

    ds = streamscope.range(10).map(lambda r: r).filter(bad_row)
    with pytest.raises(ValueError) as info:
        ds.take_all()
    assert "Filter(bad_row)" in str(info.value)
    assert "bad row" in str(info.value)


def _assert_clean_after_interrupt(runtime, shm_before, tree_before, blocks_before):
    assert _quiet(runtime, blocks_before), (runtime.workers(), runtime.store_stats())
    assert _wait_for(lambda: len(_tree_pids()) <= len(tree_before))
    own = f"-{os.getpid()}"
    now = {n for n in os.listdir("/dev/shm") if n.startswith("streamscope-") and n.endswith(own)}
    assert now <= shm_before
    assert sorted(r["id"] for r in streamscope.range(30).map(lambda r: r).take_all()) == list(range(30))


def test_keyboard_interrupt_inside_consuming_loop(runtime, shm_dirs):
    streamscope.range(4).map(lambda r: r).take_all()  # warm
    shm_before, tree_before = shm_dirs(), _tree_pids()
    blocks_before = runtime.store_stats().num_blocks
    ds = streamscope.range(400, override_num_blocks=40).map_batches(_slow_identity(0.05))
    with pytest.raises(KeyboardInterrupt):
        for i, _ in enumerate(ds.iter_batches(batch_size=10)):
            if i == 2:
                raise KeyboardInterrupt
    assert _wait_for(lambda: ds._last_run.state == "cancelled", timeout=10)
    _assert_clean_after_interrupt(runtime, shm_before, tree_before, blocks_before)


def test_interrupt_main_during_take_all(runtime, shm_dirs):
    streamscope.range(4).map(lambda r: r).take_all()
    shm_before, tree_before = shm_dirs(), _tree_pids()
    blocks_before = runtime.store_stats().num_blocks
    ds = streamscope.range(400, override_num_blocks=40).map_batches(_slow_identity(0.1))
    timer = threading.Timer(0.6, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            ds.take_all()
    finally:
        timer.cancel()
    assert _wait_for(lambda: ds._last_run.state == "cancelled", timeout=10)
    assert ds.stats().state == "cancelled"
    _assert_clean_after_interrupt(runtime, shm_before, tree_before, blocks_before)


def make_mib_rows(batch):
    n = len(batch["id"])
    payload = np.empty((n, 1 << 20), dtype=np.uint8)
    payload[:] = (batch["id"] % 251).astype(np.uint8)[:, None]
    return {"id": batch["id"], "payload": payload}


def row_sums(batch):
    return {"id": batch["id"], "s": batch["payload"].reshape(len(batch["id"]), -1).astype(np.int64).sum(axis=1)}


@pytest.mark.slow
def test_small_store_spills_and_stays_bounded(runtime, ctx):
    ctx.object_store_capacity_bytes = 64 << 20
    rows = 1024  # 1 GiB of payload through a 64 MiB store
    peak = [0]
    stop = threading.Event()

    def sample():
        me = psutil.Process()
        while not stop.is_set():
            total = 0
            for p in [me] + me.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        ds = streamscope.range(rows, override_num_blocks=64).map_batches(make_mib_rows, batch_size=16)
        mat = ds.materialize()
        st = mat.stats()
        assert st.state == "succeeded"
        assert st.spilled_bytes > 0 and st.to_dict()["spilled_bytes"] == st.spilled_bytes
        # the spill is attributed to the operator whose outputs were spilled
        per_op = {o.name: o.spilled_bytes for o in st.operators}
        assert per_op["MapBatches(make_mib_rows)"] > 0, per_op  # a batch_size keeps it apart from the read
        assert sum(per_op.values()) <= st.spilled_bytes + (64 << 20)
        assert 0 < st.peak_store_bytes <= 2 * (64 << 20), st.peak_store_bytes
        assert mat.count() == rows
        sums = mat.map_batches(row_sums).to_pandas()
    finally:
        stop.set()
        sampler.join()
    expected = {i: (i % 251) * (1 << 20) for i in range(rows)}
    assert dict(zip(sums["id"].tolist(), sums["s"].tolist())) == expected
    # RSS counts the store's mapped pages once per process that maps them, so this is a loose
    # bound: far below what holding the 1 GiB payload in every process would cost
    assert peak[0] < 2048 << 20, f"peak RSS of the process tree {peak[0] >> 20} MiB"
    print(f"peak RSS {peak[0] >> 20} MiB, spilled {st.spilled_bytes >> 20} MiB, peak store {st.peak_store_bytes >> 20} MiB")
    del mat
    # spill figures are per run: a small run after the big one spilled nothing itself
    small = streamscope.range(1000).map_batches(lambda b: b)
    assert small.count() == 1000
    assert small.stats().spilled_bytes == 0


def test_runtime_recovers_store_after_spill_test(runtime):
    assert streamscope.range(100).map_batches(lambda b: b).count() == 100
