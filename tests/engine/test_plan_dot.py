"""plan_dot: the one DOT writer. Whatever a label holds, real ``dot`` parses the output and draws
the text as written."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from streamscope.engine.plan_dot import dot_escape, dot_id, to_dot
from streamscope.engine.plan_graph import PlanCluster, PlanEdge, PlanGraph, PlanNode

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' program not installed")

NASTY = 'say "hi" C:\\temp\\x\nsecond <b>bold</b> {a|b} \\n end\\'


def _svg_texts(dot: str) -> list[str]:
    proc = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return [t.text for t in ET.fromstring(proc.stdout).iter("{http://www.w3.org/2000/svg}text")]


def test_escape_handles_backslash_quote_and_line_breaks_only():
    assert dot_escape('a\\b"c\nd\r\ne<f>{g|h}') == 'a\\\\b\\"c\\nd\\ne<f>{g|h}'
    assert dot_escape("bell\x07") == "bell?"


def test_ids_are_quoted_when_dot_needs_it():
    assert dot_id("op0") == "op0"
    assert dot_id("node") == '"node"' and dot_id("a-b") == '"a-b"' and dot_id("0x") == '"0x"'


@needs_dot
def test_nasty_labels_ids_and_titles_parse_and_draw_as_written():
    graph = PlanGraph(
        'title "q" \\',
        nodes=(PlanNode("node", "Kind", covers=(NASTY,), lines=(NASTY,)),
               PlanNode("x-1", "Sink{|}", covers=("s",))),
        edges=(PlanEdge("node", "x-1"),),
        clusters=(PlanCluster("c 1", 'fused "2" <ops>', ("node", "x-1")),),
    )
    dot = to_dot(graph, {"x-1": {"xlabel": 'note "q" \\', "label": "ignored"}})
    texts = _svg_texts(dot)
    assert texts == ['fused "2" <ops>', "Kind", 'say "hi" C:\\temp\\x', "second <b>bold</b> {a|b} \\n end\\",
                     "Sink{|}", 'note "q" \\']
    assert "ignored" not in dot
    assert dot.count("subgraph") == 1  # both members drawn inside the one cluster


def test_bad_attribute_names_are_refused():
    graph = PlanGraph("t", (PlanNode("a", "A", ("A",)),))
    with pytest.raises(ValueError, match="attribute name"):
        to_dot(graph, {"a": {"fill color": "#fff"}})
