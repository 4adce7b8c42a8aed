"""The plan without Graphviz: an indented list of operators drawn straight from the PlanGraph.

Why from the structure: the fallback used to parse the engine's DOT back, and its unescaping
never matched the engine's escaping (``Map(\\<lambda\\>)``). Reading :class:`PlanGraph` fields
needs no unescaping at all; every string is plain text and goes through ``html.escape`` once.
Operators appear in dataflow order, indented by depth; a fused group's label follows its node,
and live state keeps its colour and note.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.plan_graph import PlanGraph, PlanNode

from ._util import esc
from .graphviz_render import INSTALL_DOT
from .plan_decoration import Decorations, EdgeDecorations, NodeDecoration

_NONE = NodeDecoration()


def _lines(node: PlanNode) -> list[str]:
    """The box's lines, with line breaks inside an entry split out (as Graphviz draws them)."""
    return "\n".join(node.label_lines).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _ordered(graph: PlanGraph) -> list[tuple[PlanNode, int]]:
    """Nodes by depth (longest path from a source), then in the graph's order."""
    depth = graph.depths()
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    return sorted(((n, depth[n.id]) for n in graph.nodes), key=lambda nd: (nd[1], index[nd[0].id]))


def _inflow_html(graph: PlanGraph, node: PlanNode, edges: EdgeDecorations) -> str:
    """What waits on the edges into ``node`` ("← 3 blocks · 1 MiB"), coloured as the SVG edge."""
    bits = []
    for source in graph.inputs(node.id):
        deco = edges.get((source, node.id))
        if deco is not None and deco.label:
            bits.append(f' <span class="queue" style="color:{esc(deco.color)}">&larr; {esc(deco.label)}</span>')
    return "".join(bits)


def _item_html(graph: PlanGraph, node: PlanNode, depth: int, deco: NodeDecoration, edges: EdgeDecorations) -> str:
    style = f"background:{esc(deco.fill)};" if deco.fill else ""
    title = f' title="{esc(deco.tooltip)}"' if deco.tooltip else ""
    label = "<br>".join(esc(line) for line in _lines(node))
    bits = [f'<span class="op" data-op-id="{esc(node.id)}"{title} style="{style}padding:0 4px">{label}</span>']
    cluster = graph.cluster_of(node.id)
    if cluster is not None:
        bits.append(f' <span style="color:#777">[{esc(cluster.label)}]</span>')
    if deco.note:
        bits.append(f' <span style="color:#555">{esc(deco.note)}</span>')
    bits.append(_inflow_html(graph, node, edges))
    return f'<li style="margin-left:{depth * 1.5}em">{"".join(bits)}</li>'


def fallback_html(graph: PlanGraph, decorations: Optional[Decorations] = None, title: str = "",
                  edge_decorations: Optional[EdgeDecorations] = None) -> str:
    """The plan as nested HTML list items, plus one line saying how to get the drawn graph."""
    decorations = decorations or {}
    edges = edge_decorations or {}
    items = "".join(_item_html(graph, n, d, decorations.get(n.id, _NONE), edges) for n, d in _ordered(graph))
    head = f"<b>{esc(title)}</b>" if title else ""
    return (
        f'<div class="streamscope-plan-fallback">{head}'
        f'<ul style="list-style:\'\\2192  \';padding-left:1em">{items}</ul>'
        f'<div style="color:#a60;font-size:90%">{esc(INSTALL_DOT)}</div></div>'
    )


def fallback_text(graph: PlanGraph) -> str:
    """Plain-text indented list of operators, for ``text/plain`` reprs."""
    return "\n".join(
        "  " * (depth + 1) + "-> " + " ".join(" ".join(node.label_lines).split()) for node, depth in _ordered(graph)
    )
