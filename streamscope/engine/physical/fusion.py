"""Operator fusion: consecutive task-pool map operators with the same resources run as one task.

Why: a block produced by ``map`` and consumed by the next ``filter`` never needs to touch the
store; fusing the chain removes a store round trip and a scheduling step per block. Fusion stops
at operators with different resources (CPU vs GPU) or retry arguments (``retry_exceptions``,
``max_retries``), a concurrency cap, an actor pool, a limit or an all-to-all barrier.
"""

from __future__ import annotations

from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.physical.operators.map_operator import TaskPoolMapOperator
from streamscope.engine.remote_args import fusable


def can_fuse(up: PhysicalOperator, down: PhysicalOperator, consumers: dict[int, int]) -> bool:
    if type(up) is not TaskPoolMapOperator or type(down) is not TaskPoolMapOperator:
        return False
    if consumers.get(id(up), 0) != 1:
        return False
    if up.resources != down.resources:
        return False
    if up.concurrency != down.concurrency:
        return False
    if up.ray_remote_args_fn is not None or down.ray_remote_args_fn is not None:
        return False  # what they generate is not known until the tasks start (Ray's rule)
    if not fusable(up.ray_remote_args, down.ray_remote_args):
        return False
    if up.remote_retry != down.remote_retry or up.max_task_retries != down.max_task_retries:
        return False  # as Ray Data: maps whose ray_remote_args differ (retries included) stay apart
    if down.exact_min_rows:
        # bundles of N rows across everything upstream makes (a write's min_rows_per_file): even a
        # read's tasks would each hand their own rows to a fused write
        return False
    if down.min_rows_per_bundle is not None:
        # map_batches(batch_size=N) takes bundles of at least N rows assembled across upstream
        # outputs, as Ray Data's bundler does: fused into a read, each read task's own rows would
        # make its batches (a 1-row read task would hand the UDF 1-row batches)
        return False
    return True


def fuse(up: TaskPoolMapOperator, down: TaskPoolMapOperator) -> TaskPoolMapOperator:
    fused = TaskPoolMapOperator(
        f"{up.name}->{down.name}",
        up.inputs[0] if up.inputs else None,
        up.transforms + down.transforms,
        logical_names=up.logical_names + down.logical_names,
        read_op=up.read_op,
        resources=up.resources,
        concurrency=up.concurrency,
        min_rows_per_bundle=up.min_rows_per_bundle,
        ray_remote_args=up.ray_remote_args,
        remote_retry=up.remote_retry,
        max_task_retries=up.max_task_retries,
    )
    return fused


def fuse_plan(sink: PhysicalOperator) -> PhysicalOperator:
    """Return the sink of a plan in which every fusable pair has been fused (bottom-up)."""
    consumers: dict[int, int] = {}
    _count_consumers(sink, consumers, set())
    return _fuse(sink, consumers, {})


def _count_consumers(op: PhysicalOperator, counts: dict[int, int], seen: set) -> None:
    if id(op) in seen:
        return
    seen.add(id(op))
    for inp in op.inputs:
        counts[id(inp)] = counts.get(id(inp), 0) + 1
        _count_consumers(inp, counts, seen)


def _fuse(op: PhysicalOperator, consumers: dict[int, int], memo: dict) -> PhysicalOperator:
    if id(op) in memo:
        return memo[id(op)]
    new_inputs = [_fuse(inp, consumers, memo) for inp in op.inputs]
    for old, new in zip(op.inputs, new_inputs):
        consumers[id(new)] = consumers.get(id(old), 1)
    op.inputs = new_inputs
    result = op
    if len(op.inputs) == 1 and can_fuse(op.inputs[0], op, consumers):
        result = fuse(op.inputs[0], op)  # type: ignore[arg-type]
        consumers[id(result)] = consumers.get(id(op), 1)
    memo[id(op)] = result
    return result
