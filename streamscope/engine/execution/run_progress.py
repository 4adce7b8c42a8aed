"""Whole-run progress, computed once per snapshot (``ExecutionSnapshot.progress`` and
``estimated_rows_total``); terminal progress, stats and every widget show these two fields.

Why one rule: a bar that says 40% in the notebook while the terminal says 55% is worse than no bar.

The rule: the run is as far as its last operator (the one feeding the consumer). When that
operator's progress is known (its rows out of the rows its metadata promises, or its read tasks
done) it is the run's. Otherwise the run's rows out are counted against an estimate of one row out
per row in: the rows the operators feeding the last one will put out (their metadata's estimate,
or their rows so far extrapolated from their own progress), as Ray Data's bar does. When neither
is known the run's progress is unknown (None): an upstream operator's progress is not the run's,
since a slow last stage may not have started.
While the run is not succeeded the fraction stays below 1 (0.999 at most), so only a success shows
100%; a failed or cancelled run keeps the fraction it reached.

Example::

    >>> from streamscope.engine.execution.telemetry import OperatorSnapshot
    >>> sink = OperatorSnapshot("op2", "MapBatches(f)", rows_out=250, estimated_rows_total=1000, progress=0.25)
    >>> run_progress((sink,), "running")
    RunProgress(fraction=0.25, estimated_rows_total=1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from streamscope.engine.execution.telemetry import RUN_SUCCEEDED, OperatorSnapshot, consumer_index

BELOW_DONE = 0.999
"""The most a run that has not succeeded may show."""


@dataclass(frozen=True)
class RunProgress:
    """How far a run is: a fraction in [0, 1] (None when not estimable) and the rows it is
    expected to deliver (None when unknown)."""

    fraction: Optional[float]
    estimated_rows_total: Optional[int]


def run_progress(ops: Sequence[OperatorSnapshot], state: str, rows_out: int = 0) -> RunProgress:
    """The run's progress from its operator snapshots (plan order, the last one feeds the
    consumer), its state, and the rows delivered so far (the total once it succeeded)."""
    if state == RUN_SUCCEEDED:
        return RunProgress(1.0, rows_out)  # the total is known now, whatever the estimate said
    if not ops:
        return RunProgress(None, None)
    sink = ops[-1]
    estimated = sink.estimated_rows_total
    if estimated is None:
        expected = _expected_input(ops)
        estimated = None if expected is None else round(expected)
    fraction: Optional[float] = sink.progress
    if fraction is None and estimated:
        fraction = rows_out / estimated
    if fraction is not None:
        fraction = min(max(float(fraction), 0.0), BELOW_DONE)
    return RunProgress(fraction, estimated)


def _expected_rows(op: OperatorSnapshot) -> Optional[float]:
    """Rows ``op`` will put out: its estimate, else its rows so far over its progress."""
    if op.estimated_rows_total is not None:
        return float(op.estimated_rows_total)
    if op.progress:
        return op.rows_out / op.progress
    return None


def _expected_input(ops: Sequence[OperatorSnapshot]) -> Optional[float]:
    """Rows the operators feeding the last one will put out (None when any is unknown)."""
    last = len(ops) - 1
    total = 0.0
    feeding = [ops[i] for i in range(last) if consumer_index(ops, i) == last]
    for producer in feeding:
        expected = _expected_rows(producer)
        if expected is None:
            return None
        total += expected
    return total if feeding else None


__all__ = ["RunProgress", "run_progress", "BELOW_DONE"]
