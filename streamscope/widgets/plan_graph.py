"""The plan graph view: a static picture for reprs and explain, a live one during a run.

Why structure in: the engine hands over a :class:`PlanGraph` (in ``ExplainResult`` plans and in
every snapshot's ``plan_graph``). With ``dot`` installed this view asks the engine's DOT writer for
the graph's DOT, passing each operator's state as a :class:`NodeDecoration` (fill colour, a short
note: rows out, rows/s, queued blocks, busy actors) and each edge's queue as an
:class:`EdgeDecoration` (``plan_live.py``), and renders it to SVG; without ``dot`` it draws the same
graph and decorations as an HTML list. Nothing here writes or reads DOT syntax.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot
from streamscope.engine.plan_dot import to_dot
from streamscope.engine.plan_graph import PlanGraph

from ._util import STATE_COLORS, esc, optional, widget_bundle
from .graphviz_render import GraphvizUnavailable, render_svg
from .plan_decoration import Decorations, EdgeDecoration, EdgeDecorations, NodeDecoration, dot_edge_attrs, dot_node_attrs
from .plan_fallback import fallback_html, fallback_text
from .plan_live import live_decorations, live_edge_decorations


def render_html(graph: PlanGraph, binary: Optional[str] = None, title: str = "",
                decorations: Optional[Decorations] = None, edge_decorations: Optional[EdgeDecorations] = None) -> str:
    """HTML for a plan: the inline SVG, or the indented-list fallback with the install line."""
    try:
        svg = render_svg(to_dot(graph, dot_node_attrs(decorations or {}), dot_edge_attrs(edge_decorations or {})), binary)
    except GraphvizUnavailable:
        return fallback_html(graph, decorations, title=title, edge_decorations=edge_decorations)
    return f'<div class="streamscope-plan" style="overflow:auto;max-width:100%">{svg}</div>'


def legend_html() -> str:
    chips = "".join(
        f'<span style="background:{c};border:1px solid #999;padding:0 6px;margin-right:6px">{esc(s)}</span>'
        for s, c in STATE_COLORS.items()
    )
    return f'<div class="streamscope-legend" style="font-size:85%">{chips}</div>'


def plan_html(graph: Optional[PlanGraph], title: str = "", binary: Optional[str] = None,
              decorations: Optional[Decorations] = None, edge_decorations: Optional[EdgeDecorations] = None) -> str:
    """Static HTML for a plan (inline SVG, or the indented list without ``dot``)."""
    if graph is None or not graph.nodes:
        return f'<div class="streamscope-plan"><i>{esc(title or "plan")}: no plan graph available</i></div>'
    head = f'<div style="font-weight:bold">{esc(title)}</div>' if title else ""
    return head + render_html(graph, binary=binary, decorations=decorations, edge_decorations=edge_decorations)


def snapshot_plan_html(snapshot: ExecutionSnapshot, binary: Optional[str] = None) -> str:
    """The plan of a snapshot as the live view draws it: node states and figures, edge queues."""
    return plan_html(snapshot.plan_graph, binary=binary, decorations=live_decorations(snapshot),
                     edge_decorations=live_edge_decorations(snapshot))


class PlanGraphView:
    """Plan graph as an ``ipywidgets.HTML`` (``root``), updated from snapshots.

    Static use: ``PlanGraphView(graph)``; live use: ``view.update(snapshot)`` recolours
    ``snapshot.plan_graph`` by operator state. Without ipywidgets ``root`` is None and the
    mimebundle carries the same HTML.
    """

    def __init__(self, graph: Optional[PlanGraph] = None, title: str = "", binary: Optional[str] = None,
                 legend: bool = False):
        self.title = title
        self.binary = binary
        self.legend = legend
        self.graph = graph
        self.decorations: dict[str, NodeDecoration] = {}
        self.edge_decorations: dict[tuple[str, str], EdgeDecoration] = {}
        self.html = ""
        self._rendered_for: Optional[tuple] = None
        widgets = optional("ipywidgets")
        self.root = widgets.HTML() if widgets is not None else None
        self._render()

    def _render(self) -> None:
        key = (self.graph, self.decorations, self.edge_decorations)
        if key == self._rendered_for:
            return
        self._rendered_for = (self.graph, dict(self.decorations), dict(self.edge_decorations))
        self.html = plan_html(self.graph, self.title, self.binary, self.decorations, self.edge_decorations)
        if self.legend and self.graph is not None:
            self.html += legend_html()
        if self.root is not None:
            self.root.value = self.html

    def update(self, snapshot: ExecutionSnapshot) -> None:
        """Recolour from the snapshot (re-renders only when the graph or a decoration changed)."""
        self.graph = snapshot.plan_graph
        self.decorations = live_decorations(snapshot)
        self.edge_decorations = live_edge_decorations(snapshot)
        self._render()

    def text(self) -> str:
        return fallback_text(self.graph) if self.graph is not None else "(no plan graph)"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.html, (self.title + "\n" if self.title else "") + self.text())
