"""Shared helpers for the notebook views: optional imports, HTML escaping, state colours.

Why one small module: every view must fail the same way when an optional package is missing, so
the wording lives here once. Numbers are formatted by :mod:`streamscope.engine.units`, the one
units module of the project (``fmt_count`` and ``fmt_rate`` below are that module's functions,
kept under these names because the plan-graph view imports them from here).
"""

from __future__ import annotations

import html
import importlib
from typing import Any, Optional

from streamscope.engine.units import format_count as fmt_count  # noqa: F401  (plan_graph.py)
from streamscope.engine.units import format_rate as fmt_rate  # noqa: F401  (plan_graph.py)

INSTALL_HINT = "pip install streamscope[notebook]"

# Fill colours for operator states (used by the plan graph, the progress rows and the legend).
STATE_COLORS = {
    "pending": "#eeeeee",
    "running": "#cfe8ff",
    "backpressured": "#ffe0a3",
    "done": "#c8efc8",
    "failed": "#ffc4c4",
    "cancelled": "#e0d0d0",
}


class MissingDependency(ImportError):
    """An optional notebook package is missing; the message says what to install."""


def require(module: str, feature: str = "this view") -> Any:
    """Import an optional package or raise an error that names the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching sys.modules
        raise MissingDependency(
            f"{feature} needs the '{module.split('.')[0]}' package: {INSTALL_HINT}"
        ) from exc


def optional(module: str) -> Optional[Any]:
    """Import an optional package, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def has_widgets() -> bool:
    """True when ipywidgets can be imported (a widget manager may still be absent)."""
    return optional("ipywidgets") is not None


def in_kernel() -> bool:
    """True inside an IPython kernel, where a widget manager can exist on the front end."""
    try:
        from IPython import get_ipython  # type: ignore
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def widget_bundle(widget: Any, static_html: str, plain: str) -> dict:
    """A mimebundle with the live widget view plus static HTML and text fallbacks.

    Why both: JupyterLab shows the widget; nbconvert drops a widget view whose state was not
    saved and falls back to ``text/html``; a console shows ``text/plain``.
    """
    bundle: dict = {}
    if widget is not None:
        try:
            got = widget._repr_mimebundle_()
        except Exception:
            got = None
        if isinstance(got, tuple):
            got = got[0]
        if got:
            bundle.update(got)
    bundle["text/html"] = static_html
    bundle["text/plain"] = plain
    return bundle
