"""Terminal progress: reads telemetry snapshots on its own thread and prints them.

Modes (``DataContext.progress_mode``, switchable while a run is going): "line" redraws one line
on a terminal; "operators" redraws one line per operator; "log" prints an interval line (every
``progress_interval_s``) for logs and CI where ``\\r`` is useless; "off". "auto" picks "line" on a
terminal and "log" otherwise. The executor never waits on this thread.

Ray Data's switches apply on top: ``execution_options.verbose_progress=True`` makes "auto" show a
line per operator (redrawn on a terminal, logged otherwise), and ``enable_operator_progress_bars=
False`` never shows per-operator lines (an explicit "operators" falls back to "line").
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from streamscope.engine.context import DataContext
from streamscope.engine.execution import telemetry as T
from streamscope.engine.units import format_count, format_duration, format_percent, format_rate

if TYPE_CHECKING:  # the executor starts terminal progress: importing it here would be a cycle
    from streamscope.engine.execution.streaming_executor import StreamingExecutor


def _rows(snap: T.ExecutionSnapshot) -> str:
    """Rows delivered, exact (logs get compared), "of" the estimate while one is known."""
    if snap.estimated_rows_total is not None and snap.state != T.RUN_SUCCEEDED:
        return f"{snap.rows_out} of {snap.estimated_rows_total} rows out"
    return f"{snap.rows_out} rows out"


def render_line(snap: T.ExecutionSnapshot) -> str:
    """One line for the whole run: state, the engine's progress fraction, elapsed, rows."""
    pct = "" if snap.progress is None else f"{format_percent(snap.progress, decimals=1)} "
    ops = " | ".join(f"{o.name[:28]}: {format_count(o.rows_out)} rows" for o in snap.operators[-3:])
    state = {T.RUN_SUCCEEDED: "done", T.RUN_FAILED: "FAILED", T.RUN_CANCELLED: "CANCELLED"}.get(snap.state, "running")
    return f"[{snap.name}] {state} {pct}{format_duration(snap.elapsed_s)} {_rows(snap)} | {ops}"


def render_operators(snap: T.ExecutionSnapshot) -> list[str]:
    """The run's line, one line per operator, and the engine's bottleneck ("none" when none)."""
    lines = [render_line(snap)]
    for o in snap.operators:
        bp = f" [{o.backpressure_reason}]" if o.backpressure_reason else ""
        lines.append(
            f"  {o.name[:40]:<40} {o.state:<13} rows {o.rows_out:>10} ({format_rate(o.rows_per_s)}) "
            f"tasks {o.active_tasks} active/{o.tasks_done} done, queued in {o.queued_in_blocks}{bp}"
        )
    # always a line, even "none": redrawing in place needs the same number of lines every frame
    lines.append(f"  bottleneck: {snap.bottleneck if snap.bottleneck is not None else 'none'}")
    return lines


class TerminalProgress:
    def __init__(self, executor: StreamingExecutor, context: DataContext, stream: TextIO | None = None):
        self.executor = executor
        self.context = context
        self.stream = stream or sys.stderr
        self._drawn_lines = 0
        self._thread = threading.Thread(target=self._loop, name="streamscope-progress", daemon=True)

    def start(self) -> "TerminalProgress":
        self._thread.start()
        return self

    def _mode(self) -> str:
        mode = self.context.progress_mode
        if not self.context.enable_progress_bars:
            return "off"
        if mode == "auto":
            try:
                tty = self.stream.isatty()
            except Exception:
                tty = False
            mode = ("operators" if self._per_operator() else "line") if tty else "log"
        if mode == "operators" and not self.context.enable_operator_progress_bars:
            return "line"
        return mode

    def _per_operator(self) -> bool:
        """Ray Data's ``verbose_progress`` (per-operator progress), unless operator lines are off."""
        return bool(self.context.execution_options.verbose_progress) and self.context.enable_operator_progress_bars

    def _loop(self) -> None:
        buf = self.executor.buffer
        last_log = time.time()
        started = last_log
        while True:
            snap = buf.latest()
            mode = self._mode()
            finished = snap is not None and snap.finished
            if snap is not None and mode in ("line", "operators"):
                self._draw(render_operators(snap) if mode == "operators" else [render_line(snap)], final=finished)
            elif snap is not None and mode == "log":
                now = time.time()
                due = (finished and now - started >= self.context.progress_interval_s) or (
                    not finished and now - last_log >= self.context.progress_interval_s)
                if due:
                    last_log = now
                    for line in render_operators(snap) if self._per_operator() else [render_line(snap)]:
                        self._print(line)
            if finished:
                return
            time.sleep(0.1 if mode in ("line", "operators") else 0.25)

    def _print(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except Exception:
            pass

    def _draw(self, lines: list[str], final: bool) -> None:
        try:
            out = self.stream
            if self._drawn_lines:
                out.write("\r" + "\x1b[1A" * (self._drawn_lines - 1))
            out.write("\n".join("\x1b[2K" + line for line in lines))
            self._drawn_lines = len(lines)
            if final:
                out.write("\n")
                self._drawn_lines = 0
            out.flush()
        except Exception:
            pass


def maybe_start_progress(executor: StreamingExecutor, context: DataContext) -> None:
    if not context.enable_progress_bars or context.progress_mode == "off":
        return
    TerminalProgress(executor, context).start()
