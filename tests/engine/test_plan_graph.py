"""PlanGraph: the plan as an immutable structure, built by the logical and physical plans."""

from __future__ import annotations

import dataclasses

import pytest

import streamscope
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.plan_graph import PlanCluster, PlanEdge, PlanGraph, PlanNode


def f(row):
    return row


def g(row):
    return True


def _physical(ds):
    return plan_physical(optimize(ds._plan).plan)


def test_plan_graph_is_frozen():
    graph = streamscope.range(10).map(f).map_batches(f, num_cpus=2)._explain().physical.graph
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.title = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.nodes[0].kind = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.clusters[0].label = "other"
    with pytest.raises(AttributeError):
        graph.edges[0].source = "x"  # NamedTuple fields are read-only too
    assert isinstance(graph.nodes, tuple) and isinstance(graph.edges, tuple)
    assert graph == streamscope.range(10).map(f).map_batches(f, num_cpus=2)._explain().physical.graph  # a value: equal plans, equal graphs


def test_map_filter_fuse_into_one_node_in_one_cluster():
    plan = _physical(streamscope.range(10).map(f).filter(g))
    graph = plan.graph("t")
    assert len(plan.ops) == 1
    (node,) = graph.nodes
    assert node.id == plan.ops[0].op_id == "op0"
    assert node.kind == "TaskPoolMapOperator"
    assert node.covers == ("ReadRange", "Map(f)", "Filter(g)")
    assert graph.clusters == (PlanCluster("op0", "fused: 3 operators", ("op0",)),)
    assert graph.edges == ()
    assert graph.title == "t"


def test_union_and_zip_nodes_have_two_input_edges():
    for ds in (streamscope.range(10).map(f).union(streamscope.range(5)),
               streamscope.range(10).zip(streamscope.range(10))):
        plan = _physical(ds)
        graph = plan.graph()
        sink = plan.sink.op_id
        assert graph.nodes[-1].id == sink
        assert len(graph.inputs(sink)) == 2
        assert set(graph.inputs(sink)) == {inp.op_id for inp in plan.sink.inputs}
        assert [e for e in graph.edges if e.target == sink] == [PlanEdge(i.op_id, sink) for i in plan.sink.inputs]
        assert [n.id for n in graph.nodes] == [op.op_id for op in plan.ops]  # ids are telemetry op ids


def test_logical_graph_has_one_node_per_operator_and_its_edges():
    graph = streamscope.range(10).map(f).union(streamscope.range(5))._explain().logical.graph
    assert [(n.id, n.kind) for n in graph.nodes] == [("l0", "Read"), ("l1", "MapRows"), ("l2", "Read"), ("l3", "Union")]
    assert graph.node("l1").covers == ("Map(f)",) and graph.node("l3").lines == ("num_inputs=2",)
    assert graph.edges == (("l0", "l1"), ("l1", "l3"), ("l2", "l3"))
    assert graph.depths() == {"l0": 0, "l1": 1, "l2": 0, "l3": 2}
    assert graph.clusters == ()


def test_invariants_are_checked_on_construction():
    a, b = PlanNode("a", "A", ("A",)), PlanNode("b", "B", ("B",))
    with pytest.raises(ValueError, match="unknown node 'c'"):
        PlanGraph("t", (a, b), (("a", "c"),))
    with pytest.raises(ValueError, match="backwards"):
        PlanGraph("t", (a, b), (("b", "a"),))
    with pytest.raises(ValueError, match="duplicate node id"):
        PlanGraph("t", (a, a))
    with pytest.raises(ValueError, match="two clusters"):
        PlanGraph("t", (a, b), (), (PlanCluster("x", "", ("a",)), PlanCluster("y", "", ("a",))))
    graph = PlanGraph("t", [a, b], [("a", "b")])
    assert graph.nodes == (a, b) and graph.edges == (PlanEdge("a", "b"),)


def test_snapshots_carry_the_physical_graph_with_telemetry_ids(inline_ctx):
    ds = streamscope.range(20).map(f).map_batches(lambda b: b, num_cpus=2)
    assert len(ds.take_all()) == 20
    snap = ds._last_run.buffer.latest()
    assert snap.finished and snap.plan_graph is not None
    assert [n.id for n in snap.plan_graph.nodes] == [op.op_id for op in snap.operators]
    assert snap.plan_graph.nodes[0].covers == ("ReadRange", "Map(f)")
    assert snap.plan_graph.edges == (("op0", "op1"),)
