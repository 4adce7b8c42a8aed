"""Terminal progress lines from hand-built snapshots: they print the snapshot's progress, rows of
the estimate and bottleneck, with engine/units.py's units."""

from streamscope.engine.execution import telemetry as T
from streamscope.engine.execution.progress import render_line, render_operators

OP = T.OperatorSnapshot("op1", "MapBatches(f)", state=T.RUNNING, rows_out=37_500, rows_per_s=12_345.0)


def _snap(**kw) -> T.ExecutionSnapshot:
    kw.setdefault("state", T.RUN_RUNNING)
    return T.ExecutionSnapshot("run-1", "ds", started_at=100.0, timestamp=101.2, operators=(OP,), **kw)


def test_a_running_line_shows_the_engines_fraction_and_rows_of_the_estimate():
    line = render_line(_snap(rows_out=250, estimated_rows_total=1000, progress=0.25))
    assert line == "[ds] running 25.0% 1.2 s 250 of 1000 rows out | MapBatches(f): 37.5k rows"


def test_unknown_progress_prints_no_percentage_and_success_drops_the_estimate():
    assert render_line(_snap(rows_out=250)).startswith("[ds] running 1.2 s 250 rows out |")
    done = render_line(_snap(state=T.RUN_SUCCEEDED, rows_out=1000, estimated_rows_total=1000, progress=1.0))
    assert done.startswith("[ds] done 100.0% 1.2 s 1000 rows out |")


def test_operator_mode_ends_with_the_bottleneck_line_every_frame():
    b = T.Bottleneck("op1", "MapBatches(f)", T.ACTORS_BUSY, "MapBatches(f) limits throughput: all 1 actor(s) busy")
    lines = render_operators(_snap(bottleneck=b))
    assert "(12.3k rows/s)" in lines[1]
    assert lines[-1] == "  bottleneck: MapBatches(f) limits throughput: all 1 actor(s) busy"
    quiet = render_operators(_snap())
    assert len(quiet) == len(lines) and quiet[-1] == "  bottleneck: none"  # same line count: clean redraws
