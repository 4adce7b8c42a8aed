"""Workers killed (SIGKILL, ``os._exit``, a real segfault) during a map, an aggregation, a sort
and a join: results stay exact (every row once, exact sums); once the retries are used up the run
fails with a ``WorkerCrashedError`` naming the operator. Actor UDFs whose process exits are
restarted and their batches re-run; with ``max_restarts=0`` the run fails clearly. Nothing is left
behind: no process beyond the warm pool, no block file."""

from __future__ import annotations

import numpy as np
import pytest

import streamscope as ss
from streamscope.engine.exceptions import UserCodeException, WorkerCrashedError

from chaos import HOWS, Chaos, DispatchFaults, claim, die

ROWS, BLOCKS = 4000, 8
KEYS = 7


def _with_key(batch):
    return {"k": batch["id"] % KEYS, "v": batch["id"]}


def _double(batch):
    return {"id": batch["id"], "v": batch["id"] * 2}


def _retries(ds) -> int:
    return sum(o.retries for o in ds.stats().operators)


@pytest.mark.parametrize("how", HOWS)
def test_map_with_workers_dying_mid_run_is_exact(runtime, leaks, tmp_path, how):
    chaos = Chaos(tmp_path)
    killing = chaos.kill_on_rows(_double, rows={10, 1700, 3999}, how=how)  # three blocks' workers die once
    ds = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(killing)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == list(range(ROWS))
    assert sum(r["v"] for r in rows) == 2 * sum(range(ROWS))
    assert chaos.faults() == ["fault-row-10", "fault-row-1700", "fault-row-3999"]
    assert _retries(ds) == 3
    leaks.check()


@pytest.mark.parametrize("how", HOWS)
def test_groupby_sum_with_every_exchange_task_dying_once_is_exact(runtime, leaks, how):
    ds = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(_with_key).groupby("k").sum("v")
    with DispatchFaults(runtime, "Aggregate", "first-attempts", how) as faults:
        got = {r["k"]: r["sum(v)"] for r in ds.take_all()}
    assert got == {k: sum(i for i in range(ROWS) if i % KEYS == k) for k in range(KEYS)}
    assert faults.hits >= 2 and faults.hits == _retries(ds)
    leaks.check()


@pytest.mark.parametrize("how", HOWS)
def test_sort_with_every_exchange_task_dying_once_is_exact(runtime, leaks, how):
    ds = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(_with_key).sort("v", descending=True)
    with DispatchFaults(runtime, "Sort", "first-attempts", how) as faults:
        values = [r["v"] for r in ds.take_all()]
    assert values == list(range(ROWS - 1, -1, -1))
    assert faults.hits >= 2
    leaks.check()


@pytest.mark.parametrize("how", HOWS)
def test_join_with_every_exchange_task_dying_once_is_exact(runtime, leaks, how):
    left = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(lambda b: {"v": b["id"], "left": b["id"] * 3})
    right = ss.range(ROWS // 2, override_num_blocks=4).map_batches(lambda b: {"v": b["id"] * 2, "right": b["id"]})
    ds = left.join(right, "inner", on=("v",))
    with DispatchFaults(runtime, "Join", "first-attempts", how) as faults:
        rows = ds.take_all()
    assert sorted(r["v"] for r in rows) == list(range(0, ROWS, 2))
    assert all(r["left"] == 3 * r["v"] and r["right"] * 2 == r["v"] for r in rows)
    assert faults.hits >= 2
    leaks.check()


def test_an_exchange_task_that_always_dies_fails_naming_the_operator(runtime, leaks):
    ds = ss.range(ROWS, override_num_blocks=4).map_batches(_with_key).sort("v")
    with DispatchFaults(runtime, "Sort", "all", "sigkill"), pytest.raises(WorkerCrashedError) as info:
        ds.take_all()
    message = str(info.value)
    assert "Sort[keys=['v']" in message and "killed by signal 9" in message
    assert "gave up after 4 attempts (max_retries=3)" in message
    assert not isinstance(info.value, UserCodeException)
    leaks.check()


@pytest.mark.parametrize("how", ["exit", "segfault"])
def test_a_map_past_max_retries_fails_naming_the_operator(runtime, leaks, tmp_path, how):
    def crashes_on_block_two(batch):
        if int(batch["id"][0]) == 1000:
            die(how)
        return batch

    ds = ss.range(ROWS, override_num_blocks=4).map_batches(crashes_on_block_two, max_retries=2)
    with pytest.raises(WorkerCrashedError) as info:
        ds.take_all()
    message = str(info.value)
    assert "MapBatches(crashes_on_block_two)" in message and "gave up after 3 attempts (max_retries=2)" in message
    leaks.check()


class ExitingActor:
    """Exits its process (``os._exit``) the first time it sees each of ``rows``."""

    def __init__(self, marker_dir, rows, how="exit"):
        self.marker_dir, self.rows, self.how = marker_dir, rows, how

    def __call__(self, batch):
        for row in self.rows:
            if np.any(batch["id"] == row) and claim(self.marker_dir, f"fault-row-{row}"):
                die(self.how)
        return {"id": batch["id"], "v": batch["id"] * 2}


@pytest.mark.parametrize("how", HOWS)
def test_actor_udfs_whose_process_dies_are_restarted_and_exact(runtime, leaks, tmp_path, how):
    chaos = Chaos(tmp_path)
    ds = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(
        ExitingActor, fn_constructor_args=(chaos.directory, [5, 2600], how),
        compute=ss.ActorPoolStrategy(size=1), batch_size=500)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == list(range(ROWS))
    assert sum(r["v"] for r in rows) == 2 * sum(range(ROWS))
    assert chaos.faults() == ["fault-row-2600", "fault-row-5"]
    leaks.check()


def test_an_actor_with_max_restarts_zero_fails_clearly(runtime, leaks, tmp_path):
    chaos = Chaos(tmp_path)
    ds = ss.range(ROWS, override_num_blocks=BLOCKS).map_batches(
        ExitingActor, fn_constructor_args=(chaos.directory, [1234]),
        compute=ss.ActorPoolStrategy(size=1), batch_size=500, max_restarts=0)
    with pytest.raises(WorkerCrashedError) as info:
        ds.take_all()
    message = str(info.value)
    assert "MapBatches(ExitingActor)" in message and "exited with code 3" in message
    assert "gave up after 0 restarts" in message
    leaks.check()
