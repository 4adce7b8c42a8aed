"""Ten epochs over one materialized dataset, with ``iter_batches``, ``iter_torch_batches`` and a
per-epoch map (so workers run every epoch): after the first epoch nothing grows — store blocks
and bytes, open file descriptors of the driver and of every worker, processes."""

from __future__ import annotations

import gc

import psutil
import pytest

import streamscope as ss

torch = pytest.importorskip("torch")

ROWS = 20_000


def _footprint(runtime) -> dict:
    gc.collect()
    stats = runtime.store_stats()
    me = psutil.Process()
    children = [p for p in me.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    return {
        "blocks": stats.num_blocks,
        "store bytes": stats.in_memory_bytes + stats.spilled_now_bytes,
        "driver fds": me.num_fds(),
        "worker fds": sorted(psutil.Process(w.pid).num_fds() for w in runtime.workers()),
        "processes": len(children),
    }


def test_ten_epochs_grow_nothing_after_the_first(runtime, leaks):
    base = ss.range(ROWS, override_num_blocks=20).map_batches(lambda b: {"id": b["id"], "x": b["id"] * 0.5}).materialize()
    iterator = base.iterator()
    footprints = []
    for _ in range(10):
        total = sum(int(b["id"].sum()) for b in base.iter_batches(batch_size=1000))
        total += sum(int(b["id"].sum()) for b in iterator.iter_batches(batch_size=700, batch_format="pandas"))
        shifted = base.map_batches(lambda b: {"id": b["id"] + 1, "x": b["x"]})
        torch_total = 0
        for batch in shifted.iter_torch_batches(batch_size=1000, dtypes=torch.float64):
            assert batch["x"].dtype == torch.float64
            torch_total += int(batch["id"].sum().item())
        assert total == 2 * sum(range(ROWS)) and torch_total == sum(range(ROWS)) + ROWS
        footprints.append(_footprint(runtime))
    first = footprints[0]
    for later in footprints[1:]:
        assert later == first, (first, later)
    assert first["blocks"] >= base.num_blocks()
    del base, iterator, shifted
    leaks.check()
