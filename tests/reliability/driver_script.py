"""Drivers the reliability tests run in processes of their own (a driver killed with SIGKILL, an
interrupt storm): each prints one JSON line starting with ``REPORT_PREFIX``.

Usage: ``python driver_script.py MODE SPILL_PARENT [ARGS...]``

* ``killme``: starts a run that spills and keeps going, reports the driver's, workers' and
  helpers' pids and the store and spill directories, then waits to be killed.
* ``sweep DIR...``: starts a new session (which sweeps dead sessions' directories) and reports
  which of the given directories still exist.
* ``storm SEED N``: N KeyboardInterrupts at seeded random moments across runs; after each the
  next run must be exact; at the end it reports what is left over.
"""

from __future__ import annotations

import _thread
import gc
import json
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT_PREFIX = "STREAMSCOPE-REPORT "


def report(**fields) -> None:
    print(REPORT_PREFIX + json.dumps(fields), flush=True)


def _setup(spill_parent: str):
    import streamscope as ss
    from streamscope.engine.context import DataContext
    from streamscope.engine.runtime import get_runtime

    ctx = DataContext.get_current()
    ctx.small_plan_inline_rows, ctx.enable_progress_bars, ctx.runtime = 0, False, "local"
    ctx.spill_dir = spill_parent
    rt = get_runtime()
    rt.ensure_started(ctx)
    return ss, ctx, rt


def _slow(batch):
    time.sleep(0.05)
    return batch


def killme(spill_parent: str) -> None:
    import psutil

    ss, ctx, rt = _setup(spill_parent)
    ctx.object_store_capacity_bytes = 1 << 20
    held = ss.range(400_000, override_num_blocks=8).map_batches(lambda b: {"v": b["id"] * 2}).materialize()
    assert rt.store_stats().spilled_now_bytes > 0  # the spill directory exists and holds blocks
    it = iter(ss.range(10_000_000, override_num_blocks=2000).map_batches(_slow).iter_batches(batch_size=10))
    next(it)  # a run is in flight, its workers busy
    me = psutil.Process()
    report(driver=os.getpid(), workers=[w.pid for w in rt.workers()],
           children=[c.pid for c in me.children(recursive=True)],
           store_dir=rt.store.directory, spill_dirs=rt.store.spill_dirs(), blocks=held.num_blocks())
    while True:
        next(it)


def sweep(spill_parent: str, dirs: list[str]) -> None:
    ss, ctx, rt = _setup(spill_parent)
    assert ss.range(100).map_batches(lambda b: b).count() == 100
    report(existing=[d for d in dirs if os.path.exists(d)], store_dir=rt.store.directory)


def _double(batch):
    return {"id": batch["id"] * 2}


def _poker(counter_dir: str, at_call: int, driver_pid: int):
    """A batch UDF that sends SIGINT to the driver on its ``at_call``-th call (all workers
    counting together): an interrupt that surely lands while the run is in flight."""
    import signal as _signal

    from chaos import next_call

    def poke(batch):
        if next_call(counter_dir) == at_call:
            os.kill(driver_pid, _signal.SIGINT)
        return batch

    return poke


def storm(spill_parent: str, seed: int, interrupts: int) -> None:
    import tempfile

    import psutil

    ss, ctx, rt = _setup(spill_parent)
    rng = random.Random(seed)
    assert ss.range(100).map_batches(_double).count() == 100
    gc.collect()
    base = rt.store_stats()
    base_files = set(os.listdir(rt.store.directory))
    worker_count = len(rt.workers())
    helpers = {c.pid for c in psutil.Process().children(recursive=True)} - {w.pid for w in rt.workers()}

    def work(kind: int, poke) -> None:
        if kind == 0:
            sum(len(b["id"]) for b in ss.range(8000, override_num_blocks=16).map_batches(poke).map_batches(_double).iter_batches(batch_size=300))
        elif kind == 1:
            ss.range(3000, override_num_blocks=8).map_batches(poke).random_shuffle(seed=2).sort("id").take_all()
        elif kind == 2:
            ss.range(4000, override_num_blocks=8).map_batches(poke).map_batches(lambda b: {"k": b["id"] % 5, "v": b["id"]}).groupby("k").sum("v").take_all()
        elif kind == 3:
            ss.range(6000, override_num_blocks=12).map_batches(poke).map_batches(_double).materialize()
        else:
            left = ss.range(2000, override_num_blocks=4).map_batches(poke).map_batches(lambda b: {"v": b["id"]})
            left.join(ss.range(1000, override_num_blocks=2).map_batches(lambda b: {"v": b["id"], "w": b["id"]}), "inner", on=("v",)).take_all()

    landed_in_run = {"timer": 0, "udf": 0}
    sent = {"timer": 0, "udf": 0}
    checks = 0
    for i in range(interrupts):
        counter_dir = tempfile.mkdtemp(prefix="storm-", dir=spill_parent)
        # even rounds: a timer thread interrupts at a random moment (planning, waiting, reading,
        # or after the run); odd rounds: the run's own UDF sends SIGINT on a random call
        source = "timer" if i % 2 == 0 else "udf"
        sent[source] += 1
        timer = None
        if source == "timer":
            poke = lambda b: b  # noqa: E731
            timer = threading.Timer(rng.uniform(0.0, 0.2), _thread.interrupt_main)
        else:
            poke = _poker(counter_dir, rng.randint(1, 4), os.getpid())
        kind = rng.randrange(5)
        try:
            if timer is not None:
                timer.start()
            try:
                work(kind, poke)
            except KeyboardInterrupt:
                landed_in_run[source] += 1
                raise
            if timer is not None:
                timer.join()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the interrupt was sent: it lands here if the work ended first
                time.sleep(0.01)
            raise AssertionError(f"round {i}: the interrupt never landed")
        except KeyboardInterrupt:
            pass
        finally:
            if timer is not None:
                timer.join()
        # the next run is exact whatever the interrupt hit
        got = sorted(r["id"] for r in ss.range(900, override_num_blocks=3).map_batches(_double).take_all())
        assert got == [2 * j for j in range(900)], "a run after an interrupt was not exact"
        total = ss.range(2000, override_num_blocks=4).map_batches(lambda b: {"k": b["id"] % 3, "v": b["id"]}).groupby("k").sum("v").take_all()
        assert sorted((r["k"], r["sum(v)"]) for r in total) == [(k, sum(i for i in range(2000) if i % 3 == k)) for k in range(3)]
        checks += 1

    deadline = time.monotonic() + 20
    while True:
        gc.collect()
        stats = rt.store_stats()
        threads = [t.name for t in threading.enumerate() if t.name.startswith("streamscope-executor")]
        busy = [w.pid for w in rt.workers() if w.busy]
        settled = (stats.num_blocks == base.num_blocks and stats.in_memory_bytes == base.in_memory_bytes
                   and not threads and not busy and not rt.open_runs())
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    workers = {w.pid for w in rt.workers()}
    children = {c.pid for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE}
    report(checks=checks, sent=sent, landed_in_run=landed_in_run, blocks=stats.num_blocks - base.num_blocks,
           bytes=stats.in_memory_bytes - base.in_memory_bytes, threads=threads, busy=busy,
           open_runs=list(rt.open_runs()), workers=len(workers), expected_workers=worker_count,
           stray_children=sorted(children - workers - helpers), new_files=sorted(set(os.listdir(rt.store.directory)) - base_files),
           spill_files=sum(len(os.listdir(d)) for d in rt.store.spill_dirs() if os.path.isdir(d)))


def main() -> None:
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    mode, spill_parent, *args = sys.argv[1:]
    if mode == "killme":
        killme(spill_parent)
    elif mode == "sweep":
        sweep(spill_parent, args)
    elif mode == "storm":
        storm(spill_parent, int(args[0]), int(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
