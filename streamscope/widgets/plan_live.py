"""What a snapshot adds to the plan graph: each node's state colour and figures, each edge's queue.

Why edges carry the queues: backpressure is blocks waiting *between* two stages. Drawn on the
arrow, heavier and warmer as it fills, it is visible at a glance where a run is held, which a
number inside a box is not. The weight is measured against the object store: a stage's output
budget is at most a quarter of the store (``backpressure/output_budget.py``), so an edge holding a
quarter of the capacity is drawn full.
"""

from __future__ import annotations

from typing import Optional, Sequence

from streamscope.engine.execution.telemetry import ExecutionSnapshot, GpuSnapshot, OperatorSnapshot
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.units import format_bytes

from ._util import STATE_COLORS, fmt_count, fmt_rate
from .plan_decoration import EdgeDecoration, NodeDecoration, dot_edge_attrs, dot_node_attrs

FULL_EDGE_STORE_FRACTION = 0.25
"""An edge holding this fraction of the store's capacity is drawn full (see the module doc)."""
FULL_EDGE_BLOCKS = 8
"""Without a known capacity, an edge holding this many blocks is drawn full."""
MAX_PENWIDTH = 5.0
_EDGE_COLOURS = ((0.0, (0x99, 0x99, 0x99)), (0.5, (0xf0, 0xa0, 0x30)), (1.0, (0xd6, 0x27, 0x28)))
"""Grey when empty, orange half full, red when full; linear in between."""


def operator_annotation(op: OperatorSnapshot, gpus: Sequence[GpuSnapshot] = ()) -> str:
    """The short text drawn next to a node: rows out and rate, queued blocks in/out, then what
    works on it now (``2/3 actors busy`` on an actor pool, ``4 tasks`` on a task stage), the
    actors' share of time busy, the utilization of each GPU its actors hold (``GPU 0 70%``; ``?``
    where it is not measured) from ``gpus`` (the snapshot's), and spilled bytes.

    Example:
        >>> operator_annotation(OperatorSnapshot("op1", "Map(f)", rows_out=1200, rows_per_s=600.0, active_tasks=2))
        '1.2k rows | 600 rows/s | 2 tasks'
    """
    parts = [f"{fmt_count(op.rows_out)} rows"]
    if op.rows_per_s:
        parts.append(fmt_rate(op.rows_per_s))
    if op.queued_in_blocks or op.queued_out_blocks:
        parts.append(f"q {op.queued_in_blocks}/{op.queued_out_blocks}")
    pool_size = op.actors_alive + op.actors_starting
    if pool_size:
        parts.append(f"{op.actors_busy}/{pool_size} actors busy")
        if op.actor_busy_fraction:
            busy = sum(op.actor_busy_fraction) / len(op.actor_busy_fraction)
            parts.append(f"{busy:.0%} busy")
    elif op.active_tasks:
        parts.append(f"{op.active_tasks} task{'s' if op.active_tasks != 1 else ''}")
    if op.gpu_ids:
        by_id = {g.device_id: g for g in gpus}
        for device in op.gpu_ids:
            gpu = by_id.get(device)
            util = "?" if gpu is None or gpu.utilization is None else f"{gpu.utilization:.0%}"
            parts.append(f"GPU {device} {util}")
    if op.spilled_bytes:
        parts.append(f"spilled {format_bytes(op.spilled_bytes)}")
    return " | ".join(parts)


def live_decorations(snapshot: ExecutionSnapshot) -> dict[str, NodeDecoration]:
    """Each operator's state colour, annotation and tooltip, by ``op_id`` (= plan-graph node id)."""
    out = {}
    for op in snapshot.operators:
        tip = f"{op.name}: {op.state}"
        if op.backpressure_reason:
            tip += f" ({op.backpressure_reason})"
        out[op.op_id] = NodeDecoration(STATE_COLORS.get(op.state, "#ffffff"),
                                       operator_annotation(op, snapshot.resources.gpus), tip)
    return out


def edge_colour(fill: float) -> str:
    """The colour of an edge ``fill`` full (0: grey, 0.5: orange, 1: red).

    Example:
        >>> edge_colour(0.0), edge_colour(1.0)
        ('#999999', '#d62728')
    """
    fill = min(1.0, max(0.0, fill))
    for (lo, c0), (hi, c1) in zip(_EDGE_COLOURS, _EDGE_COLOURS[1:]):
        if fill <= hi:
            t = (fill - lo) / (hi - lo)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#d62728"  # pragma: no cover - fill is clamped to [0, 1]


def _edge_queue(snapshot: ExecutionSnapshot, source: str, target: str, single_input: bool) -> Optional[tuple[int, int]]:
    """(blocks, bytes) waiting between two operators: the source's output queue, plus the
    target's input queue when the source is its only input (a union's input queue is shared)."""
    src, tgt = snapshot.operator(source), snapshot.operator(target)
    if src is None or tgt is None:
        return None
    blocks, nbytes = src.queued_out_blocks, src.queued_out_bytes
    if single_input:
        blocks, nbytes = blocks + tgt.queued_in_blocks, nbytes + tgt.queued_in_bytes
    return blocks, nbytes


def live_edge_decorations(snapshot: ExecutionSnapshot) -> dict[tuple[str, str], EdgeDecoration]:
    """Each edge of the snapshot's plan weighted by the blocks queued on it (see the module doc).

    Example::

        live_edge_decorations(snapshot)[("op1", "op2")].label   # '3 blocks · 1.5 MiB'
    """
    graph = snapshot.plan_graph
    if graph is None:
        return {}
    capacity = snapshot.store.capacity_bytes
    out = {}
    for edge in graph.edges:
        queue = _edge_queue(snapshot, edge.source, edge.target, len(graph.inputs(edge.target)) == 1)
        if queue is None:
            continue
        blocks, nbytes = queue
        if capacity > 0:
            fill = min(1.0, nbytes / (capacity * FULL_EDGE_STORE_FRACTION))
        else:
            fill = min(1.0, blocks / FULL_EDGE_BLOCKS)
        label = ""
        if blocks:
            label = f"{blocks} block{'s' if blocks != 1 else ''}" + (f" · {format_bytes(nbytes)}" if nbytes else "")
        out[(edge.source, edge.target)] = EdgeDecoration(
            label=label, penwidth=1.0 + (MAX_PENWIDTH - 1.0) * fill, color=edge_colour(fill), fill=fill,
            tooltip=f"{label or 'nothing'} queued ({fill:.0%} of an output budget)")
    return out


def live_dot(snapshot: ExecutionSnapshot) -> str:
    """The snapshot's physical plan as DOT, each operator coloured by state and annotated, each
    edge weighted by its queue."""
    if snapshot.plan_graph is None:
        return ""
    return to_dot(snapshot.plan_graph, dot_node_attrs(live_decorations(snapshot)),
                  dot_edge_attrs(live_edge_decorations(snapshot)))
