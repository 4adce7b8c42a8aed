"""Start an execution: optimize the logical plan, plan physical operators, pick the runtime,
start the StreamingExecutor and (when enabled) terminal progress."""

from __future__ import annotations

from typing import Any

from streamscope.engine.context import DataContext
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.physical.planner import plan_physical


def start_execution(plan: LogicalPlan, name: str = "dataset", purpose: str = "", context: Any = None):
    from streamscope.engine.execution.streaming_executor import StreamingExecutor
    from streamscope.engine.runtime import get_runtime

    ctx = context or DataContext.get_current()
    optimized = optimize(plan).plan
    if not ctx.execution_options.preserve_order and _has_limit(optimized):
        # take()/limit() return the *first* rows, deterministically: keep block order for this run.
        ctx = ctx.copy()
        ctx.execution_options.preserve_order = True
    physical = plan_physical(optimized)
    runtime = get_runtime(ctx)
    executor = StreamingExecutor(physical, runtime, ctx, name=name)
    executor.start()
    from streamscope.engine.execution.progress import maybe_start_progress

    maybe_start_progress(executor, ctx)
    return executor


def _has_limit(plan: LogicalPlan) -> bool:
    from streamscope.engine.logical.operators import Limit
    from streamscope.engine.logical.plan import post_order

    return any(isinstance(op, Limit) for op in post_order(plan.dag))
