"""An unusable spill location is the store's fault, never the user's: runs that need no spilling
are unaffected, a run that needs to spill fails with ObjectStoreFullError naming the directory
(even with ``max_errored_blocks=-1``, which forgives only user errors), and the session goes on:
the next run, with a usable spill directory, is exact and nothing of the failed run is left."""

from __future__ import annotations

import os

import numpy as np
import pytest

import streamscope
from streamscope.engine.exceptions import ObjectStoreFullError, UserCodeException

ROWS = 400_000


def _as_float(batch):
    return {"v": batch["id"].astype("float64")}


def _unusable(tmp_path) -> str:
    """A spill location that cannot be created, for root too: its parent is a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return str(blocker / "spill")


def _store_files(runtime) -> set[str]:
    return set(os.listdir(runtime.store.directory))


def test_an_unusable_spill_dir_does_not_touch_runs_that_do_not_spill(ctx, tmp_path):
    ctx.spill_dir = _unusable(tmp_path)
    ctx.max_errored_blocks = -1  # would hide failed tasks as skipped blocks if they were user errors
    rows = streamscope.range(50_000, override_num_blocks=10).map_batches(_as_float).take_all()
    assert len(rows) == 50_000
    assert sum(row["v"] for row in rows) == float(sum(range(50_000)))


def test_a_run_that_must_spill_fails_naming_the_directory_and_the_session_goes_on(ctx, tmp_path, runtime):
    ds = streamscope.range(ROWS, override_num_blocks=8).map_batches(_as_float)
    streamscope.range(10).take_all()  # the runtime is started and idle
    workers_before = len(runtime.workers())
    files_before = _store_files(runtime)

    bad = _unusable(tmp_path)
    ctx.spill_dir = bad
    ctx.max_errored_blocks = -1
    ctx.object_store_capacity_bytes = 1 << 20  # 1 MiB: the 3.2 MB result must spill
    with pytest.raises(ObjectStoreFullError) as info:
        ds.materialize()
    assert not isinstance(info.value, UserCodeException)
    assert bad in str(info.value) and "spill_dir" in str(info.value)
    assert _store_files(runtime) == files_before  # the failed run's blocks are gone
    assert len(runtime.workers()) == workers_before

    ctx.spill_dir = str(tmp_path / "good")
    done = ds.materialize()
    values = np.concatenate([batch["v"] for batch in done.iter_batches(batch_size=None)])
    assert len(values) == ROWS and values.sum() == float(sum(range(ROWS)))
    assert runtime.store_stats().spilled_total_bytes > 0
    assert os.listdir(str(tmp_path / "good"))  # the spill dir was created when it was needed
