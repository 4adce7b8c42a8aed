"""The live view of one run, as shown under a cell: progress bar (+ Cancel), bottleneck line, and on
expand the per-operator rows and the live plan graph; optionally the Bokeh dashboard below.

Why it turns into static HTML at the end: a widget's ``_repr_mimebundle_`` is computed when the
run starts, so its static ``text/html`` would be stuck at 0%; and a finished run has nothing left
to animate. When the final snapshot arrives, the view updates its own display (``display_id``)
with the final static HTML only (the finished progress, then under a ``<details>`` the final plan
graph and the stats table) and closes its widgets. So what JupyterLab shows after the run is what
a saved notebook, ``jupyter nbconvert --to html`` (which prefers a widget whose state was saved,
and draws an empty box where its scripts cannot load) and the documentation site show, and a long
session does not keep a dozen widget models alive for every finished run. A view with a dashboard
stays a widget: its plots are the point.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from streamscope.engine.execution.telemetry import ExecutionSnapshot, SnapshotBuffer

from ._util import esc, widget_bundle
from .dashboard import Dashboard, ensure_bokeh_loaded
from .plan_graph import PlanGraphView
from .progress import ProgressView, progress_html, progress_text
from .stats_view import breakdown_html, stats_rows, table_html
from .throttle import MAX_HZ, SnapshotPoller

GRAPH_REFRESH_S = 0.5


class LiveRunView:
    """Live progress + plan graph of a run handle (anything with ``.buffer``; ``.cancel()``
    enables the Cancel button) or of a bare ``SnapshotBuffer``.

    ``LiveRunView(handle).display()`` shows it and starts polling; ``update(snapshot)`` can be
    driven by hand (tests). The bottleneck line is the snapshot's (``ExecutionSnapshot.bottleneck``,
    decided by the engine with ``DataContext.stall_timeout_s``); this view computes none.
    """

    def __init__(self, handle: Any, name: str = "", dashboard: bool = False, max_hz: float = MAX_HZ,
                 binary: Optional[str] = None):
        self.handle = handle
        self.buffer: SnapshotBuffer = handle.buffer if hasattr(handle, "buffer") else handle
        self.name = name or getattr(self.buffer, "name", "") or "run"
        self.max_hz = max_hz
        self.progress = ProgressView(handle if hasattr(handle, "cancel") else None, self.name)
        self.plan = PlanGraphView(binary=binary, legend=True)
        self.dashboard = None
        if dashboard:
            self.dashboard = Dashboard(max_points=600)
        self.snapshot: Optional[ExecutionSnapshot] = None
        self._graph_at = float("-inf")
        self._display_handle = None
        self.final = False
        """True once the run ended and the view became static HTML (see the module doc)."""
        self.poller: Optional[SnapshotPoller] = None
        self.root = None
        if self.progress.root is not None:
            import ipywidgets as w

            self.progress.details.children = [self.progress.table, self.plan.root]
            self.progress.expand.observe(lambda ch: ch["new"] and self._render_graph(force=True), names="value")
            parts = [self.progress.root]
            if self.dashboard is not None and self.dashboard.root is not None:
                parts.append(self.dashboard.root)
            self.root = w.VBox(parts)

    # -- updates ---------------------------------------------------------------------------------
    def update(self, snapshot: ExecutionSnapshot) -> None:
        """Redraw from one snapshot (the poller calls this at <= 10 Hz)."""
        self.snapshot = snapshot
        self.progress.update(snapshot)
        self._render_graph(force=snapshot.finished)
        if self.dashboard is not None:
            self.dashboard.update(snapshot)

    def _render_graph(self, force: bool = False) -> None:
        """Re-lay out the plan only when it is visible (or final), at most every 0.5 s."""
        if self.snapshot is None:
            return
        visible = self.progress.root is None or self.progress.expand.value
        now = time.monotonic()
        if force or (visible and now - self._graph_at >= GRAPH_REFRESH_S):
            self._graph_at = now
            self.plan.update(self.snapshot)

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> "LiveRunView":
        """Start polling the buffer on a background thread (idempotent)."""
        if self.poller is None:
            self.poller = SnapshotPoller(self.buffer, self.update, max_hz=self.max_hz, on_finish=self._finished)
            self.poller.start()
        return self

    def _finished(self, snapshot: ExecutionSnapshot) -> None:
        """The run ended: republish the display as the final static HTML and close the widgets
        (a view with a dashboard stays a widget; see the module doc)."""
        self.final = self.dashboard is None
        if self._display_handle is not None:
            self._display_handle.update(self)
        if self.final and self.root is not None:
            _close_tree(self.root)

    def display(self) -> "LiveRunView":
        """Display under the current cell (loading BokehJS first when a dashboard is shown), then poll."""
        from IPython.display import display

        if self.dashboard is not None and self.dashboard.layout is not None:
            ensure_bokeh_loaded()
        self._display_handle = display(self, display_id=True)
        return self.start()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the final snapshot was drawn; True when it was."""
        return self.poller.join(timeout) if self.poller is not None else False

    # -- reprs -----------------------------------------------------------------------------------
    def static_html(self) -> str:
        """The view as plain HTML: progress, then (once finished) the plan graph and the stats
        under a ``<details>``, open when the live details were open."""
        s = self.snapshot
        html = progress_html(s, self.name, details=False)
        if s is not None and s.finished:
            inner = self.plan.html
            rows = stats_rows(s)
            if rows:
                inner += "<b>stats</b>" + table_html(rows) + breakdown_html(rows)
            was_open = self.progress.root is not None and self.progress.expand.value
            html += (f'<details class="streamscope-live-details"{" open" if was_open else ""}>'
                     f'<summary style="cursor:pointer;color:#555">plan graph and stats</summary>{inner}</details>')
        elif s is not None:
            html += f'<div style="color:#777">{esc(len(s.operators))} operator(s) running…</div>'
        if self.dashboard is not None and s is not None and s.finished:
            html += self.dashboard.static_html()
        return f'<div class="streamscope-live">{html}</div>'

    def text(self) -> str:
        return progress_text(self.snapshot, self.name)

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.final:
            return {"text/html": self.static_html(), "text/plain": self.text()}
        return widget_bundle(self.root, self.static_html(), self.text())


def _close_tree(widget: Any) -> None:
    """Close a widget and every widget below it (``Widget.close`` closes only its own model)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if hasattr(part, "close"):
            part.close()
    widget.close()
