"""The one bottleneck rule (engine/execution/bottleneck.py), on hand-built operator snapshots, and
once on a real run: the stage that limits throughput is named, never a stage merely held back by
downstream backpressure."""

from __future__ import annotations

import os
import time

import pytest

import streamscope as ss
from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution.backpressure.concurrency_cap import ConcurrencyCapPolicy
from streamscope.engine.execution.backpressure.downstream_capacity import DownstreamCapacityPolicy
from streamscope.engine.execution.backpressure.output_budget import OutputBudgetPolicy
from streamscope.engine.execution.bottleneck import HELD_BY_DOWNSTREAM, find_bottleneck
from streamscope.engine.execution.blocked_reason import RESOURCES, BlockedReason
from streamscope.engine.execution.telemetry import OperatorSnapshot

from executor_output import drain

DOWNSTREAM = BlockedReason(DownstreamCapacityPolicy.name, "9 blocks queued at MapBatches(Model) (limit 4)")
BUDGET = BlockedReason(OutputBudgetPolicy.name, "96 MiB waiting downstream, 0 B expected from 0 running tasks (budget 64 MiB)")
CAP = BlockedReason(ConcurrencyCapPolicy.name, "2/2 tasks in flight")
CPU = BlockedReason(RESOURCES, "all CPU slots busy (2/2 for tasks)")


def op(op_id: str, **kw) -> OperatorSnapshot:
    kw.setdefault("name", op_id)
    kw.setdefault("state", T.RUNNING)
    return OperatorSnapshot(op_id=op_id, **kw)


def held(op_id: str, reason: BlockedReason = DOWNSTREAM, **kw) -> OperatorSnapshot:
    return op(op_id, state=T.BACKPRESSURED, blocked_by=reason, **kw)


@pytest.mark.parametrize("reason", [DOWNSTREAM, BUDGET])
def test_a_slow_single_actor_behind_fast_preprocessing_is_the_bottleneck(reason):
    ops = (held("prep", reason, queued_in_blocks=20, queued_out_blocks=3),
           op("model", queued_in_blocks=6, actors_alive=1, actors_busy=1, active_tasks=1, rows_per_s=40.0))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("model", T.ACTORS_BUSY)
    assert "all 1 actor(s) busy" in b.reason and "6 block(s) wait at its input" in b.reason


def test_a_held_stage_is_followed_to_the_stage_it_waits_for():
    # prep and decode are both held; write has a full input queue but reports no limit of its own
    ops = (held("read", BUDGET), held("decode", DOWNSTREAM, queued_in_blocks=30), op("write", queued_in_blocks=5))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("write", T.INPUT_FULL)
    assert "read is held back" in b.reason


def test_consumer_ids_beat_plan_order():
    # a union: both reads feed "union" (op id order would make left feed right)
    ops = (held("left", consumer_id="union"), op("right", consumer_id="union"), op("union", queued_in_blocks=9))
    assert find_bottleneck(ops).op_id == "union"


def test_backpressure_past_the_last_stage_names_the_consumer():
    ops = (held("read", BUDGET), held("map", BlockedReason(DownstreamCapacityPolicy.name, "12 blocks waiting for the consumer")))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind, b.op_name) == ("", T.CONSUMER, "the consumer")


def test_a_stage_at_its_concurrency_cap():
    ops = (op("read", queued_in_blocks=0), op("udf", blocked_by=CAP, active_tasks=2, queued_in_blocks=3))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("udf", T.CONCURRENCY_CAP) and "2 task(s) in flight" in b.reason


def test_of_two_saturated_stages_the_one_with_more_waiting_wins_and_ties_go_downstream():
    a = op("a", actors_alive=2, actors_busy=2, queued_in_blocks=7)
    b = op("b", blocked_by=CAP, active_tasks=2, queued_in_blocks=3)
    assert find_bottleneck((a, b)).op_id == "a"
    assert find_bottleneck((a, op("b", actors_alive=1, actors_busy=1, queued_in_blocks=7))).op_id == "b"


def test_actors_that_cannot_start_come_first():
    ops = (op("a", actors_alive=1, actors_busy=1, queued_in_blocks=9), op("b", actors_starting=4, queued_in_blocks=2))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("b", T.ACTORS_STARTING) and "4 actor(s) cannot start" in b.reason


def test_a_pool_with_an_idle_actor_is_not_saturated():
    ops = (op("read"), op("model", actors_alive=2, actors_busy=1, queued_in_blocks=0))
    assert find_bottleneck(ops) is None


def test_waiting_for_cpu_slots_is_the_machine_and_a_held_stage_is_never_named():
    ops = (held("read", BUDGET, queued_in_blocks=50), op("map", blocked_by=CPU, queued_in_blocks=4))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("map", T.INPUT_FULL)  # read waits for map: map is the limit
    ops = (op("read", blocked_by=CPU), op("map", active_tasks=2))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("read", T.RESOURCES)
    assert b.reason.startswith("read waits for the machine: all CPU slots busy (2/2 for tasks)")


def test_a_held_stage_is_never_named_even_with_the_longest_queue():
    ops = (held("a", BUDGET, queued_in_blocks=40, consumer_id="c"), op("b", queued_in_blocks=2),
           op("c", queued_in_blocks=1, consumer_id="b"))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("c", T.INPUT_FULL)  # a's 40 blocks do not make a the limit
    ops = (op("a", queued_in_blocks=1), op("b", queued_in_blocks=7, queued_in_bytes=10))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("b", T.INPUT_QUEUE)


def test_the_one_stage_still_working_after_everything_before_it_is_done():
    ops = (op("read", state=T.DONE), op("model", active_tasks=1, actors_alive=1, actors_busy=1))
    b = find_bottleneck(ops)
    assert (b.op_id, b.kind) == ("model", T.DRAINING) and "1 task(s) in flight" in b.reason



def test_a_read_that_keeps_every_later_stage_waiting_is_the_limit():
    """Both stages work, nothing waits between them: what the model gets, it takes at once."""
    b = find_bottleneck((op("read", name="ReadParquet", active_tasks=2, rows_per_s=900.0), op("model", active_tasks=1)))
    assert (b.op_id, b.kind) == ("read", T.SOURCE) and "wait for its output" in b.reason
    # blocks waiting after the read: the read is not the limit
    b = find_bottleneck((op("read", active_tasks=2), op("model", active_tasks=1, queued_in_blocks=3)))
    assert b.kind != T.SOURCE


def test_a_full_spilling_store_is_named_before_any_stage():
    from streamscope.engine.runtime.base import StoreStats

    ops = (held("prep", BUDGET), op("model", queued_in_blocks=4, actors_alive=1, actors_busy=1))
    full = StoreStats(capacity_bytes=100 << 20, in_memory_bytes=97 << 20, spilled_total_bytes=30 << 20)
    b = find_bottleneck(ops, store=full)
    assert (b.op_id, b.kind, b.op_name) == ("", T.STORE_FULL, "the object store") and "spilling" in b.reason
    assert b.holds_back == ("prep by OutputBudget",)
    roomy = StoreStats(capacity_bytes=100 << 20, in_memory_bytes=20 << 20, spilled_total_bytes=30 << 20)
    assert find_bottleneck(ops, store=roomy).kind == T.ACTORS_BUSY
    never_spilled = StoreStats(capacity_bytes=100 << 20, in_memory_bytes=99 << 20)
    assert find_bottleneck(ops, store=never_spilled).kind == T.ACTORS_BUSY


def test_the_held_stages_are_listed_apart_from_the_limit():
    ops = (held("read", DOWNSTREAM, name="ReadRange->Map(f)"), held("prep", BUDGET, name="Prep"),
           op("model", name="Model", queued_in_blocks=9, actors_alive=1, actors_busy=1))
    b = find_bottleneck(ops)
    assert b.op_id == "model"
    assert b.holds_back == ("ReadRange->Map(f) by DownstreamCapacity", "Prep by OutputBudget")


def test_finished_or_idle_operators_have_no_bottleneck():
    assert find_bottleneck(()) is None
    assert find_bottleneck((op("a", state=T.DONE, queued_in_blocks=3), op("b", state=T.FAILED))) is None
    assert find_bottleneck((op("a"), op("b"))) is None


def test_a_stall_is_reported_where_the_rule_points_else_where_tasks_run():
    ops = (held("prep"), op("model", actors_alive=1, actors_busy=1, queued_in_blocks=3, active_tasks=1))
    assert find_bottleneck(ops, idle_s=29.9, stall_timeout_s=30).kind == T.ACTORS_BUSY
    b = find_bottleneck(ops, idle_s=30.0, stall_timeout_s=30)
    assert (b.op_id, b.kind) == ("model", T.STALLED)
    assert b.reason == "stalled at model: no operator made progress for 30 s (1 task(s) running)"
    b = find_bottleneck((op("a"), op("b", active_tasks=2)), idle_s=185, stall_timeout_s=30)
    assert (b.op_id, b.kind) == ("b", T.STALLED) and "for 3m 05s" in b.reason
    b = find_bottleneck((held("a", BlockedReason(DownstreamCapacityPolicy.name, "9 blocks waiting for the consumer")),),
                        idle_s=60, stall_timeout_s=30)
    assert (b.op_id, b.kind) == ("", T.STALLED) and "stalled at the consumer" in b.reason


def test_the_snapshot_calls_a_run_stalled_exactly_when_its_bottleneck_is_a_stall():
    base = T.ExecutionSnapshot("r", "ds", T.RUN_RUNNING, 0.0, 1.0)
    assert not base.stalled
    assert T.replace(base, bottleneck=T.Bottleneck("a", "a", T.STALLED, "stalled at a")).stalled
    assert not T.replace(base, bottleneck=T.Bottleneck("a", "a", T.ACTORS_BUSY, "a limits")).stalled


def test_the_held_policies_are_the_downstream_ones():
    assert set(HELD_BY_DOWNSTREAM) == {DownstreamCapacityPolicy.name, OutputBudgetPolicy.name}


class _GatedModel:
    """A one-actor "model" that holds its first batch until the test opens the gate, so blocks
    pile up in front of it however fast or slow the machine is."""

    def __init__(self, gate: str):
        self.gate = gate

    def __call__(self, batch):
        deadline = time.monotonic() + 60
        while not os.path.exists(self.gate) and time.monotonic() < deadline:
            time.sleep(0.01)
        return batch


def _prep(batch):
    return batch


def test_a_real_run_names_the_single_actor_stage_not_the_preprocessing(runtime, ctx, tmp_path):
    ctx.stall_timeout_s = 1e9  # this test is about the rule, not the stall clock
    gate = str(tmp_path / "open")
    ds = (ss.range(400, override_num_blocks=20).map_batches(_prep)
          .map_batches(_GatedModel, batch_size=20, fn_constructor_args=(gate,), compute=ss.ActorPoolStrategy(size=1)))
    executor = ds._start_execution("test").start()
    try:
        _prep_id, model_id = (o.op_id for o in executor.plan.ops)

        def piled_up():
            s = executor.buffer.latest()
            if s is None:
                return None
            prep, model = s.operators
            # the actor must be up (holding its first batch at the gate): while it still starts,
            # "starting" is the right answer, and how long starting takes depends on the machine
            piled = model.queued_in_blocks >= 2 and (prep.state == T.DONE or prep.blocked_by is not None)
            return s if piled and model.actors_alive >= 1 and model.actors_busy >= 1 else None

        deadline = time.monotonic() + 60
        while piled_up() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = piled_up()
        assert snap is not None, "blocks never piled up in front of the gated actor"
    finally:
        open(gate, "w").close()
    rows = drain(executor)
    assert rows == 400
    assert (snap.bottleneck.op_id, snap.bottleneck.kind) == (model_id, T.ACTORS_BUSY)
    for s in executor.buffer.history():
        b = s.bottleneck
        if b is not None and b.op_id:
            named = s.operator(b.op_id)
            assert named.blocked_by is None or named.blocked_by.policy not in HELD_BY_DOWNSTREAM, b.reason
    assert executor.final_snapshot.bottleneck is None  # a finished run has none
