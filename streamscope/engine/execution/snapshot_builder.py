"""Builds ExecutionSnapshots from the executor's operators (called from the loop thread only)."""

from __future__ import annotations

import time
from typing import Any, Optional

from streamscope.engine.execution import telemetry as T
from streamscope.engine.plan_graph import PlanGraph

MAX_SPANS = 5000


class SnapshotBuilder:
    def __init__(self, executor: Any):
        self.ex = executor
        self.spans: list[T.TaskSpan] = []
        self._graph: Optional[PlanGraph] = None
        self._last_progress: dict[str, tuple[float, int]] = {}
        self._cpu_primed = False
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

    def record_span(self, op: Any, stats: Any, ok: bool) -> None:
        if len(self.spans) < MAX_SPANS and stats.started_at:
            self.spans.append(T.TaskSpan(op.op_id, stats.worker or "?", stats.started_at, stats.finished_at or time.time(), ok))

    def build(self, state: str, rows_delivered: int, error: Optional[BaseException] = None) -> T.ExecutionSnapshot:
        ex = self.ex
        if self._graph is None:
            self._graph = ex.plan.graph(ex.name)
        store = ex.runtime.store_stats()
        spilled = self._spilled_by_op(store.spilled_total_bytes)
        ops = tuple(self._op_snapshot(op, state, spilled.get(op.op_id, 0)) for op in ex.plan.ops)
        ex.peak_store_bytes = max(getattr(ex, "peak_store_bytes", 0), store.in_memory_bytes)
        snap_store = T.StoreSnapshot(store.capacity_bytes, store.in_memory_bytes, store.spilled_now_bytes,
                                     max(0, store.spilled_total_bytes - self._base_spilled),
                                     max(0, store.restored_total_bytes - self._base_restored),
                                     store.num_blocks, store.backend)
        ex.peak_store_bytes = max(getattr(ex, "peak_store_bytes", 0), store.in_memory_bytes)
        resources = self._resources()
        progress = self._progress(ops, state)
        bottleneck = _bottleneck(ops) if state == T.RUN_RUNNING else ""
        stalled = state == T.RUN_RUNNING and self._stalled(ops, rows_delivered)
        return T.ExecutionSnapshot(
            run_id=ex.run_id, name=ex.name, state=state, started_at=ex.started_at, timestamp=time.time(),
            operators=ops, store=snap_store, resources=resources, bottleneck=bottleneck,
            stalled=stalled, error=_short_error(error), rows_out=max(rows_delivered, _rows_out(ex.plan.sink)), progress=progress,
            plan_graph=self._graph, timeline=tuple(self.spans),
        )

    def _stalled(self, ops: tuple, rows_delivered: int) -> bool:
        """No operator produced rows or finished a task for ``DataContext.stall_timeout_s``."""
        mark = (rows_delivered,) + tuple((o.rows_out, o.tasks_done) for o in ops)
        now = time.time()
        if mark != self._progress_mark:
            self._progress_mark, self._progress_at = mark, now
            return False
        return now - self._progress_at >= self.ex.context.stall_timeout_s

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

    def _op_snapshot(self, op: Any, run_state: str, spilled_bytes: int = 0) -> T.OperatorSnapshot:
        ex = self.ex
        m = op.metrics
        qi_blocks, qi_bytes = op.queued_input()
        qo_blocks, qo_bytes = op.queued_output()
        done = id(op) in ex._input_done_marked
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
        progress = None
        if done:
            progress = 1.0
        elif est:
            progress = min(1.0, m.rows_out / est)
        elif getattr(op, "read_op", None) is not None:
            total = m.tasks_submitted + op.num_read_tasks_left()
            progress = (m.tasks_done / total) if total else None
        end = m.finished_at or time.time()
        wall = (end - m.started_at) if m.started_at else 0.0
        return T.OperatorSnapshot(
            op_id=op.op_id, name=op.name, state=state, fused=op.logical_names,
            queued_in_blocks=qi_blocks, queued_in_bytes=qi_bytes, queued_out_blocks=qo_blocks, queued_out_bytes=qo_bytes,
            active_tasks=len(op.active), tasks_done=m.tasks_done, tasks_failed=m.tasks_failed,
            rows_in=m.rows_in, rows_out=_rows_out(op), bytes_in=m.bytes_in, bytes_out=m.bytes_out, blocks_out=m.blocks_out,
            wall_s=wall, cpu_s=m.cpu_s, udf_s=m.udf_s, backpressure_s=m.backpressure_s,
            backpressure_reason=reason, rows_per_s=m.rows_per_s(), estimated_rows_total=est, progress=progress,
            started_at=m.started_at, finished_at=m.finished_at, phase=getattr(op, "phase", ""),
            spilled_bytes=spilled_bytes,
            **_actor_fields(op),
        )

    def _resources(self) -> T.ResourceSnapshot:
        ex = self.ex
        util = None
        try:
            import psutil

            value = psutil.cpu_percent(interval=None)
            util = value / 100.0 if self._cpu_primed else None
            self._cpu_primed = True
        except Exception:
            pass
        workers = ex.runtime.workers()
        gpus = tuple(
            T.GpuSnapshot(index=g.get("index", i), name=g.get("name", ""), utilization=g.get("utilization"),
                          memory_used_bytes=g.get("memory_used_bytes"), memory_total_bytes=g.get("memory_total_bytes"))
            for i, g in enumerate(ex.runtime.gpu_stats())
        )
        rm = ex.resources
        return T.ResourceSnapshot(
            cpu_total=rm.cpu_limit if rm else 0.0, cpu_in_use=rm.cpu_used if rm else 0.0, cpu_utilization=util,
            gpus=gpus, workers_alive=len(workers), workers_busy=sum(1 for w in workers if w.busy),
        )

    def _progress(self, ops: tuple, state: str) -> Optional[float]:
        if state == T.RUN_SUCCEEDED:
            return 1.0
        sink = ops[-1] if ops else None
        if sink is None:
            return None
        if sink.progress is not None:
            return min(sink.progress, 0.999)
        values = [o.progress for o in ops if o.progress is not None]
        return min(values) * 0.999 if values else None


def _rows_out(op: Any) -> int:
    """Rows an operator put out; for a write, the rows it stored (its result rows are one per
    file, which is not what a progress bar should count)."""
    if any(type(t).__name__ == "WriteTransform" for t in getattr(op, "transforms", ())):
        return op.metrics.rows_written
    return op.metrics.rows_out


def _actor_fields(op: Any) -> dict:
    fn = getattr(op, "actor_telemetry", None)
    return fn() if fn else {}


def _bottleneck(ops: tuple) -> str:
    blocked = [o for o in ops if o.state == T.BACKPRESSURED and o.backpressure_reason]
    running = [o for o in ops if o.state in (T.RUNNING, T.BACKPRESSURED)]
    if not running:
        return ""
    slowest = max(running, key=lambda o: (o.queued_in_blocks, o.active_tasks))
    if slowest.queued_in_blocks > 0:
        return f"{slowest.name}: {slowest.queued_in_blocks} blocks waiting for it ({slowest.active_tasks} tasks running)"
    if blocked:
        o = blocked[0]
        return f"{o.name} is held back by {o.backpressure_reason}"
    return ""


def _short_error(error: Optional[BaseException]) -> str:
    if error is None:
        return ""
    text = str(error).split("\n", 1)[0]
    return f"{type(error).__name__}: {text}"[:500]
