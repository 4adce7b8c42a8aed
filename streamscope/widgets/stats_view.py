"""Stats view: a per-operator table (sortable by clicking a header) and a time breakdown chart.

Why from a final ``ExecutionSnapshot``: the snapshot already carries every per-operator counter the
table needs, so the same view works on a live run, a finished run and synthetic test data. The time
breakdown splits each operator's wall time into UDF, other CPU, backpressure and the rest (waiting
on inputs, scheduling, I/O), which is what tells a user where to optimise. The chart is plain
HTML/CSS so it survives nbconvert without any JavaScript.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot
from streamscope.engine.units import format_bytes, format_count, format_duration

from ._util import esc, optional, widget_bundle

# (key, header, formatter)
COLUMNS = (
    ("name", "operator", str),
    ("wall_s", "wall", format_duration),
    ("cpu_s", "cpu", format_duration),
    ("udf_s", "udf", format_duration),
    ("rows_in", "rows in", format_count),
    ("rows_out", "rows out", format_count),
    ("bytes_in", "bytes in", format_bytes),
    ("bytes_out", "bytes out", format_bytes),
    ("tasks", "tasks", str),
    ("blocks", "blocks", str),
    ("backpressure_s", "backpressure", format_duration),
    ("spilled_bytes", "spilled", format_bytes),
    ("retries", "retries", str),
)
KEYS = tuple(c[0] for c in COLUMNS)

BREAKDOWN = (
    ("udf", "#4c72b0", "UDF"),
    ("cpu_other", "#55a868", "other CPU"),
    ("backpressure", "#dd8452", "backpressure"),
    ("other", "#cccccc", "waiting / I/O"),
)


def stats_rows(snapshot: ExecutionSnapshot) -> list[dict]:
    """Raw per-operator numbers (unformatted), in plan order."""
    rows = []
    for op in snapshot.operators:
        rows.append({
            "op_id": op.op_id,
            "name": op.name,
            "wall_s": op.wall_s,
            "cpu_s": op.cpu_s,
            "udf_s": op.udf_s,
            "rows_in": op.rows_in,
            "rows_out": op.rows_out,
            "bytes_in": op.bytes_in,
            "bytes_out": op.bytes_out,
            "tasks": op.tasks_done + op.tasks_failed,
            "blocks": op.blocks_out,
            "backpressure_s": op.backpressure_s,
            "spilled_bytes": op.spilled_bytes,
            "retries": op.retries,
        })
    return rows


def time_breakdown(row: dict) -> dict:
    """Split wall time into UDF, other CPU, backpressure and the rest (never negative)."""
    wall, cpu, udf, bp = row["wall_s"], row["cpu_s"], row["udf_s"], row["backpressure_s"]
    udf = max(0.0, min(udf, wall if wall else udf))
    cpu_other = max(0.0, cpu - udf)
    other = max(0.0, wall - udf - cpu_other - bp)
    return {"udf": udf, "cpu_other": cpu_other, "backpressure": bp, "other": other}


def sort_rows(rows: list[dict], key: str, ascending: bool = True) -> list[dict]:
    if key not in KEYS:
        raise KeyError(f"unknown stats column {key!r}; one of {', '.join(KEYS)}")
    return sorted(rows, key=lambda r: (r[key] if key != "name" else str(r[key]).lower()), reverse=not ascending)


def operator_name_html(name: str) -> str:
    """An operator name that wraps only after a ``->`` (never inside a stage's name).

    Examples:
        >>> operator_name_html("ReadRange->Map(f)")
        '<span style="white-space:nowrap">ReadRange-&gt;</span><wbr><span style="white-space:nowrap">Map(f)</span>'
    """
    stages = name.split("->")
    pieces = [esc(s) + ("-&gt;" if i < len(stages) - 1 else "") for i, s in enumerate(stages)]
    return "<wbr>".join(f'<span style="white-space:nowrap">{p}</span>' for p in pieces)


def table_html(rows: list[dict], sort_key: Optional[str] = None, ascending: bool = True) -> str:
    def head(key, label):
        mark = (" ▲" if ascending else " ▼") if key == sort_key else ""
        # headers never wrap nor get cut: they are short words, the table scrolls if it must
        return f'<th style="text-align:left;padding:0 6px;white-space:nowrap" data-key="{key}">{esc(label)}{mark}</th>'

    def cell(key, value, fmt):
        if key == "name":
            return f'<td style="padding:0 6px;text-align:left">{operator_name_html(value)}</td>'
        return f'<td style="padding:0 6px;white-space:nowrap">{esc(fmt(value))}</td>'

    body = "".join(
        f'<tr data-op-id="{esc(r["op_id"])}">'
        + "".join(cell(k, r[k], fmt) for k, _, fmt in COLUMNS)
        + "</tr>"
        for r in rows
    )
    return (
        '<div style="overflow-x:auto;max-width:100%"><table class="streamscope-stats" style="border-collapse:collapse;font-size:90%">'
        f"<thead><tr>{''.join(head(k, l) for k, l, _ in COLUMNS)}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def breakdown_html(rows: list[dict], width_px: int = 360) -> str:
    """Per-operator stacked bars of the time breakdown, scaled to the longest wall time."""
    parts = [time_breakdown(r) for r in rows]
    longest = max((sum(p.values()) for p in parts), default=0.0) or 1.0
    lines = []
    for r, p in zip(rows, parts):
        segs = "".join(
            f'<div title="{esc(label)}: {format_duration(p[k])}" style="width:{p[k] / longest * width_px:.1f}px;'
            f'background:{color};height:100%"></div>'
            for k, color, label in BREAKDOWN if p[k] > 0
        )
        lines.append(
            f'<div style="display:flex;align-items:center;gap:6px" data-op-id="{esc(r["op_id"])}">'
            f'<div style="width:160px;overflow:hidden;text-overflow:ellipsis">{esc(r["name"])}</div>'
            f'<div style="display:flex;height:12px;width:{width_px}px;background:#f4f4f4">{segs}</div>'
            f"<div>{format_duration(sum(p.values()))}</div></div>"
        )
    legend = " ".join(
        f'<span><span style="display:inline-block;width:10px;height:10px;background:{c}"></span> {esc(l)}</span>'
        for _, c, l in BREAKDOWN
    )
    return f'<div class="streamscope-breakdown"><div style="font-size:85%">{legend}</div>{"".join(lines)}</div>'


def stats_text(snapshot: ExecutionSnapshot) -> str:
    rows = stats_rows(snapshot)
    out = [f"{snapshot.name} [{snapshot.state}] {format_duration(snapshot.elapsed_s)}, {format_count(snapshot.rows_out)} rows"]
    for r in rows:
        out.append(
            f"  {r['name']}: wall {format_duration(r['wall_s'])}, cpu {format_duration(r['cpu_s'])}, udf {format_duration(r['udf_s'])}, "
            f"rows {r['rows_in']}->{r['rows_out']}, {format_bytes(r['bytes_out'])} out, {r['tasks']} tasks, "
            f"{r['blocks']} blocks, backpressure {format_duration(r['backpressure_s'])}, spilled {format_bytes(r['spilled_bytes'])}"
            + (f", {r['retries']} retries" if r["retries"] else "")
        )
    return "\n".join(out)


class StatsView:
    """Sortable stats table + time breakdown. ``root`` is an ipywidgets VBox (None without it).

    Clicking a header button sorts by that column; clicking it again reverses the order.
    ``sort_by(key)`` does the same from code.
    """

    def __init__(self, snapshot: ExecutionSnapshot):
        self.snapshot = snapshot
        self.rows = stats_rows(snapshot)
        self.sort_key: Optional[str] = None
        self.ascending = True
        w = optional("ipywidgets")
        self.root = None
        self.buttons: dict[str, Any] = {}
        if w is None:
            return
        self._w = w
        for key, label, _ in COLUMNS:
            b = w.Button(description=label, layout=w.Layout(width="auto"), tooltip=f"sort by {label}")
            b.on_click(lambda _b, key=key: self.sort_by(key))
            self.buttons[key] = b
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns=f"repeat({len(COLUMNS)}, auto)",
                                              grid_gap="0 8px"))
        title = w.HTML(value=f"<b>{esc(snapshot.name)}</b> [{esc(snapshot.state)}] "
                             f"{format_duration(snapshot.elapsed_s)}, {format_count(snapshot.rows_out)} rows")
        self.chart = w.HTML(value=breakdown_html(self.rows))
        self.root = w.VBox([title, self.grid, w.HTML(value="<b>time breakdown</b>"), self.chart])
        self._fill()

    def sort_by(self, key: str, ascending: Optional[bool] = None) -> list[dict]:
        """Sort by a column key (see ``KEYS``); toggles the order when the same key is sorted twice."""
        if ascending is None:
            ascending = not self.ascending if key == self.sort_key else key == "name"
        self.rows = sort_rows(self.rows, key, ascending)
        self.sort_key, self.ascending = key, ascending
        self._fill()
        return self.rows

    def column(self, key: str) -> list:
        return [r[key] for r in self.rows]

    def _fill(self) -> None:
        if self.root is None:
            return
        w = self._w
        for key, label, _ in COLUMNS:
            mark = (" ▲" if self.ascending else " ▼") if key == self.sort_key else ""
            self.buttons[key].description = label + mark
        cells = [self.buttons[k] for k in KEYS]
        for r in self.rows:
            cells.extend(w.HTML(value=esc(fmt(r[k]))) for k, _, fmt in COLUMNS)
        self.grid.children = cells

    def static_html(self) -> str:
        return (
            f'<div class="streamscope-stats-view"><b>{esc(self.snapshot.name)}</b> [{esc(self.snapshot.state)}]'
            + table_html(self.rows, self.sort_key, self.ascending)
            + "<b>time breakdown</b>" + breakdown_html(self.rows) + "</div>"
        )

    def text(self) -> str:
        return stats_text(self.snapshot)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.static_html(), self.text())


def stats_widget(snapshot: ExecutionSnapshot) -> StatsView:
    """The stats view for a finished (or any) snapshot; display it or read ``.root``."""
    return StatsView(snapshot)
