"""The physical planner and fusion."""

from __future__ import annotations

import streamscope
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.physical.operators.map_operator import TaskPoolMapOperator
from streamscope.engine.physical.planner import plan_physical


def f(batch):
    return batch


def _physical(ds):
    return plan_physical(optimize(ds._plan).plan)


def test_map_chain_fuses_into_the_read():
    plan = _physical(streamscope.range(10).map(f).filter(lambda r: True).map_batches(f))
    assert len(plan.ops) == 1
    op = plan.ops[0]
    assert isinstance(op, TaskPoolMapOperator)
    assert op.logical_names == ("ReadRange", "Map(f)", "Filter(<lambda>)", "MapBatches(f)")


def test_fusion_stops_at_different_resources_and_concurrency():
    plan = _physical(streamscope.range(10).map_batches(f).map_batches(f, num_cpus=2))
    assert [len(op.logical_names) for op in plan.ops] == [2, 1]
    capped = _physical(streamscope.range(10).map_batches(f).map_batches(f, compute=streamscope.TaskPoolStrategy(size=1)))
    assert len(capped.ops) == 2 and capped.ops[1].concurrency == 1


def test_fusion_stops_at_batch_size_after_a_non_read():
    plan = _physical(streamscope.range(10).map(f).repartition(2).map_batches(f).map_batches(f, batch_size=4))
    assert [op.kind for op in plan.ops][-2:] == ["TaskPoolMapOperator", "TaskPoolMapOperator"]


def test_limit_and_union_are_their_own_operators():
    plan = _physical(streamscope.range(10).union(streamscope.range(3)).map_batches(f).limit(4))
    kinds = [op.kind for op in plan.ops]
    assert "UnionOperator" in kinds and kinds[-1] == "LimitOperator"


def test_op_ids_match_dot_nodes():
    plan = _physical(streamscope.range(10).map_batches(f).limit(2))
    dot = plan.dot()
    for op in plan.ops:
        assert f"{op.op_id} [label=" in dot


def test_results_same_fused_and_unfused(runtime):
    from streamscope.engine.execution.streaming_executor import StreamingExecutor
    from streamscope.engine.context import DataContext

    ds = streamscope.range(200, override_num_blocks=5).map(lambda r: {"id": r["id"] * 3}).filter(lambda r: r["id"] % 2 == 0)
    expected = sorted(i * 3 for i in range(200) if (i * 3) % 2 == 0)
    for fuse in (True, False):
        physical = plan_physical(optimize(ds._plan).plan, fuse=fuse)
        ex = StreamingExecutor(physical, runtime, DataContext.get_current(), name="t").start()
        got = []
        for ref, meta, owned in ex.iter_output():
            got.extend(runtime.get(ref).column("id").to_pylist())
            if owned:
                runtime.free([ref])
        assert sorted(got) == expected
        assert ex.state == "succeeded"
