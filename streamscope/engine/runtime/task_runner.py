"""Runs one task body the same way in every runtime: makes the run's DataContext current for it,
times it, splits and stores its outputs, and turns an exception into a :class:`TaskError` that
names the operator and keeps the traceback.

Why shared: the in-process runtime, the local worker processes and Ray remote functions
must report identical stats and identical errors, or tests on one runtime prove nothing about
another.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Generator, Iterable, Iterator

import pyarrow as pa

from streamscope.engine.block import BlockMetadata, block_size_bytes, split_block
from streamscope.engine.context import use_context
from streamscope.engine.error_retry import counting_retries
from streamscope.engine.runtime.base import TaskContext, TaskError, TaskResult, TaskStats
from streamscope.engine.runtime.pickling import roundtrips

IO_ERROR_TYPES = (OSError, IOError)


def _process_cpu_time() -> float:
    return time.process_time()


def iter_task(
    fn: Callable[..., Iterator[pa.Table]],
    payload: Any,
    inputs: Iterable[pa.Table],
    *,
    operator: str,
    task_index: int,
    max_block_bytes: int | None,
    worker: str = "",
    data_context: Any = None,
    process_wide: bool = False,
) -> Generator[tuple[pa.Table, BlockMetadata], Any, TaskResult]:
    """The task body as a generator: yields ``(block, metadata)`` for each output block as it is
    produced and returns the :class:`TaskResult` (with empty ``outputs``).

    Why a generator: a runtime that stores blocks by yielding them (Ray's streaming generators
    own what a task yields, so blocks survive the worker) and one that stores them with a ``put``
    call (:func:`run_task`) then share one body, one timing and one error format. An exception
    thrown in at the yield point (the caller failed to store the block) is reported like any
    other error of the task.

    ``data_context`` (the run's ``DataContext``) is what ``DataContext.get_current()`` returns
    while the task runs, in this thread (and process-wide when ``process_wide``: a worker process
    that runs one task at a time); the previous context is back when the body ends.
    """
    with use_context(data_context, process_wide), counting_retries() as retries:
        result = yield from _task_body(fn, payload, inputs, operator, task_index, max_block_bytes, worker)
    result.stats.retries = retries.retries
    return result


def _task_body(fn: Callable[..., Iterator[pa.Table]], payload: Any, inputs: Iterable[pa.Table], operator: str,
               task_index: int, max_block_bytes: int | None, worker: str,
               ) -> Generator[tuple[pa.Table, BlockMetadata], Any, TaskResult]:
    ctx = TaskContext(operator=operator, task_index=task_index)
    stats = TaskStats(started_at=time.time(), worker=worker)
    t0 = time.perf_counter()
    c0 = _process_cpu_time()
    counted = _CountingIterator(inputs)
    try:
        for table in fn(payload, counted, ctx):
            if not isinstance(table, pa.Table):
                raise TypeError(f"task function of {operator} yielded {type(table).__name__}, not a pyarrow.Table")
            for piece in split_block(table, max_block_bytes):
                yield piece, BlockMetadata(piece.num_rows, block_size_bytes(piece), piece.schema)
        error = None
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, never swallowed
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)) and not isinstance(exc, Exception):
            raise
        error = error_from_exception(operator, exc)
    stats.wall_s = time.perf_counter() - t0
    stats.cpu_s = _process_cpu_time() - c0
    stats.udf_s = ctx.udf_s
    stats.rows_written = ctx.rows_written
    stats.rows_in = counted.rows
    stats.bytes_in = counted.bytes
    stats.finished_at = time.time()
    return TaskResult(outputs=[], stats=stats, error=error)


def run_task(
    fn: Callable[..., Iterator[pa.Table]],
    payload: Any,
    inputs: Iterable[pa.Table],
    *,
    operator: str,
    task_index: int,
    max_block_bytes: int | None,
    put: Callable[[pa.Table], Any],
    worker: str = "",
    data_context: Any = None,
    process_wide: bool = False,
) -> TaskResult:
    """Run ``fn`` and store each output block with ``put`` (which returns a BlockRef).

    On error, blocks already stored by this attempt are returned in ``outputs`` of the failed
    result so the caller can free them; the error carries the operator name and traceback.
    ``data_context`` / ``process_wide``: as for :func:`iter_task`.
    """
    body = iter_task(fn, payload, inputs, operator=operator, task_index=task_index,
                     max_block_bytes=max_block_bytes, worker=worker, data_context=data_context,
                     process_wide=process_wide)
    outputs = []
    try:
        piece, meta = next(body)
        while True:
            try:
                ref = put(piece)
            except Exception as exc:  # noqa: BLE001 - the task reports it, as if raised inside
                piece, meta = body.throw(exc)
                continue
            outputs.append((ref, meta))
            piece, meta = next(body)
    except StopIteration as stop:
        result: TaskResult = stop.value
    result.outputs = outputs
    return result


def error_from_exception(operator: str, exc: BaseException) -> TaskError:
    """Capture an exception so it can cross a process boundary."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    carried: BaseException | None = exc if roundtrips(exc) else None
    carried_type: type | None = None
    if carried is not None:
        carried.__traceback__ = None
    elif roundtrips(type(exc)):  # the instance will not cross, its class will
        carried_type = type(exc)
    operator = getattr(exc, "_streamscope_operator", None) or operator
    note = getattr(exc, "_streamscope_retry_note", None)  # udf_retry: the attempts a retried task made
    return TaskError(
        operator=operator,
        type_name=type(exc).__name__,
        message=f"{exc} ({note})" if note else str(exc),
        traceback=text,
        exception=carried,
        exception_type=carried_type,
        is_io_error=isinstance(exc, IO_ERROR_TYPES) or getattr(exc, "is_io_error", False),
    )


class _CountingIterator:
    """Counts rows and bytes of input blocks as the task consumes them."""

    def __init__(self, inputs: Iterable[pa.Table]):
        self._it = iter(inputs)
        self.rows = 0
        self.bytes = 0

    def __iter__(self):
        return self

    def __next__(self) -> pa.Table:
        table = next(self._it)
        self.rows += table.num_rows
        self.bytes += block_size_bytes(table)
        return table
