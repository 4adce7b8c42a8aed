"""Whole-run progress (engine/execution/run_progress.py): one rule for the terminal, stats and
every widget. Expected fractions are plain arithmetic on the rows in each hand-built snapshot."""

from __future__ import annotations

import streamscope as ss
from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution.run_progress import BELOW_DONE, RunProgress, run_progress
from streamscope.engine.execution.telemetry import OperatorSnapshot


def op(op_id: str, **kw) -> OperatorSnapshot:
    return OperatorSnapshot(op_id=op_id, name=op_id, **kw)


def test_the_last_operators_rows_of_its_estimate():
    ops = (op("read", progress=1.0), op("map", rows_out=250, estimated_rows_total=1000, progress=250 / 1000))
    assert run_progress(ops, T.RUN_RUNNING, rows_out=250) == RunProgress(0.25, 1000)


def test_only_success_reaches_one():
    ops = (op("map", rows_out=1000, estimated_rows_total=1000, progress=1.0),)
    assert run_progress(ops, T.RUN_RUNNING, 1000) == RunProgress(BELOW_DONE, 1000)
    assert run_progress(ops, T.RUN_SUCCEEDED, 1000) == RunProgress(1.0, 1000)
    failed = (op("map", rows_out=450, estimated_rows_total=1000, progress=0.45),)
    assert run_progress(failed, T.RUN_FAILED, 450) == RunProgress(0.45, 1000)  # the fraction reached
    assert run_progress(failed, T.RUN_CANCELLED, 450).fraction == 0.45


def test_on_success_the_estimate_becomes_the_rows_delivered():
    ops = (op("filter", estimated_rows_total=None, progress=None),)
    assert run_progress(ops, T.RUN_SUCCEEDED, rows_out=37) == RunProgress(1.0, 37)


def test_without_its_own_estimate_the_last_operator_counts_one_row_out_per_row_in():
    # prep will put out 400 rows (its estimate); the model delivered 100 of them: 100 / 400
    ops = (op("prep", rows_out=400, estimated_rows_total=400, progress=1.0), op("model", rows_in=400))
    assert run_progress(ops, T.RUN_RUNNING, rows_out=100) == RunProgress(0.25, 400)
    # no estimate upstream either: 300 rows at 3/4 of its read tasks means 300 / 0.75 = 400 expected
    ops = (op("read", rows_out=300, progress=0.75), op("model", rows_in=300))
    assert run_progress(ops, T.RUN_RUNNING, rows_out=100) == RunProgress(0.25, 400)
    # two producers (a union): 100 + 300 expected, 200 delivered
    ops = (op("a", rows_out=100, estimated_rows_total=100, consumer_id="u"),
           op("b", rows_out=150, estimated_rows_total=300, consumer_id="u"), op("u"))
    assert run_progress(ops, T.RUN_RUNNING, rows_out=200) == RunProgress(0.5, 400)
    # a filter delivering fewer rows than came in stays below 1 until success
    ops = (op("read", rows_out=400, estimated_rows_total=400, progress=1.0), op("filter"))
    assert run_progress(ops, T.RUN_RUNNING, rows_out=120).fraction == 0.3


def test_an_upstream_operators_progress_is_not_the_runs():
    ops = (op("read", rows_out=400, progress=1.0, state=T.DONE), op("filter", rows_in=400), op("model"))
    assert run_progress(ops, T.RUN_RUNNING) == RunProgress(None, None)  # model's producer has no figure
    assert run_progress((), T.RUN_RUNNING) == RunProgress(None, None)


def test_a_real_run_reports_rows_of_the_estimate_and_ends_at_one(runtime):
    ds = ss.range(300, override_num_blocks=6).map(lambda r: r)
    assert ds.count() == 300  # from metadata, no run
    assert len(ds.take_all()) == 300
    history = ds._last_run.buffer.history()
    final = history[-1]
    assert (final.state, final.progress, final.rows_out, final.estimated_rows_total) == ("succeeded", 1.0, 300, 300)
    first = history[0]  # published before any task ran
    assert (first.state, first.progress, first.estimated_rows_total) == ("running", 0.0, 300)
    running = [s for s in history if s.state == "running"]
    assert all(s.progress is not None and s.progress < 1.0 and s.estimated_rows_total == 300 for s in running)
