import re

from streamscope.engine.execution.blocked_reason import BlockedReason
from streamscope.widgets._util import STATE_COLORS
from streamscope.widgets.live import LiveRunView
from streamscope.widgets.plan_graph import PlanGraphView
from streamscope.widgets.plan_live import live_dot
from streamscope.widgets.progress import ProgressView, progress_html, progress_text
from widget_snapshots import FakeHandle, buffer_with, op, snap, stream


def _fill(dot, node):
    found = re.findall(rf'^\s*{node} \[[^\]]*fillcolor="([^"]+)"', dot, re.M)
    return found[-1]


def test_live_dot_colours_each_state():
    states = ["pending", "running", "backpressured", "done", "failed"]
    ops = [op(f"op{i + 1}", state=s, rows_out=1234, rows_per_s=1200.0, queued_in_blocks=2) for i, s in enumerate(states[:3])]
    dot = live_dot(snap(1, 2, ops=ops))
    for i, s in enumerate(states[:3]):
        assert _fill(dot, f"op{i + 1}") == STATE_COLORS[s]
    assert 'xlabel="1.2k rows | 1.2k rows/s | q 2/0"' in dot
    ops = [op("op1", state="done"), op("op2", state="failed"), op("op3", state="backpressured")]
    dot = live_dot(snap(1, 2, ops=ops))
    assert _fill(dot, "op1") == STATE_COLORS["done"]
    assert _fill(dot, "op2") == STATE_COLORS["failed"]
    assert _fill(dot, "op3") == STATE_COLORS["backpressured"]
    assert dot.rstrip().endswith("}")


def test_plan_graph_view_updates_html():
    view = PlanGraphView(binary="/nonexistent/dot")
    view.update(snap(3, 10))
    assert STATE_COLORS["running"] in view.root.value and "WriteCSV" in view.root.value
    bundle = view._repr_mimebundle_()
    assert {"text/html", "text/plain", "application/vnd.jupyter.widget-view+json"} <= set(bundle)
    assert "ReadParquet" in bundle["text/plain"]


def test_progress_reaches_exactly_100_on_success():
    h = FakeHandle(buffer_with([]))
    view = ProgressView(h, "my_dataset")
    values = []
    for s in stream(10, "succeeded"):
        view.update(s)
        values.append(view.bar.value)
    assert values == sorted(values)
    assert view.bar.value == view.bar.max == 1.0 and view.bar_percent == 100.0
    assert view.bar.bar_style == "success"
    assert "100%" in view.label.value
    assert view.cancel_button.disabled


def test_progress_red_and_labelled_on_failure_and_cancel():
    for outcome in ("failed", "cancelled"):
        view = ProgressView(FakeHandle(buffer_with([])), "ds")
        for s in stream(10, outcome):
            view.update(s)
        assert view.bar.bar_style == "danger"
        assert view.bar.value == view.bar.max  # drawn full and red, never half-drawn
        assert outcome in view.label.value and "#d9534f" in view.label.value
        html = progress_html(s)
        assert outcome in html and "#d9534f" in html and "width:100.0%" in html
        assert outcome in progress_text(s)
    assert "ValueError: bad row" in progress_html(stream(10, "failed")[-1])


def test_per_operator_rows_carry_the_numbers_and_expand():
    view = ProgressView(None, "ds")
    assert view.details.layout.display == "none"
    view.update(snap(4, 10, ops=[op("op2", state="backpressured", rows_out=400, blocks_out=7, active_tasks=3,
                                    tasks_done=5, queued_in_blocks=6, queued_out_blocks=9, actors_alive=4,
                                    actors_busy=2, actors_starting=1, started_at=1000.0, rows_per_s=250.0,
                                    blocked_by=BlockedReason("ConcurrencyCapPolicy", "3 tasks in flight (cap 3)"))]))
    table = view.table.value
    for text in ("400", ">7<", "3 active, 5 done", "2/4 busy, 1 starting", "6 (0 B)", "9 (0 B)",
                 "ConcurrencyCapPolicy: 3 tasks in flight (cap 3)", "4 s", "250 rows/s"):
        assert text in table, text
    view.expand.value = True
    assert view.details.layout.display == ""


def test_cancel_button_calls_handle_cancel():
    h = FakeHandle(buffer_with([]))
    view = ProgressView(h)
    view.cancel_button.click()
    assert h.cancelled == 1 and view.cancel_button.disabled


def test_live_run_view_final_static_html_has_plan_and_stats():
    snaps = stream(5, "succeeded")
    h = FakeHandle(buffer_with(snaps))
    view = LiveRunView(h, binary="/nonexistent/dot")
    for s in snaps:
        view.update(s)
    bundle = view._repr_mimebundle_()
    assert {"text/html", "text/plain", "application/vnd.jupyter.widget-view+json"} <= set(bundle)
    html = bundle["text/html"]
    assert "done 100%" in html and "WriteCSV" in html and "streamscope-stats" in html
    assert STATE_COLORS["done"] in html  # final plan graph coloured
    assert "done 100%" in bundle["text/plain"]


def test_live_run_view_polls_to_the_end():
    snaps = stream(5, "failed")
    h = FakeHandle(buffer_with(snaps))
    view = LiveRunView(h).start()
    assert view.wait(5)
    assert view.progress.bar.bar_style == "danger" and "failed" in view.progress.label.value


def test_a_finished_view_becomes_static_html_and_closes_its_widgets():
    """After the run the display holds only static HTML (what nbconvert and the docs show) and
    the view's widget models are closed (none kept alive per finished run)."""
    from ipywidgets.widgets.widget import _instances  # the kernel's live widget models, by id

    snaps = stream(5, "succeeded")
    view = LiveRunView(FakeHandle(buffer_with(snaps)))
    ids = {view.root.model_id, view.progress.bar.model_id, view.plan.root.model_id}
    view.progress.expand.value = True
    view.start()
    assert view.wait(5) and view.final
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    html = bundle["text/html"]
    assert "done 100%" in html and '<details class="streamscope-live-details" open>' in html
    assert "WriteCSV" in html and "streamscope-stats" in html
    assert 'class="streamscope-bar" style="width:100.0%' in html
    assert view.root.comm is None and view.progress.bar.comm is None and view.plan.root.comm is None
    assert not ids & set(_instances)


def test_a_view_with_a_dashboard_stays_a_widget():
    snaps = stream(3, "succeeded")
    view = LiveRunView(FakeHandle(buffer_with(snaps)), dashboard=True).start()
    assert view.wait(5) and not view.final
    assert "application/vnd.jupyter.widget-view+json" in view._repr_mimebundle_()
