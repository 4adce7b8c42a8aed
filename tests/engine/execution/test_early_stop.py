"""A consumer that stops early frees every block it did not read, also when the run had already
finished producing them."""

import time

import streamscope


def test_break_after_the_run_finished_frees_undelivered_blocks(runtime):
    before = runtime.store_stats().num_blocks
    ds = streamscope.range(2000, override_num_blocks=8).map(lambda r: r)
    batches = ds.iter_batches(batch_size=100, prefetch_batches=0)
    next(batches)
    time.sleep(1.0)  # let the run finish: its remaining outputs wait in the consumer queue
    assert ds._last_run.state == "succeeded"
    assert runtime.store_stats().num_blocks > before
    batches.close()
    assert runtime.store_stats().num_blocks == before


def test_break_mid_run_cancels_and_frees(runtime):
    before = runtime.store_stats().num_blocks
    ds = streamscope.range(4000, override_num_blocks=40).map_batches(lambda b: (time.sleep(0.05), b)[1])
    for _ in ds.iter_batches(batch_size=10):
        break
    assert ds._last_run.state == "cancelled"
    assert runtime.store_stats().num_blocks == before



def _slow_identity(batch):
    time.sleep(0.02)
    return batch


def test_a_satisfied_limit_stops_every_branch_above_it(runtime):
    """The generic rule: an operator whose consumers need no more input is done. Both branches of
    a union above a limit stop (their remaining tasks never run), and the limit's rows are exact."""
    left = streamscope.range(100_000, override_num_blocks=100).map_batches(_slow_identity)
    right = streamscope.range(100_000, override_num_blocks=100).map_batches(_slow_identity)
    ds = left.union(right).limit(250)
    rows = ds.take_all()
    assert [r["id"] for r in rows] == list(range(250))  # limit plans keep block order
    maps = [o for o in ds.stats().operators if "MapBatches" in o.name]
    assert len(maps) == 2
    for o in maps:
        assert o.tasks < 100, (o.name, o.tasks)  # stopped early, not run to the end
