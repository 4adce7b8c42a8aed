import subprocess
import sys

import pytest

from streamscope.widgets import _util
from streamscope.widgets.dataset_view import dataset_mimebundle
from streamscope.widgets.explain_view import explain_widget
from streamscope.widgets.progress import ProgressView
from streamscope.widgets.stats_view import KEYS, stats_widget
from widget_snapshots import explain_result, op, snap, stream


def _final():
    ops = [op("op1", wall_s=3.0, cpu_s=1.0, rows_out=100, tasks_done=4),
           op("op2", wall_s=9.0, cpu_s=8.0, udf_s=6.0, rows_out=50, tasks_done=2, tasks_failed=1),
           op("op3", wall_s=1.0, cpu_s=0.5, rows_out=75, backpressure_s=0.25, spilled_bytes=2048)]
    return snap(10, 10, state="succeeded", ops=ops)


def test_stats_table_sorts_by_clicking_headers():
    view = stats_widget(_final())
    assert view.column("name") == ["ReadParquet", "MapBatches(f)->Filter(g)", "WriteCSV"]
    view.buttons["wall_s"].click()
    assert view.column("wall_s") == [9.0, 3.0, 1.0] and view.sort_key == "wall_s"
    assert view.buttons["wall_s"].description.endswith("▼")
    view.buttons["wall_s"].click()
    assert view.column("wall_s") == [1.0, 3.0, 9.0]
    view.sort_by("name")
    assert view.column("name") == ["MapBatches(f)->Filter(g)", "ReadParquet", "WriteCSV"]
    # the grid shows rows in the sorted order, after the header buttons
    cells = view.grid.children[len(KEYS):]
    assert cells[0].value == "MapBatches(f)-&gt;Filter(g)"
    assert view.column("tasks") == [3, 4, 0]
    with pytest.raises(KeyError):
        view.sort_by("nope")


def test_stats_bundle_has_table_breakdown_and_text():
    bundle = stats_widget(_final())._repr_mimebundle_()
    assert {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"} <= set(bundle)
    html = bundle["text/html"]
    for text in ("streamscope-stats", "time breakdown", "9 s", "2 KiB", "UDF: 6 s", "other CPU: 2 s", "backpressure: 250 ms"):
        assert text in html, text
    assert "MapBatches(f)->Filter(g): wall 9 s" in bundle["text/plain"]


def test_explain_tabs_rules_and_pushdowns():
    view = explain_widget(explain_result(), binary="/nonexistent/dot")
    titles = [view.tabs.get_title(i) for i in range(3)]
    assert titles == ["Logical", "Optimized logical", "Physical (fused)"]
    assert "fused: MapBatches(f)" in view.tabs.children[2].value
    assert "OperatorFusionRule" in view.rules.value and "into ReadParquet" in view.rules.value
    bundle = view._repr_mimebundle_()
    assert "ProjectionPushdown" in bundle["text/plain"] and "Physical" in bundle["text/html"]


def test_dataset_mimebundle_static_plan_schema_and_badge():
    bundle = dataset_mimebundle("my_dataset", explain_result())
    assert set(bundle) == {"text/html", "text/plain"}
    html = bundle["text/html"]
    assert "<svg" in html and "not executed" in html and "my_dataset" in html
    assert "<code>int64</code>" in html
    assert "not executed" in bundle["text/plain"] and "id: int64" in bundle["text/plain"]
    done = dataset_mimebundle("my_dataset", explain_result(executed=True, schema=None), binary="/nonexistent/dot")
    assert "not executed" not in done["text/html"] and "executed" in done["text/html"]
    assert "unknown until executed" in done["text/plain"] and "apt-get install graphviz" in done["text/html"]


def test_without_ipywidgets_views_fall_back_to_html(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    assert _util.optional("ipywidgets") is None
    with pytest.raises(_util.MissingDependency, match=r"pip install streamscope\[notebook\]"):
        _util.require("ipywidgets")
    view = ProgressView(None, "ds")
    assert view.root is None
    for s in stream(3, "cancelled"):
        view.update(s)
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert "cancelled" in bundle["text/html"] and "cancelled" in bundle["text/plain"]
    stats = stats_widget(_final())
    assert stats.root is None and "streamscope-stats" in stats._repr_mimebundle_()["text/html"]
    stats.sort_by("wall_s")  # numbers sort largest first on the first click
    assert stats.column("wall_s") == [9.0, 3.0, 1.0]
    html = stats.static_html()
    assert html.index('data-op-id="op2"') < html.index('data-op-id="op1"') < html.index('data-op-id="op3"')
    assert "wall ▼" in html


def test_import_is_cheap():
    code = ("import sys, streamscope.widgets as w; bad = [m for m in ('ipywidgets', 'bokeh', 'jupyter_bokeh', 'graphviz') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
