"""Shared helpers for the notebook views: optional imports, number formatting, state colours.

Why one small module: every view formats rows, bytes and durations the same way and must fail the
same way when an optional package is missing, so the wording lives here once.
"""

from __future__ import annotations

import html
import importlib
import math
from typing import Any, Optional

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


def fmt_count(n: Optional[float]) -> str:
    """1234 -> '1.2k'; keeps small integers exact so tests and people can read them."""
    if n is None:
        return "?"
    n = float(n)
    if math.isnan(n):
        return "?"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{sign}{n / div:.1f}{unit}"
    return f"{sign}{n:.0f}" if n == int(n) else f"{sign}{n:.1f}"


def fmt_bytes(n: Optional[float]) -> str:
    if n is None:
        return "?"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def fmt_seconds(s: Optional[float]) -> str:
    if s is None:
        return "?"
    s = float(s)
    if s < 1:
        return f"{s * 1000:.0f}ms"
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def fmt_rate(rows_per_s: Optional[float]) -> str:
    return f"{fmt_count(rows_per_s)} rows/s"


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
