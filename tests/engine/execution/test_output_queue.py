"""OutputQueue: the consumer's side of a run (blocks waiting, the end marker, blocks lent)."""

from __future__ import annotations

import threading

from streamscope.engine.block import BlockMetadata
from streamscope.engine.execution.output_queue import OutputBlock, OutputQueue
from streamscope.engine.physical.operators.base import RefBundle
from streamscope.engine.runtime.base import BlockRef


class _Ref(BlockRef):
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _bundle(*names: str, owned: bool = True) -> RefBundle:
    return RefBundle([(_Ref(n), BlockMetadata(num_rows=10, size_bytes=100)) for n in names], owned=owned)


def test_blocks_come_out_in_order_then_the_end_marker():
    q = OutputQueue()
    q.put(_bundle("a", "b"))
    q.put(_bundle("c", owned=False))
    assert (q.num_blocks, q.nbytes) == (3, 300)
    q.end()
    taken = [q.take() for _ in range(3)]
    assert [repr(t.ref) for t in taken if t is not None] == ["a", "b", "c"]
    assert [t.owned for t in taken if t is not None] == [True, True, False]
    assert isinstance(taken[0], tuple) and isinstance(taken[0], OutputBlock)  # callers unpack it
    assert q.nbytes == 0
    assert q.take() is None


def test_drop_undelivered_returns_owned_blocks_and_keeps_the_end_marker():
    q = OutputQueue()
    q.put(_bundle("a"))
    q.put(_bundle("b", owned=False))
    q.end()
    assert [repr(r) for r in q.drop_undelivered()] == ["a"]
    assert (q.num_blocks, q.nbytes) == (1, 0)
    assert q.take() is None


def test_taken_owned_blocks_are_lent_and_returned_once_unless_settled():
    q = OutputQueue()
    q.put(_bundle("a", "b"))
    q.put(_bundle("c", owned=False))
    a, b, c = q.take(), q.take(), q.take()
    q.settle(a.ref)
    assert q.take_lent() == [b.ref]  # c is not the run's to free
    assert q.take_lent() == []


def test_a_block_both_queued_and_lent_is_returned_once():
    """The moment inside take() when an owned block is already lent but still queued: an
    interrupt there must not make cleanup free it twice or not at all."""
    q = OutputQueue()
    q.put(_bundle("a"))
    a = q._items[0]
    q._lent[a.ref] = None  # what take() has done when an interrupt lands before its popleft
    assert q.drop_undelivered() == [a.ref]
    assert q.take_lent() == []


def test_take_waits_for_a_block_from_another_thread():
    q = OutputQueue()
    got: list = []
    t = threading.Thread(target=lambda: got.append(q.take()))
    t.start()
    q.put(_bundle("late"))
    t.join(5)
    assert not t.is_alive() and repr(got[0].ref) == "late"
