"""stats() (text and structured fields) and DataContext settings taking effect at the next run."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import streamscope
from streamscope import DataContext


def slow_batch(batch):
    time.sleep(0.05)
    return {"id": batch["id"] * 2}


def test_stats_text_and_fields(runtime):
    ds = streamscope.range(400, override_num_blocks=8).map_batches(slow_batch)
    ds.set_name("doubled")
    assert "not been executed" in ds.stats()
    assert sorted(r["id"] for r in ds.take_all()) == [i * 2 for i in range(400)]
    st = ds.stats()
    assert isinstance(st, str)
    assert st.state == "succeeded"
    assert st.rows_out == 400
    assert st.wall_s > 0.05
    (op,) = st.operators
    assert op.fused == ("ReadRange", "MapBatches(slow_batch)")
    assert op.rows_out == 400 and op.tasks == 8 and op.blocks >= 8
    assert op.udf_s >= 8 * 0.05 * 0.9
    assert op.wall_s > 0
    assert "doubled" in st and "Operator 0 ReadRange->MapBatches(slow_batch)" in st
    d = st.to_dict()
    assert d["rows_out"] == 400 and d["operators"][0]["rows_out"] == 400 and d["state"] == "succeeded"


def test_stats_of_a_limit_run(runtime):
    ds = streamscope.range(1000, override_num_blocks=10).map_batches(lambda b: b).limit(10)
    assert len(ds.take_all()) == 10
    st = ds.stats()
    assert st.state == "succeeded" and st.rows_out == 10
    assert st.operators[-1].rows_out == 10


def test_target_max_block_size_takes_effect_next_run(runtime, ctx):
    def big(batch):
        return {"x": np.zeros((len(batch["id"]), 1024), dtype=np.uint8)}  # 1 KiB per row

    ds = streamscope.range(2000, override_num_blocks=1).map_batches(big)
    before = ds.materialize().num_blocks()
    ctx.target_max_block_size = 64 << 10
    ctx.target_min_block_size = 16 << 10
    after_mat = ds.materialize()
    assert after_mat.num_blocks() > before
    assert after_mat.count() == 2000
    assert all(b["x"].nbytes <= 80 << 10 for b in after_mat.iter_batches(batch_size=None))


def test_preserve_order_takes_effect_next_run(runtime, ctx):
    def jitter(batch):
        time.sleep(0.02 * (int(batch["id"][0]) % 3))
        return batch

    ds = streamscope.range(200, override_num_blocks=20).map_batches(jitter)
    ctx.execution_options.preserve_order = True
    assert [r["id"] for r in ds.take_all()] == list(range(200))


def test_resource_limits_cpu_takes_effect(runtime, ctx, tmp_path):
    marker = str(tmp_path)

    def overlap(batch):
        path = os.path.join(marker, f"{os.getpid()}-{batch['id'][0]}")
        start = time.time()
        time.sleep(0.05)
        with open(path, "w") as f:
            f.write(f"{start} {time.time()}")
        return batch

    ctx.execution_options.resource_limits = streamscope.ExecutionResources(cpu=1)
    assert streamscope.range(60, override_num_blocks=6).map_batches(overlap).count() == 60
    spans = sorted(tuple(map(float, open(os.path.join(marker, n)).read().split())) for n in os.listdir(marker))
    assert len(spans) == 6
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert s1 >= e0 - 0.01, "tasks overlapped although cpu=1"


def test_max_errored_blocks_skips_failed_blocks(runtime, ctx):
    def fail_first(batch):
        if batch["id"][0] == 0:
            raise ValueError("bad block")
        return batch

    ds = streamscope.range(100, override_num_blocks=10).map_batches(fail_first)
    with pytest.raises(ValueError):
        ds.take_all()
    ctx.max_errored_blocks = 1
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == list(range(10, 100))


def test_context_is_a_singleton_with_ray_defaults():
    ctx = DataContext.get_current()
    assert ctx is DataContext.get_current()
    fresh = DataContext()
    assert fresh.target_max_block_size == 128 * 1024 * 1024
    assert fresh.target_min_block_size == 1024 * 1024
    assert fresh.execution_options.preserve_order is False
    assert streamscope.DatasetContext is DataContext
