"""``materialize`` and the splits build their MaterializedDatasets one way
(``Dataset._materialize_run``): a run that fails or is interrupted after blocks reached the consumer
leaves none of them in the store, and a successful one hands every block to a dataset."""

from __future__ import annotations

import pytest

import streamscope as ss
from streamscope.engine.execution.streaming_executor import StreamingExecutor

REAL_ITER_OUTPUT = StreamingExecutor.iter_output


def _store(runtime) -> tuple[int, int]:
    st = runtime.store_stats()
    return st.num_blocks, st.in_memory_bytes


def _fail_after(n: int, exc: BaseException, seen: dict):
    """``iter_output`` that delivers ``n`` blocks, then raises ``exc`` as a failing run's does
    (closing the real generator cancels the run and frees what it had not delivered)."""

    def iter_output(self):
        gen = REAL_ITER_OUTPUT(self)
        try:
            for _ in range(n):
                yield next(gen)
            seen["held_at_failure"] = self.runtime.store_stats().num_blocks
            raise exc
        finally:
            gen.close()

    return iter_output


CONSUMERS = {
    "split": lambda ds: ds.split(4),
    "split_at_indices": lambda ds: ds.split_at_indices([10, 50, 70]),
    "materialize": lambda ds: ds.materialize(),
}


@pytest.mark.parametrize("exc", [RuntimeError("the run failed midway"), KeyboardInterrupt()], ids=["error", "interrupt"])
@pytest.mark.parametrize("how", sorted(CONSUMERS))
def test_a_run_stopping_after_deliveries_frees_every_received_block(runtime, monkeypatch, how, exc):
    ds = ss.range(90, override_num_blocks=9).map(lambda r: r)  # row count known: split runs once
    before = _store(runtime)
    seen: dict = {}
    monkeypatch.setattr(StreamingExecutor, "iter_output", _fail_after(2, exc, seen))
    with pytest.raises(type(exc)):
        CONSUMERS[how](ds)
    assert seen["held_at_failure"] >= before[0] + 2  # two delivered blocks were in the store
    assert _store(runtime) == before


def test_a_split_whose_udf_raises_leaves_the_store_as_it_was(runtime):
    """A real failure inside the split's run. The slicing exchange is a barrier, so the UDF fails
    before any split output is delivered; what must not leak is everything upstream of it."""

    def bad_row(row):
        if row["id"] == 70:
            raise ValueError("bad row 70")
        return row

    # num_cpus apart from the read's: not fused, so the failing task has input blocks of its own
    ds = ss.range(90, override_num_blocks=9).map(bad_row, num_cpus=0.5)
    before = _store(runtime)
    with pytest.raises(Exception, match="bad row 70"):
        ds.split(4)
    assert _store(runtime) == before


def test_splits_own_exactly_the_blocks_they_hold(runtime, ctx):
    ctx.execution_options.preserve_order = True
    before = _store(runtime)
    parts = ss.range(90, override_num_blocks=9).map(lambda r: r).split_at_indices([10, 50, 70])
    assert [p.count() for p in parts] == [10, 40, 20, 20]
    assert [[r["id"] for r in p.take_all()][:2] for p in parts] == [[0, 1], [10, 11], [50, 51], [70, 71]]
    held = runtime.store_stats().num_blocks - before[0]
    assert held == sum(p.num_blocks() for p in parts) > 0
    del parts
    assert _store(runtime) == before  # each split freed its own blocks when dropped
