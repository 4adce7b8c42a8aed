import shutil

import pytest

from streamscope.widgets import graphviz_render as gr
from streamscope.widgets.plan_fallback import fallback_text
from streamscope.widgets.plan_graph import render_html
from widget_snapshots import DOT, GRAPH

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' program not installed")


@needs_dot
def test_svg_contains_operator_labels():
    svg = gr.render_svg(DOT)
    assert svg.startswith("<svg")
    for label in ("ReadParquet", "MapBatches(f) &#45;&gt; Filter(g)", "WriteCSV", "fused: MapBatches(f)"):
        assert label in svg


@needs_dot
def test_render_is_cached():
    gr._render_cached.cache_clear()
    gr.render_svg(DOT)
    gr.render_svg(DOT)
    info = gr._render_cached.cache_info()
    assert info.hits == 1 and info.misses == 1


@needs_dot
def test_render_html_draws_svg_when_dot_is_there():
    html = render_html(GRAPH)
    assert "<svg" in html and "apt-get install graphviz" not in html


def test_fallback_when_dot_missing_lists_operators_and_says_what_to_install(tmp_path):
    missing = str(tmp_path / "no-such-dir" / "dot")
    with pytest.raises(gr.GraphvizUnavailable):
        gr.render_svg(DOT, binary=missing)
    html = render_html(GRAPH, binary=missing)
    assert "<svg" not in html
    for label in ("ReadParquet", "MapBatches(f) -&gt; Filter(g)", "WriteCSV", "fused: MapBatches(f)"):
        assert label in html
    assert "apt-get install graphviz" in html
    # dataflow order, downstream operators indented further
    assert html.index("ReadParquet") < html.index("MapBatches") < html.index("WriteCSV")
    assert "margin-left:3.0em" in html


def test_fallback_via_module_setting(monkeypatch):
    monkeypatch.setattr(gr, "DOT_BINARY", "/nonexistent/bin/dot")
    assert not gr.dot_available()
    assert "apt-get install graphviz" in render_html(GRAPH)


def test_fallback_text_is_indented_list():
    lines = fallback_text(GRAPH).splitlines()
    assert [line.strip() for line in lines] == ["-> ReadParquet 4 files", "-> MapBatches(f) -> Filter(g)", "-> WriteCSV"]
    assert lines[2].startswith("      ")
