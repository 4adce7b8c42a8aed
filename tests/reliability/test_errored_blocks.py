"""``DataContext.max_errored_blocks = m`` with a UDF failing on k of n blocks: the run raises the
user's error iff ``0 <= m < k``; otherwise it returns exactly the good blocks' rows and
``ds.stats()`` counts the k dropped blocks. The budget is one per run, across operators (as in
Ray Data), and it never forgives a fault of the runtime (a killed worker)."""

from __future__ import annotations

import numpy as np
import pytest

import streamscope as ss
from streamscope.engine.exceptions import UserCodeException, WorkerCrashedError

from chaos import Chaos

N_BLOCKS, ROWS_PER_BLOCK = 10, 200
ROWS = N_BLOCKS * ROWS_PER_BLOCK


class BadBlock(ValueError):
    pass


def _failing_on(blocks: set[int]):
    bad = sorted(blocks)

    def fail_on_some(batch):
        block = int(batch["id"][0]) // ROWS_PER_BLOCK
        if block in bad:
            raise BadBlock(f"block {block} is bad")
        return {"id": batch["id"], "twice": batch["id"] * 2}

    return fail_on_some


def _good_rows(bad: set[int]) -> list[int]:
    return [i for i in range(ROWS) if i // ROWS_PER_BLOCK not in bad]


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4, -1])
def test_raises_iff_fewer_errored_blocks_allowed_than_failed(runtime, ctx, leaks, m):
    bad = {1, 4, 7}  # k = 3
    ctx.max_errored_blocks = m
    ds = ss.range(ROWS, override_num_blocks=N_BLOCKS).map_batches(_failing_on(bad), batch_size=None)
    if 0 <= m < len(bad):
        with pytest.raises(BadBlock) as info:
            ds.take_all()
        assert isinstance(info.value, UserCodeException) and "is bad" in str(info.value)
    else:
        rows = ds.take_all()
        ids = sorted(r["id"] for r in rows)
        assert ids == _good_rows(bad)  # every good row exactly once, no bad one
        assert sum(r["twice"] for r in rows) == 2 * sum(ids)
        stats = ds.stats()
        assert stats.errored_blocks == len(bad)
        assert f"Errored blocks: {len(bad)}" in str(stats)
        assert stats.operators[-1].rows_out == len(ids)
    leaks.check()


def test_the_budget_is_shared_by_every_operator_of_the_run(runtime, ctx, leaks):
    # two operators (different num_cpus: not fused), each failing on one block
    def second(batch):
        if int(batch["id"][0]) // ROWS_PER_BLOCK == 5:
            raise BadBlock("block 5 is bad downstream")
        return batch

    # A task downstream takes input blocks until target_min_block_size; a failed task drops its
    # whole bundle. At 1 byte each task takes one block, so which rows drop is deterministic.
    ctx.target_min_block_size = 1
    ds = (ss.range(ROWS, override_num_blocks=N_BLOCKS).map_batches(_failing_on({2}), batch_size=None)
          .map_batches(second, batch_size=None, num_cpus=0.5))
    ctx.max_errored_blocks = 1
    with pytest.raises(BadBlock):
        ds.take_all()
    ctx.max_errored_blocks = 2
    ids = sorted(r["id"] for r in ds.take_all())
    assert ids == _good_rows({2, 5})
    assert [o.errored_blocks for o in ds.stats().operators] == [1, 1]
    leaks.check()


def test_a_killed_worker_is_never_an_errored_block(runtime, ctx, leaks, tmp_path):
    ctx.max_errored_blocks = -1
    chaos = Chaos(tmp_path)
    doomed = chaos.always_die(lambda b: b, how="sigkill")
    ds = ss.range(ROWS, override_num_blocks=N_BLOCKS).map_batches(doomed, max_retries=0)
    with pytest.raises(WorkerCrashedError):
        ds.take_all()
    leaks.check()


def test_errors_on_every_block_with_no_limit_give_an_empty_result(runtime, ctx, leaks):
    ctx.max_errored_blocks = -1
    ds = ss.range(ROWS, override_num_blocks=N_BLOCKS).map_batches(_failing_on(set(range(N_BLOCKS))), batch_size=None)
    assert ds.take_all() == []
    assert ds.stats().errored_blocks == N_BLOCKS
    assert np.sum([b["id"].sum() for b in ds.iter_batches(batch_size=None)]) == 0
    leaks.check()
