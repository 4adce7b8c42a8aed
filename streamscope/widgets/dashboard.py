"""The Bokeh dashboard of a run, embedded with jupyter_bokeh's ``BokehModel`` (no server, no port).

Why this design: jupyter_bokeh sends Bokeh document patches over an ipywidgets comm, so assigning
``source.data`` or calling ``source.stream`` in the kernel (from the poller thread) updates the page
in place. BokehJS must already be in the page, so :func:`ensure_bokeh_loaded` emits
``output_notebook(INLINE, hide_banner=True)`` once per kernel session before the first
``BokehModel`` is shown (INLINE, because the browser may have no internet).

``Dashboard(buffer)`` follows one run; ``Dashboard.session()`` follows every run the session starts
afterwards (``hub().add_listener``), resetting its series for each new run.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot, SnapshotBuffer, hub
from streamscope.engine.units import format_bytes, format_count, format_duration, format_percent

from ._util import INSTALL_HINT, esc, in_kernel, require, widget_bundle
from .dashboard_panels import CpuPanel, GpuPanel, MemoryPanel, OperatorSeriesPanel, TimelinePanel
from .throttle import SnapshotPoller

_BOKEH_LOADED = False
_LOAD_LOCK = threading.Lock()


def ensure_bokeh_loaded(force: bool = False) -> bool:
    """Emit BokehJS (INLINE, no banner) into the notebook once per kernel session.

    Returns True when this call emitted it. Call before displaying the first ``BokehModel``.
    """
    global _BOKEH_LOADED
    with _LOAD_LOCK:
        if _BOKEH_LOADED and not force:
            return False
        require("bokeh", "the dashboard")
        from bokeh.io import output_notebook
        from bokeh.resources import INLINE

        output_notebook(INLINE, hide_banner=True)
        _BOKEH_LOADED = True
        return True


def _buffer_of(handle: Any) -> Optional[SnapshotBuffer]:
    if handle is None:
        return None
    return handle.buffer if hasattr(handle, "buffer") else handle


PANEL_MIN_WIDTH = 300


class Dashboard:
    """Live Bokeh dashboard: ``root`` (a ``BokehModel``), ``layout`` (the Bokeh layout),
    ``sources`` (name -> ColumnDataSource), ``update(snapshot)``.

    Panels: per-operator queued blocks and throughput, object-store memory (in use / spilled /
    restored) next to the bytes spilled from each operator's output, CPU, per-GPU utilization and
    memory (or a "no GPU" note), and the task timeline, filled as tasks finish.
    """

    def __init__(self, handle: Any = None, max_points: int = 600):
        self.missing = ""
        """Why there are no charts (bokeh missing); the view then shows a static summary."""
        self.panels: tuple = ()
        self.layout = None
        try:
            self._build(max_points)
        except ImportError as exc:
            self.missing = f"The live dashboard needs bokeh and jupyter_bokeh: {INSTALL_HINT} ({exc})"
        self.run_id: Optional[str] = None
        self.snapshot: Optional[ExecutionSnapshot] = None
        self._root = None
        self._poller: Optional[SnapshotPoller] = None
        self._listener = None
        self._lock = threading.RLock()
        buf = _buffer_of(handle)
        if buf is not None:
            self.follow(buf)

    def _build(self, max_points: int) -> None:
        require("bokeh", "the dashboard")
        from bokeh.layouts import column, row
        from bokeh.models import Div

        self.ops = OperatorSeriesPanel(max_points)
        self.memory = MemoryPanel(max_points)
        self.cpu = CpuPanel(max_points)
        self.gpu = GpuPanel(max_points)
        self.timeline = TimelinePanel()
        self.panels = (self.ops, self.memory, self.cpu, self.gpu, self.timeline)
        self.header = Div(text="<b>streamscope dashboard</b>: waiting for a run…", sizing_mode="stretch_width")
        self.runs = Div(text="", sizing_mode="stretch_width")
        """Every run going on right now, so a background run stays in sight next to the one the
        charts follow."""
        self.layout = column(
            self.header,
            self.runs,
            _pair(self.ops.queued_fig, self.ops.rate_fig),
            _pair(self.memory.fig, self.ops.spill_fig),
            self.cpu.fig,
            self.gpu.note,
            _pair(self.gpu.util_fig, self.gpu.mem_fig),
            self.timeline.fig,
            sizing_mode="stretch_width",
        )

    # -- data ------------------------------------------------------------------------------------
    @property
    def sources(self) -> dict:
        if not self.panels:
            return {}
        out = {"memory": self.memory.source, "cpu": self.cpu.source, "timeline": self.timeline.source}
        out.update({f"op:{k}": v for k, v in self.ops.sources.items()})
        out.update({f"gpu:{k}": v for k, v in self.gpu.sources.items()})
        return out

    def reset(self) -> None:
        """Clear every series (a new run starts)."""
        with self._lock:
            for panel in self.panels:
                panel.reset()
            self.snapshot = None

    def update(self, snapshot: ExecutionSnapshot) -> None:
        """Stream one snapshot into every panel (resets first when the run changed)."""
        with self._lock:
            if snapshot.run_id != self.run_id:
                if self.run_id is not None:
                    self.reset()
                self.run_id = snapshot.run_id
            self.snapshot = snapshot
            for panel in self.panels:
                panel.update(snapshot)
            if self.panels:
                self.header.text = self._header_html(snapshot)
                self.runs.text = active_runs_html(hub().active_runs(), followed=snapshot.run_id)

    def _header_html(self, s: ExecutionSnapshot) -> str:
        state = s.state if s.state != "failed" else f'<span style="color:#d9534f">failed</span> {esc(s.error)}'
        b = s.bottleneck
        tail = f' · <span style="color:#a60">bottleneck: {esc(b)}</span>' if b is not None else ""
        if b is not None and b.holds_back:
            tail += f' <span style="color:#777">(held back: {esc("; ".join(b.holds_back))})</span>'
        return (f"<b>{esc(s.name)}</b> ({esc(s.run_id)}) {state if s.state == 'failed' else esc(state)} · "
                f"{format_count(s.rows_out)} rows · {format_duration(s.elapsed_s)}{tail}")

    # -- following runs --------------------------------------------------------------------------
    def follow(self, buffer: SnapshotBuffer, max_hz: float = 10.0) -> SnapshotPoller:
        """Poll ``buffer`` on a background thread and stream its snapshots into the panels,
        after drawing the history the buffer already holds (a dashboard opened during or after
        a run shows it from its start, not from the moment it was opened)."""
        with self._lock:
            if self._poller is not None:
                self._poller.stop()
            for snapshot in buffer.history()[:-1]:  # the poller delivers the latest one
                self.update(snapshot)
            self._poller = SnapshotPoller(buffer, self.update, max_hz=max_hz, name="streamscope-dashboard")
            return self._poller.start()

    @classmethod
    def session(cls, **kwargs) -> "Dashboard":
        """A dashboard that follows every new run of this session (and the current one, if any)."""
        dash = cls(**kwargs)
        latest = hub().latest_run()
        if latest is not None:
            dash.follow(latest)
        dash._listener = dash.follow
        hub().add_listener(dash._listener)
        return dash

    def close(self) -> None:
        """Stop following runs and drop the hub listener."""
        if self._listener is not None:
            hub().remove_listener(self._listener)
            self._listener = None
        if self._poller is not None:
            self._poller.stop()

    @property
    def poller(self) -> Optional[SnapshotPoller]:
        return self._poller

    # -- display ---------------------------------------------------------------------------------
    @property
    def root(self):
        """The ``jupyter_bokeh.BokehModel`` wrapping the layout (created on first use); None
        when bokeh or jupyter_bokeh is missing."""
        if self._root is None and self.layout is not None:
            try:
                require("jupyter_bokeh", "the dashboard")
            except ImportError as exc:
                self.missing = str(exc)
                return None
            from jupyter_bokeh import BokehModel

            self._root = BokehModel(self.layout)
        return self._root

    def display(self) -> None:
        """Load BokehJS once per kernel, then display the dashboard."""
        from IPython.display import display

        if self.layout is not None:
            ensure_bokeh_loaded()
        display(self)

    def static_html(self) -> str:
        note = f'<div style="color:#a60">{esc(self.missing)}</div>' if self.missing else ""
        return self._summary_html() + note

    def _summary_html(self) -> str:
        s = self.snapshot
        if s is None:
            return "<div><b>streamscope dashboard</b>: no run yet</div>"
        st = s.store
        gpus = ", ".join(
            f"GPU {g.index}: " + (format_percent(g.utilization) if g.utilization is not None else "utilization unknown")
            for g in s.resources.gpus
        ) or "no GPU"
        return (
            active_runs_html(hub().active_runs(), followed=s.run_id) +
            f'<div class="streamscope-dashboard-static"><b>{esc(s.name)}</b> [{esc(s.state)}] '
            f"{format_count(s.rows_out)} rows in {format_duration(s.elapsed_s)}<br>"
            f"object store: {format_bytes(st.in_memory_bytes)} in memory, {format_bytes(st.spilled_total_bytes)} spilled, "
            f"{format_bytes(st.restored_total_bytes)} restored<br>{esc(gpus)}</div>"
        )

    def text(self) -> str:
        s = self.snapshot
        active = hub().active_runs()
        if len(active) > 1:
            names = ", ".join(f"{b.name} ({b.run_id})" for b in active)
            return f"streamscope dashboard: {len(active)} runs active: {names}"
        return "streamscope dashboard (no run yet)" if s is None else f"streamscope dashboard: {s.name} [{s.state}]"

    def _repr_mimebundle_(self, include=None, exclude=None):
        widget = self.root
        if widget is not None and in_kernel():
            ensure_bokeh_loaded()
        return widget_bundle(widget, self.static_html(), self.text())


def active_runs_html(buffers: list[SnapshotBuffer], followed: Optional[str] = None) -> str:
    """One line per active run (name, id, rows, tasks running, elapsed): empty when only the
    followed run is going, so a single run's dashboard looks as it always did.

    Example::

        active_runs_html(hub().active_runs(), followed=dash.run_id)
    """
    snaps = [b.latest() for b in buffers]
    snaps = [s for s in snaps if s is not None]
    if not snaps or (len(snaps) == 1 and snaps[0].run_id == followed):
        return ""
    rows = []
    for s in snaps:
        tasks = sum(o.active_tasks for o in s.operators)
        mark = " (charts below)" if s.run_id == followed else ""
        rows.append(
            f'<li><b>{esc(s.name)}</b> {esc(s.run_id)}{mark}: {format_count(s.rows_out)} rows, '
            f"{tasks} tasks running, {format_duration(s.elapsed_s)}</li>"
        )
    title = f"{len(snaps)} runs sharing the machine" if len(snaps) > 1 else "1 run going"
    return (f'<div class="streamscope-active-runs">{title}:'
            f'<ul style="margin:2px 0">{"".join(rows)}</ul></div>')


def _pair(left, right):
    from bokeh.layouts import row

    for fig in (left, right):
        fig.min_width = PANEL_MIN_WIDTH
    return row(left, right, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})
