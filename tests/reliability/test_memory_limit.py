"""DataContext.worker_memory_limit_bytes: a task allocating far past it is killed and retried, and
fails with an error naming the limit once its retries are used up; tasks within it are untouched.

The runaway UDF allocates and then waits to be stopped, so the tests never depend on how fast the
watchdog is: they only finish once it has acted.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import streamscope as ss

LIMIT = 256 << 20


def _runaway(batch):
    hog = np.ones((768 << 20) // 8)  # touched: 768 MiB of private pages
    while True:
        time.sleep(0.01)
        hog[0] += 1


def test_a_task_past_the_limit_is_killed_and_the_run_names_the_limit(runtime, ctx):
    ctx.worker_memory_limit_bytes = LIMIT
    ds = ss.range(4, override_num_blocks=1).map_batches(_runaway, max_retries=1)
    with pytest.raises(ss.WorkerCrashedError) as info:
        ds.take_all()
    message = str(info.value)
    assert "worker_memory_limit_bytes=256 MiB" in message and "gave up after 2 attempts" in message
    assert "MapBatches(_runaway)" in message


def test_a_task_killed_once_is_retried_and_the_result_is_exact(runtime, ctx, tmp_path):
    ctx.worker_memory_limit_bytes = LIMIT
    marker = tmp_path / "first-attempt-done"

    def runaway_once(batch):
        if not marker.exists():
            marker.touch()
            _runaway(batch)
        return {"id": batch["id"] * 2}

    rows = ss.range(1000, override_num_blocks=4).map_batches(runaway_once).take_all()
    assert sorted(r["id"] for r in rows) == [2 * i for i in range(1000)]
    assert marker.exists()


def test_tasks_within_the_limit_run_as_usual(runtime, ctx):
    ctx.worker_memory_limit_bytes = LIMIT

    def modest(batch):
        scratch = np.ones((16 << 20) // 8)
        return {"id": batch["id"] + int(scratch[0])}

    total = ss.range(10_000, override_num_blocks=4).map_batches(modest).sum("id")
    assert total == sum(range(10_000)) + 10_000


def test_the_memory_a_task_maps_from_the_store_does_not_count(runtime, ctx):
    # one 512 MiB block in the store (made without the limit: making it takes that much memory);
    # a task mapping it reads all of it, twice the limit
    big = ss.range_tensor(64, shape=(1 << 20,), override_num_blocks=1).materialize()
    ctx.worker_memory_limit_bytes = LIMIT

    def touch_every_page(batch):
        return {"s": np.array([int(np.asarray(row).sum()) for row in batch["data"]])}

    sums = big.map_batches(touch_every_page, batch_size=None).take_all()
    assert sorted(r["s"] for r in sums) == sorted(i * (1 << 20) for i in range(64))
