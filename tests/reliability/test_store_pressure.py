"""The store under pressure: taking one batch of a 1,000-block dataset starts only the few tasks
backpressure allows; a 1 MiB store with ``preserve_order`` delivers every row in order; a
streaming pipeline several times the store's capacity completes without spilling (backpressure
keeps each stage's pending output, and the input bundle a stage gathers, inside the store).

Before the fix, a two-stage pipeline through a 1 MiB store spilled more bytes than the whole
dataset: each operator's output budget had a floor of 8 MiB whatever the store's size, and a
stage gathered 1 MiB (``target_min_block_size``) of input for each task."""

from __future__ import annotations

import time

import numpy as np
import pytest

import streamscope as ss

from chaos import next_call

CAPACITY = 1 << 20


def _widen(batch):
    n = len(batch["id"])
    return {"id": batch["id"], "pad": np.ones((n, 32), dtype=np.float64)}  # 264 bytes a row


def _identity(batch):
    return batch


def test_one_batch_of_a_thousand_blocks_starts_only_a_few_tasks(runtime, ctx, leaks, tmp_path):
    def counted(batch):
        next_call(str(tmp_path))
        return batch

    ds = ss.range(100_000, override_num_blocks=1000).map_batches(counted)
    iterator = iter(ds.iter_batches(batch_size=10))
    first = next(iterator)
    assert len(first["id"]) == 10 and all(0 <= i < 100_000 for i in first["id"])
    time.sleep(0.5)  # hold the iterator: backpressure, not the early close, must bound the tasks
    del iterator
    stats = ds.stats()
    calls = int((tmp_path / "calls").read_text())
    tasks = stats.operators[0].tasks
    # what backpressure allows however slow the consumer: blocks waiting for it (dispatch stops
    # once more than 8 wait: DownstreamCapacity), one task per worker slot still running then,
    # and the few blocks the consumer's batcher and prefetch thread hold
    bound = (8 + 1) + runtime.pool.size + 4
    assert tasks == calls and 1 <= calls <= bound, (calls, bound)
    assert stats.state == "cancelled"
    leaks.check()


@pytest.mark.parametrize("preserve_order", [True, False])
def test_a_one_mib_store_delivers_every_row_and_in_order_when_asked(runtime, ctx, leaks, preserve_order):
    ctx.object_store_capacity_bytes = CAPACITY
    ctx.execution_options.preserve_order = preserve_order
    n = 32_000  # 8.4 MB through a 1 MiB store
    ds = ss.range(n, override_num_blocks=64).map_batches(_widen).map_batches(_identity, num_cpus=0.5)
    ids = np.concatenate([b["id"] for b in ds.iter_batches(batch_size=None)])
    if preserve_order:
        assert ids.tolist() == list(range(n))
    else:
        assert sorted(ids.tolist()) == list(range(n))
    assert ds.stats().spilled_bytes == 0
    leaks.check()


@pytest.mark.parametrize("stages, rows_per_block", [(1, 500), (2, 500), (3, 250)])
def test_a_streaming_pipeline_many_times_the_store_does_not_spill(runtime, ctx, leaks, stages, rows_per_block):
    ctx.object_store_capacity_bytes = CAPACITY
    n = rows_per_block * 64  # 4 to 17 MB: many times the store
    ds = ss.range(n, override_num_blocks=64).map_batches(_widen)
    for i in range(stages - 1):
        ds = ds.map_batches(_identity, num_cpus=0.5 + 0.1 * i)  # not fused: a stage of its own
    rows = total = 0
    for batch in ds.iter_batches(batch_size=None):
        rows += len(batch["id"])
        total += int(batch["id"].sum())
        time.sleep(0.002)  # a consumer slower than the producers
    assert rows == n and total == n * (n - 1) // 2
    stats = ds.stats()
    assert n * 264 > 4 * CAPACITY
    assert stats.spilled_bytes == 0, str(stats)
    leaks.check()


def test_a_failed_run_under_preserve_order_frees_the_outputs_waiting_for_an_earlier_block(runtime, ctx, leaks, tmp_path):
    # the first block fails only once three later blocks are done: their outputs wait, in order,
    # behind it; they used to stay in the store for the rest of the session
    ctx.execution_options.preserve_order = True

    def late_failure(batch):
        first = int(batch["id"][0])
        if first == 0:
            deadline = time.monotonic() + 60
            while len(list(tmp_path.iterdir())) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise ValueError("block 0 fails last")
        (tmp_path / str(first)).touch()
        return batch

    with pytest.raises(ValueError, match="block 0 fails last"):
        ss.range(1000, override_num_blocks=10).map_batches(late_failure).take_all()
    assert len(list(tmp_path.iterdir())) >= 3
    leaks.check()
