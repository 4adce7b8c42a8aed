"""Start an execution: optimize the logical plan, plan physical operators, pick the runtime,
start the StreamingExecutor and (when enabled) terminal progress.

Each run works on its own copy of the DataContext, taken here: the settings a run starts with are
the ones all its tasks see, wherever they run (the copy travels with every task), and a setting
changed while it runs applies from the next run, as the DataContext promises. Only terminal
progress reads the caller's context live, so ``progress_mode`` can be switched mid-run.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from streamscope.engine.compute import TaskPoolStrategy
from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasource import is_process_local_io
from streamscope.engine.execution import run_registry
from streamscope.engine.execution.resource_check import (
    check_actor_cpu_reservations,
    check_plan_resources,
    check_remote_args,
)
from streamscope.engine.execution.stats import DatasetStats
from streamscope.engine.execution.streaming_executor import StreamingExecutor
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.operators import LogicalOperator
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.logical.plan import LogicalPlan, post_order
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.runtime import get_runtime
from streamscope.engine.runtime.base import Runtime

logger = logging.getLogger(__name__)


def start_execution(plan: LogicalPlan, name: str = "dataset", purpose: str = "",
                    context: Optional[DataContext] = None) -> StreamingExecutor:
    live = context or DataContext.get_current()
    ctx = live.copy()
    optimized = optimize(plan).plan
    if not ctx.execution_options.preserve_order and _needs_block_order(optimized):
        # take()/limit() return the *first* rows, and zip/split pair rows by position: keep block
        # order for this run.
        ctx.execution_options.preserve_order = True
    physical = plan_physical(optimized)
    runtime = _runtime_for(optimized, ctx, get_runtime)
    ctx.warn_unused(runtime.name)
    check_plan_resources(physical, runtime)
    check_remote_args(physical, runtime)
    check_actor_cpu_reservations(physical, runtime)
    executor = StreamingExecutor(physical, runtime, ctx, name=name)
    executor.progress_context = live  # terminal progress follows the caller's live settings
    if ctx.print_on_execution_start:
        logger.info("Starting execution of Dataset %s (%s runtime). Execution plan: %s", name, runtime.name,
                    " -> ".join(op.name for op in physical.ops))
    if ctx.enable_auto_log_stats:
        run_registry.when_finished(executor, _log_stats)
    # Not started here: the consumer's first step starts it (StreamingExecutor.iter_output), so
    # an interrupt between planning and consuming leaves no run going.
    return executor


def _log_stats(executor: StreamingExecutor) -> None:
    """``enable_auto_log_stats``: the run's ``stats()`` text, logged as Ray Data does."""
    logger.info("%s", DatasetStats(executor.final_snapshot, executor.peak_store_bytes))


def _needs_block_order(plan: LogicalPlan) -> bool:
    return any(
        isinstance(op, L.Limit) or getattr(getattr(op, "spec", None), "requires_input_order", False)
        for op in post_order(plan.dag)
    )


def _runtime_for(plan: LogicalPlan, ctx: DataContext, get_runtime: Callable[..., Runtime]) -> Runtime:
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
    if ctx.runtime == "ray":
        _refuse_driver_node_only(plan, ctx)
    if (ctx.runtime or "local") == "local" and runs_inline(plan, ctx):
        return get_runtime(ctx, kind="inprocess")
    return get_runtime(ctx)


def _refuse_driver_node_only(plan: LogicalPlan, ctx: DataContext) -> None:
    """A datasource (datasink) whose ``supports_distributed_reads`` (``_writes``) is False must
    run its tasks on the driver's machine. Every worker of the local runtime is; a cluster
    runtime cannot pin tasks to the driver's node here, so the run is refused before it starts."""
    for op in post_order(plan.dag):
        source = getattr(op, "datasource", None)
        sink = getattr(op, "datasink", None)
        if source is not None and not getattr(source, "supports_distributed_reads", True):
            flag = "supports_distributed_reads"
        elif sink is not None and not getattr(sink, "supports_distributed_writes", True):
            flag = "supports_distributed_writes"
        else:
            continue
        raise DataSourceError(
            f"{op.name}: {flag} is False, so its tasks must run on the driver's machine, and the "
            f"{ctx.runtime!r} runtime cannot pin tasks there; run it with the local runtime "
            "(streamscope.init(runtime='local')) or make the data reachable from every node"
        )


def _process_local_fs(op: LogicalOperator) -> bool:
    source = getattr(op, "datasource", None)
    if source is not None:
        return is_process_local_io(source)
    sink = getattr(op, "datasink", None)
    return sink is not None and is_process_local_io(sink)


def runs_inline(plan: LogicalPlan, ctx: DataContext) -> bool:
    """Small plans skip the worker pool: every source's rows are known and few, and no operator
    asks for resources, remote args (custom resources are declared on the local runtime), actors,
    a task cap or an exchange (those need real workers), and no worker memory limit is set (only a
    worker process can be held to one)."""
    limit = ctx.small_plan_inline_rows
    if not limit or ctx.worker_memory_limit_bytes is not None:
        return False
    total = 0
    for op in post_order(plan.dag):
        if isinstance(op, L.Read):
            rows = op.output_num_rows()
            if rows is None or op.resources is not None:
                return False
            total += rows
        elif isinstance(op, L.InputData):
            if op.refs is not None and getattr(op.runtime, "name", "") != "inprocess":
                return False
            total += op.output_num_rows() or 0
        elif isinstance(op, L.AbstractMap):
            default_tasks = op.compute is None or (isinstance(op.compute, TaskPoolStrategy) and op.compute.size is None)
            if not default_tasks or op.num_gpus or op.num_cpus is not None or op.memory or op.ray_remote_args \
                    or op.ray_remote_args_fn is not None:
                return False
        elif isinstance(op, (L.Exchange, L.Write)):
            return False
    return total <= limit
