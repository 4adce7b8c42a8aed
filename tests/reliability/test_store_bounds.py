"""The store's shared memory stays bounded by its capacity, whatever size the outputs are.

A task that reports its outputs only when it ends (an exchange's reduce task, here a
``map_groups`` over few partitions) used to write all of them into tmpfs first: 16 MiB per group
over 32 groups put ~460 MiB in /dev/shm with the store capped at 64 MiB. Now a task keeps at most
its share of a quarter of the capacity in tmpfs before reporting; the rest goes straight to disk.

The UDF itself measures the store directory (the pages its files hold) on every call, so the peak
is read at the moments it grows, without sampling on a timer.
"""

from __future__ import annotations

import os

import numpy as np

import streamscope as ss

CAPACITY = 64 << 20
ROWS_PER_GROUP = 1 << 20  # two int64 columns: 16 MiB per group
GROUPS = 32


def _tmpfs_bytes(directory: str) -> int:
    total = 0
    for entry in os.scandir(directory):
        try:
            total += entry.stat().st_blocks * 512
        except FileNotFoundError:  # freed or spilled while we looked
            pass
    return total


def test_outputs_far_larger_than_the_store_keep_tmpfs_near_its_capacity(runtime, ctx):
    ctx.object_store_capacity_bytes = CAPACITY
    store_dir = runtime._state.store.directory

    def sixteen_mib(group):
        key = int(group["key"][0])
        seen = _tmpfs_bytes(store_dir)
        return {"key": np.full(ROWS_PER_GROUP, key, dtype=np.int64), "seen": np.full(ROWS_PER_GROUP, seen, dtype=np.int64)}

    ds = (ss.range(GROUPS).map_batches(lambda b: {"key": b["id"]})
          .groupby("key", num_partitions=2).map_groups(sixteen_mib))
    rows, key_sum, peak, keys = 0, 0, 0, set()
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        rows += len(batch["key"])
        key_sum += int(batch["key"].sum())
        keys.update(np.unique(batch["key"]).tolist())
        peak = max(peak, int(batch["seen"].max()))

    assert rows == GROUPS * ROWS_PER_GROUP
    assert keys == set(range(GROUPS)) and key_sum == ROWS_PER_GROUP * sum(range(GROUPS))
    writers = runtime._state.pool.size
    first_blocks = writers * 2 * ROWS_PER_GROUP * 8  # each running task's first output block
    assert peak <= 1.25 * CAPACITY + first_blocks, f"tmpfs held {peak >> 20} MiB with a {CAPACITY >> 20} MiB store"
    assert ds.stats().spilled_bytes >= GROUPS * ROWS_PER_GROUP * 16 - 2 * CAPACITY  # the rest went to disk
