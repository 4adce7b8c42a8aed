"""DOT text -> SVG through Graphviz's ``dot`` program, cached, with a readable fallback.

Why a subprocess and not a Python layout: the engine's DOT is golden-tested and ``dot`` lays it out
well; re-rendering on every live update is the hot path, so results are cached by DOT text. When
``dot`` is missing the views still show the plan: operators as an indented HTML list (clusters for
fused groups, state colours kept) plus one line saying what to install.

Only shallow DOT is read for the fallback: node statements ``id [attr=...]`` (later ones update
earlier ones), edges ``a -> b`` and ``subgraph cluster_* { label=... }``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Optional

from ._util import esc

INSTALL_DOT = "Install Graphviz to draw the plan graph: apt-get install graphviz (or conda install graphviz, brew install graphviz)."

DOT_BINARY: Optional[str] = None
"""Path of the ``dot`` program; None means ``$STREAMSCOPE_DOT`` or ``dot`` on PATH."""


class GraphvizUnavailable(RuntimeError):
    """The ``dot`` program is missing or failed."""


def dot_binary(binary: Optional[str] = None) -> Optional[str]:
    """Resolve the ``dot`` program: explicit path, module setting, env var, then PATH."""
    cand = binary or DOT_BINARY or os.environ.get("STREAMSCOPE_DOT") or "dot"
    if os.sep in cand:
        return cand if os.path.isfile(cand) and os.access(cand, os.X_OK) else None
    return shutil.which(cand)


def dot_available(binary: Optional[str] = None) -> bool:
    return dot_binary(binary) is not None


@functools.lru_cache(maxsize=256)
def _render_cached(dot_text: str, exe: str, timeout: float) -> str:
    try:
        proc = subprocess.run(
            [exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizUnavailable(f"could not run {exe}: {exc}") from exc
    if proc.returncode != 0:
        raise GraphvizUnavailable(proc.stderr.decode("utf-8", "replace").strip() or "dot failed")
    return _strip_prolog(proc.stdout.decode("utf-8", "replace"))


def _strip_prolog(svg: str) -> str:
    """Drop the XML declaration, DOCTYPE and comments so the SVG can sit inside HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def render_svg(dot_text: str, binary: Optional[str] = None, timeout: float = 10.0) -> str:
    """Render DOT to an SVG string (cached); raises :class:`GraphvizUnavailable` without ``dot``."""
    exe = dot_binary(binary)
    if exe is None:
        raise GraphvizUnavailable(INSTALL_DOT)
    return _render_cached(dot_text, exe, timeout)


def render_html(dot_text: str, binary: Optional[str] = None, title: str = "") -> str:
    """HTML for a plan: the inline SVG, or the indented-list fallback with the install line."""
    try:
        svg = render_svg(dot_text, binary)
    except GraphvizUnavailable:
        return fallback_html(dot_text, title=title)
    return f'<div class="streamscope-plan" style="overflow:auto;max-width:100%">{svg}</div>'


# --- shallow DOT reading for the fallback -------------------------------------------------------

_QUOTED = r'"(?:[^"\\]|\\.)*"'
_ID = rf'(?:{_QUOTED}|[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?)'
_ATTR = re.compile(rf'({_ID})\s*=\s*({_QUOTED}|<(?:[^<>]|<[^<>]*>)*>|[^\s,;\]]+)')
_NODE = re.compile(rf'^\s*({_ID})\s*\[(.*)\]\s*;?\s*$', re.S)
_EDGE = re.compile(rf'({_ID})\s*->\s*({_ID})')
_KEYWORDS = {"graph", "node", "edge", "digraph", "subgraph", "strict"}


def _unquote(s: str) -> str:
    if s.startswith('"') and s.endswith('"'):
        s = s[1:-1]
        s = re.sub(r"\\[nlr]", "\n", s).replace('\\"', '"').replace("\\\\", "\\")
    elif s.startswith("<") and s.endswith(">"):
        s = re.sub(r"<[^>]*>", " ", s[1:-1])
    return s.strip()


@dataclass
class DotNode:
    id: str
    attrs: dict = field(default_factory=dict)
    cluster: Optional[str] = None

    @property
    def label(self) -> str:
        return self.attrs.get("label", self.id)


@dataclass
class DotGraph:
    nodes: dict
    edges: list
    clusters: dict  # cluster id -> label


def _statements(text: str):
    """Split DOT into (statement, cluster) pairs, respecting quotes, brackets and braces."""
    stack: list[Optional[str]] = []
    buf: list[str] = []
    i, n, depth_sq = 0, len(text), 0
    while i < n:
        c = text[i]
        if c == '"':
            m = re.match(_QUOTED, text[i:])
            tok = m.group(0) if m else c
            buf.append(tok)
            i += len(tok)
            continue
        if c == "[":
            depth_sq += 1
        elif c == "]":
            depth_sq -= 1
        if depth_sq == 0 and c in "{};\n":
            stmt = "".join(buf).strip()
            buf = []
            if c == "{":
                m = re.search(rf"subgraph\s+({_ID})", stmt)
                stack.append(_unquote(m.group(1)) if m else None)
            else:
                if stmt:
                    yield stmt, next((s for s in reversed(stack) if s), None)
                if c == "}" and stack:
                    stack.pop()
            i += 1
            continue
        buf.append(c)
        i += 1
    if "".join(buf).strip():
        yield "".join(buf).strip(), None


def parse_dot(text: str) -> DotGraph:
    """Read nodes (with merged attributes), edges and cluster labels from DOT text."""
    nodes: dict[str, DotNode] = {}
    edges: list[tuple[str, str]] = []
    clusters: dict[str, str] = {}
    for stmt, cluster in _statements(text):
        bare = re.sub(_QUOTED, '""', stmt)
        if "->" in bare.split("[")[0]:
            head = re.match(rf"\s*{_ID}(?:\s*->\s*{_ID})*", stmt)
            chain = [_unquote(x) for x in re.findall(_ID, head.group(0))] if head else []
            for a, b in zip(chain, chain[1:]):
                edges.append((a, b))
                for x in (a, b):
                    nodes.setdefault(x, DotNode(x, cluster=None))
            continue
        m = _NODE.match(stmt)
        attrs_text = None
        if m:
            nid, attrs_text = _unquote(m.group(1)), m.group(2)
        else:
            mm = re.match(rf"^\s*({_ID})\s*=\s*(.+)$", stmt, re.S)
            if mm and cluster and _unquote(mm.group(1)) == "label":
                clusters[cluster] = _unquote(mm.group(2).strip())
                continue
            mm = re.match(rf"^\s*({_ID})\s*$", stmt)
            if not mm:
                continue
            nid = _unquote(mm.group(1))
        if nid in _KEYWORDS:
            if nid == "graph" and cluster and attrs_text:
                for k, v in _ATTR.findall(attrs_text):
                    if _unquote(k) == "label":
                        clusters[cluster] = _unquote(v)
            continue
        node = nodes.setdefault(nid, DotNode(nid))
        if cluster and node.cluster is None:
            node.cluster = cluster
        for k, v in _ATTR.findall(attrs_text or ""):
            node.attrs[_unquote(k)] = _unquote(v)
    return DotGraph(nodes, edges, clusters)


def _order(graph: DotGraph) -> list[tuple[str, int]]:
    """Nodes in dataflow order with their depth (longest path from a source)."""
    depth = {nid: 0 for nid in graph.nodes}
    for _ in range(len(depth)):
        changed = False
        for a, b in graph.edges:
            if depth.get(b, 0) < depth.get(a, 0) + 1 and depth[a] < len(depth):
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    index = {nid: i for i, nid in enumerate(graph.nodes)}
    return sorted(depth.items(), key=lambda kv: (kv[1], index[kv[0]]))


def fallback_html(dot_text: str, title: str = "") -> str:
    """The plan without Graphviz: an indented list of operators (fused groups nested)."""
    graph = parse_dot(dot_text)
    items = []
    for nid, depth in _order(graph):
        node = graph.nodes[nid]
        color = node.attrs.get("fillcolor", "")
        style = f"background:{esc(color)};" if color else ""
        label = esc(node.label).replace("\n", "<br>")
        extra = node.attrs.get("xlabel", "")
        group = graph.clusters.get(node.cluster or "", "") if node.cluster else ""
        bits = [f'<span class="op" data-op-id="{esc(nid)}" style="{style}padding:0 4px">{label}</span>']
        if group:
            bits.append(f' <span style="color:#777">[{esc(group)}]</span>')
        if extra:
            bits.append(f' <span style="color:#555">{esc(extra)}</span>')
        items.append(f'<li style="margin-left:{depth * 1.5}em">{"".join(bits)}</li>')
    head = f"<b>{esc(title)}</b>" if title else ""
    return (
        f'<div class="streamscope-plan-fallback">{head}'
        f'<ul style="list-style:\'\\2192  \';padding-left:1em">{"".join(items)}</ul>'
        f'<div style="color:#a60;font-size:90%">{esc(INSTALL_DOT)}</div></div>'
    )


def fallback_text(dot_text: str) -> str:
    """Plain-text indented list of operators, for ``text/plain`` reprs."""
    graph = parse_dot(dot_text)
    lines = []
    for nid, depth in _order(graph):
        label = " ".join(graph.nodes[nid].label.split())
        lines.append("  " * (depth + 1) + "-> " + label)
    return "\n".join(lines)


def annotate_dot(dot_text: str, node_attrs: dict) -> str:
    """Append ``id [k="v", ...];`` statements before the final ``}`` (later statements win)."""
    end = dot_text.rfind("}")
    if end < 0:
        return dot_text
    lines = []
    for nid, attrs in node_attrs.items():
        body = ", ".join(f'{k}="{_dot_escape(v)}"' for k, v in attrs.items())
        lines.append(f"  {_dot_id(nid)} [{body}];")
    return dot_text[:end].rstrip() + "\n" + "\n".join(lines) + "\n" + dot_text[end:]


def _dot_escape(v) -> str:
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_id(nid: str) -> str:
    return nid if re.fullmatch(r"[A-Za-z_]\w*", nid) else f'"{_dot_escape(nid)}"'
