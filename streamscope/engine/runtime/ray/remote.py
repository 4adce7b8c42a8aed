"""What runs inside a Ray worker: one streamscope task, as a Ray streaming generator.

The stream a task produces is ``block_0, ..., block_{n-1}, final`` where ``final`` is a small
:class:`FinalRecord` (the TaskResult: stats, error, and the metadata of the n blocks). Why this
shape:

* Ray owns what a streaming generator yields on behalf of the *caller* (the driver), so blocks
  survive the worker process that made them (unlike ``ray.put`` inside a task, whose objects die
  with the worker), and Ray's retries on worker death apply.
* The driver never pulls a block to learn its size or schema: it fetches only ``final`` (a few
  hundred bytes, kept in the driver's in-process store by Ray) and pairs its metadata with the
  block refs it already holds.
* The body is :func:`~streamscope.engine.runtime.task_runner.iter_task`, the same one the local
  and in-process runtimes run, so stats and errors are identical across runtimes.

This module must stay importable in a worker without the driver's ``__main__``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from streamscope.engine.block import BlockMetadata
from streamscope.engine.runtime.base import TaskResult, TaskStats
from streamscope.engine.runtime.ray import serialization
from streamscope.engine.runtime.base import TaskResult
from streamscope.engine.runtime.context_shipping import ContextCache
from streamscope.engine.runtime.task_runner import error_from_exception, iter_task

_FN_CACHE_SIZE = 64
_fn_cache: "OrderedDict[str, Any]" = OrderedDict()
contexts = ContextCache()
"""Runs' DataContexts in this worker process, unpickled once per key."""
_worker_label = ""


@dataclass
class FinalRecord:
    """The last item of a task's stream."""

    result: TaskResult
    metadata: list[BlockMetadata]


def worker_label() -> str:
    """``node/pid`` of this worker, as task spans and ``workers()`` name it."""
    global _worker_label
    if not _worker_label:
        import ray

        node_id = ray.get_runtime_context().get_node_id()
        _worker_label = f"{node_label(node_id, ray.util.get_node_ip_address())}/pid-{os.getpid()}"
    return _worker_label


def node_label(node_id: str, ip: str) -> str:
    """Short, stable name of a Ray node: its IP plus the start of its id (several nodes of a
    test cluster, or of one pod host, share an IP)."""
    return f"{ip}#{node_id[:6]}"


def _function(fn_id: str, fn_box: list) -> Any:
    """The task function, unpickled once per worker process (the pickled bytes were put in the
    object store once per registration; ``fn_box`` hides the ref from Ray's argument resolution
    so a worker that has the function cached never fetches them)."""
    fn = _fn_cache.get(fn_id)
    if fn is not None:
        _fn_cache.move_to_end(fn_id)
        return fn
    import cloudpickle
    import ray

    fn = cloudpickle.loads(ray.get(fn_box[0]))
    _fn_cache[fn_id] = fn
    while len(_fn_cache) > _FN_CACHE_SIZE:
        _fn_cache.popitem(last=False)
    return fn


def run_streaming_task(fn_id: str, fn_box: list, payload: Any, operator: str, task_index: int,
                       max_block_bytes: Any, packed_context: Any, *blocks: Any):
    """Body of the Ray remote function (``num_returns="streaming"``). Input blocks arrive as
    resolved arguments (Ray fetches them to this node, zero-copy from the local store);
    ``packed_context`` is the run's DataContext (``runtime/context_shipping.py``)."""
    serialization.install()
    label = worker_label()
    try:
        fn = _function(fn_id, fn_box)
        data_context = contexts.get(packed_context)
    except Exception as exc:  # a function that will not unpickle here is reported like a task error
        yield failed_record(operator, exc, label)
        return
    yield from stream_task(fn, payload, blocks, operator, task_index, max_block_bytes, label, data_context)


def stream_task(fn: Any, payload: Any, blocks: Any, operator: str, task_index: int, max_block_bytes: Any,
                label: str, data_context: Any = None):
    """Yield the task's blocks, then its :class:`FinalRecord` (shared by tasks and actors).
    ``data_context`` is current, process-wide, while the task runs: a Ray worker runs one task at
    a time (an actor's tasks too: streamscope's actors are not threaded)."""
    body = iter_task(fn, payload, unboxed(blocks), operator=operator, task_index=task_index,
                     max_block_bytes=max_block_bytes, worker=label, data_context=data_context,
                     process_wide=True)
    metadata: list[BlockMetadata] = []
    try:
        while True:
            piece, meta = next(body)
            metadata.append(meta)
            yield piece
    except StopIteration as stop:
        result: TaskResult = stop.value
    yield FinalRecord(result, metadata)


def unboxed(blocks: Any):
    """The task's input blocks in order: each argument Ray resolved, or a boxed ref (``[ref]``,
    see ``RayRuntime._input_refs``) fetched here when the task reaches it."""
    import ray

    for block in blocks:
        if isinstance(block, list) and len(block) == 1 and isinstance(block[0], ray.ObjectRef):
            yield ray.get(block[0])
        else:
            yield block


def failed_record(operator: str, exc: BaseException, label: str) -> FinalRecord:
    import time

    now = time.time()
    return FinalRecord(TaskResult(stats=TaskStats(worker=label, started_at=now, finished_at=now),
                                  error=error_from_exception(operator, exc)), [])
