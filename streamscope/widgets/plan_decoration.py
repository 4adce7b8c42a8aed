"""NodeDecoration: what a view adds to one plan-graph node (a fill colour, a short note, a tooltip).

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


def dot_node_attrs(decorations: Decorations) -> dict[str, dict[str, str]]:
    """Per-node attributes for ``streamscope.engine.plan_dot.to_dot``."""
    return {nid: d.dot_attrs() for nid, d in decorations.items()}
