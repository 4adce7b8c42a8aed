"""The plan graph reaches the views as a PlanGraph: SVG through the engine's DOT, the fallback
(no ``dot``) straight from the structure, so no label is ever shown in DOT-escaped form."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import streamscope
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanGraph, PlanNode
from streamscope.widgets.plan_decoration import NodeDecoration
from streamscope.widgets.plan_fallback import fallback_html
from streamscope.widgets.plan_graph import plan_html, render_html
from streamscope.widgets.dataset_view import dataset_mimebundle

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' program not installed")

MISSING = "/nonexistent/bin/dot"
NASTY = 'say "hi" C:\\temp\\x\nsecond <b>bold</b> {a|b} \\n'


def _op_spans(html: str) -> list[str]:
    return re.findall(r'<span class="op"[^>]*>(.*?)</span>', html)


def test_fallback_shows_lambda_html_escaped_never_dot_escaped():
    er = streamscope.range(10).map(lambda row: row)._explain()
    html = dataset_mimebundle("ds", er, binary=MISSING)["text/html"]
    spans = _op_spans(html)
    assert "Map(&lt;lambda&gt;)" in spans[-1]
    assert spans and not any("\\" in s for s in spans), spans
    for plan in (er.logical, er.optimized, er.physical):
        spans = _op_spans(render_html(plan.graph, binary=MISSING))
        assert any(s.endswith("Map(&lt;lambda&gt;)") for s in spans), spans
        assert not any("\\" in s for s in spans), spans


def test_nasty_label_survives_to_the_html_fallback():
    graph = PlanGraph("t", (PlanNode("n0", "Kind{|}", covers=(NASTY,), lines=(NASTY,)),))
    html = fallback_html(graph, {"n0": NodeDecoration("#fff", 'note "q" <x>', "tip <&>")})
    (span,) = _op_spans(html)
    assert span == ("Kind{|}<br>say &quot;hi&quot; C:\\temp\\x<br>"
                    "second &lt;b&gt;bold&lt;/b&gt; {a|b} \\n")
    assert "note &quot;q&quot; &lt;x&gt;" in html and 'title="tip &lt;&amp;&gt;"' in html
    assert "<b>bold</b>" not in html


@needs_dot
def test_nasty_label_survives_real_dot_with_decorations():
    graph = PlanGraph("title \"q\" \\", (PlanNode("n0", "K", covers=(NASTY,), lines=(NASTY,)),))
    dot = to_dot(graph, {"n0": NodeDecoration("#c8efc8", 'x "y" \\z', "a\nb").dot_attrs()})
    proc = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    texts = [t.text for t in ET.fromstring(proc.stdout).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["K", 'say "hi" C:\\temp\\x', "second <b>bold</b> {a|b} \\n", 'x "y" \\z']
    assert "<svg" in plan_html(graph)  # the view's own path renders it too
