"""PlanGraph: a plan's boxes, arrows and fused groups as an immutable value.

Why a structure and not DOT text: the plan graph has several readers (Graphviz through the
engine's DOT, the HTML fallback when ``dot`` is missing, the live view's colouring, plain-text
reprs). When they all read DOT, each had to parse it back and the parser and the escaper drifted
apart (``Map(\\<lambda\\>)`` in the fallback). Now the logical and physical plans build one
``PlanGraph``; ``plan_dot.to_dot`` is the only code that writes DOT, and views read the fields.

The value is frozen and made of tuples, so a snapshot can carry it across threads and a view can
compare two graphs with ``==`` to skip redraws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional


@dataclass(frozen=True)
class PlanNode:
    """One box of the plan graph."""

    id: str
    """Stable id; in a physical graph it equals the operator's telemetry ``op_id``."""
    kind: str
    """The operator class, drawn as the first line (``MapRows``, ``TaskPoolMapOperator``)."""
    covers: tuple[str, ...]
    """The logical operators this box runs, in order: one for a logical node, several when fused."""
    lines: tuple[str, ...] = ()
    """Text drawn under the kind, one entry per line (a logical node's detail; a physical node's
    logical operators). Entries are plain text: renderers escape them for their output."""

    @property
    def role(self) -> str:
        """What kind of box this is, for drawing node kinds apart: ``"actor_pool"`` (a stateful
        stage on actors), ``"exchange"`` (an all-to-all stage: map, then reduce), ``"source"``
        (a read or in-memory input, alone or fused with the maps after it) or ``"stage"``.

        Examples:
            >>> PlanNode("op1", "ActorPoolMapOperator", ("MapBatches(Model)",)).role
            'actor_pool'
            >>> PlanNode("l2", "Sort", ("Sort[keys=['id']]",)).role
            'exchange'
        """
        if self.kind == "ActorPoolMapOperator":
            return "actor_pool"
        if self.kind in EXCHANGE_KINDS:
            return "exchange"
        first = self.covers[0] if self.covers else ""
        if self.kind in ("Read", "InputData", "InputDataBuffer") or first.startswith("Read"):
            return "source"
        return "stage"

    @property
    def label_lines(self) -> tuple[str, ...]:
        """The lines of the box: the operator's name once, then its parameters. The kind is drawn
        only when no line names it already (``Limit`` over ``limit=10``, but ``MapBatches(f)``
        alone, not under ``MapBatches``); physical operator classes (``TaskPoolMapOperator``) are
        implementation names and are left out, except that an actor pool says so.

        Examples:
            >>> PlanNode("l1", "MapBatches", ("MapBatches(f)",), lines=("MapBatches(f)",)).label_lines
            ('MapBatches(f)',)
            >>> PlanNode("l4", "Limit", ("Limit",), lines=("limit=10",)).label_lines
            ('Limit', 'limit=10')
            >>> PlanNode("op1", "ActorPoolMapOperator", ("MapBatches(M)",), lines=("MapBatches(M)",)).label_lines
            ('MapBatches(M)', 'actor pool')
        """
        lines = tuple(self.lines)
        if self.kind in PHYSICAL_CLASSES:
            return (*lines, "actor pool") if self.role == "actor_pool" else (lines or (self.kind,))
        stem = KIND_STEMS.get(self.kind, self.kind)
        if lines and (lines[0].startswith(self.kind) or lines[0].startswith(stem)):
            return lines
        return (self.kind, *lines)


PHYSICAL_CLASSES = frozenset({"TaskPoolMapOperator", "ActorPoolMapOperator", "LimitOperator", "InputDataBuffer",
                              "UnionOperator", "MixOperator"})
"""Physical operator classes: what runs a stage, not what the stage is."""
KIND_STEMS = {"MapRows": "Map", "HashAggregate": "Aggregate", "FlatMap": "FlatMap"}
"""Kinds whose operators are named by a shorter word (``MapRows`` runs ``Map(f)``)."""
EXCHANGE_KINDS = frozenset({"HashAggregate", "Aggregate", "Sort", "RandomShuffle", "Repartition", "HashShuffle",
                            "Join", "Zip", "MapGroups", "Split", "RandomizeBlockOrder", "Exchange"})
"""All-to-all kinds: drawn apart, since they gather every input before they emit."""


class PlanEdge(NamedTuple):
    """Data flows from ``source`` to ``target`` (node ids)."""

    source: str
    target: str


@dataclass(frozen=True)
class PlanCluster:
    """A group of nodes drawn inside one frame, e.g. the logical operators fused into one task."""

    id: str
    label: str
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlanGraph:
    """A plan as nodes (sources first), edges and clusters, with a title.

    Construction checks the invariants every renderer relies on: node ids are unique, edges and
    clusters name existing nodes, every edge points forward in ``nodes`` (so one pass in order
    sees each node's inputs first) and a node sits in at most one cluster.
    """

    title: str
    nodes: tuple[PlanNode, ...]
    edges: tuple[PlanEdge, ...] = ()
    clusters: tuple[PlanCluster, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "edges", tuple(PlanEdge(*e) for e in self.edges))
        object.__setattr__(self, "clusters", tuple(self.clusters))
        position = {}
        for i, node in enumerate(self.nodes):
            if node.id in position:
                raise ValueError(f"PlanGraph: duplicate node id {node.id!r}")
            position[node.id] = i
        for edge in self.edges:
            for end in edge:
                if end not in position:
                    raise ValueError(f"PlanGraph: edge {edge.source!r} -> {edge.target!r} names unknown node {end!r}")
            if position[edge.source] >= position[edge.target]:
                raise ValueError(f"PlanGraph: edge {edge.source!r} -> {edge.target!r} points backwards in node order")
        clustered: set[str] = set()
        for cluster in self.clusters:
            for nid in cluster.node_ids:
                if nid not in position:
                    raise ValueError(f"PlanGraph: cluster {cluster.id!r} names unknown node {nid!r}")
                if nid in clustered:
                    raise ValueError(f"PlanGraph: node {nid!r} is in two clusters")
                clustered.add(nid)

    def node(self, node_id: str) -> Optional[PlanNode]:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None

    def inputs(self, node_id: str) -> tuple[str, ...]:
        """Ids of the nodes feeding ``node_id``, in edge order (repeats kept: ``ds.union(ds)``)."""
        return tuple(e.source for e in self.edges if e.target == node_id)

    def cluster_of(self, node_id: str) -> Optional[PlanCluster]:
        for cluster in self.clusters:
            if node_id in cluster.node_ids:
                return cluster
        return None

    def depths(self) -> dict[str, int]:
        """Each node's longest distance from a source; sources are 0 (nodes are in dataflow order)."""
        depth: dict[str, int] = {}
        for node in self.nodes:
            depth[node.id] = max((depth[src] + 1 for src in self.inputs(node.id)), default=0)
        return depth
