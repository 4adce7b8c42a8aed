"""Replay: scrub through a finished run's telemetry with a slider.

Why: a run is over in seconds, too fast to watch where it was held. Its telemetry history (the
snapshots the live view drew, kept on ``ds.stats().history``) is enough to redraw any moment of
it, so a teacher can stop at t = 1.4 s and point at the edge that was full and the actor pool that
was busy. Each frame is the plan graph exactly as the live view drew it then (state colours, node
figures, edge queues), the run's position and the object store's memory at that moment, with a
small chart of the store over the whole run marking where t is.

Frames are drawn on demand (one ``dot`` call each) and cached, so dragging the slider back is
instant. Without ipywidgets, and in an exported notebook where widgets do not render, the view's
HTML shows a few moments of the run one under the other and says how to get the slider.
"""

from __future__ import annotations

from typing import Optional, Sequence

from streamscope.engine.execution.telemetry import ExecutionSnapshot
from streamscope.engine.units import format_bytes, format_count, format_duration

from ._util import INSTALL_HINT, esc, optional, widget_bundle
from .plan_graph import snapshot_plan_html

STATIC_MOMENTS = 4
"""How many moments the static HTML (no widget manager) shows: evenly spaced, the last included."""
_CHART_W, _CHART_H = 360, 48


class NothingToReplay(ValueError):
    """The run left no telemetry: it was answered without executing (e.g. ``count()`` from
    metadata) or the dataset has not run."""


def frame_caption(snapshot: ExecutionSnapshot, end_s: float) -> str:
    """One line placing a snapshot in its run: time, state, progress, rows, store memory.

    Example:
        >>> from streamscope.engine.execution.telemetry import StoreStats
        >>> s = ExecutionSnapshot(run_id="r", name="ds", state="running", started_at=0.0, timestamp=1.5,
        ...                       rows_out=1200, progress=0.5, store=StoreStats(capacity_bytes=4096, in_memory_bytes=1024))
        >>> frame_caption(s, 3.0)
        't = 1.5 s of 3.0 s · running · 50% · 1.2k rows · store 1 KiB of 4 KiB'
    """
    parts = [f"t = {format_duration(snapshot.elapsed_s)} of {format_duration(end_s)}", snapshot.state]
    if snapshot.progress is not None:
        parts.append(f"{snapshot.progress:.0%}")
    parts.append(f"{format_count(snapshot.rows_out)} rows")
    store = snapshot.store
    memory = f"store {format_bytes(store.in_memory_bytes)}"
    if store.capacity_bytes:
        memory += f" of {format_bytes(store.capacity_bytes)}"
    if store.spilled_now_bytes:
        memory += f", {format_bytes(store.spilled_now_bytes)} spilled"
    parts.append(memory)
    return " · ".join(parts)


def store_chart_svg(history: Sequence[ExecutionSnapshot], index: int) -> str:
    """An inline SVG of the store over the run (memory in blue, spilled in orange) with a line at
    frame ``index``: plain SVG, no script, so it also shows in exported notebooks."""
    end = max(history[-1].elapsed_s, 1e-9)
    top = max([s.store.capacity_bytes for s in history] + [s.store.in_memory_bytes + s.store.spilled_now_bytes for s in history] + [1])

    def points(value) -> str:
        return " ".join(f"{s.elapsed_s / end * _CHART_W:.1f},{_CHART_H - value(s) / top * _CHART_H:.1f}" for s in history)

    x = history[index].elapsed_s / end * _CHART_W
    return (
        f'<svg class="streamscope-replay-store" width="{_CHART_W}" height="{_CHART_H}" '
        f'viewBox="0 0 {_CHART_W} {_CHART_H}" style="border:1px solid #ddd;background:#fafafa">'
        f'<title>object store over the run: in memory (blue), spilled (orange)</title>'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points(lambda s: s.store.in_memory_bytes)}"/>'
        f'<polyline fill="none" stroke="#ff7f0e" stroke-width="1.5" points="{points(lambda s: s.store.spilled_now_bytes)}"/>'
        f'<line class="streamscope-replay-cursor" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{_CHART_H}" stroke="#d62728"/></svg>'
    )


class ReplayView:
    """A slider (with a Play button) over a run's snapshots; ``root`` is the ipywidgets box.

    Example::

        ds.materialize()
        ds.stats().replay()          # or: %dataset replay ds
        view = ReplayView(ds.stats().history)
        view.show(0)                 # the run's first moment
    """

    def __init__(self, history: Sequence[ExecutionSnapshot], binary: Optional[str] = None, title: str = ""):
        frames = [s for s in history if s.plan_graph is not None]
        if not frames:
            raise NothingToReplay("replay: this run left no telemetry to replay (it was answered without "
                                  "executing, or has not run); consume the dataset first, e.g. ds.materialize()")
        self.frames = frames
        self.binary = binary
        self.title = title or frames[-1].name
        self.end_s = frames[-1].elapsed_s
        self.index = len(frames) - 1
        self._cache: dict[int, str] = {}
        widgets = optional("ipywidgets")
        self.root = None
        if widgets is not None:
            last = len(frames) - 1
            self._slider = widgets.IntSlider(value=last, min=0, max=last, step=1, readout=False,
                                             description="t", continuous_update=True,
                                             layout=widgets.Layout(width="60%"))
            self._play = widgets.Play(value=last, min=0, max=last, step=1, interval=250, description="play")
            widgets.jslink((self._play, "value"), (self._slider, "value"))
            self._caption = widgets.HTML()
            self._frame = widgets.HTML()
            self._slider.observe(lambda change: self.show(change["new"]), names="value")
            self.root = widgets.VBox([widgets.HTML(f"<b>replay: {esc(self.title)}</b>"),
                                      widgets.HBox([self._play, self._slider]), self._caption, self._frame])
        self.show(self.index)

    def frame_html(self, index: int) -> str:
        """The HTML of frame ``index``: caption, store chart and the plan graph at that moment."""
        if index not in self._cache:
            snapshot = self.frames[index]
            self._cache[index] = (
                f'<div class="streamscope-replay-frame" data-frame="{index}">'
                f'<div class="streamscope-replay-caption">{esc(frame_caption(snapshot, self.end_s))}</div>'
                f'{store_chart_svg(self.frames, index)}{snapshot_plan_html(snapshot, binary=self.binary)}</div>'
            )
        return self._cache[index]

    def show(self, index: int) -> None:
        """Move to frame ``index`` (clamped to the run) and redraw."""
        self.index = min(max(int(index), 0), len(self.frames) - 1)
        if self.root is not None:
            snapshot = self.frames[self.index]
            self._caption.value = esc(frame_caption(snapshot, self.end_s))
            self._frame.value = self.frame_html(self.index)
            if self._slider.value != self.index:
                self._slider.value = self.index

    def moments(self) -> list[int]:
        """The frames the static HTML and the text show: evenly spaced, first and last included."""
        n = len(self.frames)
        return sorted({round(k * (n - 1) / max(STATIC_MOMENTS - 1, 1)) for k in range(STATIC_MOMENTS)})

    def static_html(self) -> str:
        """A few moments of the run, one under the other, for where the slider cannot show."""
        n, picks = len(self.frames), self.moments()
        hint = ("" if self.root is not None else
                f'<div style="color:#a60;font-size:90%">the replay slider needs ipywidgets: {esc(INSTALL_HINT)}</div>')
        moments = "".join(self.frame_html(i) for i in picks)
        return (f'<div class="streamscope-replay"><b>replay: {esc(self.title)}</b> '
                f'({n} moments, {len(picks)} shown){hint}{moments}</div>')

    def text(self) -> str:
        return "\n".join(f"[{i}] {frame_caption(self.frames[i], self.end_s)}" for i in self.moments())

    def display(self) -> None:
        from IPython.display import display

        display(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.static_html(), f"replay of {self.title}: {len(self.frames)} moments\n{self.text()}")


def replay_view(stats) -> ReplayView:
    """The replay of a finished run's stats (installed as ``DatasetStats.replay``)."""
    return ReplayView(stats.history or ([stats.snapshot] if stats.snapshot is not None else []))


__all__ = ["NothingToReplay", "ReplayView", "frame_caption", "replay_view", "store_chart_svg", "STATIC_MOMENTS"]
