import shutil

import pytest

from streamscope.widgets import graphviz_render as gr
from widget_snapshots import DOT

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


def test_fallback_when_dot_missing_lists_operators_and_says_what_to_install(tmp_path):
    missing = str(tmp_path / "no-such-dir" / "dot")
    with pytest.raises(gr.GraphvizUnavailable):
        gr.render_svg(DOT, binary=missing)
    html = gr.render_html(DOT, binary=missing)
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
    assert "apt-get install graphviz" in gr.render_html(DOT)


def test_annotate_appends_statements_that_override():
    out = gr.annotate_dot(DOT, {"op2": {"fillcolor": "#fdd", "xlabel": '1.2k "rows"/s'}})
    assert out.rstrip().endswith("}")
    assert 'op2 [fillcolor="#fdd", xlabel="1.2k \\"rows\\"/s"];' in out
    g = gr.parse_dot(out)
    assert g.nodes["op2"].attrs["fillcolor"] == "#fdd"
    assert g.nodes["op2"].label == "MapBatches(f) -> Filter(g)"
    assert g.nodes["op2"].cluster == "cluster_fused_op2"
    assert g.edges == [("op1", "op2"), ("op2", "op3")]


def test_fallback_text_is_indented_list():
    lines = gr.fallback_text(DOT).splitlines()
    assert [line.strip() for line in lines] == ["-> ReadParquet 4 files", "-> MapBatches(f) -> Filter(g)", "-> WriteCSV"]
    assert lines[2].startswith("      ")
