"""Live progress: one compact bar for the whole run, per-operator rows on expand, a Cancel button.

Why this shape (tqdm.notebook's): the common case needs one line; the details (rows, blocks,
tasks/actors, queues, the backpressure policy holding an operator, elapsed, rate) are one click
away. The bar ends at exactly 100% only on success; on failure or cancel it turns red, fills, and
its label says "failed"/"cancelled" with the percentage reached, so a stopped run never looks like
a run still going. Without ipywidgets the same content is static HTML and text.

Every figure comes from the snapshot as the engine computed it: the bar is
``ExecutionSnapshot.progress``, the "rows of estimated" is ``rows_out`` / ``estimated_rows_total``,
the bottleneck line is ``ExecutionSnapshot.bottleneck``; this module only lays them out.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.execution.telemetry import (
    RUN_CANCELLED,
    RUN_FAILED,
    RUN_SUCCEEDED,
    ExecutionSnapshot,
    OperatorSnapshot,
)
from streamscope.engine.units import format_bytes, format_count, format_duration, format_percent, format_rate

from ._util import STATE_COLORS, esc, optional, widget_bundle

RED = "#d9534f"
GREEN = "#5cb85c"
BLUE = "#337ab7"


def op_elapsed(op: OperatorSnapshot, now: float) -> float:
    if op.started_at is None:
        return 0.0
    return max(0.0, (op.finished_at if op.finished_at is not None else now) - op.started_at)


def run_summary(snapshot: ExecutionSnapshot) -> str:
    """One line: rows delivered (of the estimate while running), rate, elapsed, and the error
    when failed."""
    rate = snapshot.rows_out / snapshot.elapsed_s if snapshot.elapsed_s > 0 else 0.0
    rows = format_count(snapshot.rows_out)
    if snapshot.estimated_rows_total is not None and snapshot.state != RUN_SUCCEEDED:
        rows += f" of {format_count(snapshot.estimated_rows_total)}"
    line = f"{rows} rows · {format_rate(rate)} · {format_duration(snapshot.elapsed_s)}"
    if snapshot.state == RUN_FAILED and snapshot.error:
        line += f" · {snapshot.error}"
    return line


def status_label(snapshot: ExecutionSnapshot) -> str:
    """"done 100%", "failed at 45%", "cancelled", "45%" or "running" (progress not estimable)."""
    frac = snapshot.progress
    pct = format_percent(frac) if frac is not None else None
    if snapshot.state == RUN_SUCCEEDED:
        return "done 100%"
    if snapshot.state == RUN_FAILED:
        return f"failed at {pct}" if pct else "failed"
    if snapshot.state == RUN_CANCELLED:
        return f"cancelled at {pct}" if pct else "cancelled"
    return pct or "running"


OP_COLUMNS = (
    "operator", "state", "rows out", "blocks", "tasks", "actors", "queued in", "queued out",
    "backpressure", "elapsed", "rate",
)


def operator_row(op: OperatorSnapshot, now: float) -> dict:
    """The numbers shown for one operator, as display strings keyed by column."""
    rows = format_count(op.rows_out)
    if op.estimated_rows_total is not None:
        rows += f" / {format_count(op.estimated_rows_total)}"
    actors = ""
    if op.actors_alive or op.actors_starting:
        actors = f"{op.actors_busy}/{op.actors_alive} busy"
        if op.actors_starting:
            actors += f", {op.actors_starting} starting"
    return {
        "operator": op.name + (f" [{' -> '.join(op.fused)}]" if len(op.fused) > 1 else ""),
        "state": op.state + (f" ({op.phase})" if op.phase else ""),
        "rows out": rows,
        "blocks": str(op.blocks_out),
        "tasks": f"{op.active_tasks} active, {op.tasks_done} done" + (f", {op.tasks_failed} failed" if op.tasks_failed else ""),
        "actors": actors,
        "queued in": f"{op.queued_in_blocks} ({format_bytes(op.queued_in_bytes)})",
        "queued out": f"{op.queued_out_blocks} ({format_bytes(op.queued_out_bytes)})",
        "backpressure": op.backpressure_reason,
        "elapsed": format_duration(op_elapsed(op, now)),
        "rate": format_rate(op.rows_per_s),
    }


def operators_table_html(snapshot: ExecutionSnapshot) -> str:
    head = "".join(f'<th style="text-align:left;padding:0 6px">{esc(c)}</th>' for c in OP_COLUMNS)
    body = []
    for op in snapshot.operators:
        row = operator_row(op, snapshot.timestamp)
        color = STATE_COLORS.get(op.state, "#fff")
        cells = "".join(f'<td style="padding:0 6px">{esc(row[c])}</td>' for c in OP_COLUMNS)
        body.append(f'<tr data-op-id="{esc(op.op_id)}" style="background:{color}">{cells}</tr>')
    return (
        '<table class="streamscope-ops" style="border-collapse:collapse;font-size:90%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def bottleneck_text(snapshot: ExecutionSnapshot) -> str:
    """The engine's bottleneck sentence as the views show it ("" when there is none)."""
    return f"bottleneck: {snapshot.bottleneck}" if snapshot.bottleneck is not None else ""


def held_back_text(snapshot: ExecutionSnapshot) -> str:
    """The stages held back because of the bottleneck, and by which policy ("" when none)."""
    b = snapshot.bottleneck
    return f"held back: {'; '.join(b.holds_back)}" if b is not None and b.holds_back else ""


def bar_color(snapshot: ExecutionSnapshot) -> str:
    if snapshot.state in (RUN_FAILED, RUN_CANCELLED):
        return RED
    return GREEN if snapshot.state == RUN_SUCCEEDED else BLUE


def progress_html(snapshot: Optional[ExecutionSnapshot], name: str = "", details: bool = True) -> str:
    """Static HTML progress (for exports and no-widget front ends): bar, label, summary, table."""
    if snapshot is None:
        return f"<div><b>{esc(name)}</b> waiting for the run to start…</div>"
    frac = snapshot.progress or 0.0
    if snapshot.finished and snapshot.state != RUN_SUCCEEDED:
        frac = 1.0  # a stopped run is drawn full and red, never half-drawn
    bar = (
        f'<div style="display:inline-block;width:240px;height:12px;background:#eee;vertical-align:middle">'
        f'<div class="streamscope-bar" style="width:{frac * 100:.1f}%;height:100%;background:{bar_color(snapshot)}"></div></div>'
    )
    label = status_label(snapshot)
    label_style = f"color:{RED};font-weight:bold" if snapshot.state in (RUN_FAILED, RUN_CANCELLED) else ""
    html = (
        f'<div class="streamscope-progress" data-state="{esc(snapshot.state)}">'
        f"<b>{esc(name or snapshot.name)}</b> {bar} "
        f'<span style="{label_style}">{esc(label)}</span> {esc(run_summary(snapshot))}'
    )
    if snapshot.bottleneck is not None:
        html += f'<div style="color:#a60">{esc(bottleneck_text(snapshot))}</div>'
        held = held_back_text(snapshot)
        if held:
            html += f'<div style="color:#777;font-size:90%">{esc(held)}</div>'
    if details and snapshot.operators:
        html += operators_table_html(snapshot)
    return html + "</div>"


def progress_text(snapshot: Optional[ExecutionSnapshot], name: str = "", width: int = 20) -> str:
    """A tqdm-like text line for ``text/plain``."""
    if snapshot is None:
        return f"{name}: waiting for the run to start"
    filled = int(round((snapshot.progress or 0.0) * width))
    bar = "#" * filled + "-" * (width - filled)
    return f"{name or snapshot.name}: [{bar}] {status_label(snapshot)} | {run_summary(snapshot)}"


class ProgressView:
    """Live progress widget: ``root`` (ipywidgets VBox), ``update(snapshot)``, Cancel button.

    ``handle`` is anything with ``cancel()`` (the run handle); without it no Cancel button is shown.
    """

    def __init__(self, handle: Any = None, name: str = ""):
        self.handle = handle
        self.name = name
        self.snapshot: Optional[ExecutionSnapshot] = None
        self.cancel_requested = False
        w = optional("ipywidgets")
        self._w = w
        self.root = None
        if w is None:
            return
        self.title = w.HTML(value=f"<b>{esc(name)}</b>")
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                   layout=w.Layout(width="240px"))
        self.label = w.HTML(value="waiting…")
        self.info = w.HTML(value="")
        self.expand = w.ToggleButton(value=False, description="details", icon="chevron-down",
                                     layout=w.Layout(width="auto"), tooltip="per-operator rows")
        self.cancel_button = w.Button(description="Cancel", button_style="warning", icon="stop",
                                      layout=w.Layout(width="auto"))
        self.cancel_button.on_click(self._on_cancel)
        if handle is None or not hasattr(handle, "cancel"):
            self.cancel_button.layout.display = "none"
        self.bottleneck = w.HTML(value="")
        self.table = w.HTML(value="")
        self.details = w.VBox([self.table], layout=w.Layout(display="none"))
        self.expand.observe(self._on_expand, names="value")
        header = w.HBox([self.title, self.bar, self.label, self.info, self.expand, self.cancel_button],
                        layout=w.Layout(align_items="center"))
        self.root = w.VBox([header, self.bottleneck, self.details])

    # -- events ----------------------------------------------------------------------------------
    def _on_expand(self, change) -> None:
        self.details.layout.display = "" if change["new"] else "none"
        self.expand.icon = "chevron-up" if change["new"] else "chevron-down"

    def _on_cancel(self, _button=None) -> None:
        self.cancel_requested = True
        if self.root is not None:
            self.cancel_button.disabled = True
            self.cancel_button.description = "Cancelling…"
        if self.handle is not None:
            self.handle.cancel()

    # -- updates ---------------------------------------------------------------------------------
    def update(self, snapshot: ExecutionSnapshot) -> None:
        """Redraw from a snapshot."""
        self.snapshot = snapshot
        self.name = self.name or snapshot.name
        if self.root is None:
            return
        self.title.value = f"<b>{esc(self.name)}</b>"
        frac = snapshot.progress
        failed = snapshot.state in (RUN_FAILED, RUN_CANCELLED)
        if snapshot.state == RUN_SUCCEEDED:
            self.bar.value = self.bar.max
            self.bar.bar_style = "success"
        elif failed:
            self.bar.value = self.bar.max
            self.bar.bar_style = "danger"
        else:
            self.bar.value = frac if frac is not None else 0.0
            self.bar.bar_style = "info"
        label = status_label(snapshot)
        style = f"color:{RED};font-weight:bold" if failed else ""
        self.label.value = f'<span style="{style}">{esc(label)}</span>'
        self.bar.description = ""
        self.info.value = esc(run_summary(snapshot))
        text, held = bottleneck_text(snapshot), held_back_text(snapshot)
        line = f'<span style="color:#a60">{esc(text)}</span>' if text else ""
        if held:
            line += f'<br><span style="color:#777;font-size:90%">{esc(held)}</span>'
        self.bottleneck.value = line
        self.table.value = operators_table_html(snapshot)
        if snapshot.finished:
            self.cancel_button.disabled = True
            self.cancel_button.layout.display = "none"

    @property
    def bar_percent(self) -> Optional[float]:
        """What the bar shows, in percent (None without ipywidgets)."""
        return None if self.root is None else self.bar.value / self.bar.max * 100.0

    def static_html(self) -> str:
        return progress_html(self.snapshot, self.name)

    def text(self) -> str:
        return progress_text(self.snapshot, self.name)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.static_html(), self.text())
