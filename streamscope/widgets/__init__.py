"""Notebook views of streamscope: plan graphs, live progress, the Bokeh dashboard, stats, explain.

Every view reads only telemetry snapshots (``streamscope.engine.execution.telemetry``) and plan
graphs (``streamscope.engine.plan_graph.PlanGraph``), so each can be driven by a synthetic snapshot
stream. ipywidgets, bokeh, jupyter_bokeh and graphviz are optional (``pip install
streamscope[notebook]``) and imported only when a view is built; this package's import is cheap
because names below load their module on first access.

Entry points: ``LiveRunView(handle).display()``, ``Dashboard(handle)``, ``Dashboard.session()``,
``stats_widget(snapshot)``, ``explain_widget(explain_result)``,
``dataset_mimebundle(name, explain_result)``, ``render_svg(dot)`` / ``render_html(plan_graph)``,
``PlanGraphView``, ``ProgressView``, ``SnapshotPoller``, ``ReplayView(stats.history)``,
``save_report(ds, path)``. The bottleneck and the whole-run progress
they show are the snapshot's own fields, computed once by the engine.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "LiveRunView": "live",
    "Dashboard": "dashboard",
    "ensure_bokeh_loaded": "dashboard",
    "ProgressView": "progress",
    "PlanGraphView": "plan_graph",
    "live_dot": "plan_live",
    "StatsView": "stats_view",
    "stats_widget": "stats_view",
    "ExplainView": "explain_view",
    "explain_widget": "explain_view",
    "dataset_mimebundle": "dataset_view",
    "SnapshotPoller": "throttle",
    "render_svg": "graphviz_render",
    "render_html": "plan_graph",
    "ReplayView": "replay",
    "save_report": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
