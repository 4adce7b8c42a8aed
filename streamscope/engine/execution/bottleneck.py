"""The one rule that names the stage limiting a run's throughput (``ExecutionSnapshot.bottleneck``).

Why here, once: the live view, the dashboard and terminal progress must all name the same stage
for the same reason, so the snapshot builder applies this rule to every snapshot and the views only
show its answer. It is a pure function of operator snapshots, so tests feed it hand-built ones.

The rule: **the bottleneck is the stage that works at its capacity while work waits for it.** A
stage that is only held back by downstream backpressure (``DownstreamCapacity``, ``OutputBudget``)
is never named: it could do more, and the rule follows its output downstream to the stage (or the
consumer) it waits for. In order:

1. ``STALLED``: no operator made progress for ``stall_timeout_s``; reported at the stage the rest
   of the rule would name, else at a stage with tasks running, else at the first open stage.
2. ``ACTORS_STARTING``: an actor pool with actors starting and none alive cannot work at all.
3. A stage at capacity, with the most blocks waiting at its input (ties: the later stage):
   ``ACTORS_BUSY`` (every actor busy), ``CONCURRENCY_CAP`` (its tasks at the ``concurrency``
   cap), ``INPUT_FULL`` (a stage before it is held by downstream backpressure waiting for it).
4. ``CONSUMER``: backpressure leads past the last stage, to the code reading the output.
5. ``RESOURCES``: a stage waits for CPU/GPU slots (the machine is the limit).
6. ``INPUT_QUEUE``: otherwise the stage with the most blocks waiting at its input.
7. ``DRAINING``: otherwise the one stage with tasks in flight, once every stage before it is done.

Before rule 3, ``STORE_FULL``: the object store holds at least 90% of its capacity and this run
has spilled, so writing blocks to disk paces everything. Between rules 4 and 5, ``SOURCE``: the
first stage (a read) has tasks in flight while every stage after it waits with nothing queued.
Whatever the answer, ``Bottleneck.holds_back`` lists the stages held back by downstream
backpressure and the policy holding each, apart from the limit itself.

Example::

    >>> from streamscope.engine.execution.blocked_reason import BlockedReason
    >>> from streamscope.engine.execution.telemetry import OperatorSnapshot
    >>> held = BlockedReason("DownstreamCapacity", "9 blocks queued at Model")
    >>> pre = OperatorSnapshot("op1", "MapBatches(prep)", state="backpressured", consumer_id="op2",
    ...                        blocked_by=held)
    >>> model = OperatorSnapshot("op2", "MapBatches(Model)", state="running", queued_in_blocks=9,
    ...                          actors_alive=1, actors_busy=1, active_tasks=1)
    >>> find_bottleneck((pre, model)).op_id
    'op2'
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Optional, Sequence

from streamscope.engine.execution.backpressure.concurrency_cap import ConcurrencyCapPolicy
from streamscope.engine.execution.backpressure.downstream_capacity import DownstreamCapacityPolicy
from streamscope.engine.execution.backpressure.output_budget import OutputBudgetPolicy
from streamscope.engine.execution.blocked_reason import RESOURCES as RESOURCES_POLICY
from streamscope.engine.execution.telemetry import (
    ACTORS_BUSY,
    ACTORS_STARTING,
    CANCELLED,
    CONCURRENCY_CAP,
    CONSUMER,
    DONE,
    DRAINING,
    FAILED,
    INPUT_FULL,
    INPUT_QUEUE,
    RESOURCES,
    SOURCE,
    STALLED,
    STORE_FULL,
    Bottleneck,
    OperatorSnapshot,
    consumer_index,
)
from streamscope.engine.units import format_bytes, format_duration, format_rate

HELD_BY_DOWNSTREAM = (DownstreamCapacityPolicy.name, OutputBudgetPolicy.name)
"""Policies that hold a stage back because of a stage after it: the held stage is not the limit."""

CONSUMER_NAME = "the consumer"
"""``Bottleneck.op_name`` when the limit is the code reading the run's output."""
STORE_NAME = "the object store"
"""``Bottleneck.op_name`` when the limit is a full, spilling store."""


def _policy(op: OperatorSnapshot) -> str:
    """The policy holding the operator ("" when it is free)."""
    return op.blocked_by.policy if op.blocked_by is not None else ""


def _held(op: OperatorSnapshot) -> bool:
    return _policy(op) in HELD_BY_DOWNSTREAM


def _waiting(op: OperatorSnapshot) -> str:
    return f"{op.queued_in_blocks} block(s) wait at its input"


def _waited_for(ops: Sequence[OperatorSnapshot], i: int) -> Optional[int]:
    """Follow a held stage's output past every stage that is itself held; the index of the first
    stage that is not (None: backpressure leads to the run's consumer)."""
    seen = {i}
    k = consumer_index(ops, i)
    while k is not None and _held(ops[k]) and k not in seen:
        seen.add(k)
        k = consumer_index(ops, k)
    return k


def _at_capacity(op: OperatorSnapshot) -> Optional[Bottleneck]:
    """The stage's own limit, when it works at capacity with work waiting."""
    if _held(op):
        return None
    if op.actors_alive and op.actors_busy >= op.actors_alive and op.queued_in_blocks > 0:
        return Bottleneck(op.op_id, op.name, ACTORS_BUSY,
                          f"{op.name} limits throughput: all {op.actors_alive} actor(s) busy, "
                          f"{_waiting(op)} ({format_rate(op.rows_per_s)})")
    if _policy(op) == ConcurrencyCapPolicy.name:
        waiting = f", {_waiting(op)}" if op.queued_in_blocks else ""
        return Bottleneck(op.op_id, op.name, CONCURRENCY_CAP,
                          f"{op.name} limits throughput: {op.active_tasks} task(s) in flight at its "
                          f"concurrency cap{waiting} ({format_rate(op.rows_per_s)})")
    return None


STORE_FULL_FRACTION = 0.9
"""The store counts as full from this share of its capacity (spilling starts at the capacity)."""


def _store_full(store: Any) -> Optional[Bottleneck]:
    if store is None or not store.capacity_bytes or store.spilled_total_bytes <= 0:
        return None
    if store.in_memory_bytes < STORE_FULL_FRACTION * store.capacity_bytes:
        return None
    return Bottleneck("", STORE_NAME, STORE_FULL,
                      f"the object store is full and spilling: {format_bytes(store.in_memory_bytes)} of "
                      f"{format_bytes(store.capacity_bytes)} in memory, {format_bytes(store.spilled_total_bytes)} "
                      "spilled by this run; give it more room (DataContext.object_store_capacity_bytes) or "
                      "consume the output faster")


def _source_limits(ops: Sequence[OperatorSnapshot], open_idx: list[int]) -> Optional[Bottleneck]:
    first = ops[open_idx[0]]
    if open_idx[0] != 0 or _held(first) or first.active_tasks == 0 or len(ops) < 2:
        return None
    later = [ops[i] for i in open_idx[1:]]
    if any(op.queued_in_blocks for op in later) or not later:
        return None
    return Bottleneck(first.op_id, first.name, SOURCE,
                      f"{first.name} limits throughput: the stages after it wait for its output "
                      f"({first.active_tasks} task(s) in flight, {format_rate(first.rows_per_s)})")


def _limit(ops: Sequence[OperatorSnapshot], open_idx: list[int], store: Any = None) -> Optional[Bottleneck]:
    """Rules 2-7 of the module docstring, for the open operators at ``open_idx``."""
    for i in open_idx:
        op = ops[i]
        if op.actors_starting > 0 and op.actors_alive == 0:
            return Bottleneck(op.op_id, op.name, ACTORS_STARTING,
                              f"{op.name}: {op.actors_starting} actor(s) cannot start yet "
                              f"(waiting for resources); {_waiting(op)}")
    full = _store_full(store)
    if full is not None:
        return full
    found: dict[int, Bottleneck] = {}
    consumer: Optional[Bottleneck] = None
    for i in open_idx:
        own = _at_capacity(ops[i])
        if own is not None:
            found[i] = own
    for i in open_idx:
        held = ops[i]
        if not _held(held):
            continue
        k = _waited_for(ops, i)
        if k is None:
            consumer = consumer or Bottleneck(
                "", CONSUMER_NAME, CONSUMER,
                f"the consumer limits throughput: the code reading the output takes blocks slower "
                f"than they are made ({held.name} is held back: {held.backpressure_reason})")
        elif k not in found and ops[k].state not in (DONE, FAILED, CANCELLED):
            limiter = ops[k]
            found[k] = Bottleneck(limiter.op_id, limiter.name, INPUT_FULL,
                                  f"{limiter.name} limits throughput: {_waiting(limiter)} "
                                  f"({held.name} is held back: {held.backpressure_reason})")
    if found:
        best = max(found, key=lambda k: (ops[k].queued_in_blocks, k))
        return found[best]
    if consumer is not None:
        return consumer
    source = _source_limits(ops, open_idx)
    if source is not None:
        return source
    free = [i for i in open_idx if not _held(ops[i])]
    starved = [i for i in free if _policy(ops[i]) == RESOURCES_POLICY]
    if starved:
        op = ops[max(starved, key=lambda k: (ops[k].queued_in_blocks, k))]
        wait = op.blocked_by.message
        return Bottleneck(op.op_id, op.name, RESOURCES, f"{op.name} waits for the machine: {wait}; {_waiting(op)}")
    fed = [i for i in free if ops[i].queued_in_blocks > 0]
    if fed:
        op = ops[max(fed, key=lambda k: (ops[k].queued_in_blocks, ops[k].queued_in_bytes, k))]
        return Bottleneck(op.op_id, op.name, INPUT_QUEUE,
                          f"{op.name} is the slowest stage: {_waiting(op)} ({format_rate(op.rows_per_s)})")
    working = [i for i in open_idx if ops[i].active_tasks > 0]
    if len(working) == 1 and all(ops[k].state == DONE for k in range(working[0])):
        op = ops[working[0]]
        return Bottleneck(op.op_id, op.name, DRAINING,
                          f"{op.name}: every stage before it is done; the run waits for its "
                          f"{op.active_tasks} task(s) in flight")
    return None


def _stall(ops: Sequence[OperatorSnapshot], open_idx: list[int], found: Optional[Bottleneck],
           idle_s: float) -> Bottleneck:
    since = f"no operator made progress for {format_duration(idle_s)}"
    if found is not None and found.kind == CONSUMER:
        return Bottleneck("", CONSUMER_NAME, STALLED,
                          f"stalled at the consumer: {since}; the code reading the output takes no blocks")
    site = None
    if found is not None:
        site = next((ops[i] for i in open_idx if ops[i].op_id == found.op_id), None)
    if site is None:
        site = next((ops[i] for i in open_idx if ops[i].active_tasks > 0), ops[open_idx[0]])
    detail = []
    if site.active_tasks:
        detail.append(f"{site.active_tasks} task(s) running")
    if site.backpressure_reason:
        detail.append(f"held by {site.backpressure_reason}")
    if site.actors_starting and not site.actors_alive:
        detail.append(f"{site.actors_starting} actor(s) still starting")
    tail = f" ({'; '.join(detail)})" if detail else ""
    return Bottleneck(site.op_id, site.name, STALLED, f"stalled at {site.name}: {since}{tail}")


def _held_back(ops: Sequence[OperatorSnapshot], open_idx: list[int]) -> tuple[str, ...]:
    return tuple(f"{ops[i].name} by {_policy(ops[i])}" for i in open_idx if _held(ops[i]))


def find_bottleneck(ops: Sequence[OperatorSnapshot], idle_s: float = 0.0,
                    stall_timeout_s: float = math.inf, store: Any = None) -> Optional[Bottleneck]:
    """The stage that limits a running run's throughput, or None when no stage does.

    ``ops`` are the run's operator snapshots in plan order; ``idle_s`` is how long no operator has
    made progress, and at ``stall_timeout_s`` or more the answer is a ``STALLED`` one; ``store``
    (the snapshot's store figures) lets a full, spilling store be named. The caller asks only
    while the run is running (a finished run has no bottleneck).
    """
    open_idx = [i for i, op in enumerate(ops) if op.state not in (DONE, FAILED, CANCELLED)]
    if not open_idx:
        return None
    found = _limit(ops, open_idx, store)
    if idle_s >= stall_timeout_s:
        found = _stall(ops, open_idx, found, idle_s)
    if found is None:
        return None
    return replace(found, holds_back=tuple(h for h in _held_back(ops, open_idx) if not h.startswith(f"{found.op_name} by ")))


__all__ = ["find_bottleneck", "HELD_BY_DOWNSTREAM", "CONSUMER_NAME", "STORE_NAME"]
