"""Name the operator that holds a run back, and why, from telemetry snapshots alone.

Why a pure function: the live view, the dashboard and tests all need the same answer, and a
synthetic snapshot stream is enough to check it. The order of the checks is the order in which a
user can act on them: a stall (nothing moved for ``stall_timeout_s``), a full object store, actors
that cannot start, a backpressure policy holding an operator, then the slowest stage (the one whose
input piles up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from streamscope.engine.execution.telemetry import (
    BACKPRESSURED,
    DONE,
    ExecutionSnapshot,
    OperatorSnapshot,
)

from ._util import fmt_bytes, fmt_count, fmt_seconds

DEFAULT_STALL_TIMEOUT_S = 30.0
STORE_FULL_FRACTION = 0.95


@dataclass(frozen=True)
class Bottleneck:
    """The answer: which operator, what kind of limit, and one sentence for people."""

    op_id: str
    op_name: str
    kind: str
    """One of "stalled", "store", "actors", "backpressure", "queue"."""
    reason: str
    stalled: bool = False

    def __str__(self) -> str:
        return self.reason


def _signature(snap: ExecutionSnapshot) -> tuple:
    """What counts as progress: rows, blocks or tasks finishing anywhere in the run."""
    return (snap.rows_out,) + tuple(
        (op.rows_in, op.rows_out, op.blocks_out, op.tasks_done) for op in snap.operators
    )


def seconds_without_progress(
    snapshot: ExecutionSnapshot, history: Sequence[ExecutionSnapshot] = ()
) -> float:
    """How long the run has gone with no operator making progress, from snapshot history."""
    same_run = [s for s in history if s.run_id == snapshot.run_id and s.timestamp <= snapshot.timestamp]
    if not same_run or same_run[-1] is not snapshot:
        same_run.append(snapshot)
    sig = _signature(snapshot)
    since = snapshot.timestamp
    for i in range(len(same_run) - 1, -1, -1):
        if _signature(same_run[i]) != sig:
            break
        since = same_run[i].timestamp if i > 0 else min(same_run[i].timestamp, snapshot.started_at)
    return max(0.0, snapshot.timestamp - since)


def _stall_site(ops: Sequence[OperatorSnapshot]) -> Optional[OperatorSnapshot]:
    """Where a stalled run is stuck: a running task first, then held or fed operators."""
    open_ops = [op for op in ops if op.state != DONE]
    for pred in (
        lambda op: op.active_tasks > 0,
        lambda op: op.state == BACKPRESSURED or bool(op.backpressure_reason),
        lambda op: op.queued_in_blocks > 0,
        lambda op: True,
    ):
        for op in open_ops:
            if pred(op):
                return op
    return None


def find_bottleneck(
    snapshot: Optional[ExecutionSnapshot],
    history: Sequence[ExecutionSnapshot] = (),
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
) -> Optional[Bottleneck]:
    """Return the operator holding the run back and why, or None when nothing does.

    ``history`` is the run's earlier snapshots (``SnapshotBuffer.history()``); with it, a run in
    which no operator made progress for ``stall_timeout_s`` seconds is reported as
    "stalled at <op>". Finished runs have no bottleneck.
    """
    if snapshot is None or snapshot.finished or not snapshot.operators:
        return None
    ops = snapshot.operators

    idle = seconds_without_progress(snapshot, history)
    if idle >= stall_timeout_s or snapshot.stalled:
        site = _stall_site(ops)
        if site is not None:
            detail = []
            if site.active_tasks:
                detail.append(f"{site.active_tasks} task(s) running")
            if site.backpressure_reason:
                detail.append(f"held by {site.backpressure_reason}")
            if site.actors_starting and not site.actors_alive:
                detail.append(f"{site.actors_starting} actor(s) still starting")
            tail = f" ({'; '.join(detail)})" if detail else ""
            return Bottleneck(
                site.op_id, site.name, "stalled",
                f"stalled at {site.name}: no operator made progress for {fmt_seconds(idle)}{tail}",
                stalled=True,
            )

    store = snapshot.store
    if store.capacity_bytes > 0 and store.in_memory_bytes >= STORE_FULL_FRACTION * store.capacity_bytes:
        holder = max(ops, key=lambda op: (op.queued_out_bytes, op.queued_out_blocks))
        return Bottleneck(
            holder.op_id, holder.name, "store",
            f"object store full ({fmt_bytes(store.in_memory_bytes)} of {fmt_bytes(store.capacity_bytes)}"
            f", {fmt_bytes(store.spilled_now_bytes)} spilled); {holder.name} holds "
            f"{holder.queued_out_blocks} queued output block(s) ({fmt_bytes(holder.queued_out_bytes)})",
        )

    for op in ops:
        if op.actors_starting > 0 and op.actors_alive == 0 and op.state != DONE:
            return Bottleneck(
                op.op_id, op.name, "actors",
                f"{op.name}: {op.actors_starting} actor(s) cannot start yet "
                f"(waiting for resources); {op.queued_in_blocks} block(s) wait at its input",
            )

    held = [op for op in ops if op.state == BACKPRESSURED or op.backpressure_reason]
    if held:
        op = max(held, key=lambda o: (o.queued_in_blocks + o.queued_out_blocks, o.backpressure_s))
        policy = op.backpressure_reason or "backpressure"
        return Bottleneck(
            op.op_id, op.name, "backpressure",
            f"{op.name} is held by {policy} ({op.queued_out_blocks} output block(s) queued, "
            f"{fmt_seconds(op.backpressure_s)} backpressured)",
        )

    fed = [op for op in ops if op.state != DONE and op.queued_in_blocks > 0]
    if fed:
        op = max(fed, key=lambda o: (o.queued_in_blocks, o.queued_in_bytes))
        return Bottleneck(
            op.op_id, op.name, "queue",
            f"{op.name} is the slowest stage: {op.queued_in_blocks} block(s) wait at its input "
            f"({fmt_count(op.rows_per_s)} rows/s)",
        )
    return None
