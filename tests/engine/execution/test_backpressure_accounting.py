"""Backpressure time is charged once per scheduling step: an operator held by a policy for the
whole run accrues at most its wall time (it was counted twice, in dispatch and in accounting)."""

from __future__ import annotations

import time

import streamscope as ss


def passthrough(batch):
    return batch


def test_backpressure_time_never_exceeds_the_operators_wall_time(runtime, ctx):
    ds = ss.range(120_000, override_num_blocks=120).map_batches(passthrough)
    consumed = 0
    for batch in ds.iter_batches(batch_size=1000, prefetch_batches=0):
        consumed += len(batch["id"])
        time.sleep(0.01)  # a slow consumer: the producer spends most of its life held back
    assert consumed == 120_000
    stats = ds.stats()
    held = [o for o in stats.operators if o.backpressure_s > 0]
    assert held, "the slow consumer never held the producer back"
    for o in stats.operators:
        assert o.backpressure_s <= o.wall_s + 0.05, (o.name, o.backpressure_s, o.wall_s)
