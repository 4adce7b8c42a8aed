"""Hand-built snapshot streams for widget tests (no engine): a three-operator plan
Read -> [Map -> Filter fused] -> Write, run to success, failure or cancel. As in the engine's
snapshots, ``progress`` is below 1 until the run succeeds and exactly 1.0 then."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa

from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanCluster, PlanEdge, PlanGraph, PlanNode
from streamscope.engine.execution.telemetry import (
    ExecutionSnapshot,
    GpuSnapshot,
    OperatorSnapshot,
    ResourceSnapshot,
    SnapshotBuffer,
    StoreStats,
    TaskSpan,
)

GRAPH = PlanGraph(
    "physical",
    nodes=(
        PlanNode("op1", "ReadParquet", covers=("ReadParquet",), lines=("4 files",)),
        PlanNode("op2", "MapBatches(f) -> Filter(g)", covers=("MapBatches(f)", "Filter(g)")),
        PlanNode("op3", "WriteCSV", covers=("WriteCSV",)),
    ),
    edges=(PlanEdge("op1", "op2"), PlanEdge("op2", "op3")),
    clusters=(PlanCluster("fused_op2", "fused: MapBatches(f) -> Filter(g)", ("op2",)),),
)
DOT = to_dot(GRAPH)

LOGICAL_GRAPH = PlanGraph(
    "logical",
    nodes=tuple(PlanNode(f"l{i}", name, covers=(name,)) for i, name in
                enumerate(("ReadParquet", "MapBatches(f)", "Filter(g)", "WriteCSV"), start=1)),
    edges=(PlanEdge("l1", "l2"), PlanEdge("l2", "l3"), PlanEdge("l3", "l4")),
)

NAMES = {"op1": "ReadParquet", "op2": "MapBatches(f)->Filter(g)", "op3": "WriteCSV"}
TOTAL = 1000
T0 = 1000.0


def op(op_id, **kw) -> OperatorSnapshot:
    kw.setdefault("name", NAMES.get(op_id, op_id))
    return OperatorSnapshot(op_id=op_id, **kw)


def snap(i: int, n: int, state: str = "running", run_id: str = "run-1", ops=None, gpus=(), **kw) -> ExecutionSnapshot:
    """Snapshot ``i`` of ``n`` of a run progressing linearly."""
    frac = i / n
    rows = int(TOTAL * frac)
    if ops is None:
        op_state = "done" if state == "succeeded" else ("running" if state == "running" else state)
        ops = (
            op("op1", state="done" if frac >= 0.5 or state == "succeeded" else op_state, rows_out=min(TOTAL, rows * 2),
               rows_per_s=200.0, blocks_out=i, tasks_done=i, wall_s=1.0 * i, cpu_s=0.5 * i,
               bytes_out=1000 * i, started_at=T0, estimated_rows_total=TOTAL),
            op("op2", state=op_state, fused=("MapBatches(f)", "Filter(g)"), rows_in=rows, rows_out=rows,
               rows_per_s=100.0, queued_in_blocks=3, active_tasks=2, tasks_done=i, blocks_out=i,
               wall_s=2.0 * i, cpu_s=1.5 * i, udf_s=1.0 * i, started_at=T0, progress=frac),
            op("op3", state=op_state, rows_in=rows, rows_out=rows, queued_in_blocks=1, rows_per_s=100.0,
               wall_s=0.5 * i, backpressure_s=0.1 * i, spilled_bytes=10 * i, started_at=T0, progress=frac),
        )
    return ExecutionSnapshot(
        run_id=run_id, name="my_dataset", state=state, started_at=T0, timestamp=T0 + i,
        operators=tuple(ops), rows_out=rows, progress=1.0 if state == "succeeded" else frac * 0.99,
        store=StoreStats(capacity_bytes=10_000, in_memory_bytes=100 * i, spilled_now_bytes=5 * i,
                            spilled_total_bytes=10 * i, restored_total_bytes=3 * i),
        resources=ResourceSnapshot(cpu_total=4, cpu_in_use=2, cpu_utilization=0.5, gpus=tuple(gpus)),
        plan_graph=GRAPH, **kw,
    )


def stream(n: int = 10, outcome: str = "succeeded", run_id: str = "run-1", gpus=()) -> list[ExecutionSnapshot]:
    """``n`` running snapshots, then a final one in state ``outcome``."""
    out = [snap(i, n, run_id=run_id, gpus=gpus) for i in range(n)]
    final_i = n if outcome == "succeeded" else n // 2
    timeline = tuple(
        TaskSpan(op_id=f"op{1 + k % 3}", worker=f"w{k % 2}", start=T0 + k * 0.5, end=T0 + k * 0.5 + 0.4, ok=k != 3)
        for k in range(6)
    )
    out.append(snap(final_i, n, state=outcome, run_id=run_id, gpus=gpus, timeline=timeline,
                    error="ValueError: bad row in MapBatches(f)" if outcome == "failed" else ""))
    return out


def gpu(index=0, utilization=0.7, used=2 << 30, total=16 << 30) -> GpuSnapshot:
    return GpuSnapshot(index=index, name="Test GPU", utilization=utilization, memory_used_bytes=used,
                       memory_total_bytes=total)


def buffer_with(snaps) -> SnapshotBuffer:
    buf = SnapshotBuffer(snaps[0].run_id if snaps else "run-x", "my_dataset")
    for s in snaps:
        buf.publish(s)
    return buf


class FakeHandle:
    """A run handle: ``.buffer``, ``.done``, ``.cancel()``."""

    def __init__(self, buffer: SnapshotBuffer):
        self.buffer = buffer
        self.cancelled = 0

    @property
    def done(self) -> bool:
        return self.buffer.finished

    def cancel(self) -> None:
        self.cancelled += 1


def plan(text: str, graph: PlanGraph = GRAPH):
    return SimpleNamespace(text=text, graph=graph)


def explain_result(executed=False, schema=pa.schema([("id", pa.int64()), ("name", pa.string())])):
    return SimpleNamespace(
        dataset_name="my_dataset",
        logical=plan("Write\n  Filter\n    MapBatches\n      ReadParquet", LOGICAL_GRAPH),
        optimized=plan("Write\n  Filter\n    MapBatches\n      ReadParquet[columns=id,name]"),
        physical=plan("WriteCSV\n  MapBatches(f)->Filter(g)\n    ReadParquet"),
        rules_fired=("OperatorFusionRule", "ProjectionPushdown"),
        pushdowns=("columns=['id', 'name'] into ReadParquet",),
        schema=schema,
        executed=executed,
    )
