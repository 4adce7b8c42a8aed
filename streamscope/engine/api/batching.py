"""Batch iteration over a stream of blocks: exact batch sizes across block boundaries,
``drop_last``, a local shuffle buffer, and a prefetch thread that formats batches ahead of the
consumer."""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import pyarrow as pa

from streamscope.engine.block import block_to_batch, concat_blocks
from streamscope.engine.transforms.batches import rebatch


def shuffle_batches(tables: Iterator[pa.Table], batch_size: int, buffer_size: int, seed: Optional[int]) -> Iterator[pa.Table]:
    """Rows are drawn at random from a buffer of at least ``buffer_size`` rows."""
    rng = np.random.default_rng(seed)
    buffer: Optional[pa.Table] = None
    for table in tables:
        buffer = table if buffer is None else concat_blocks([buffer, table])
        while buffer.num_rows >= buffer_size + batch_size:
            buffer = buffer.take(pa.array(rng.permutation(buffer.num_rows)))
            yield buffer.slice(0, batch_size)
            buffer = buffer.slice(batch_size)
    if buffer is not None and buffer.num_rows:
        buffer = buffer.take(pa.array(rng.permutation(buffer.num_rows)))
        for start in range(0, buffer.num_rows, batch_size):
            yield buffer.slice(start, batch_size)


def iter_batches(
    tables: Union[Iterator[pa.Table], Callable[[], Iterator[pa.Table]]],
    *,
    batch_size: Optional[int],
    batch_format: Optional[str],
    drop_last: bool,
    local_shuffle_buffer_size: Optional[int] = None,
    local_shuffle_seed: Optional[int] = None,
    prefetch_batches: int = 1,
    collate_fn: Any = None,
) -> Iterator[Any]:
    """``tables`` is the stream of blocks, or a function that opens it: that one is called at the
    first ``next()``, on the consumer's thread, so a run it creates belongs to that thread (a
    notebook cell's live view), not to the prefetch thread that then pulls the blocks."""
    if callable(tables):
        tables = tables()
    if local_shuffle_buffer_size:
        if batch_size is None:
            raise ValueError("local_shuffle_buffer_size needs a batch_size")
        sized = shuffle_batches(tables, batch_size, local_shuffle_buffer_size, local_shuffle_seed)
    else:
        sized = rebatch(tables, batch_size)

    def formatted() -> Iterator[Any]:
        for table in sized:
            if drop_last and batch_size is not None and table.num_rows < batch_size:
                continue
            batch = block_to_batch(table, batch_format)
            yield collate_fn(batch) if collate_fn is not None else batch

    if prefetch_batches and prefetch_batches > 0:
        yield from _prefetch(formatted(), prefetch_batches)
    else:
        yield from formatted()


_END = object()


def _prefetch(source: Iterator[Any], depth: int) -> Iterator[Any]:
    """Run ``source`` on a thread, ``depth`` items ahead. Closing this generator stops it.

    The thread that runs ``source`` is also the one that closes it (a generator cannot be closed
    from another thread while it runs), so stopping early reaches the executor's cancel path; and
    the thread never blocks on a full queue once the consumer has gone."""
    q: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    break
            else:
                put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException:  # noqa: BLE001
                    pass

    thread = threading.Thread(target=worker, name="streamscope-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while True:
            try:
                q.get_nowait()
            except queue.Empty:
                break
        thread.join(timeout=10)
