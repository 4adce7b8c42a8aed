"""OutputQueue: where a run's output waits for its consumer, and what the consumer holds.

Why its own object: the executor's loop thread puts blocks in and the consumer's thread takes
them out, so the queue, its byte count and the condition both threads wait on belong together.
And every block that leaves the run must end up freed or kept: the queue also remembers the
blocks handed to the consumer (*lent*, from the moment :meth:`OutputQueue.take` hands them out)
until it gives them back (``release``) or the run completes (``materialize`` and the splits keep
what they received), so a consumer that stops between receiving a block and reading it, or is
interrupted at any line in between, loses nothing.

The queue never frees a block itself: it answers which blocks nobody will read, and the executor
frees them through its services.
"""

from __future__ import annotations

import collections
import threading
from typing import NamedTuple, Optional

from streamscope.engine.block import BlockMetadata
from streamscope.engine.physical.operators.base import RefBundle
from streamscope.engine.runtime.base import BlockRef


class OutputBlock(NamedTuple):
    """One block for the consumer: ``owned`` when the run made it (and so must free it)."""

    ref: BlockRef
    meta: BlockMetadata
    owned: bool


class OutputQueue:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        """Notified whenever the queue changes; the executor's idle wait uses it too, so a
        consumer taking a block wakes a loop held back by a full queue."""
        self._items: collections.deque[Optional[OutputBlock]] = collections.deque()
        """Blocks in output order; ``None`` marks the end of the run (the last item)."""
        self._bytes = 0
        self._lent: dict[BlockRef, None] = {}
        """Owned blocks handed to the consumer and not yet released or kept (in hand-out order)."""

    # ---- the executor's side ---------------------------------------------------------------
    def put(self, bundle: RefBundle) -> None:
        with self.cond:
            for ref, meta in bundle.blocks:
                self._items.append(OutputBlock(ref, meta, bundle.owned))
                self._bytes += meta.size_bytes
            self.cond.notify_all()

    def end(self) -> None:
        """The run has ended: the consumer gets the end marker after the blocks before it."""
        with self.cond:
            self._items.append(None)
            self.cond.notify_all()

    def drop_undelivered(self) -> list[BlockRef]:
        """Forget the blocks nobody will take now (the end marker stays): the owned ones, which
        the caller frees."""
        with self.cond:
            leftovers = [item for item in self._items if item is not None]
            ended = any(item is None for item in self._items)
            for item in leftovers:  # one being taken when an interrupt landed: freed here, once
                self._lent.pop(item.ref, None)
            self._items.clear()
            if ended:
                self._items.append(None)
            self._bytes = 0
        return [item.ref for item in leftovers if item.owned]

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait_unless(self, stop: threading.Event, timeout: float) -> None:
        """Sleep up to ``timeout`` until the queue changes or :meth:`wake`, unless ``stop`` is set."""
        with self.cond:
            if not stop.is_set():
                self.cond.wait(timeout)

    @property
    def num_blocks(self) -> int:
        """Items waiting for the consumer (the end marker included once the run ended)."""
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of the blocks waiting for the consumer."""
        return self._bytes

    # ---- the consumer's side ---------------------------------------------------------------
    def take(self) -> Optional[OutputBlock]:
        """The next block (waits for one), lent to the consumer when owned; None once the run
        has ended.

        Why it lends the block itself, before the block leaves the queue: a KeyboardInterrupt
        may land at any line of the consumer's thread, and a block that has left the queue but
        is not yet lent belongs to nobody, so no cleanup would free it (the interrupt storm's
        rare leftover block). This way an owned block is always queued or lent (for a moment
        both; :meth:`drop_undelivered` then keeps it only on the lent side).

        Examples:
            >>> from streamscope.engine.block import BlockMetadata
            >>> q = OutputQueue()
            >>> q.put(RefBundle([("ref", BlockMetadata(num_rows=1, size_bytes=8))], owned=True))
            >>> q.take().ref, q.take_lent()
            ('ref', ['ref'])
        """
        with self.cond:
            while not self._items:
                self.cond.wait(0.1)
            item = self._items[0]
            if item is not None and item.owned:
                self._lent[item.ref] = None
            self._items.popleft()
            if item is not None:
                self._bytes -= item.meta.size_bytes
            self.cond.notify_all()
        return item

    def settle(self, ref: BlockRef) -> None:
        """The consumer gave the block back (after freeing it, if it was owned): it is no longer
        lent. Called after the free, so an interrupt between the two leaves the block lent, and
        freed again (freeing is idempotent) rather than forgotten."""
        self._lent.pop(ref, None)

    def take_lent(self) -> list[BlockRef]:
        """Every block still lent (the consumer stopped without giving them back), forgotten."""
        lent, self._lent = list(self._lent), {}
        return lent


__all__ = ["OutputBlock", "OutputQueue"]
