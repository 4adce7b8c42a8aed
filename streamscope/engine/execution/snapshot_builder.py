"""Builds ExecutionSnapshots from the executor's operators (called from the loop thread only).

Every fact a view shows is settled here, once: per-operator figures, the run's store share, the
whole-run progress (:mod:`run_progress`) and the stage that limits throughput (:mod:`bottleneck`),
so the terminal, stats and every widget agree.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution.bottleneck import find_bottleneck
from streamscope.engine.execution.run_progress import run_progress
from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.plan_graph import PlanGraph
from streamscope.engine.runtime.base import TaskStats

if TYPE_CHECKING:  # the executor makes its builder: importing it here would be a cycle
    from streamscope.engine.execution.streaming_executor import StreamingExecutor

MAX_SPANS = 5000


class SnapshotBuilder:
    def __init__(self, executor: StreamingExecutor):
        self.ex = executor
        self.spans: list[T.TaskSpan] = []
        self._graph: Optional[PlanGraph] = None
        self._progress_mark: tuple = ()
        self._spill_seen = 0
        self._spill_by_op: dict[str, int] = {}
        self._progress_at = time.time()
        # The store's spill/restore counters are the session's; a run reports its own share.
        try:
            base = executor.runtime.store_stats()
            self._base_spilled, self._base_restored = base.spilled_total_bytes, base.restored_total_bytes
        except Exception:
            self._base_spilled = self._base_restored = 0

    def record_span(self, op: PhysicalOperator, stats: TaskStats, ok: bool) -> None:
        if len(self.spans) < MAX_SPANS and stats.started_at:
            self.spans.append(T.TaskSpan(op.op_id, stats.worker or "?", stats.started_at, stats.finished_at or time.time(), ok))

    def build(self, state: str, rows_delivered: int, error: Optional[BaseException] = None) -> T.ExecutionSnapshot:
        ex = self.ex
        if self._graph is None:
            self._graph = ex.plan.graph(ex.name)
        store = ex.runtime.store_stats()
        spilled = self._spilled_by_op(store.spilled_total_bytes)
        ops = tuple(self._op_snapshot(op, state, spilled.get(op.op_id, 0)) for op in ex.plan.ops)
        ex.peak_store_bytes = max(ex.peak_store_bytes, store.in_memory_bytes)
        run_store = replace(store, spilled_total_bytes=max(0, store.spilled_total_bytes - self._base_spilled),
                            restored_total_bytes=max(0, store.restored_total_bytes - self._base_restored))
        rows_out = max(rows_delivered, ex.plan.sink.progress_rows())
        progress = run_progress(ops, state, rows_out)
        idle_s = self._idle_s(ops, rows_delivered)
        bottleneck = (find_bottleneck(ops, idle_s, ex.context.stall_timeout_s, run_store)
                      if state == T.RUN_RUNNING else None)
        return T.ExecutionSnapshot(
            run_id=ex.run_id, name=ex.name, state=state, started_at=ex.started_at, timestamp=time.time(),
            operators=ops, store=run_store, resources=self._resources(), bottleneck=bottleneck,
            error=_short_error(error), rows_out=rows_out, estimated_rows_total=progress.estimated_rows_total,
            progress=progress.fraction, plan_graph=self._graph, timeline=tuple(self.spans),
        )

    def _idle_s(self, ops: tuple[T.OperatorSnapshot, ...], rows_delivered: int) -> float:
        """Seconds since any operator last moved rows or finished a task (the stall clock)."""
        mark = (rows_delivered,) + tuple((o.rows_in, o.rows_out, o.blocks_out, o.tasks_done) for o in ops)
        now = time.time()
        if mark != self._progress_mark:
            self._progress_mark, self._progress_at = mark, now
        return now - self._progress_at

    def _spilled_by_op(self, spilled_total: int) -> dict[str, int]:
        """Per-operator spilled bytes; asks the runtime again only when the store spilled more."""
        if spilled_total == self._spill_seen:
            return self._spill_by_op
        self._spill_seen = spilled_total
        self._spill_by_op = self._query_spills()
        return self._spill_by_op

    def _query_spills(self) -> dict[str, int]:
        ex = self.ex
        ids = [t for tasks in ex.task_ids_by_op.values() for t in tasks]
        if not ids:
            return {}
        by_task = ex.runtime.spilled_bytes_by_task(ids)
        if not by_task:
            return {}
        return {op_id: sum(by_task.get(t, 0) for t in tasks) for op_id, tasks in ex.task_ids_by_op.items()}

    def _op_snapshot(self, op: PhysicalOperator, run_state: str, spilled_bytes: int = 0) -> T.OperatorSnapshot:
        ex = self.ex
        m = op.metrics
        qi_blocks, qi_bytes = op.queued_input()
        qo_blocks, qo_bytes = op.queued_output()
        done = ex.is_done(op)
        reason = ex.blocked_reason(op.op_id)
        if done:
            state = T.DONE
        elif run_state == T.RUN_FAILED:
            state = T.FAILED
        elif run_state == T.RUN_CANCELLED:
            state = T.CANCELLED
        elif reason and not op.active:
            state = T.BACKPRESSURED
        elif op.active or m.tasks_submitted or m.rows_out:
            state = T.RUNNING
        else:
            state = T.PENDING
        est = op.estimated_output_rows()
        reads_left = op.num_read_tasks_left()
        progress: Optional[float] = None
        if done:
            progress = 1.0
        elif est:
            progress = min(1.0, m.rows_out / est)
        elif reads_left is not None:
            total = m.tasks_submitted + reads_left
            progress = (m.tasks_done / total) if total else None
        end = m.finished_at or time.time()
        wall = (end - m.started_at) if m.started_at else 0.0
        return T.OperatorSnapshot(
            op_id=op.op_id, name=op.name, state=state, fused=op.logical_names,
            queued_in_blocks=qi_blocks, queued_in_bytes=qi_bytes, queued_out_blocks=qo_blocks, queued_out_bytes=qo_bytes,
            active_tasks=len(op.active), tasks_done=m.tasks_done, tasks_failed=m.tasks_failed,
            rows_in=m.rows_in, rows_out=op.progress_rows(), bytes_in=m.bytes_in, bytes_out=m.bytes_out, blocks_out=m.blocks_out,
            wall_s=wall, cpu_s=m.cpu_s, udf_s=m.udf_s, backpressure_s=m.backpressure_s,
            blocked_by=reason, rows_per_s=m.rows_per_s(), estimated_rows_total=est, progress=progress,
            started_at=m.started_at, finished_at=m.finished_at, phase=op.phase,
            spilled_bytes=spilled_bytes, consumer_id=_consumer_id(ex, op), retries=m.retries,
            errored_blocks=m.errored_blocks,
            **op.actor_telemetry(),
        )

    def _resources(self) -> T.ResourceSnapshot:
        ex = self.ex
        util = ex.runtime.cpu_utilization()
        workers = ex.runtime.workers()
        gpus = tuple(
            T.GpuSnapshot(index=g.get("index", i), name=g.get("name", ""), utilization=g.get("utilization"),
                          memory_used_bytes=g.get("memory_used_bytes"), memory_total_bytes=g.get("memory_total_bytes"),
                          device_id=g.get("device_id", ""))
            for i, g in enumerate(ex.runtime.gpu_stats())
        )
        rm = ex.resources
        return T.ResourceSnapshot(
            cpu_total=rm.cpu_limit if rm else 0.0, cpu_in_use=rm.cpu_used if rm else 0.0, cpu_utilization=util,
            gpus=gpus, workers_alive=len(workers), workers_busy=sum(1 for w in workers if w.busy),
        )


def _consumer_id(ex: StreamingExecutor, op: PhysicalOperator) -> str:
    consumer = ex.consumer_of(op)
    return consumer.op_id if consumer is not None else ""


def _short_error(error: Optional[BaseException]) -> str:
    if error is None:
        return ""
    text = str(error).split("\n", 1)[0]
    return f"{type(error).__name__}: {text}"[:500]
