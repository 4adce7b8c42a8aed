"""DOT text from a PlanGraph: the only place in streamscope that writes Graphviz syntax.

Why one writer with one escaper: labels carry user text (``Map(<lambda>)``, filter expressions,
paths with backslashes or quotes). Every string goes through :func:`dot_escape`, which knows the
three things a quoted DOT string needs (backslash, double quote, line break), so ``dot`` always
parses the result and draws the text as written. Braces, ``|`` and ``<>`` need no escape because
nodes are boxes, not records, and labels are quoted strings, never HTML labels.

The live view colours nodes by passing per-node attributes (``fillcolor``, ``xlabel``,
``tooltip``) and weighs edges by passing per-edge ones (``penwidth``, ``color``, ``label``: the
blocks queued between two stages), written into each statement and escaped here like any label.
The golden files in ``tests/engine/golden/`` pin the format.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

from streamscope.engine.plan_graph import PlanCluster, PlanGraph, PlanNode

GRAPH_HEADER = (
    "  rankdir=TB;",
    '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica"];',
)
CLUSTER_STYLE = 'style="dashed"; color="#888888";'

NodeAttrs = Mapping[str, Mapping[str, str]]
"""Extra DOT attributes per node id, e.g. ``{"op1": {"fillcolor": "#c8efc8"}}``."""
EdgeAttrs = Mapping[tuple[str, str], Mapping[str, str]]
"""Extra DOT attributes per edge ``(source id, target id)``, e.g. ``{("op1", "op2"): {"penwidth": "3"}}``."""

_BARE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def dot_escape(text: str) -> str:
    """``text`` escaped for the inside of a quoted DOT string, drawn by Graphviz as written.

    Line breaks become ``\\n`` (Graphviz's centred line break); other control characters, which
    Graphviz rejects or draws as garbage, become ``?``.
    """
    body = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("?", body).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot_quote(text: str) -> str:
    """``text`` as a quoted DOT string (see :func:`dot_escape`)."""
    return f'"{dot_escape(text)}"'


def dot_id(ident: str) -> str:
    """A node or subgraph id: bare when DOT allows it, quoted otherwise."""
    if _BARE_ID.fullmatch(ident) and ident.lower() not in _KEYWORDS:
        return ident
    return dot_quote(ident)


def _attr_name(name: str) -> str:
    if not _BARE_ID.fullmatch(name):
        raise ValueError(f"not a DOT attribute name: {name!r}")
    return name


ROLE_ATTRS = {
    "actor_pool": {"shape": "box3d"},
    "exchange": {"style": "filled,diagonals"},
    "source": {"shape": "cylinder"},
}
"""How node kinds are drawn apart: an actor pool as a stacked box, an exchange with cut corners,
a source as a cylinder; other stages as the default rounded box."""


def _node_statement(node: PlanNode, extra: Optional[Mapping[str, str]]) -> str:
    label = "\\n".join(dot_escape(line) for line in node.label_lines)
    attrs = [f'label="{label}"']
    for key, value in ROLE_ATTRS.get(node.role, {}).items():
        if key not in (extra or {}):
            attrs.append(f"{key}={dot_quote(value)}")
    for key, value in (extra or {}).items():
        if key != "label":
            attrs.append(f"{_attr_name(key)}={dot_quote(value)}")
    return f"{dot_id(node.id)} [{', '.join(attrs)}];"


def _cluster_lines(cluster: PlanCluster, statements: Mapping[str, str]) -> list[str]:
    lines = [f"  subgraph {dot_id('cluster_' + cluster.id)} {{", f"    label={dot_quote(cluster.label)}; {CLUSTER_STYLE}"]
    lines += [f"    {statements[nid]}" for nid in cluster.node_ids]
    lines.append("  }")
    return lines


def _edge_statement(source: str, target: str, extra: Optional[Mapping[str, str]]) -> str:
    attrs = [f"{_attr_name(key)}={dot_quote(value)}" for key, value in (extra or {}).items()]
    tail = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{dot_id(source)} -> {dot_id(target)}{tail};"


def to_dot(graph: PlanGraph, node_attrs: Optional[NodeAttrs] = None, edge_attrs: Optional[EdgeAttrs] = None) -> str:
    """The graph as DOT: one statement per node (clusters where their first node sits), then edges.

    ``node_attrs`` adds attributes to node statements (the live view's state colours); a
    ``label`` there is ignored, since the label is the graph's. ``edge_attrs`` adds attributes
    to edge statements, keyed by ``(source, target)`` (the live view's queued blocks).

    Examples:
        >>> g = PlanGraph("plan", (PlanNode("a", "Read", ("ReadRange",)), PlanNode("b", "MapRows", ("Map(f)",))),
        ...               edges=(("a", "b"),))
        >>> print(to_dot(g, edge_attrs={("a", "b"): {"label": "3 blocks"}}).splitlines()[-2])
          a -> b [label="3 blocks"];
    """
    node_attrs = node_attrs or {}
    edge_attrs = edge_attrs or {}
    statements = {n.id: _node_statement(n, node_attrs.get(n.id)) for n in graph.nodes}
    lines = [f"digraph {dot_quote(graph.title)} {{", *GRAPH_HEADER]
    drawn: set[str] = set()
    for node in graph.nodes:
        if node.id in drawn:
            continue
        cluster = graph.cluster_of(node.id)
        if cluster is None:
            lines.append(f"  {statements[node.id]}")
            drawn.add(node.id)
        else:
            lines += _cluster_lines(cluster, statements)
            drawn.update(cluster.node_ids)
    lines += [f"  {_edge_statement(e.source, e.target, edge_attrs.get((e.source, e.target)))}" for e in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
