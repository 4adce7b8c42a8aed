"""DatasetStats: what ``Dataset.stats()`` returns — readable text and a structured object.

It is a ``str`` (so Ray Data code that prints it keeps working) that also carries per-operator
figures as attributes, built from the run's final telemetry snapshot.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from streamscope.engine.execution import telemetry as T
from streamscope.engine.units import format_bytes, format_duration, format_percent


@dataclass(frozen=True)
class OperatorStats:
    name: str
    op_id: str
    wall_s: float
    cpu_s: float
    udf_s: float
    rows_in: int
    rows_out: int
    bytes_in: int
    bytes_out: int
    tasks: int
    blocks: int
    backpressure_s: float
    spilled_bytes: int
    fused: tuple[str, ...] = ()
    retries: int = 0
    """Task retries (errors retried inside tasks, re-runs after worker deaths)."""
    errored_blocks: int = 0
    """Failed tasks whose blocks were dropped under ``DataContext.max_errored_blocks``."""


class DatasetStats(str):
    operators: tuple[OperatorStats, ...]
    wall_s: float
    state: str
    run_id: str
    rows_out: int
    progress: Optional[float]
    """Whole-run fraction reached (the snapshot's; 1.0 when succeeded), None when unknown."""
    spilled_bytes: int
    restored_bytes: int
    peak_store_bytes: int
    errored_blocks: int
    """Blocks dropped under ``DataContext.max_errored_blocks``, all operators together."""
    error: str

    def __new__(cls, snapshot: Optional[T.ExecutionSnapshot], peak_store_bytes: int = 0,
                history: tuple = ()):
        ops: tuple[OperatorStats, ...] = ()
        if snapshot is not None:
            ops = tuple(
                OperatorStats(o.name, o.op_id, o.wall_s, o.cpu_s, o.udf_s, o.rows_in, o.rows_out, o.bytes_in, o.bytes_out,
                              o.tasks_done + o.tasks_failed, o.blocks_out, o.backpressure_s, o.spilled_bytes, o.fused,
                              retries=o.retries, errored_blocks=o.errored_blocks)
                for o in snapshot.operators
            )
        text = _render(snapshot, ops, peak_store_bytes)
        obj = super().__new__(cls, text)
        obj.operators = ops
        obj.wall_s = snapshot.elapsed_s if snapshot else 0.0
        obj.state = snapshot.state if snapshot else "not executed"
        obj.run_id = snapshot.run_id if snapshot else ""
        obj.rows_out = snapshot.rows_out if snapshot else 0
        obj.progress = snapshot.progress if snapshot else None
        obj.spilled_bytes = snapshot.store.spilled_total_bytes if snapshot else 0
        obj.restored_bytes = snapshot.store.restored_total_bytes if snapshot else 0
        obj.peak_store_bytes = peak_store_bytes
        obj.errored_blocks = sum(o.errored_blocks for o in ops)
        obj.error = snapshot.error if snapshot else ""
        obj.snapshot = snapshot
        obj.history = tuple(history)
        """The run's telemetry snapshots, oldest first (the time series a saved report plots)."""
        return obj

    def to_html(self) -> str:
        """The stats as HTML: the per-operator table and time breakdown the notebook shows (plain
        HTML and CSS, no script), or the text in a ``<pre>`` where the views are not installed.

        Examples:
            >>> ds = streamscope.range(10)
            >>> ds.count()
            10
            >>> "<table" in ds.stats().to_html() or "<pre" in ds.stats().to_html()
            True
        """
        if self.snapshot is not None and _html_renderer is not None:
            return _html_renderer(self)
        return f'<pre class="streamscope-stats">{html.escape(str(self))}</pre>'

    def _repr_html_(self) -> str:
        """In a notebook, ``ds.stats()`` as the last line of a cell shows the stats table (a
        ``str`` would show as one quoted line with ``\\n`` in it)."""
        return self.to_html()

    def _repr_pretty_(self, printer, cycle) -> None:
        """``text/plain`` (a terminal IPython, an export's text fallback): the stats as printed."""
        printer.text(str(self))

    def replay(self):
        """A slider over this run's telemetry: the plan graph's colours, edge queues and the
        store's memory at any moment of the run (``%dataset replay ds`` in a notebook).

        Examples:
            >>> ds = streamscope.range(1000, override_num_blocks=4).map_batches(lambda b: b)
            >>> _ = ds.materialize()
            >>> view = ds.stats().replay()
            >>> view.show(0); view.index
            0
        """
        if _replay_factory is None:
            raise RuntimeError("DatasetStats.replay: the notebook views are not installed; import streamscope first")
        return _replay_factory(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "state": self.state, "wall_s": self.wall_s, "rows_out": self.rows_out, "progress": self.progress,
            "spilled_bytes": self.spilled_bytes, "restored_bytes": self.restored_bytes,
            "peak_store_bytes": self.peak_store_bytes, "errored_blocks": self.errored_blocks, "operators": [asdict(o) for o in self.operators],
        }


_html_renderer: Optional[Callable[["DatasetStats"], str]] = None


def set_html_renderer(renderer: Optional[Callable[["DatasetStats"], str]]) -> None:
    """Install the HTML renderer of :meth:`DatasetStats.to_html` (the widgets layer's stats view;
    ``streamscope/__init__`` installs it, so the engine never imports widget code)."""
    global _html_renderer
    _html_renderer = renderer


_replay_factory: Optional[Callable[["DatasetStats"], Any]] = None


def set_replay_factory(factory: Optional[Callable[["DatasetStats"], Any]]) -> None:
    """Install what :meth:`DatasetStats.replay` returns (the widgets layer's replay view;
    ``streamscope/__init__`` installs it, as for :func:`set_html_renderer`)."""
    global _replay_factory
    _replay_factory = factory


def _render(snapshot: Optional[T.ExecutionSnapshot], ops: tuple[OperatorStats, ...], peak: int) -> str:
    if snapshot is None:
        return "This dataset has not been executed yet: no stats."
    lines = []
    for i, o in enumerate(ops):
        lines.append(f"Operator {i} {o.name}: {o.tasks} tasks executed, {o.blocks} blocks produced in {format_duration(o.wall_s)}")
        lines.append(f"* Rows: {o.rows_in} in, {o.rows_out} out; bytes: {format_bytes(o.bytes_in)} in, {format_bytes(o.bytes_out)} out")
        lines.append(f"* CPU time: {format_duration(o.cpu_s)}, UDF time: {format_duration(o.udf_s)}, "
                     f"backpressure: {format_duration(o.backpressure_s)}")
        if o.spilled_bytes:
            lines.append(f"* Spilled: {format_bytes(o.spilled_bytes)}")
        if o.retries:
            lines.append(f"* Retries: {o.retries} (errors retried inside tasks, re-runs after worker deaths)")
        if o.errored_blocks:
            lines.append(f"* Errored blocks: {o.errored_blocks} (tasks that failed; their rows were dropped under max_errored_blocks)")
        lines.append("")
    s = snapshot.store
    reached = ""
    if snapshot.state != T.RUN_SUCCEEDED and snapshot.progress is not None:
        of = f" of {snapshot.estimated_rows_total}" if snapshot.estimated_rows_total is not None else ""
        reached = f"{of} ({format_percent(snapshot.progress)} done)"
    lines.append(f"Dataset {snapshot.name} ({snapshot.run_id}): {snapshot.state} in "
                 f"{format_duration(snapshot.elapsed_s)}, {snapshot.rows_out} rows out{reached}")
    lines.append(
        f"* Object store: capacity {format_bytes(s.capacity_bytes)}, peak in use {format_bytes(peak)}, "
        f"spilled {format_bytes(s.spilled_total_bytes)}, restored {format_bytes(s.restored_total_bytes)} ({s.backend or 'n/a'})"
    )
    if snapshot.error:
        lines.append(f"* Error: {snapshot.error}")
    return "\n".join(lines)
