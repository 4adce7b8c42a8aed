"""Start an execution: optimize the logical plan, plan physical operators, pick the runtime,
start the StreamingExecutor and (when enabled) terminal progress."""

from __future__ import annotations

from typing import Any

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.execution.resource_check import check_actor_cpu_reservations, check_plan_resources
from streamscope.engine.execution.streaming_executor import StreamingExecutor
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.logical.plan import LogicalPlan, post_order
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.runtime import get_runtime


def start_execution(plan: LogicalPlan, name: str = "dataset", purpose: str = "", context: Any = None):
    ctx = context or DataContext.get_current()
    optimized = optimize(plan).plan
    if not ctx.execution_options.preserve_order and _needs_block_order(optimized):
        # take()/limit() return the *first* rows, and zip/split pair rows by position: keep block
        # order for this run.
        ctx = ctx.copy()
        ctx.execution_options.preserve_order = True
    physical = plan_physical(optimized)
    runtime = _runtime_for(optimized, ctx, get_runtime)
    check_plan_resources(physical, runtime)
    check_actor_cpu_reservations(physical, runtime)
    # Not started here: the consumer's first step starts it (StreamingExecutor.iter_output), so
    # an interrupt between planning and consuming leaves no run going.
    return StreamingExecutor(physical, runtime, ctx, name=name)


def _needs_block_order(plan: LogicalPlan) -> bool:
    return any(
        isinstance(op, L.Limit) or getattr(getattr(op, "spec", None), "requires_input_order", False)
        for op in post_order(plan.dag)
    )


def _runtime_for(plan: LogicalPlan, ctx: Any, get_runtime: Any) -> Any:
    """The session's runtime, except where the plan can only run in the driver process: blocks a
    materialized dataset holds in another runtime are read there, and files on a process-local
    filesystem (fsspec ``memory://``) exist only in the driver, so worker processes must not
    read or write them (they would see an empty filesystem, or write where nobody looks)."""
    for op in post_order(plan.dag):
        if isinstance(op, L.InputData) and op.refs and op.runtime is not None:
            op.runtime.ensure_started(ctx)
            return op.runtime
    local_fs = [op for op in post_order(plan.dag) if _process_local_fs(op)]
    if (ctx.runtime or "local") == "local" and local_fs:
        return get_runtime(ctx, kind="inprocess")
    if local_fs:
        raise DataSourceError(
            f"{local_fs[0].name}: memory:// paths exist only in this Python process, and the "
            f"{ctx.runtime!r} runtime runs tasks in other processes or on other machines that cannot "
            "see them. Use storage every node can reach (a shared filesystem path, s3://, gs://...)."
        )
    if (ctx.runtime or "local") == "local" and runs_inline(plan, ctx):
        return get_runtime(ctx, kind="inprocess")
    return get_runtime(ctx)


def _process_local_fs(op: Any) -> bool:
    io = getattr(op, "datasource", None) or getattr(op, "datasink", None)
    return io is not None and io.is_process_local()


def runs_inline(plan: LogicalPlan, ctx) -> bool:
    """Small plans skip the worker pool: every source's rows are known and few, and no operator
    asks for resources, actors or an exchange (those need real workers)."""
    limit = ctx.small_plan_inline_rows
    if not limit:
        return False
    total = 0
    for op in post_order(plan.dag):
        if isinstance(op, L.Read):
            rows = op.datasource.num_rows()
            if rows is None or op.resources is not None:
                return False
            total += rows
        elif isinstance(op, L.InputData):
            if op.refs is not None and getattr(op.runtime, "name", "") != "inprocess":
                return False
            total += op.output_num_rows() or 0
        elif isinstance(op, L.AbstractMap):
            if op.compute is not None or op.num_gpus or op.num_cpus is not None or op.memory:
                return False
        elif isinstance(op, (L.Exchange, L.Write)):
            return False
    return total <= limit
