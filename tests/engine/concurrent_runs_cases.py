"""Several runs at once on one runtime, as a notebook user makes them: a background run with
foreground work next to it, threads sharing one Dataset, an iterator left open, interrupts.

The cases live here so the same checks run on every runtime: ``test_concurrent_runs.py`` runs
them on the local and in-process runtimes, ``runtime/ray/test_ray_concurrent_runs.py`` on Ray.
Nothing here depends on timing: the background run is held open by a gate file that only the test
opens, so "the foreground finished first" is a fact the test arranges, not a race it hopes to win.
"""

from __future__ import annotations

import _thread
import gc
import os
import random
import sys
import threading
import time

import cloudpickle
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import streamscope as ss

# Workers (processes, Ray) get this module's UDFs by value: they need not import a test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

GATE_TIMEOUT_S = 120.0


class HoldLastBlock:
    """A map_batches UDF that passes rows through, but the batch holding ``last_id`` waits until
    ``gate`` exists: the run cannot finish before the test says so, yet only one task is held."""

    def __init__(self, gate: str, last_id: int):
        self.gate = gate
        self.last_id = last_id

    def __call__(self, batch):
        if self.last_id in batch["id"]:
            deadline = time.monotonic() + GATE_TIMEOUT_S
            while not os.path.exists(self.gate):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gate {self.gate} never opened")
                time.sleep(0.01)
        else:
            time.sleep(0.005)
        return batch


def double(batch):
    return {"id": batch["id"] * 2}


def start_thread(fn, out: dict, key: str) -> threading.Thread:
    def body():
        try:
            out[key] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out[key] = exc

    t = threading.Thread(target=body, name=f"test-{key}", daemon=True)
    t.start()
    return t


def executor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("streamscope-executor")]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def groups_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"k": np.arange(n) % 13, "v": np.arange(n, dtype=np.int64)})


def expected_group_sums(df: pd.DataFrame) -> dict[int, int]:
    return {int(k): int(v) for k, v in df.groupby("k")["v"].sum().items()}


# ---- the cases -----------------------------------------------------------------------------------
def case_foreground_runs_finish_next_to_a_background_run(tmp_path):
    n = 20_000
    gate = str(tmp_path / "gate")
    bg = ss.range(n, override_num_blocks=40).map_batches(HoldLastBlock(gate, n - 1))
    out: dict = {}
    bg_thread = start_thread(lambda: sorted(r["id"] for r in bg.take_all()), out, "bg")

    df = groups_frame(3000)
    mapped = ss.range(5000, override_num_blocks=5).map_batches(double).take_all()
    sorted_rows = ss.range(3000, override_num_blocks=6).random_shuffle(seed=1).sort("id", descending=True).take_all()
    grouped = ss.from_pandas(df).repartition(4).groupby("k").sum("v").to_pandas()
    ss.from_pandas(df).repartition(3).write_parquet(str(tmp_path / "out"))

    assert bg_thread.is_alive() and "bg" not in out  # the gate holds it: the foreground came first
    assert sorted(r["id"] for r in mapped) == [2 * i for i in range(5000)]
    assert [r["id"] for r in sorted_rows] == list(range(2999, -1, -1))
    assert dict(zip(grouped["k"], grouped["sum(v)"])) == expected_group_sums(df)
    written = pq.read_table(str(tmp_path / "out")).to_pandas().sort_values("v", ignore_index=True)
    pd.testing.assert_frame_equal(written[["k", "v"]], df, check_dtype=False)

    open(gate, "w").close()
    bg_thread.join(GATE_TIMEOUT_S)
    assert out["bg"] == list(range(n))


def case_threads_share_sorted_grouped_and_joined_datasets(tmp_path, threads: int = 4, rounds: int = 2):
    n = 6000
    sorted_ds = ss.range(n, override_num_blocks=8).random_shuffle(seed=7).sort("id")
    df = groups_frame(n)
    grouped_ds = ss.from_pandas(df).repartition(6).groupby("k").sum("v")
    left = ss.from_pandas(pd.DataFrame({"key": np.arange(500), "a": np.arange(500) * 3})).repartition(3)
    right = ss.from_pandas(pd.DataFrame({"key": np.arange(0, 1000, 2), "b": np.arange(500)})).repartition(2)
    joined_ds = left.join(right, join_type="inner", on=("key",))
    want_groups = expected_group_sums(df)
    want_join = {k: (k * 3, k // 2) for k in range(0, 500, 2)}

    def check_all() -> str:
        for _ in range(rounds):
            ids = [r["id"] for r in sorted_ds.take_all()]
            assert ids == list(range(n)), "sort order broken"
            g = grouped_ds.to_pandas()
            assert dict(zip(g["k"], g["sum(v)"])) == want_groups, "group sums broken"
            j = {r["key"]: (r["a"], r["b"]) for r in joined_ds.take_all()}
            assert j == want_join, "join broken"
        return "ok"

    out: dict = {}
    background = start_thread(lambda: sorted_ds.materialize().take_all(), out, "background")
    workers = [start_thread(check_all, out, f"t{i}") for i in range(threads)]
    for t in [*workers, background]:
        t.join(300)
    for i in range(threads):
        assert out[f"t{i}"] == "ok", out[f"t{i}"]
    assert [r["id"] for r in out["background"]] == list(range(n))


def case_open_iterator_does_not_block_other_runs():
    total = 200 * 500
    ds = ss.range(total, override_num_blocks=200).map_batches(double)
    it = iter(ds.iter_batches(batch_size=500, prefetch_batches=0))
    first = next(it)
    held = ds._last_run
    for i in range(10):
        got = ss.range(1000 + i, override_num_blocks=4).map_batches(double).take_all()
        assert sorted(r["id"] for r in got) == [2 * j for j in range(1000 + i)]
    produced = sum(o.rows_out for o in held.buffer.latest().operators)
    assert produced < total // 2  # the paused run was held by backpressure, not run to the end
    seen = list(first["id"]) + [x for batch in it for x in batch["id"]]
    assert sorted(seen) == [2 * j for j in range(total)]


def case_dropped_iterator_cancels_its_run(runtime):
    gc.collect()  # blocks of earlier tests' datasets are freed now, not in the middle of this one
    base = runtime.store_stats().num_blocks
    ds = ss.range(50_000, override_num_blocks=100).map_batches(double)
    it = iter(ds.iter_batches(batch_size=100))
    next(it)
    run = ds._last_run
    del it
    gc.collect()
    assert wait_until(lambda: run.state != "running")
    assert run.state == "cancelled"
    assert wait_until(lambda: runtime.store_stats().num_blocks == base)
    assert sorted(r["id"] for r in ss.range(300, override_num_blocks=3).map_batches(double).take_all()) == \
        [2 * j for j in range(300)]


def case_interrupts_at_random_moments(runtime, seed: int = 11, interrupts: int = 20):
    """KeyboardInterrupts land anywhere in the consumer: in planning, while waiting for output,
    between receiving and reading a block. Each later run is exact, and nothing is left over."""
    rng = random.Random(seed)
    gc.collect()
    base_blocks = runtime.store_stats().num_blocks
    base_bytes = runtime.store_stats().in_memory_bytes
    bg_ds = ss.range(4000, override_num_blocks=20).map_batches(double)
    out: dict = {}
    bg = start_thread(lambda: sorted(r["id"] for r in bg_ds.take_all()), out, "bg")

    def work(kind: int):
        if kind == 0:
            return sum(len(b["id"]) for b in ss.range(8000, override_num_blocks=16).map_batches(double).iter_batches(batch_size=300))
        if kind == 1:
            return len(ss.range(2000, override_num_blocks=8).random_shuffle(seed=2).sort("id").take_all())
        if kind == 2:
            return ss.range(6000, override_num_blocks=12).map_batches(double).count()
        return len(ss.from_pandas(groups_frame(2000)).repartition(4).groupby("k").sum("v").take_all())

    for _ in range(interrupts):
        timer = threading.Timer(rng.uniform(0.0, 0.4), _thread.interrupt_main)
        try:
            timer.start()
            work(rng.randrange(4))
            timer.join()
            while True:  # the interrupt was sent: it lands here if the work ended first
                time.sleep(0.01)
        except KeyboardInterrupt:
            pass
        finally:
            timer.join()
        # a later run is exact whatever the interrupt hit
        check = ss.range(900, override_num_blocks=3).map_batches(double).take_all()
        assert sorted(r["id"] for r in check) == [2 * j for j in range(900)]

    bg.join(120)
    assert out["bg"] == [2 * j for j in range(4000)]
    gc.collect()
    assert wait_until(lambda: not executor_threads()), [t.name for t in executor_threads()]
    assert wait_until(lambda: runtime.store_stats().num_blocks == base_blocks), runtime.store_stats()
    if runtime.name != "ray":  # Ray's figure is the whole cluster store's (function refs too)
        assert runtime.store_stats().in_memory_bytes == base_bytes
    assert runtime.open_runs() == []


def case_streaming_split_consumers_next_to_a_count():
    ds = ss.range(6000, override_num_blocks=12).map_batches(double)
    splits = ds.streaming_split(2, equal=False)
    out: dict = {}
    consumers = [
        start_thread(lambda it=it: [int(x) for b in it.iter_batches(batch_size=100) for x in b["id"]], out, f"s{i}")
        for i, it in enumerate(splits)
    ]
    counted = [ds.count() for _ in range(3)]
    for t in consumers:
        t.join(120)
    assert counted == [6000, 6000, 6000]
    assert sorted(out["s0"] + out["s1"]) == [2 * j for j in range(6000)]
