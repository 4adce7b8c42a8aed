"""NodeDecoration and EdgeDecoration: what a view adds to one plan-graph node (a fill colour, a
short note, a tooltip) or edge (a weight and colour for how full it is, a label for what waits on it).

Why its own value: the live view decides the decoration once per snapshot, and both renderers
take it as is: the SVG path hands it to the engine's DOT writer as node attributes (escaped there,
with the labels), the HTML fallback draws it with ``html.escape``. Neither reads the other's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class NodeDecoration:
    fill: str = ""
    """A CSS/Graphviz colour such as ``#c8efc8``; empty keeps the node's default."""
    note: str = ""
    """A short line drawn beside the node (rows, rate, queues)."""
    tooltip: str = ""

    def dot_attrs(self) -> dict[str, str]:
        """The Graphviz attributes for this decoration (only the ones that are set)."""
        attrs = {"fillcolor": self.fill, "xlabel": self.note, "tooltip": self.tooltip}
        return {k: v for k, v in attrs.items() if v}


Decorations = Mapping[str, NodeDecoration]
"""Decorations by node id (a physical node id is the operator's telemetry ``op_id``)."""


@dataclass(frozen=True)
class EdgeDecoration:
    """How one edge is drawn: heavier and warmer as the blocks queued on it fill it.

    Example::

        EdgeDecoration(label="3 blocks · 1.2 MiB", penwidth=2.5, color="#f0a030", fill=0.4)
    """

    label: str = ""
    """What waits on the edge ("3 blocks · 1.2 MiB"); empty when nothing does."""
    penwidth: float = 1.0
    color: str = ""
    fill: float = 0.0
    """How full the edge is, in [0, 1] (the weight and colour are drawn from it)."""
    tooltip: str = ""

    def dot_attrs(self) -> dict[str, str]:
        """The Graphviz attributes for this decoration (only the ones that are set)."""
        attrs = {"label": self.label, "color": self.color, "tooltip": self.tooltip,
                 "penwidth": f"{self.penwidth:.1f}" if self.penwidth != 1.0 else "",
                 "fontcolor": self.color if self.label else ""}
        return {k: v for k, v in attrs.items() if v}


EdgeDecorations = Mapping[tuple[str, str], EdgeDecoration]
"""Edge decorations by ``(source id, target id)``."""


def dot_node_attrs(decorations: Decorations) -> dict[str, dict[str, str]]:
    """Per-node attributes for ``streamscope.engine.plan_dot.to_dot``."""
    return {nid: d.dot_attrs() for nid, d in decorations.items()}


def dot_edge_attrs(decorations: EdgeDecorations) -> dict[tuple[str, str], dict[str, str]]:
    """Per-edge attributes for ``streamscope.engine.plan_dot.to_dot``."""
    return {edge: d.dot_attrs() for edge, d in decorations.items()}
