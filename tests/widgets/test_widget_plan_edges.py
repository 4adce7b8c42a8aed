"""The plan graph's edges carry the queues between stages: heavier and warmer as they fill,
labelled with blocks and bytes, in the drawn graph (DOT) and in the no-graphviz fallback."""

import re

from streamscope.engine.execution.telemetry import StoreStats
from streamscope.widgets.plan_fallback import fallback_html
from streamscope.widgets.plan_live import (
    FULL_EDGE_STORE_FRACTION,
    MAX_PENWIDTH,
    edge_colour,
    live_decorations,
    live_dot,
    live_edge_decorations,
    operator_annotation,
)
from widget_snapshots import GRAPH, op, snap

CAPACITY = 10_000
BUDGET = CAPACITY * FULL_EDGE_STORE_FRACTION


def _snapshot(out1_blocks=0, out1_bytes=0, in2_blocks=0, in2_bytes=0, capacity=CAPACITY):
    ops = (
        op("op1", state="running", queued_out_blocks=out1_blocks, queued_out_bytes=out1_bytes),
        op("op2", state="running", queued_in_blocks=in2_blocks, queued_in_bytes=in2_bytes),
        op("op3", state="running"),
    )
    s = snap(1, 10, ops=ops)
    return s.__class__(**{**s.__dict__, "store": StoreStats(capacity_bytes=capacity)})


def _dot_edge_line(dot: str, source: str, target: str) -> str:
    lines = [ln for ln in dot.splitlines() if re.search(rf'"?{source}"?\s*->\s*"?{target}"?', ln)]
    assert len(lines) == 1, dot
    return lines[0]


def test_edge_queue_is_source_output_plus_single_input_target_queue():
    edges = live_edge_decorations(_snapshot(out1_blocks=2, out1_bytes=300, in2_blocks=1, in2_bytes=200))
    first = edges[("op1", "op2")]
    assert first.label.startswith("3 blocks")
    assert first.fill == 500 / BUDGET
    assert edges[("op2", "op3")].label == "" and edges[("op2", "op3")].fill == 0.0


def test_edge_gets_heavier_and_warmer_as_it_fills():
    fills = [0, BUDGET / 4, BUDGET / 2, BUDGET, BUDGET * 3]
    decorations = [live_edge_decorations(_snapshot(out1_blocks=1, out1_bytes=int(b)))[("op1", "op2")] for b in fills]
    widths = [d.penwidth for d in decorations]
    assert widths == sorted(widths) and widths[0] == 1.0 and widths[-1] == MAX_PENWIDTH
    assert decorations[-1].fill == 1.0  # clamped past a full budget
    # grey -> orange -> red: the blue channel only falls, the green one falls past half full
    blues = [int(d.color[5:7], 16) for d in decorations]
    greens = [int(d.color[3:5], 16) for d in decorations]
    assert blues == sorted(blues, reverse=True) and blues[0] > blues[-1]
    assert greens[2] > greens[3]
    assert decorations[0].color == edge_colour(0.0) == "#999999"
    assert decorations[-1].color == edge_colour(1.0) == "#d62728"


def test_without_capacity_the_edge_is_weighed_in_blocks():
    half = live_edge_decorations(_snapshot(out1_blocks=4, capacity=0))[("op1", "op2")]
    full = live_edge_decorations(_snapshot(out1_blocks=20, capacity=0))[("op1", "op2")]
    assert half.fill == 0.5 and full.fill == 1.0


def test_dot_draws_the_queue_on_the_edge():
    dot = live_dot(_snapshot(out1_blocks=3, out1_bytes=int(BUDGET)))
    line = _dot_edge_line(dot, "op1", "op2")
    assert "3 blocks" in line
    assert f"penwidth={MAX_PENWIDTH}" in line.replace('"', "") or f"penwidth={MAX_PENWIDTH:g}" in line.replace('"', "")
    assert "#d62728" in line
    quiet = _dot_edge_line(dot, "op2", "op3")
    assert "blocks" not in quiet


def test_fallback_lists_the_queue_under_the_receiving_operator():
    s = _snapshot(out1_blocks=2, out1_bytes=2048)
    html = fallback_html(GRAPH, live_decorations(s), edge_decorations=live_edge_decorations(s))
    assert "2 blocks" in html and "2 KiB" in html
    # the queue line belongs to the edge into op2: it appears after op1's label and before op3's
    assert html.index("ReadParquet") < html.index("2 blocks") < html.index("WriteCSV")


def test_actor_pool_annotation_says_how_many_are_busy():
    text = operator_annotation(op("op2", rows_out=10, actors_alive=3, actors_busy=2, actor_busy_fraction=(0.5, 1.0, 0.0)))
    assert "2/3 actors busy" in text and "50% busy" in text
    starting = operator_annotation(op("op2", actors_alive=1, actors_starting=2, actors_busy=1))
    assert "1/3 actors busy" in starting
    tasks = operator_annotation(op("op2", active_tasks=1))
    assert "1 task" in tasks and "tasks" not in tasks


def test_a_gpu_stage_notes_the_utilization_of_the_gpus_its_actors_hold():
    from streamscope.engine.execution.telemetry import GpuSnapshot

    gpus = (GpuSnapshot(index=0, device_id="2", utilization=0.7), GpuSnapshot(index=1, device_id="3", utilization=None))
    model = op("op2", actors_alive=2, actors_busy=2, gpu_ids=("2", "3"))
    text = operator_annotation(model, gpus)
    assert "GPU 2 70%" in text and "GPU 3 ?" in text  # unmeasured is unknown, never 0%
    assert "GPU" not in operator_annotation(op("op1", active_tasks=2), gpus)  # a CPU stage
    assert "GPU 2 ?" in operator_annotation(model)  # no GPU figures in the snapshot
