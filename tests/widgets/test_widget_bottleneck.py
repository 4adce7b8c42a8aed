"""The views show the engine's bottleneck and progress as the snapshot carries them; they compute
neither (the rule itself is tested in tests/engine/execution/test_bottleneck.py)."""

from dataclasses import replace

from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.engine.execution.telemetry import ACTORS_BUSY, Bottleneck
from streamscope.widgets.dashboard import Dashboard
from streamscope.widgets.live import LiveRunView
from streamscope.widgets.progress import ProgressView, progress_html, run_summary
from widget_snapshots import FakeHandle, buffer_with, op, snap

SENTENCE = "WriteCSV limits throughput: all 1 actor(s) busy, 4 block(s) wait at its input (10 rows/s)"
NAMED = Bottleneck("op3", "WriteCSV", ACTORS_BUSY, SENTENCE)
# Operators that a view computing its own answer would read as "ReadParquet is backpressured".
HELD = (op("op1", state="backpressured", blocked_by=BlockedReason("DownstreamCapacity", "9 blocks queued at WriteCSV"),
           queued_out_blocks=9),
        op("op3", state="running", queued_in_blocks=4, actors_alive=1, actors_busy=1))


def test_progress_view_shows_the_snapshots_sentence_and_nothing_else():
    s = snap(3, 10, ops=HELD, bottleneck=NAMED)
    view = ProgressView(None, "ds")
    view.update(s)
    assert SENTENCE in view.bottleneck.value
    assert f"bottleneck: {SENTENCE}" in progress_html(s)
    quiet = replace(s, bottleneck=None)  # same operators, but the engine named no bottleneck
    view.update(quiet)
    assert view.bottleneck.value == ""
    assert "bottleneck" not in progress_html(quiet)


def test_live_view_and_dashboard_header_use_the_snapshot():
    s = snap(3, 10, ops=HELD, bottleneck=NAMED)
    live = LiveRunView(FakeHandle(buffer_with([s])), binary="/nonexistent/dot")
    live.update(s)
    assert SENTENCE in live.progress.bottleneck.value
    dash = Dashboard()
    dash.update(s)
    assert "WriteCSV limits throughput" in dash.header.text
    dash.update(replace(s, bottleneck=None, timestamp=s.timestamp + 1))
    assert "bottleneck" not in dash.header.text


def test_the_bar_is_the_snapshots_progress():
    view = ProgressView(None, "ds")
    view.update(replace(snap(3, 10), progress=0.25))
    assert view.bar.value == 0.25 and "25%" in view.label.value
    view.update(replace(snap(3, 10), progress=None))
    assert view.bar.value == 0.0 and "running" in view.label.value  # not estimable: no made-up figure


def test_summary_shows_rows_of_the_estimate_until_success():
    s = replace(snap(3, 10), rows_out=300, estimated_rows_total=1000)
    assert run_summary(s).startswith("300 of 1k rows")
    done = replace(s, state="succeeded", rows_out=1000, progress=1.0)
    assert run_summary(done).startswith("1k rows ·")


def test_the_views_show_what_is_held_back_apart_from_the_limit():
    from streamscope.engine.execution import telemetry as T
    from streamscope.widgets.progress import held_back_text

    b = T.Bottleneck("op2", "Model", T.ACTORS_BUSY, "Model limits throughput: all 1 actor(s) busy",
                     holds_back=("ReadRange->Prep by DownstreamCapacity",))
    running = replace(snap(1, 3), bottleneck=b)
    assert held_back_text(running) == "held back: ReadRange->Prep by DownstreamCapacity"
    html = progress_html(running)
    assert "bottleneck: Model limits throughput" in html and "held back: ReadRange-&gt;Prep by DownstreamCapacity" in html
    assert held_back_text(replace(running, bottleneck=replace(b, holds_back=()))) == ""
