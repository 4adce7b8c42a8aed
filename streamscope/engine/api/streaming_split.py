"""The executions behind ``Dataset.streaming_split(n)`` and the dealer that feeds its n iterators.

A dealer thread pulls the run's output blocks and deals them to n bounded queues, so n training
workers (threads here, or other processes through :mod:`split_service`) are fed by one pipeline,
and a slow worker holds back the pipeline through its full queue instead of making it buffer
without bound.

Dealing: with ``equal=False`` each block goes whole to the consumer with the fewest rows so far
among those with room (every row reaches exactly one consumer). With ``equal=True`` every block is
cut into n equal slices, one per consumer, and the few leftover rows wait in a carry buffer until
there are enough for everyone; at the end fewer than n rows may be left over and are dropped (as
in Ray Data), so every consumer gets exactly the same number of rows.

Epochs: each pass over a split is one epoch. The first pass starts the dataset's execution as soon
as any split is iterated. A later pass starts a new execution once *every* split has begun that
pass (a barrier, as in Ray Data: the n consumers of a training loop move from epoch to epoch
together), so the n splits of epoch k always share one run.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.data_iterator import StreamSplitDataIterator
from streamscope.engine.api.split_service import remote_split_args
from streamscope.engine.block import concat_blocks

QUEUE_BLOCKS = 4
BARRIER_WARN_S = 10.0
"""A split waiting this long at the epoch barrier logs which splits it waits for (once)."""
_END = object()
logger = logging.getLogger(__name__)


def streaming_split(dataset: Any, n: int, equal: bool) -> list[StreamSplitDataIterator]:
    """n iterators over executions of ``dataset`` (one per epoch); the first starts when the first
    of them is iterated."""
    coordinator = SplitCoordinator(dataset, int(n), equal)
    return [StreamSplitDataIterator(coordinator, i) for i in range(int(n))]


class SplitCoordinator:
    """Owns the executions behind one ``streaming_split`` (one per epoch) and the barrier
    between epochs.

    Example::

        coordinator = SplitCoordinator(ds, 2, equal=True)
        rows = sum(t.num_rows for t in coordinator.consume(0))   # split 0's first epoch
    """

    def __init__(self, dataset: Any, n: int, equal: bool):
        if n < 1:
            raise ValueError(f"streaming_split needs n >= 1, got {n}")
        self.dataset = dataset
        self.n = n
        self.equal = equal
        self._passes = [0] * n
        """How many passes each split has begun."""
        self._deal: Optional[EpochDeal] = None
        self._epoch = -1
        self._cond = threading.Condition()

    def remote_split(self, i: int) -> tuple:
        """How split ``i`` pickles: as a RemoteSplitIterator fed from this process."""
        return remote_split_args(self, i)

    @property
    def epoch(self) -> int:
        """The epoch dealt now (or last); -1 before the first."""
        return self._epoch

    def consume(self, i: int) -> Iterator[pa.Table]:
        """Split ``i``'s blocks for its next pass (waits at the barrier for a pass after the first)."""
        deal = self._begin(i)
        yield from deal.consume(i)

    def _begin(self, i: int) -> "EpochDeal":
        if not 0 <= i < self.n:
            raise IndexError(f"streaming_split has splits 0..{self.n - 1}, not {i}")
        with self._cond:
            epoch = self._passes[i]
            self._passes[i] += 1
            self._cond.notify_all()
            if epoch > 0:
                warned = False
                while min(self._passes) <= epoch:  # every split has begun this pass
                    if not self._cond.wait(BARRIER_WARN_S) and not warned:
                        warned = True
                        behind = [k for k in range(self.n) if self._passes[k] <= epoch]
                        logger.warning(
                            "streaming_split: split %d waits for split(s) %s to begin epoch %d (the n "
                            "splits of an epoch share one execution; consume each split in its own "
                            "thread or process, and start every split's next epoch)", i, behind, epoch)
            if self._epoch < epoch:
                previous = self._deal
                if previous is not None:
                    previous.stop_and_join()  # every split left it: nothing more to deal
                self._deal = EpochDeal(self.dataset, self.n, self.equal)
                self._epoch = epoch
                self._deal.start()
            return self._deal


class EpochDeal:
    """One execution of the dataset, dealt to n bounded queues (one epoch of the splits)."""

    def __init__(self, dataset: Any, n: int, equal: bool):
        self.dataset = dataset
        self.n = n
        self.equal = equal
        self.queues = [queue.Queue(maxsize=QUEUE_BLOCKS) for _ in range(n)]
        self.rows = [0] * n
        self.closed = [False] * n
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._deal, name="streamscope-split-dealer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop_and_join(self) -> None:
        self._stop.set()
        self._thread.join()

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
