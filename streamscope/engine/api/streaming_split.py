"""The one execution behind ``Dataset.streaming_split(n)`` and the dealer that feeds its n
iterators.

A dealer thread pulls the run's output blocks and deals them to n bounded queues, so n training
workers (threads here, or processes fed by them) are fed by one pipeline, and a slow worker holds
back the pipeline through its full queue instead of making it buffer without bound.

Dealing: with ``equal=False`` each block goes whole to the consumer with the fewest rows so far
among those with room (every row reaches exactly one consumer). With ``equal=True`` every block is
cut into n equal slices, one per consumer, and the few leftover rows wait in a carry buffer until
there are enough for everyone; at the end fewer than n rows may be left over and are dropped (as
in Ray Data), so every consumer gets exactly the same number of rows.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.data_iterator import StreamSplitDataIterator
from streamscope.engine.block import concat_blocks

QUEUE_BLOCKS = 4
_END = object()


def streaming_split(dataset: Any, n: int, equal: bool) -> list[StreamSplitDataIterator]:
    """n iterators over one (not yet started) execution of ``dataset``; it starts when the first
    of them is iterated."""
    coordinator = SplitCoordinator(dataset, int(n), equal)
    return [StreamSplitDataIterator(coordinator, i) for i in range(int(n))]


class SplitCoordinator:
    """Owns the one execution behind ``streaming_split`` and deals its blocks."""

    def __init__(self, dataset: Any, n: int, equal: bool):
        if n < 1:
            raise ValueError(f"streaming_split needs n >= 1, got {n}")
        self.dataset = dataset
        self.n = n
        self.equal = equal
        self.queues = [queue.Queue(maxsize=QUEUE_BLOCKS) for _ in range(n)]
        self.rows = [0] * n
        self.closed = [False] * n
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._deal, name="streamscope-split-dealer", daemon=True)
                self._thread.start()

    def _put(self, i: int, item: Any) -> bool:
        """Block until consumer ``i`` has room; False when it went away or we are stopping."""
        while not self._stop.is_set():
            if self.closed[i]:
                return False
            try:
                self.queues[i].put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _deal(self) -> None:
        tables = None
        try:
            tables = self.dataset._iter_tables()
            carry: list[pa.Table] = []
            for table in tables:
                if self._stop.is_set():
                    break
                if self.equal:
                    carry.append(table)
                    pending = concat_blocks(carry) if len(carry) > 1 else carry[0]
                    share = pending.num_rows // self.n
                    if share == 0:
                        carry = [pending]
                        continue
                    for i in range(self.n):
                        self._give(i, pending.slice(i * share, share))
                    rest = pending.slice(self.n * share)
                    carry = [rest] if rest.num_rows else []
                else:
                    self._give(self._least_loaded(), table)
            for i in range(self.n):
                self._put(i, _END)
        except BaseException as exc:  # noqa: BLE001 - every consumer sees the run's error
            for i in range(self.n):
                self._put(i, ("error", exc))
        finally:
            close = getattr(tables, "close", None)
            if close is not None:
                close()

    def _give(self, i: int, table: pa.Table) -> None:
        self.rows[i] += table.num_rows
        self._put(i, table)

    def _least_loaded(self) -> int:
        while not self._stop.is_set():
            open_ = [i for i in range(self.n) if not self.closed[i]]
            if not open_:
                return 0
            roomy = [i for i in open_ if not self.queues[i].full()]
            if roomy:
                return min(roomy, key=lambda i: self.rows[i])
            self._stop.wait(0.005)
        return 0

    def consume(self, i: int) -> Iterator[pa.Table]:
        self.ensure_started()
        try:
            while True:
                item = self.queues[i].get()
                if item is _END:
                    return
                if isinstance(item, tuple) and item and item[0] == "error":
                    raise item[1]
                yield item
        finally:
            self.closed[i] = True
            if all(self.closed):
                self._stop.set()
