"""A run's report as one standalone HTML file: the plan graph as it ended, the final stats and the
dashboard's time series, readable in a browser with no kernel and no internet.

Why one file with everything inline: a report is what a user attaches to a bug, mails to a
colleague or keeps next to a benchmark, like Dask's performance report. So the plan is inline SVG,
the stats are plain HTML and CSS, and the charts are standalone Bokeh with BokehJS embedded
(``bokeh.resources.INLINE``: about 1 MB, and no request leaves the page). Without Bokeh the report
still has the plan and the stats, and says why the charts are missing.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from streamscope.engine.execution.stats import DatasetStats
from streamscope.engine.units import format_count, format_duration

from ._util import esc, optional
from .dashboard import Dashboard
from .plan_graph import legend_html, snapshot_plan_html
from .stats_view import StatsView

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; } th, td { padding: 2px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } .streamscope-plan svg { max-width: 100%; height: auto; }
"""


def stats_of(ds_or_stats: Any) -> DatasetStats:
    """The stats of a Dataset's last run, or the DatasetStats given; refuses anything else."""
    if isinstance(ds_or_stats, DatasetStats):
        return ds_or_stats
    stats = getattr(ds_or_stats, "stats", None)
    if callable(stats):
        return stats()
    raise TypeError(f"save_report: expected a Dataset or the DatasetStats of ds.stats(), got {type(ds_or_stats).__name__}")


def stats_html(stats: DatasetStats) -> str:
    """The HTML of ``DatasetStats.to_html()``: the notebook's stats table and time breakdown."""
    return StatsView(stats.snapshot).static_html()


def report_html(stats: DatasetStats) -> str:
    """The whole report page for one finished (or failed) run.

    Examples:
        >>> ds = streamscope.range(100).map_batches(lambda b: b)
        >>> ds.count()
        100
        >>> page = report_html(ds.stats())
        >>> page.startswith("<!DOCTYPE html>") and "ReadRange" in page
        True
    """
    snapshot = stats.snapshot
    if snapshot is None:
        raise ValueError("save_report: the dataset has not been executed yet; run it (e.g. ds.materialize()) first")
    plan = snapshot_plan_html(snapshot) + legend_html()
    charts_head, charts_body = _charts(stats)
    made = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    error = f'<p style="color:#d9534f"><b>error:</b> {esc(snapshot.error)}</p>' if snapshot.error else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>streamscope report: {esc(snapshot.name)}</title><style>{_STYLE}</style>{charts_head}</head><body>"
        f"<h1>{esc(snapshot.name)} <small>({esc(snapshot.run_id)})</small></h1>"
        f"<p>{esc(snapshot.state)} in {format_duration(snapshot.elapsed_s)}, {format_count(snapshot.rows_out)} rows out "
        f"&middot; report made {esc(made)}</p>{error}"
        f"<h2>Plan</h2>{plan}<h2>Stats</h2>{stats_html(stats)}"
        f"<h2>Over time</h2>{charts_body}</body></html>\n"
    )


def _charts(stats: DatasetStats) -> tuple[str, str]:
    """(resources for <head>, the charts' markup) from the run's telemetry history."""
    if optional("bokeh") is None:
        return "", "<p><i>The time series need bokeh: pip install 'streamscope[notebook]'</i></p>"
    history = list(stats.history) or [stats.snapshot]
    if len(history) < 2:
        note = "<p><i>The run was too short for a time series (one telemetry sample).</i></p>"
    else:
        note = ""
    from bokeh.embed import components
    from bokeh.layouts import column, row
    from bokeh.resources import Resources

    dash = Dashboard(max_points=max(600, len(history)))
    for snapshot in history:
        dash.update(snapshot)
    dash.update(stats.snapshot)
    parts = [row(dash.ops.queued_fig, dash.ops.rate_fig, sizing_mode="stretch_width"),
             row(dash.memory.fig, dash.cpu.fig, sizing_mode="stretch_width"), dash.gpu.note]
    if dash.gpu.has_gpu:  # no empty GPU boxes on a machine without GPUs: the note says so
        parts.append(row(dash.gpu.util_fig, dash.gpu.mem_fig, sizing_mode="stretch_width"))
    parts.append(dash.timeline.fig)
    script, div = components(column(*parts, sizing_mode="stretch_width"))
    # BokehJS and its widgets (the dashboard's text boxes), inline; not MathJax, GL or tables
    resources = Resources(mode="inline", components=["bokeh", "bokeh-widgets"])
    return resources.render(), note + div + script


def save_report(ds_or_stats: Any, path: str) -> str:
    """Write the report of a Dataset's last run (or of ``ds.stats()``) to ``path``; returns the
    absolute path. The file opens in any browser, offline.

    Examples:
        >>> import os, tempfile
        >>> ds = streamscope.range(1000).map_batches(lambda b: b)
        >>> ds.count()
        1000
        >>> path = save_report(ds, os.path.join(tempfile.mkdtemp(), "run.html"))
        >>> os.path.getsize(path) > 0
        True
    """
    page = report_html(stats_of(ds_or_stats))
    target = os.path.abspath(os.fspath(path))
    partial = target + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(partial, target)  # a reader never sees half a report
    return target
