import math

import pytest

from streamscope.engine.execution.telemetry import TelemetryHub
from streamscope.widgets import dashboard as dash_mod
from streamscope.widgets.dashboard import Dashboard
from widget_snapshots import buffer_with, gpu, stream


def test_sources_hold_the_streamed_series():
    d = Dashboard()
    snaps = stream(10, "succeeded")
    for s in snaps:
        d.update(s)
    src = d.sources
    op2 = src["op:op2"].data
    assert list(op2["t"]) == [float(i) for i in range(10)] + [10.0]
    assert list(op2["queued"]) == [3] * 11
    assert list(op2["rate"]) == [100.0] * 11
    mem = src["memory"].data
    assert list(mem["in_memory"]) == [100 * i for i in range(10)] + [1000]
    assert list(mem["spilled_now"])[-1] == 50 and list(mem["restored_total"])[-1] == 30
    assert list(src["cpu"].data["utilization"]) == [50.0] * 11
    assert list(src["cpu"].data["slots"]) == [50.0] * 11
    # the legend names every operator shortly (below the plot); the hover has the full name
    labels = [item.label["value"] for item in d.ops.queued_fig.legend[0].items]
    assert labels == ["op1 ReadParquet", "op2 Filter(g)", "op3 WriteCSV"]
    assert d.ops.queued_fig.below[-1] is d.ops.queued_fig.legend[0]
    assert set(op2["name"]) == {"MapBatches(f)->Filter(g)"}


def test_no_gpu_note_when_gpus_empty():
    d = Dashboard()
    for s in stream(3):
        d.update(s)
    assert "no GPU" in d.gpu.note.text
    assert not d.gpu.util_fig.visible and not any(k.startswith("gpu:") for k in d.sources)
    assert "no GPU" in d._repr_mimebundle_()["text/html"]


def test_gpu_series_and_unknown_is_never_zero():
    d = Dashboard()
    d.update(stream(3, gpus=[gpu(0, 0.7), gpu(1, None, used=None)])[0])
    d.update(stream(3, gpus=[gpu(0, 0.9), gpu(1, None, used=None)])[1])
    g0, g1 = d.sources["gpu:0"].data, d.sources["gpu:1"].data
    assert [round(v) for v in g0["utilization"]] == [70, 90]
    assert list(g0["memory_used"]) == [float(2 << 30)] * 2
    assert all(math.isnan(v) for v in g1["utilization"]) and all(math.isnan(v) for v in g1["memory_used"])
    assert d.gpu.util_fig.visible
    assert "GPU 1: utilization unknown" in d.gpu.note.text


def test_timeline_of_a_run_whose_spans_arrive_at_the_end():
    d = Dashboard()
    snaps = stream(4, "succeeded")
    for s in snaps[:-1]:
        d.update(s)
    assert list(d.sources["timeline"].data["op_id"]) == []
    d.update(snaps[-1])
    tl = d.sources["timeline"].data
    assert len(tl["op_id"]) == 6 and tl["start"][0] == 0.0 and tl["end"][0] == pytest.approx(0.4)
    assert d.timeline.fig.y_range.factors == ["w0", "w1"]
    assert tl["color"][3] == "#d62728"  # the failed task


def test_timeline_fills_while_the_run_goes_each_task_once():
    from streamscope.engine.execution.telemetry import TaskSpan
    from widget_snapshots import T0, snap

    spans = [TaskSpan(op_id="op1", worker=f"w{k % 3}", start=T0 + k, end=T0 + k + 0.5, ok=True) for k in range(5)]
    d = Dashboard()
    for i, upto in enumerate((0, 2, 2, 5)):
        base = snap(i, 10)
        d.update(base.__class__(**{**base.__dict__, "timeline": tuple(spans[:upto])}))
        tl = d.sources["timeline"].data
        assert list(tl["start"]) == [float(k) for k in range(upto)]  # each span once, in order
    assert d.timeline.fig.y_range.factors == ["w0", "w1", "w2"]
    other = snap(1, 10, run_id="run-2")
    d.update(other.__class__(**{**other.__dict__, "timeline": tuple(spans[:1])}))
    assert list(d.sources["timeline"].data["worker"]) == ["w0"]  # a new run starts afresh


def test_new_run_resets_series():
    d = Dashboard()
    for s in stream(3, run_id="run-a"):
        d.update(s)
    d.update(stream(3, run_id="run-b")[0])
    assert len(d.sources["memory"].data["t"]) == 1
    assert len(d.sources["op:op1"].data["t"]) == 1


def test_session_mode_follows_new_runs(monkeypatch):
    h = TelemetryHub()
    monkeypatch.setattr(dash_mod, "hub", lambda: h)
    d = Dashboard.session()
    try:
        buf = h.new_run("my_dataset")
        for s in stream(4, "succeeded", run_id=buf.run_id):
            buf.publish(s)
        assert d.poller is not None and d.poller.join(5)
        assert d.run_id == buf.run_id and d.snapshot.state == "succeeded"
        buf2 = h.new_run("second")
        for s in stream(2, "failed", run_id=buf2.run_id):
            buf2.publish(s)
        assert d.poller.join(5) and d.run_id == buf2.run_id
        assert "failed" in d.header.text
    finally:
        d.close()
    assert not h._listeners


def test_bokeh_js_loaded_once(monkeypatch):
    calls = []
    import bokeh.io

    monkeypatch.setattr(bokeh.io, "output_notebook", lambda *a, **k: calls.append(k))
    monkeypatch.setattr(dash_mod, "_BOKEH_LOADED", False)
    assert dash_mod.ensure_bokeh_loaded() is True
    assert dash_mod.ensure_bokeh_loaded() is False
    assert calls == [{"hide_banner": True}]


def test_dashboard_mimebundle_has_widget_and_fallbacks():
    d = Dashboard(buffer_with(stream(2)))
    assert d.poller.join(5)
    bundle = d._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "my_dataset" in bundle["text/html"] and "my_dataset" in bundle["text/plain"]


def test_without_bokeh_dashboard_is_a_static_summary(monkeypatch):
    import sys

    for mod in ("bokeh", "bokeh.layouts", "bokeh.models", "bokeh.plotting", "jupyter_bokeh"):
        monkeypatch.setitem(sys.modules, mod, None)
    d = Dashboard()
    assert d.layout is None and d.root is None and d.sources == {}
    for s in stream(3, "succeeded"):
        d.update(s)
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert "pip install streamscope[notebook]" in bundle["text/html"] and "succeeded" in bundle["text/html"]


def test_live_view_with_dashboard():
    from streamscope.widgets.live import LiveRunView
    from widget_snapshots import FakeHandle

    snaps = stream(3, "succeeded")
    view = LiveRunView(FakeHandle(buffer_with(snaps)), dashboard=True, binary="/nonexistent/dot")
    for s in snaps:
        view.update(s)
    assert view.dashboard.root in view.root.children
    assert len(view.dashboard.sources["memory"].data["t"]) == 4
    assert "object store" in view._repr_mimebundle_()["text/html"]


def test_dashboard_lists_every_active_run(monkeypatch):
    h = TelemetryHub()
    monkeypatch.setattr(dash_mod, "hub", lambda: h)
    background, foreground = h.new_run("background_etl"), h.new_run("quick_take")
    background.publish(stream(5, run_id=background.run_id)[2])  # still running
    fg_snaps = stream(3, "succeeded", run_id=foreground.run_id)
    foreground.publish(fg_snaps[0])
    d = Dashboard()
    d.update(fg_snaps[0])
    assert "2 runs sharing the machine" in d.runs.text
    assert background.run_id in d.runs.text and foreground.run_id in d.runs.text
    assert background.run_id in d.text() and "2 runs active" in d.text()
    for s in fg_snaps[1:]:
        foreground.publish(s)
        d.update(s)
    # the foreground run is done; the background run stays in sight next to the charts
    assert h.active_runs() == [background]
    assert "1 run going" in d.runs.text and background.run_id in d.runs.text
    assert foreground.run_id not in d.runs.text
    assert background.run_id in d.static_html()


def test_a_single_run_shows_no_runs_list(monkeypatch):
    h = TelemetryHub()
    monkeypatch.setattr(dash_mod, "hub", lambda: h)
    only = h.new_run("solo")
    s = stream(4, run_id=only.run_id)[1]
    only.publish(s)
    d = Dashboard()
    d.update(s)
    assert d.runs.text == ""


def test_streaming_waits_for_a_pandas_import_in_progress_on_another_thread():
    """Bokeh's stream reads pandas.Series from sys.modules; a run importing pandas on another
    thread left it half made and the dashboard's update failed (seen in JupyterLab)."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "pandas_import_race.py")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_spill_per_operator_and_a_note_while_nothing_spilled():
    from widget_snapshots import op, snap

    d = Dashboard()
    quiet = snap(1, 10, ops=(op("op1", spilled_bytes=0), op("op2", spilled_bytes=0)))
    d.update(quiet)
    assert d.ops.spill_note.visible and "nothing spilled" in d.ops.spill_note.text
    d.update(snap(2, 10, ops=(op("op1", spilled_bytes=0), op("op2", spilled_bytes=4096))))
    assert not d.ops.spill_note.visible
    assert list(d.sources["op:op2"].data["spilled"]) == [0, 4096]
    assert list(d.sources["op:op1"].data["spilled"]) == [0, 0]
    assert [i.label for i in d.ops.spill_fig.legend[0].items] == [i.label for i in d.ops.queued_fig.legend[0].items]
    d.update(snap(1, 10, run_id="run-2", ops=(op("op1"),)))
    assert d.ops.spill_note.visible  # a new run has spilled nothing yet
