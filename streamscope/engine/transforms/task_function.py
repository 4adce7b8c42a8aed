"""MapTaskFunction: the function a fused map operator registers with the runtime.

It turns a task's input (a ReadTask payload, or input blocks) into output blocks by running the
fused chain of transforms, then coalesces small outputs so the store holds few, well-sized blocks.
Errors the operator's retry rules name re-run the chain inside the task (``udf_retry.py``),
before coalescing, so rows already on their way downstream are never yielded twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.block import block_size_bytes, concat_blocks, to_block
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.rows import chain_row_transforms
from streamscope.engine.transforms.udf_retry import RetryRule, run_with_retries


@dataclass(frozen=True)
class NumberedPayload:
    """A task's payload with its number within its operator (0, 1, ...): the ``ctx.task_idx``
    that ``Datasink.write`` sees, as in Ray Data (the runtime's own task ids are global)."""

    index: int
    payload: Any = None


class MapTaskFunction:
    def __init__(self, transforms: list, name: str, target_max_block_size: Optional[int], coalesce_min_bytes: int = 1 << 20,
                 retry_rules: tuple[RetryRule, ...] = ()):
        # made once per run: transforms that number executions (random(seed=...)) get this run's copy
        transforms = [t.for_execution() if hasattr(t, "for_execution") else t for t in transforms]
        self.transforms = chain_row_transforms(transforms)
        self.name = name
        self.target_max_block_size = target_max_block_size
        self.coalesce_min_bytes = coalesce_min_bytes
        self.retry_rules = tuple(retry_rules)

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        if isinstance(payload, NumberedPayload):
            ctx.task_index = payload.index
            payload = payload.payload

        def chain(inputs: Iterator[pa.Table]) -> Iterator[pa.Table]:
            if payload is not None and callable(payload):
                stream: Iterator[pa.Table] = (to_block(t) for t in payload())
            else:
                stream = inputs
            for transform in self.transforms:
                stream = transform.apply(stream, ctx)
            return stream

        yield from _coalesce(run_with_retries(chain, blocks, self.retry_rules, self.name), self.coalesce_min_bytes)


def _coalesce(stream: Iterator[pa.Table], min_bytes: int, slow_source_s: float = 0.05) -> Iterator[pa.Table]:
    """Merge consecutive small tables until they reach ``min_bytes`` (schemas permitting).

    When the source is slow (a table took longer than ``slow_source_s`` to arrive), whatever is
    pending goes out at once: downstream operators should not wait on a slow reader or UDF just
    to get fuller blocks.
    """
    pending: list[pa.Table] = []
    size = 0
    last = time.perf_counter()
    for table in stream:
        now = time.perf_counter()
        slow = now - last >= slow_source_s
        last = now
        if pending and not table.schema.equals(pending[0].schema):
            yield concat_blocks(pending)
            pending, size = [], 0
        pending.append(table)
        size += block_size_bytes(table)
        if size >= min_bytes or slow:
            yield concat_blocks(pending) if len(pending) > 1 else pending[0]
            pending, size = [], 0
            last = time.perf_counter()
    if pending:
        yield concat_blocks(pending) if len(pending) > 1 else pending[0]
