"""The engine's DOT text -> SVG through Graphviz's ``dot`` program, cached.

Why a subprocess and not a Python layout: the engine's DOT is golden-tested and ``dot`` lays it out
well; re-rendering on every live update is the hot path, so results are cached by DOT text. This
module only runs ``dot``: it never reads DOT back. When ``dot`` is missing the views draw the
plan from its ``PlanGraph`` instead (``plan_fallback``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from typing import Optional

INSTALL_DOT = "Install Graphviz to draw the plan graph: apt-get install graphviz (or conda install graphviz, brew install graphviz)."

DOT_BINARY: Optional[str] = None
"""Path of the ``dot`` program; None means ``$STREAMSCOPE_DOT`` or ``dot`` on PATH."""


class GraphvizUnavailable(RuntimeError):
    """The ``dot`` program is missing or failed."""


def dot_binary(binary: Optional[str] = None) -> Optional[str]:
    """Resolve the ``dot`` program: explicit path, module setting, env var, then PATH."""
    cand = binary or DOT_BINARY or os.environ.get("STREAMSCOPE_DOT") or "dot"
    if os.sep in cand:
        return cand if os.path.isfile(cand) and os.access(cand, os.X_OK) else None
    return shutil.which(cand)


def dot_available(binary: Optional[str] = None) -> bool:
    return dot_binary(binary) is not None


@functools.lru_cache(maxsize=256)
def _render_cached(dot_text: str, exe: str, timeout: float) -> str:
    try:
        proc = subprocess.run(
            [exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizUnavailable(f"could not run {exe}: {exc}") from exc
    if proc.returncode != 0:
        raise GraphvizUnavailable(proc.stderr.decode("utf-8", "replace").strip() or "dot failed")
    return _strip_prolog(proc.stdout.decode("utf-8", "replace"))


def _strip_prolog(svg: str) -> str:
    """Drop the XML declaration, DOCTYPE and comments so the SVG can sit inside HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def render_svg(dot_text: str, binary: Optional[str] = None, timeout: float = 10.0) -> str:
    """Render DOT to an SVG string (cached); raises :class:`~streamscope.widgets.graphviz_render.GraphvizUnavailable` without ``dot``."""
    exe = dot_binary(binary)
    if exe is None:
        raise GraphvizUnavailable(INSTALL_DOT)
    return _render_cached(dot_text, exe, timeout)
