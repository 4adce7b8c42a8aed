"""StreamingExecutor: runs a physical plan in a background thread and streams its output.

The scheduling loop: collect finished tasks from the runtime, route output bundles downstream,
dispatch whatever the resource manager and the backpressure policies allow (downstream operators
first, so the pipeline drains before it fills), and publish a telemetry snapshot a few times a
second. Outputs reach the consumer through a bounded queue.

Completion, a failure, a cancel and a KeyboardInterrupt at the consumer all end in
:meth:`_finish`, one idempotent path: in-flight tasks are cancelled, every block the run still
owns is freed, and the run is marked succeeded, failed or cancelled — never succeeded unless the
sink really finished.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterator, Optional

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import ExecutionCancelled, exception_from_task_error
from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution import run_registry
from streamscope.engine.execution.backpressure.concurrency_cap import ConcurrencyCapPolicy
from streamscope.engine.execution.backpressure.downstream_capacity import DownstreamCapacityPolicy
from streamscope.engine.execution.backpressure.output_budget import OutputBudgetPolicy
from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.execution.output_queue import OutputBlock, OutputQueue
from streamscope.engine.execution.progress import maybe_start_progress
from streamscope.engine.execution.resource_manager import ResourceManager
from streamscope.engine.execution.snapshot_builder import SnapshotBuilder
from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.physical.plan import PhysicalPlan
from streamscope.engine.runtime.base import BlockRef, Runtime, TaskHandle, TaskResult
from streamscope.engine.runtime.run_channel import RunChannel

logger = logging.getLogger(__name__)


class StreamingExecutor:
    def __init__(self, plan: PhysicalPlan, runtime: Runtime, context: DataContext, name: str = "dataset"):
        self.plan = plan
        self.runtime = runtime
        self.context = context
        self.name = name
        self.services = ExecutionServices(runtime, context)
        self.buffer = T.hub().new_run(name)
        self.run_id = self.buffer.run_id
        self.policies = [ConcurrencyCapPolicy(), OutputBudgetPolicy(), DownstreamCapacityPolicy(
            context.downstream_capacity_backpressure_ratio)]
        self.resources: Optional[ResourceManager] = None
        self._owner: dict[TaskHandle, tuple[PhysicalOperator, TaskInfo]] = {}
        self._output = OutputQueue()
        """Blocks waiting for the consumer, and those it holds (lent) and has not given back."""
        self._stop = threading.Event()
        self._cancel_requested = False
        self._cancel_reason = "cancelled"
        self._finished = False
        self._state = T.RUN_RUNNING
        self._error: Optional[BaseException] = None
        self._input_done_marked: set[int] = set()
        self._blocked: dict[str, BlockedReason] = {}
        self._rows_delivered = 0
        self._errored_blocks = 0
        """Failed tasks whose blocks were dropped under ``max_errored_blocks``, all operators
        together (Ray Data counts one budget per run, not per operator)."""
        self._thread: Optional[threading.Thread] = None
        self.progress_context: Optional[DataContext] = None
        """The caller's live DataContext, which terminal progress follows (None: the run's own)."""
        self.channel: Optional[RunChannel] = None
        """This run's private channel into the shared runtime (opened by :meth:`start`)."""
        self._snapshots = SnapshotBuilder(self)
        self._last_publish = 0.0
        self._last_step_at: Optional[float] = None
        """When the last scheduling step ended (monotonic; backpressure time is charged per step)."""
        self._finish_lock = threading.Lock()
        self.started_at = time.time()
        self.final_snapshot: Optional[T.ExecutionSnapshot] = None
        self._consumers = {id(op): plan.consumers(op) for op in plan.ops}
        self.peak_store_bytes = 0
        self.task_ids_by_op: dict[str, list[int]] = {}
        """Every task each operator submitted in this run (per-operator spill attribution)."""

    # ---- public ----------------------------------------------------------------------------
    def start(self) -> "StreamingExecutor":
        """Start the scheduling thread (idempotent). Consumers need not call it: the first step of
        :meth:`iter_output` does, inside the block that cancels the run if the consumer goes
        away, so no run is ever left going without somebody to end it."""
        with self._finish_lock:
            if self._thread is not None or self._finished:
                return self
            self.channel = self.runtime.open_run(self.run_id)
            run_registry.register(self)
            self._thread = threading.Thread(target=self._run, name=f"streamscope-executor-{self.run_id}", daemon=True)
            self._thread.start()
        maybe_start_progress(self, self.progress_context or self.context)
        return self

    def iter_output(self) -> Iterator[OutputBlock]:
        """Yield (ref, metadata, owned) in output order. Closing the generator early (break,
        exception, KeyboardInterrupt) cancels the run through the shutdown path."""
        completed = False
        try:
            self.start()
            while True:
                item = self._output.take()
                if item is None:
                    if self._error is not None:
                        raise self._error
                    completed = True
                    return
                self._rows_delivered += item.meta.num_rows
                yield item  # an owned block is lent from the moment take() handed it out
        finally:
            if not completed:
                self.cancel(reason="consumer stopped")
                self.join(5.0)
                self._release_undelivered()
                # blocks handed out that the consumer never gave back (it stopped between
                # receiving one and reading it): nobody else will free them
                self.services.free(self._output.take_lent())

    def release(self, ref: BlockRef, owned: bool = True) -> None:
        """The consumer has read a block from :meth:`iter_output` and is done with it: free it now
        (when the run owns it). Blocks handed out and not released are freed if the consumer stops
        early, so an interrupt between receiving and reading loses nothing; once the run completed,
        blocks not released are the consumer's (``materialize`` and the splits keep them)."""
        if owned:  # free first: interrupted in between, the block is still lent, so freed again
            self.services.free([ref])
        self._output.settle(ref)

    def _release_undelivered(self) -> None:
        """Free blocks still waiting for a consumer that stopped early. Needed even when the run
        itself had already succeeded: its last outputs sit in the queue and nobody will read them."""
        self.services.free(self._output.drop_undelivered())

    def cancel(self, reason: str = "cancelled") -> None:
        """Request cancellation; the loop thread performs it (within one scheduling step)."""
        if self._finished:
            return
        self._cancel_requested = True
        self._cancel_reason = reason
        self._stop.set()
        self._output.wake()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def state(self) -> str:
        return self._state

    @property
    def _rm(self) -> ResourceManager:
        """The run's resource manager (made when the loop starts; the loop's steps use it)."""
        if self.resources is None:
            raise RuntimeError("the scheduling loop has not started")
        return self.resources

    @property
    def _chan(self) -> RunChannel:
        """The run's channel (opened by :meth:`start`; every task goes through it)."""
        if self.channel is None:
            raise RuntimeError("the run has not started")
        return self.channel

    # ---- queries used by backpressure policies and snapshots -------------------------------
    def consumer_of(self, op: PhysicalOperator) -> Optional[PhysicalOperator]:
        consumers = self._consumers.get(id(op)) or []
        return consumers[0][0] if consumers else None

    def is_done(self, op: PhysicalOperator) -> bool:
        """True once ``op`` finished and its consumers were told its input is done."""
        return id(op) in self._input_done_marked

    def consumer_queue_blocks(self) -> int:
        return self._output.num_blocks

    def parallelism_of(self, op: PhysicalOperator) -> int:
        cap = op.concurrency_cap()
        cpus = int(self.resources.cpu_limit) if self.resources else 1
        return min(cap, cpus) if cap else cpus

    def op_output_budget(self, op: PhysicalOperator) -> Optional[float]:
        """This operator's share of the store: half the store's budget, divided between the runs
        open on the runtime right now and then between this run's operators; at least 8 MiB, but
        never more than a quarter of the run's share (a floor of 8 MiB each let a two-stage
        pipeline hold 16 MiB in a 1 MiB store, all of it spilled)."""
        if self.resources is None or self.resources.store_limit == float("inf"):
            return None
        share = self.resources.store_share()
        n = max(1, len(self.plan.ops))
        return max(share * 0.5 / n, min(8 << 20, share * 0.25))

    def bundle_bytes_limit(self) -> Optional[float]:
        """The most input bytes a map task waits for (``ExecutionServices.min_bundle_bytes``):
        half an operator's output budget, so the bundle a stage gathers fits inside what
        backpressure lets the stage before it produce."""
        budget = self.op_output_budget(self.plan.sink)
        return None if budget is None else budget / 2

    def pending_output_bytes(self, op: PhysicalOperator) -> int:
        total = op.queued_output()[1]
        consumer = self.consumer_of(op)
        if consumer is None:
            total += self._output.nbytes
        else:
            total += consumer.queued_input()[1]
        return total

    def expected_task_output_bytes(self, op: PhysicalOperator) -> float:
        m = op.metrics
        if m.tasks_done:
            return m.bytes_out / m.tasks_done
        return 0.0

    # ---- the loop ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.resources = ResourceManager(self.runtime, self.context)
            self.services.bundle_bytes_limit = self.bundle_bytes_limit
            for op in self.plan.ops:
                op.start(self.services)
                op.metrics.started_at = None
            self._publish(force=True)
            while not self._stop.is_set():
                self._step()
                if self._sink_done():
                    break
            if self._cancel_requested:
                raise ExecutionCancelled(f"run {self.name!r} was cancelled ({self._cancel_reason})")
            self._finish(T.RUN_SUCCEEDED, None)
        except BaseException as exc:  # noqa: BLE001 - every failure goes through _finish
            state = T.RUN_CANCELLED if isinstance(exc, ExecutionCancelled) else T.RUN_FAILED
            self._finish(state, exc)

    def _step(self) -> None:
        timeout = 0.02 if self._owner else 0.0
        results = self._chan.wait(timeout) if self._owner else []
        for i, (handle, result) in enumerate(results):
            try:
                self._on_result(handle, result)
            except BaseException:
                self._drop_results(results[i + 1:])
                raise
        self._route()
        dispatched = self._dispatch()
        self._route()
        self._account_backpressure()
        self._publish()
        if not results and not dispatched and not self._sink_done():
            self._output.wait_unless(self._stop, 0.005 if self._owner else 0.02)

    def _on_result(self, handle: TaskHandle, result: TaskResult) -> None:
        if result.partial:
            self._on_partial(handle, result)
            return
        owner = self._owner.pop(handle, None)
        if owner is None:
            self.services.free([r for r, _ in result.outputs])
            return
        op, info = owner
        op.active.pop(handle, None)
        self._rm.release(handle.spec.resources)
        stats = result.stats
        m = op.metrics
        m.cpu_s += stats.cpu_s
        m.udf_s += stats.udf_s
        m.task_wall_s += stats.wall_s
        m.rows_written += stats.rows_written
        m.retries += stats.retries + max(0, stats.attempts - 1)
        self._snapshots.record_span(op, stats, result.error is None)
        if result.error is not None:
            m.tasks_failed += 1
            self.services.free([r for r, _ in result.outputs])
            limit = self.context.max_errored_blocks
            if not result.error.system and (limit < 0 or self._errored_blocks < limit):
                self._errored_blocks += 1
                m.errored_blocks += 1
                logger.warning("a task of %s failed and its block is dropped (%s of max_errored_blocks=%s): %s: %s",
                               op.name, self._errored_blocks, limit, result.error.type_name, result.error.message)
                self._free_task_inputs(info)
                op.on_task_skipped(handle, info)
                return
            self._free_task_inputs(info)  # the run ends here: nobody else would free them
            raise exception_from_task_error(result.error)
        m.tasks_done += 1
        self._free_task_inputs(info)
        if op.completed_early:
            self.services.free([r for r, _ in result.outputs])
            return
        op.on_task_done(handle, info, result)

    def _drop_results(self, results: list[tuple[TaskHandle, TaskResult]]) -> None:
        """Results taken from the channel that the run will never route (an earlier result in
        the same batch ended it): free their outputs, and their inputs once they are final."""
        for handle, result in results:
            self.services.free([r for r, _ in result.outputs])
            if not result.partial:
                owner = self._owner.pop(handle, None)
                if owner is not None:
                    owner[0].active.pop(handle, None)
                    self._free_task_inputs(owner[1])

    def _on_partial(self, handle: TaskHandle, result: TaskResult) -> None:
        """Outputs a streaming task reported before finishing: route them now."""
        owner = self._owner.get(handle)
        if owner is None:
            self.services.free([r for r, _ in result.outputs])
            return
        op, info = owner
        if op.completed_early:
            self.services.free([r for r, _ in result.outputs])
            return
        op.on_task_output(handle, info, result.outputs)

    def _free_task_inputs(self, info: TaskInfo) -> None:
        self.services.free([r for b in info.bundles if b.owned for r in b.refs])

    def _route(self) -> None:
        for op in self.plan.ops:
            op.progress_tick()
            consumers = self._consumers[id(op)]
            while op.output_queue:
                bundle = op.output_queue.popleft()
                if not consumers:
                    self._output.put(bundle)
                else:
                    consumer, index = consumers[0]
                    if consumer.needs_more_input():
                        consumer.add_input(bundle, index)
                    else:
                        self._drop(bundle)
            if id(op) not in self._input_done_marked and op.is_finished() and not op.output_queue:
                self._input_done_marked.add(id(op))
                op.metrics.finished_at = op.metrics.finished_at or time.time()
                for consumer, index in consumers:
                    consumer.mark_input_done(index)
        self._stop_unneeded_operators()

    def _drop(self, bundle: RefBundle) -> None:
        if bundle.owned:
            self.services.free(bundle.refs)

    def _stop_unneeded_operators(self) -> None:
        """An operator whose every consumer needs no more input is done, whatever it is (as in
        Ray Data): a satisfied limit stops the whole chain above it, an operator that finished
        early stops its inputs in turn. Walking from the sink up stops a whole chain in one step."""
        for op in reversed(self.plan.ops):
            consumers = self._consumers[id(op)]
            if consumers and not op.completed_early and not any(c.needs_more_input() for c, _ in consumers):
                self._complete_early(op)

    def _complete_early(self, op: PhysicalOperator) -> None:
        """Stop ``op`` now: cancel its tasks, free its queued inputs and unrouted outputs."""
        op.completed_early = True
        if op.active:
            handles = list(op.active)
            self._chan.cancel(handles)
            for h in handles:
                _, info = self._owner.pop(h)
                self._rm.release(h.spec.resources)
                self._free_task_inputs(info)
            op.active.clear()
        for bundle in op.clear_inputs():
            self._drop(bundle)
        while op.output_queue:
            self._drop(op.output_queue.popleft())

    def _dispatch(self) -> int:
        dispatched = 0
        self._blocked = {}
        for op in reversed(self.plan.ops):
            while op.has_next_task():
                spec_res = op.task_resources()
                reason = self._policy_reason(op)
                if reason is None and not self._rm.can_start(spec_res):
                    reason = self._rm.reason(spec_res)
                if reason is not None:
                    self._blocked[op.op_id] = reason
                    break
                nxt = op.next_task()
                if nxt is None:
                    break
                spec, info = nxt
                spec.context = self.context
                handle = self._chan.submit(spec)
                self._owner[handle] = (op, info)
                self.task_ids_by_op.setdefault(op.op_id, []).append(handle.task_id)
                op.active[handle] = info
                op.metrics.tasks_submitted += 1
                if op.metrics.started_at is None:
                    op.metrics.started_at = time.time()
                self._rm.allocate(spec.resources)
                dispatched += 1
        return dispatched

    def _policy_reason(self, op: PhysicalOperator) -> Optional[BlockedReason]:
        for policy in self.policies:
            reason = policy.blocks(op, self)
            if reason is not None:
                if policy.yields_when_downstream_idle and not op.active and not self._downstream_has_work(op):
                    continue  # never stall a run: with nothing in flight downstream, let one through
                return reason
        return None

    def _downstream_has_work(self, op: PhysicalOperator) -> bool:
        consumer = self.consumer_of(op)
        if consumer is None:
            return self._output.num_blocks > 0
        return bool(consumer.active) or consumer.has_next_task() or bool(consumer.output_queue)

    def _sink_done(self) -> bool:
        sink = self.plan.sink
        return id(sink) in self._input_done_marked and not sink.output_queue

    def _account_backpressure(self) -> None:
        """Charge the time since the last step to every operator a backpressure policy held back
        (busy CPU slots are not backpressure), for ``stats()`` and the views."""
        now = time.monotonic()
        last = self._last_step_at
        self._last_step_at = now
        if last is None or not self._blocked:
            return
        for op in self.plan.ops:
            reason = self._blocked.get(op.op_id)
            if reason is not None and reason.is_backpressure:
                op.metrics.backpressure_s += now - last

    def blocked_reason(self, op_id: str) -> Optional[BlockedReason]:
        """Why this operator could not dispatch in the last step (None: it was not held)."""
        return self._blocked.get(op_id)

    # ---- telemetry ---------------------------------------------------------------------------
    def _publish(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_publish < self.context.telemetry_interval_s:
            return
        self._last_publish = now
        self.buffer.publish(self._snapshots.build(self._state, self._rows_delivered))

    # ---- the one shutdown path ----------------------------------------------------------------
    def _finish(self, state: str, error: Optional[BaseException]) -> None:
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
        self._stop.set()
        try:
            if self._owner:
                self._chan.cancel(list(self._owner))
                for handle, (op, info) in list(self._owner.items()):
                    self._free_task_inputs(info)
                    op.active.pop(handle, None)
                self._owner.clear()
            if self.channel is not None:
                self.channel.close()  # whatever is still in flight or undelivered: cancelled, freed
            for op in self.plan.ops:
                for bundle in op.clear_inputs():
                    self._drop(bundle)
                while op.output_queue:
                    self._drop(op.output_queue.popleft())
                op.shutdown()
            if state != T.RUN_SUCCEEDED:
                self.services.free(self._output.drop_undelivered())
        except BaseException as cleanup_error:  # noqa: BLE001
            if error is None:
                error, state = cleanup_error, T.RUN_FAILED
        finally:
            self._state = state
            self._error = error
            snapshot = self._snapshots.build(state, self._rows_delivered, error=error)
            self.final_snapshot = snapshot
            self.buffer.publish(snapshot)
            self._output.end()
            run_registry.unregister(self)
