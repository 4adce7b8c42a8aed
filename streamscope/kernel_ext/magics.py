"""``%dataset`` and ``%%dataset``: the notebook's verbs for plans, runs and settings.

Line magic::

    %dataset explain EXPR [--rules]  explain as tabs (logical / optimized / physical), rules fired;
                                     --rules: each rule's rewrite as a before/after pair of plans
    %dataset stats EXPR              stats of EXPR's last run (a Dataset or a background handle)
    %dataset run EXPR [--background] [--action materialize|count|take_all|to_pandas|to_arrow|consume]
                      [--name NAME]  run with a live view; returns the result (or, with
                                     --background, a RunHandle at once: h = %dataset run ds --background)
    %dataset dashboard               a Bokeh dashboard that follows every run of the session
    %dataset report EXPR PATH        save EXPR's last run (a Dataset or ds.stats()) as one
                                     standalone HTML file: plan, stats, time series
    %dataset replay EXPR             scrub through EXPR's last run with a slider: the plan
                                     graph's colours, edge queues and store memory at time t
    %dataset config KEY=VALUE ...    DataContext.set for each pair; KEY alone prints the value
    %dataset cancel [RUN_ID]         cancel one run, or every active run and background run
    %dataset live on|off             live views for every run a cell triggers (default on)

Cell magic::

    %%dataset [--background] [--name NAME]
    ...cell code...                  a live view for every execution the cell triggers; with
                                     --background the cell runs on a thread and its handle is
                                     bound to ``_dataset_handle``

Why EXPR is not shell-split: expressions carry quotes and spaces (``ds.filter(expr="x > 3")``);
the expression is the text that is not a ``--flag``, evaluated in the user's namespace.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from streamscope.engine.context import DataContext
from streamscope.engine.execution.background import ACTIONS, RunHandle, run_action, run_in_background
from streamscope.engine.execution.stats import DatasetStats
from streamscope.widgets.dashboard import Dashboard
from streamscope.widgets.explain_view import explain_widget
from streamscope.widgets.live import LiveRunView
from streamscope.widgets.report import save_report
from streamscope.widgets.stats_view import stats_widget

USAGE = __doc__.split("Why EXPR")[0].strip()
SUBCOMMANDS = ("explain", "stats", "run", "dashboard", "report", "replay", "config", "cancel", "live")
_VALUE_FLAGS = ("--action", "--name")
_SHOWN_SETTINGS = (
    "progress_mode", "num_workers", "object_store_capacity_bytes", "target_max_block_size",
    "execution_options.preserve_order", "telemetry_interval_s", "runtime",
)


class _Help(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as IPython UsageErrors instead of exiting the kernel."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: Optional[str] = None):
        raise _Help()


def split_expression(rest: str) -> tuple[str, list[str]]:
    """``"ds.limit(5) --background"`` -> ``("ds.limit(5)", ["--background"])``: words starting
    with ``--`` (and the value after ``--action``/``--name``) are flags, the rest the expression."""
    words = rest.split()
    expr: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and word[2:3].isalpha():
            flags.append(word)
            if word in _VALUE_FLAGS and i + 1 < len(words):
                flags.append(words[i + 1])
                i += 1
        else:
            expr.append(word)
        i += 1
    return " ".join(expr), flags


def _run_parser() -> _Parser:
    p = _Parser(prog="%dataset run", add_help=True)
    p.add_argument("--background", action="store_true", help="run on a thread and return its handle")
    p.add_argument("--action", default="materialize", choices=ACTIONS)
    p.add_argument("--name", default=None, help="label of the live view")
    return p


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%dataset", add_help=True)
    p.add_argument("--background", action="store_true", help="run the cell on a thread")
    p.add_argument("--name", default=None, help="label of the live views")
    return p


@magics_class
class DatasetMagics(Magics):
    """The magics; all state lives on the extension object (``self.ext``)."""

    def __init__(self, shell: Any, ext: Any):
        super().__init__(shell)
        self.ext = ext

    # -- entry -----------------------------------------------------------------------------------
    @line_cell_magic
    def dataset(self, line: str, cell: Optional[str] = None):
        try:
            if cell is not None:
                return self._cell(line, cell)
            return self._line(line)
        except _Help:
            return None

    def _line(self, line: str):
        parts = line.strip().split(None, 1)
        if not parts or parts[0] in ("help", "-h", "--help"):
            print(USAGE)
            return None
        cmd, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if cmd not in SUBCOMMANDS:
            raise UsageError(f"%dataset: unknown subcommand {cmd!r}; expected one of {', '.join(SUBCOMMANDS)}")
        return getattr(self, f"_do_{cmd}")(rest)

    # -- display helpers ---------------------------------------------------------------------------
    def _show(self, obj: Any, text: str) -> None:
        if self.ext.widgets:
            from IPython.display import display

            display(obj)
        else:
            print(text)

    def _eval(self, expr: str, what: str) -> Any:
        if not expr:
            raise UsageError(f"%dataset {what}: name the dataset, e.g. %dataset {what} ds")
        return self.shell.ev(expr)

    # -- subcommands -------------------------------------------------------------------------------
    def _do_explain(self, rest: str) -> None:
        expr, flags = split_expression(rest)
        unknown = [f for f in flags if f != "--rules"]
        if unknown:
            raise UsageError(f"%dataset explain: unknown option {unknown[0]}; the only option is --rules")
        rules = "--rules" in flags
        ds = self._eval(expr.strip(), "explain")
        result = ds._explain()
        if self.ext.widgets:
            self._show(explain_widget(result, rules=rules), "")
        else:
            print(result.text() + ("\n" + result.rules_text() if rules else ""))

    def _do_stats(self, rest: str) -> None:
        expr = rest.strip()
        obj = self._eval(expr, "stats")
        snapshot = _snapshot_of(obj)
        if snapshot is None:
            print(f"{expr} has not been executed yet; run it first, e.g. %dataset run {expr}")
            return
        if self.ext.widgets:
            self._show(stats_widget(snapshot), "")
        else:
            print(obj.stats() if hasattr(obj, "stats") else DatasetStats(snapshot))

    def _do_run(self, rest: str) -> Any:
        expr, flags = split_expression(rest)
        args = _run_parser().parse_args(flags)
        ds = self._eval(expr, "run")
        if args.background:
            handle = self.ext.track(run_in_background(ds, args.action, name=args.name))
            if handle.buffer is None:
                print(f"{expr}: answered without running ({handle.state})")
            elif self.ext.widgets:
                view = LiveRunView(handle, name=args.name or handle.buffer.name)
                self.ext.remember(view)
                view.display()
            else:
                print(f"{expr}: running in the background as {handle.run_id}; "
                      "handle.result() waits for it, %dataset cancel stops it")
            return handle
        with self.ext.showing(label=args.name):
            return run_action(ds, args.action)

    def _do_dashboard(self, rest: str) -> None:
        if not self.ext.widgets:
            print("The dashboard needs a Jupyter kernel (JupyterLab or Notebook); here, progress "
                  "is printed to the terminal instead.")
            return
        dash = Dashboard.session()
        self.ext.dashboards.append(dash)
        dash.display()

    def _do_report(self, rest: str) -> None:
        expr, _, path = rest.strip().rpartition(" ")
        if not expr.strip() or not path:
            raise UsageError("%dataset report: name the dataset and the file, e.g. %dataset report ds run.html")
        obj = self._eval(expr.strip(), "report")
        if _snapshot_of(obj) is None and not isinstance(obj, DatasetStats):
            print(f"{expr.strip()} has not been executed yet; run it first, e.g. %dataset run {expr.strip()}")
            return
        print(f"report written to {save_report(obj, path)}")

    def _do_replay(self, rest: str) -> None:
        expr = rest.strip()
        obj = self._eval(expr, "replay")
        if _snapshot_of(obj) is None and not isinstance(obj, DatasetStats):
            print(f"{expr} has not been executed yet; run it first, e.g. %dataset run {expr}")
            return
        stats = obj if isinstance(obj, DatasetStats) else obj.stats()
        view = stats.replay()
        self._show(view, view.text())

    def _do_config(self, rest: str) -> None:
        ctx = DataContext.get_current()
        words = shlex.split(rest)
        if not words:
            for key in _SHOWN_SETTINGS:
                print(f"{key} = {_get_setting(ctx, key)!r}")
            return
        for word in words:
            key, sep, value = word.partition("=")
            if not key:
                raise UsageError(f"%dataset config: expected KEY=VALUE, got {word!r}")
            try:
                if sep:
                    ctx.set(key, value)
                print(f"{key} = {_get_setting(ctx, key)!r}")
            except (AttributeError, ValueError) as exc:
                raise UsageError(f"%dataset config: {exc}") from None

    def _do_cancel(self, rest: str) -> list:
        run_id = rest.strip() or None
        stopped = self.ext.cancel_all(run_id)
        if stopped:
            print("cancelled: " + ", ".join(stopped))
        else:
            print(f"no active run {run_id}" if run_id else "no active runs")
        return None

    def _do_live(self, rest: str) -> None:
        value = rest.strip().lower()
        if value not in ("on", "off"):
            raise UsageError("%dataset live: expected on or off")
        self.ext.live = value == "on"
        print(f"live views {'on' if self.ext.live else 'off'}")

    # -- cell magic ----------------------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> Any:
        args = _cell_parser().parse_args(shlex.split(line))
        if not args.background:
            with self.ext.showing(label=args.name):
                self.shell.run_cell(cell, store_history=False)
            return None
        code = compile(cell, "<%%dataset cell>", "exec")
        user_ns = self.shell.user_ns
        handle = RunHandle(lambda: exec(code, user_ns), name=args.name or "%%dataset cell")
        box = None
        if self.ext.widgets:
            import ipywidgets as w
            from IPython.display import display

            box = w.VBox([w.HTML(value=f"<b>{_esc(args.name or 'cell')}</b> running in the background")])
            display(box)
            handle.add_done_callback(lambda h: _report_end(h, box))
        self.ext.attach_container(handle, box, args.name or "")
        self.ext.track(handle)
        user_ns["_dataset_handle"] = handle
        handle.start(wait_for_run=False)
        if box is None:
            print("cell running in the background as _dataset_handle; %dataset cancel stops it")
        return None


def _esc(text: str) -> str:
    import html

    return html.escape(str(text))


def _report_end(handle: RunHandle, box: Any) -> None:
    """Append one line saying how a background cell ended (its error, if any)."""
    import ipywidgets as w

    colour = "#d9534f" if handle.state in ("failed", "cancelled") else "#5cb85c"
    text = f"background cell {handle.state}"
    if handle.error is not None:
        text += f": {type(handle.error).__name__}: {handle.error}"
    line = w.HTML(value=f'<span class="streamscope-bg-end" style="color:{colour}">{_esc(text)}</span>')
    box.children = tuple(box.children) + (line,)


def _snapshot_of(obj: Any) -> Any:
    """The latest snapshot of a Dataset's last run, or of a background handle's run."""
    run = getattr(obj, "_last_run", None)
    if run is not None:
        run.join(5.0)
        return run.final_snapshot or run.buffer.latest()
    buffer = getattr(obj, "buffer", None)
    return buffer.latest() if buffer is not None else None


def _get_setting(ctx: Any, key: str) -> Any:
    target = ctx
    for part in key.split("."):
        target = getattr(target, part)
    return target


__all__ = ["DatasetMagics", "split_expression", "USAGE"]
