"""A runtime that runs tasks on threads of the driver process and keeps blocks in a dict.

Why it exists: small plans (a ``take(5)`` on a ``range``) finish faster without crossing a
process boundary, and the executor's own tests can run against it. It implements the same
:class:`Runtime` contract as the process pool, so anything that passes here must pass there.
"""

from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import cloudpickle
import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.runtime.base import (
    BlockRef,
    FunctionHandle,
    Resources,
    Runtime,
    StoreStats,
    TaskHandle,
    TaskResult,
    TaskSpec,
)
from streamscope.engine.runtime.task_runner import run_task


@dataclass(frozen=True, slots=True)
class InProcessBlockRef(BlockRef):
    block_id: int


class InProcessRuntime(Runtime):
    name = "inprocess"

    def __init__(self, num_threads: int = 2):
        self._num_threads = num_threads
        self._pool: ThreadPoolExecutor | None = None
        self._blocks: dict[InProcessBlockRef, pa.Table] = {}
        self._fns: dict[str, Any] = {}
        self._ids = itertools.count()
        self._done: "queue.Queue[tuple[TaskHandle, TaskResult]]" = queue.Queue()
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()

    def ensure_started(self, context: Any = None) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._num_threads, thread_name_prefix="streamscope-inproc")

    def register_function(self, fn, name: str = "") -> FunctionHandle:
        fn_id = f"fn-{next(self._ids)}"
        # Round-trip through cloudpickle so functions that would not pickle fail here, as they
        # would on the process pool, instead of only failing there.
        self._fns[fn_id] = cloudpickle.loads(cloudpickle.dumps(fn))
        return FunctionHandle(fn_id, name or getattr(fn, "__name__", "fn"))

    def release_function(self, handle: FunctionHandle) -> None:
        self._fns.pop(handle.fn_id, None)

    def submit(self, spec: TaskSpec) -> TaskHandle:
        self.ensure_started()
        handle = TaskHandle(next(self._ids), spec)
        assert self._pool is not None
        self._pool.submit(self._run, handle)
        return handle

    def _run(self, handle: TaskHandle) -> None:
        spec = handle.spec
        inputs = (self.get(ref) for ref in spec.inputs)
        result = run_task(
            self._fns[spec.fn.fn_id],
            spec.payload,
            inputs,
            operator=spec.operator,
            task_index=handle.task_id,
            max_block_bytes=spec.max_block_bytes,
            put=self._put_table,
            worker="driver-thread",
        )
        with self._lock:
            cancelled = handle.task_id in self._cancelled
        if cancelled:
            self.free([ref for ref, _ in result.outputs])
            return
        if result.error is None and spec.free_inputs:
            self.free(spec.inputs)
        self._done.put((handle, result))

    def wait(self, timeout: float) -> list[tuple[TaskHandle, TaskResult]]:
        out = []
        try:
            out.append(self._done.get(timeout=timeout))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def cancel(self, handles: Sequence[TaskHandle]) -> None:
        with self._lock:
            self._cancelled.update(h.task_id for h in handles)

    def _put_table(self, table: pa.Table) -> InProcessBlockRef:
        ref = InProcessBlockRef(next(self._ids))
        with self._lock:
            self._blocks[ref] = table
        return ref

    def put(self, table: pa.Table) -> tuple[BlockRef, BlockMetadata]:
        return self._put_table(table), BlockMetadata.of(table)

    def get(self, ref: BlockRef) -> pa.Table:
        with self._lock:
            try:
                return self._blocks[ref]  # type: ignore[index]
            except KeyError:
                raise KeyError(f"block {ref} was freed or never existed") from None

    def free(self, refs: Sequence[BlockRef]) -> None:
        with self._lock:
            for ref in refs:
                self._blocks.pop(ref, None)  # type: ignore[arg-type]

    def total_resources(self) -> Resources:
        return Resources(cpu=float(self._num_threads), gpu=0.0)

    def store_stats(self) -> StoreStats:
        with self._lock:
            used = sum(t.nbytes for t in self._blocks.values())
            n = len(self._blocks)
        return StoreStats(capacity_bytes=0, in_memory_bytes=used, num_blocks=n, backend="memory")

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        with self._lock:
            self._blocks.clear()
