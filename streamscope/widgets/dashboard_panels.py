"""The Bokeh panels of the dashboard: each owns its figure(s) and ColumnDataSource(s) and has
``reset()`` and ``update(snapshot)``.

Why each panel streams into its own sources: ``ColumnDataSource.stream`` sends only the new points
to the page (jupyter_bokeh forwards the document patch over the widget comm), so a long run costs a
few bytes per update and no server or port. Unknown values are NaN (a gap in the line), never 0.
"""

from __future__ import annotations

import math
from typing import Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot

NAN = float("nan")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
STATE_FILL = {True: "#4c72b0", False: "#d62728"}


def stream_points(source, points: dict, rollover: Optional[int] = None) -> None:
    """``source.stream(points, rollover)``, once pandas is wholly imported.

    Why: Bokeh's ``stream`` looks pandas up in ``sys.modules`` and reads ``pandas.Series``. A
    run's first conversion imports pandas on the engine's thread while this view streams on its
    poller thread, and a module half-way through its import has no ``Series`` yet (the update
    failed with "partially initialized module 'pandas'"). ``import pandas`` here waits for an
    import in progress on another thread to finish (and costs nothing afterwards).

    Example::

        stream_points(source, {"t": [1.5], "rate": [2000.0]}, rollover=600)
    """
    import pandas  # noqa: F401

    source.stream(points, rollover)


def _fig(title: str, y_label: Optional[str], plot_height: int = 130, **kw):
    """A dashboard figure whose drawing area is ``plot_height`` px tall whatever sits around it
    (``frame_height``: a legend below the plot adds to the figure instead of squeezing the plot)."""
    from bokeh.plotting import figure

    f = figure(title=title, frame_height=plot_height, sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset,hover",
               x_axis_label="seconds", y_axis_label=y_label, **kw)
    f.toolbar.logo = None
    f.xaxis.ticker.desired_num_ticks = 4  # readable at a narrow (700 px) notebook width too
    return f


def short_label(op_id: str, name: str, width: int = 24) -> str:
    """A legend label that leaves the plot its width: ``op3 MapBatches(Model)`` for a fused
    ``ReadParquet->...->MapBatches(Model)`` (the last stage names the operator), cut to ``width``
    characters; the full name is in the hover tooltip.

    Examples:
        >>> short_label("op2", "ReadRange->MapBatches(double_it)")
        'op2 MapBatches(double_it)'
        >>> short_label("op1", "MapBatches(a_really_long_function_name_here)")
        'op1 MapBatches(a_really_l…'
    """
    last = name.split("->")[-1]
    return f"{op_id} {last if len(last) <= width else last[:width - 1] + '…'}"


def _t(snapshot: ExecutionSnapshot) -> float:
    return snapshot.elapsed_s


def legend_below(fig, lines) -> None:
    """A legend of ``(label, renderer)`` pairs below the plot, two to a row, click to hide: inside
    the plot it covered the lines at a narrow (700 px) notebook width."""
    from bokeh.models import Legend, LegendItem

    fig.add_layout(Legend(items=[LegendItem(label=label, renderers=[r]) for label, r in lines], orientation="horizontal",
                          ncols=2, click_policy="hide", label_text_font_size="8pt", spacing=4, margin=2), "below")


class OperatorSeriesPanel:
    """Per-operator time series: queued blocks (in + out), throughput (rows/s) and bytes spilled
    from each operator's output (a note in the plot says so while nothing has spilled)."""

    NOTHING_SPILLED = "nothing spilled: every block fit in the store"

    def __init__(self, max_points: int):
        from bokeh.models import HoverTool, Label, Legend, NumeralTickFormatter

        self.max_points = max_points
        self.queued_fig = _fig("queued blocks per operator", "blocks")
        self.rate_fig = _fig("throughput per operator", "rows/s")
        self.spill_fig = _fig("spilled per operator", "bytes")
        self.rate_fig.yaxis.formatter = NumeralTickFormatter(format="0.[0]a")  # 1.5m, not +5 +5 +5
        self.queued_fig.yaxis.formatter = NumeralTickFormatter(format="0")
        self.queued_fig.yaxis.ticker.min_interval = 1  # whole blocks: no "0 0 1 1" ticks
        self.spill_fig.yaxis.formatter = NumeralTickFormatter(format="0.0 b")
        for f, value in ((self.queued_fig, ("queued blocks", "@queued")), (self.rate_fig, ("rows/s", "@rate{0.[0]a}")),
                         (self.spill_fig, ("spilled", "@spilled{0.0 b}"))):
            # below the plot, short labels two to a row: long fused names no longer squeeze the plot
            f.add_layout(Legend(items=[], orientation="horizontal", ncols=2, click_policy="hide",
                                label_text_font_size="8pt", spacing=4, margin=2), "below")
            f.select_one(HoverTool).tooltips = [("operator", "@name"), ("t", "@t{0.0} s"), value]
        self.spill_note = Label(x=8, y=8, x_units="screen", y_units="screen", text=self.NOTHING_SPILLED,
                                text_font_size="9pt", text_color="#777777")
        self.spill_fig.add_layout(self.spill_note)
        self.sources: dict = {}
        self.figures = [self.queued_fig, self.rate_fig, self.spill_fig]

    def reset(self) -> None:
        for f in self.figures:
            f.renderers = []
            f.legend[0].items = []
        self.sources = {}
        self.spill_note.visible = True

    def _source_for(self, op_id: str, name: str):
        from bokeh.models import ColumnDataSource, LegendItem

        if op_id not in self.sources:
            src = ColumnDataSource(data={"t": [], "queued": [], "queued_in": [], "queued_out": [], "rate": [],
                                         "spilled": [], "name": []})
            color = PALETTE[len(self.sources) % len(PALETTE)]
            label = short_label(op_id, name)
            for fig, column in ((self.queued_fig, "queued"), (self.rate_fig, "rate"), (self.spill_fig, "spilled")):
                line = fig.line("t", column, source=src, color=color, line_width=2)
                fig.legend[0].items = [*fig.legend[0].items, LegendItem(label=label, renderers=[line])]
            self.sources[op_id] = src
        return self.sources[op_id]

    def update(self, snapshot: ExecutionSnapshot) -> None:
        t = _t(snapshot)
        for op in snapshot.operators:
            src = self._source_for(op.op_id, op.name)
            stream_points(src, {"t": [t], "queued": [op.queued_in_blocks + op.queued_out_blocks],
                        "queued_in": [op.queued_in_blocks], "queued_out": [op.queued_out_blocks],
                        "rate": [float(op.rows_per_s)], "spilled": [op.spilled_bytes], "name": [op.name]},
                          rollover=self.max_points)
            if op.spilled_bytes and self.spill_note.visible:
                self.spill_note.visible = False


class MemoryPanel:
    """Object-store memory in use vs spilled (now) vs spilled and restored (cumulative)."""

    def __init__(self, max_points: int):
        from bokeh.models import ColumnDataSource, NumeralTickFormatter

        self.max_points = max_points
        self.source = ColumnDataSource(data=self._empty())
        self.fig = _fig("object store memory", "bytes")
        self.fig.yaxis.formatter = NumeralTickFormatter(format="0.0 b")
        lines = []
        for col, color, label in (("in_memory", "#1f77b4", "in memory"), ("spilled_now", "#d62728", "spilled (now)"),
                                  ("spilled_total", "#ff7f0e", "spilled (total)"), ("restored_total", "#2ca02c", "restored (total)"),
                                  ("capacity", "#7f7f7f", "capacity")):
            lines.append((label, self.fig.line("t", col, source=self.source, color=color, line_width=2,
                                               line_dash="dashed" if col == "capacity" else "solid")))
        legend_below(self.fig, lines)

    @staticmethod
    def _empty() -> dict:
        return {"t": [], "in_memory": [], "spilled_now": [], "spilled_total": [], "restored_total": [], "capacity": []}

    def reset(self) -> None:
        self.source.data = self._empty()

    def update(self, snapshot: ExecutionSnapshot) -> None:
        s = snapshot.store
        stream_points(self.source, {"t": [_t(snapshot)], "in_memory": [s.in_memory_bytes], "spilled_now": [s.spilled_now_bytes],
                            "spilled_total": [s.spilled_total_bytes], "restored_total": [s.restored_total_bytes],
                            "capacity": [s.capacity_bytes or NAN]}, rollover=self.max_points)


class CpuPanel:
    """Measured CPU utilization (%: this machine's, or a Ray cluster's where Ray's dashboard
    measures it; a gap when unknown) and the run's CPU slots in use (% of the budget)."""

    def __init__(self, max_points: int):
        from bokeh.models import ColumnDataSource, Range1d

        self.max_points = max_points
        self.source = ColumnDataSource(data={"t": [], "utilization": [], "slots": []})
        self.fig = _fig("CPU", "%", y_range=Range1d(0, 105))
        legend_below(self.fig, [
            ("CPU utilization", self.fig.line("t", "utilization", source=self.source, color="#1f77b4", line_width=2)),
            ("CPU slots in use", self.fig.line("t", "slots", source=self.source, color="#ff7f0e", line_width=2)),
        ])

    def reset(self) -> None:
        self.source.data = {"t": [], "utilization": [], "slots": []}

    def update(self, snapshot: ExecutionSnapshot) -> None:
        r = snapshot.resources
        util = r.cpu_utilization * 100.0 if r.cpu_utilization is not None else NAN
        slots = r.cpu_in_use / r.cpu_total * 100.0 if r.cpu_total else NAN
        stream_points(self.source, {"t": [_t(snapshot)], "utilization": [util], "slots": [slots]}, rollover=self.max_points)


class GpuPanel:
    """Per-GPU utilization and memory; a "no GPU" note when the run reports none.

    Unknown utilization or memory is NaN (a gap) and the note says which GPU is unmeasured.
    """

    def __init__(self, max_points: int):
        from bokeh.models import Div, Range1d

        self.max_points = max_points
        self.note = Div(text=self.NO_GPU)
        self.util_fig = _fig("GPU utilization", "%", y_range=Range1d(0, 105))
        self.mem_fig = _fig("GPU memory", "bytes")
        from bokeh.models import NumeralTickFormatter

        self.mem_fig.yaxis.formatter = NumeralTickFormatter(format="0.0 b")
        self.util_fig.visible = self.mem_fig.visible = False
        self.sources: dict = {}
        self.has_gpu = False

    NO_GPU = "<b>GPU:</b> no GPU detected for this run (utilization and memory are not shown rather than drawn as 0)."

    def reset(self) -> None:
        for f in (self.util_fig, self.mem_fig):
            f.renderers = []
            f.visible = False
        self.sources = {}
        self.has_gpu = False
        self.note.text = self.NO_GPU

    def update(self, snapshot: ExecutionSnapshot) -> None:
        from bokeh.models import ColumnDataSource

        gpus = snapshot.resources.gpus
        if not gpus:
            return
        self.has_gpu = True
        self.util_fig.visible = self.mem_fig.visible = True
        unknown = []
        for g in gpus:
            if g.index not in self.sources:
                src = ColumnDataSource(data={"t": [], "utilization": [], "memory_used": [], "memory_total": []})
                color = PALETTE[len(self.sources) % len(PALETTE)]
                label = f"GPU {g.index} {g.name}".strip()
                self.util_fig.line("t", "utilization", source=src, color=color, line_width=2, legend_label=label)
                self.mem_fig.line("t", "memory_used", source=src, color=color, line_width=2, legend_label=label)
                self.mem_fig.line("t", "memory_total", source=src, color=color, line_dash="dashed")
                self.sources[g.index] = src
            if g.utilization is None:
                unknown.append(f"GPU {g.index}: utilization unknown")
            if g.memory_used_bytes is None:
                unknown.append(f"GPU {g.index}: memory unknown")
            stream_points(self.sources[g.index], {
                "t": [_t(snapshot)],
                "utilization": [g.utilization * 100.0 if g.utilization is not None else NAN],
                "memory_used": [float(g.memory_used_bytes) if g.memory_used_bytes is not None else NAN],
                "memory_total": [float(g.memory_total_bytes) if g.memory_total_bytes is not None else NAN],
            }, rollover=self.max_points)
        self.note.text = f"<b>GPU:</b> {len(gpus)} device(s)" + (f" ({'; '.join(unknown)})" if unknown else "")


class TimelinePanel:
    """Task timeline (Gantt): one bar per finished task, a row per worker, coloured by operator
    (red when the task failed). It fills while the run goes: each snapshot carries the spans of
    the tasks finished so far, and only the new ones are streamed to the page."""

    def __init__(self):
        from bokeh.models import ColumnDataSource, FactorRange

        self.source = ColumnDataSource(data=self._empty())
        # no axis label and small worker names: the row labels would take 40% of a 700 px plot
        self.fig = _fig("task timeline per worker", None, plot_height=170, y_range=FactorRange())
        self.fig.yaxis.major_label_text_font_size = "8pt"
        self.fig.hbar(y="worker", left="start", right="end", height=0.7, source=self.source,
                      fill_color="color", line_color=None)
        self.fig.hover.tooltips = [("operator", "@op_id"), ("worker", "@worker"), ("seconds", "@start{0.00}-@end{0.00}")]
        self.run_id: Optional[str] = None
        self.drawn = 0
        """How many of the run's spans the page has."""
        self._op_color: dict[str, str] = {}

    @staticmethod
    def _empty() -> dict:
        return {"op_id": [], "worker": [], "start": [], "end": [], "color": [], "ok": []}

    def reset(self) -> None:
        self.source.data = self._empty()
        self.fig.y_range.factors = []
        self.run_id, self.drawn, self._op_color = None, 0, {}

    def update(self, snapshot: ExecutionSnapshot) -> None:
        if snapshot.run_id != self.run_id:
            self.reset()
            self.run_id = snapshot.run_id
        new = snapshot.timeline[self.drawn:]
        if not new:
            return
        t0 = snapshot.started_at
        for span in new:
            self._op_color.setdefault(span.op_id, PALETTE[len(self._op_color) % len(PALETTE)])
        workers = sorted(set(self.fig.y_range.factors) | {s.worker for s in new})
        if workers != list(self.fig.y_range.factors):
            self.fig.y_range.factors = workers
        stream_points(self.source, {
            "op_id": [s.op_id for s in new],
            "worker": [s.worker for s in new],
            "start": [s.start - t0 for s in new],
            "end": [s.end - t0 for s in new],
            "color": [self._op_color[s.op_id] if s.ok else STATE_FILL[False] for s in new],
            "ok": [s.ok for s in new],
        })
        self.drawn = len(snapshot.timeline)


def finite(values) -> list:
    """Values without NaN, for assertions and summaries."""
    return [v for v in values if not (isinstance(v, float) and math.isnan(v))]
