"""The rich repr of a lazy Dataset: its name, plan graph, schema when known, and a badge saying
whether it has run.

Why a plain mimebundle and no widget: a Dataset is displayed constantly (every cell that ends with
one), must never execute anything, and must look the same in a saved or exported notebook. So this
is static HTML with the SVG inline (an ``<svg>`` inside ``text/html`` stays an element in
JupyterLab 4) and a readable ``text/plain``.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.plan_graph import PlanGraph

from ._util import esc
from .explain_view import plan_text_and_graph, rules_html, schema_html
from .plan_fallback import fallback_text
from .plan_graph import plan_html


def _graph_and_text(er: Any) -> tuple[Optional[PlanGraph], str]:
    """The plan the user built (logical), falling back to the optimized or physical plan."""
    for attr in ("logical", "optimized", "physical"):
        text, graph = plan_text_and_graph(er, attr)
        if graph is not None or text:
            return graph, text
    return None, ""


def badge_html(executed: bool) -> str:
    if executed:
        return '<span class="streamscope-badge" style="background:#c8efc8;border-radius:3px;padding:0 6px">executed</span>'
    return (
        '<span class="streamscope-badge" title="Lazy: nothing has run yet. Consume it (take, '
        'iter_batches, count, write_*, materialize) to execute." '
        'style="background:#ffe0a3;border-radius:3px;padding:0 6px">not executed</span>'
    )


def dataset_html(name: str, explain_result: Any, binary: Optional[str] = None) -> str:
    graph, _ = _graph_and_text(explain_result)
    executed = bool(getattr(explain_result, "executed", False))
    schema = getattr(explain_result, "schema", None)
    schema_part = (
        f"<div><b>Schema</b>{schema_html(schema)}</div>" if schema is not None
        else '<div style="color:#777">Schema: unknown until executed</div>'
    )
    rules = rules_html(explain_result) if getattr(explain_result, "rules_fired", None) else ""
    return (
        f'<div class="streamscope-dataset"><b>{esc(name)}</b> {badge_html(executed)}'
        f"{plan_html(graph, binary=binary)}{schema_part}{rules}</div>"
    )


def dataset_text(name: str, explain_result: Any) -> str:
    graph, text = _graph_and_text(explain_result)
    executed = bool(getattr(explain_result, "executed", False))
    out = [f"{name} ({'executed' if executed else 'not executed'})"]
    out.append(text.rstrip() if text else (fallback_text(graph) if graph is not None else "(empty plan)"))
    schema = getattr(explain_result, "schema", None)
    if schema is not None:
        try:
            out.append("Schema: " + ", ".join(f"{f.name}: {f.type}" for f in schema))
        except TypeError:
            out.append(f"Schema: {schema}")
    else:
        out.append("Schema: unknown until executed")
    return "\n".join(out)


def dataset_mimebundle(name: str, explain_result: Any, binary: Optional[str] = None) -> dict:
    """``{'text/html': ..., 'text/plain': ...}`` for a Dataset's ``_repr_mimebundle_``.

    Reads only the explain result's attributes; it never executes anything.
    """
    return {"text/html": dataset_html(name, explain_result, binary), "text/plain": dataset_text(name, explain_result)}
