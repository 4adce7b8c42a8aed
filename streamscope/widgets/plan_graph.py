"""The plan graph view: a static picture for reprs and explain, a live one during a run.

Why DOT in, DOT out: the engine owns the plan's DOT (golden-tested); this view only appends one
attribute statement per operator (``op3 [fillcolor=..., xlabel=...]``) before the final ``}``, so
the layout stays the engine's and state is a colour plus a short annotation: rows out, rows/s and
queued blocks.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot, OperatorSnapshot

from . import graphviz_render as gr
from ._util import STATE_COLORS, esc, fmt_count, fmt_rate, optional, widget_bundle


def operator_annotation(op: OperatorSnapshot) -> str:
    """The short text drawn next to a node: rows out, rate, queued blocks in/out."""
    parts = [f"{fmt_count(op.rows_out)} rows"]
    if op.rows_per_s:
        parts.append(fmt_rate(op.rows_per_s))
    if op.queued_in_blocks or op.queued_out_blocks:
        parts.append(f"q {op.queued_in_blocks}/{op.queued_out_blocks}")
    return " | ".join(parts)


def live_dot(snapshot: ExecutionSnapshot) -> str:
    """The snapshot's physical DOT with each operator coloured by state and annotated."""
    attrs = {}
    for op in snapshot.operators:
        tip = f"{op.name}: {op.state}"
        if op.backpressure_reason:
            tip += f" ({op.backpressure_reason})"
        attrs[op.op_id] = {
            "style": "rounded,filled",
            "fillcolor": STATE_COLORS.get(op.state, "#ffffff"),
            "xlabel": operator_annotation(op),
            "tooltip": tip,
        }
    return gr.annotate_dot(snapshot.dot_physical, attrs) if snapshot.dot_physical else ""


def legend_html() -> str:
    chips = "".join(
        f'<span style="background:{c};border:1px solid #999;padding:0 6px;margin-right:6px">{esc(s)}</span>'
        for s, c in STATE_COLORS.items()
    )
    return f'<div class="streamscope-legend" style="font-size:85%">{chips}</div>'


def plan_html(dot_text: str, title: str = "", binary: Optional[str] = None) -> str:
    """Static HTML for a plan (inline SVG, or the indented list without ``dot``)."""
    if not dot_text:
        return f'<div class="streamscope-plan"><i>{esc(title or "plan")}: no plan graph available</i></div>'
    head = f'<div style="font-weight:bold">{esc(title)}</div>' if title else ""
    return head + gr.render_html(dot_text, binary=binary)


class PlanGraphView:
    """Plan graph as an ``ipywidgets.HTML`` (``root``), updated from snapshots.

    Static use: ``PlanGraphView(dot_text)``; live use: ``view.update(snapshot)`` recolours from
    ``snapshot.dot_physical``. Without ipywidgets ``root`` is None and the mimebundle carries
    the same HTML.
    """

    def __init__(self, dot: str = "", title: str = "", binary: Optional[str] = None, legend: bool = False):
        self.title = title
        self.binary = binary
        self.legend = legend
        self.dot = dot
        self.html = ""
        self._rendered_for: Optional[str] = None
        widgets = optional("ipywidgets")
        self.root = widgets.HTML() if widgets is not None else None
        self._render()

    def _render(self) -> None:
        if self.dot == self._rendered_for:
            return
        self._rendered_for = self.dot
        self.html = plan_html(self.dot, self.title, self.binary) + (legend_html() if self.legend and self.dot else "")
        if self.root is not None:
            self.root.value = self.html

    def update(self, snapshot: ExecutionSnapshot) -> None:
        """Recolour from the snapshot (re-renders only when the annotated DOT changed)."""
        self.dot = live_dot(snapshot)
        self._render()

    def text(self) -> str:
        return gr.fallback_text(self.dot) if self.dot else "(no plan graph)"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.html, (self.title + "\n" if self.title else "") + self.text())
