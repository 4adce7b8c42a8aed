"""Explain as a widget: tabs for the logical, optimized logical and physical plans (fused groups
shown as clusters of the engine's PlanGraph), plus the rules that fired and the pushdowns applied.

Why duck-typed: the view reads only ``dataset_name``, ``logical``/``optimized``/``physical`` (each
with ``.text`` and ``.graph``, a ``PlanGraph``), ``rules_fired``, ``pushdowns``, ``schema`` and
``executed``, so it works on the engine's ``ExplainResult`` and on any test double.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.plan_graph import PlanGraph

from ._util import esc, optional, widget_bundle
from .plan_graph import plan_html

TABS = (("logical", "Logical"), ("optimized", "Optimized logical"), ("physical", "Physical (fused)"))


def plan_text_and_graph(er: Any, attr: str) -> tuple[str, Optional[PlanGraph]]:
    """The ``text`` and ``graph`` of plan ``attr`` (``logical``, ``optimized``, ``physical``)."""
    plan = getattr(er, attr, None)
    if plan is None:
        return "", None
    return getattr(plan, "text", "") or "", getattr(plan, "graph", None)


def plan_tab_html(er: Any, attr: str, binary: Optional[str] = None) -> str:
    text, graph = plan_text_and_graph(er, attr)
    drawn = plan_html(graph, binary=binary) if graph is not None else "<i>no graph</i>"
    return f'{drawn}<pre style="font-size:85%;white-space:pre-wrap">{esc(text)}</pre>'


def schema_html(schema: Any) -> str:
    if schema is None:
        return '<span style="color:#777">schema unknown until executed</span>'
    try:
        rows = "".join(f"<tr><td>{esc(f.name)}</td><td><code>{esc(f.type)}</code></td></tr>" for f in schema)
    except TypeError:
        return f"<pre>{esc(schema)}</pre>"
    return f'<table class="streamscope-schema" style="font-size:90%">{rows}</table>'


def _list_html(title: str, items) -> str:
    items = tuple(items or ())
    if not items:
        return f"<div><b>{esc(title)}:</b> <i>none</i></div>"
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f"<div><b>{esc(title)}:</b><ul style='margin:0'>{lis}</ul></div>"


def rules_html(er: Any) -> str:
    return _list_html("Rules fired", getattr(er, "rules_fired", ())) + _list_html(
        "Pushdowns applied", getattr(er, "pushdowns", ())
    )


def rule_steps_html(er: Any, binary: Optional[str] = None) -> str:
    """Each optimizer rule that fired as a pair of plan graphs, before and after it (what
    ``%dataset explain ds --rules`` shows): the rewrite a rule makes, one at a time."""
    steps = tuple(getattr(er, "rule_steps", ()) or ())
    if not steps:
        return "<div><b>Optimizer rules:</b> <i>no rule fired: the plan runs as written</i></div>"
    cells = []
    for i, step in enumerate(steps, 1):
        pair = "".join(
            f'<div style="flex:1;min-width:0"><div style="color:#777;font-size:85%">{label}</div>'
            f"{plan_html(view.graph, binary=binary)}</div>"
            for label, view in (("before", step.before), ("after", step.after))
        )
        cells.append(f'<div class="streamscope-rule-step" style="margin:6px 0"><b>[{i}] {esc(step.rule)}</b>: '
                     f'{esc(step.note)}<div style="display:flex;gap:16px;align-items:flex-start">{pair}</div></div>')
    return f'<div class="streamscope-rules"><b>Optimizer rules, one rewrite at a time</b>{"".join(cells)}</div>'


def explain_static_html(er: Any, binary: Optional[str] = None) -> str:
    """All three plans stacked (for exports), then rules and pushdowns."""
    name = getattr(er, "dataset_name", "") or "Dataset"
    sections = "".join(
        f"<details {'open' if attr == 'physical' else ''}><summary><b>{esc(label)}</b></summary>"
        f"{plan_tab_html(er, attr, binary)}</details>"
        for attr, label in TABS
    )
    return f'<div class="streamscope-explain"><b>explain: {esc(name)}</b>{sections}{rules_html(er)}</div>'


def explain_text(er: Any) -> str:
    out = [f"explain: {getattr(er, 'dataset_name', '') or 'Dataset'}"]
    for attr, label in TABS:
        text, _ = plan_text_and_graph(er, attr)
        out += [f"-- {label} --", text or "(none)"]
    out.append("Rules fired: " + (", ".join(getattr(er, "rules_fired", ()) or ()) or "none"))
    out.append("Pushdowns applied: " + (", ".join(getattr(er, "pushdowns", ()) or ()) or "none"))
    return "\n".join(out)


class ExplainView:
    """``root`` is a VBox: a Tab (one plan per tab) and the rules/pushdowns lists; with
    ``rules=True`` also each rule's before/after pair of plan graphs."""

    def __init__(self, explain_result: Any, binary: Optional[str] = None, rules: bool = False):
        self.er = explain_result
        self.binary = binary
        self.show_rules = rules
        self.root = None
        w = optional("ipywidgets")
        if w is None:
            return
        self.tabs = w.Tab(children=[w.HTML(value=plan_tab_html(explain_result, attr, binary)) for attr, _ in TABS])
        for i, (_, label) in enumerate(TABS):
            self.tabs.set_title(i, label)
        self.tabs.selected_index = 2
        self.rules = w.HTML(value=rules_html(explain_result))
        name = getattr(explain_result, "dataset_name", "") or "Dataset"
        parts = [w.HTML(value=f"<b>explain: {esc(name)}</b>"), self.tabs, self.rules]
        if rules:
            parts.append(w.HTML(value=rule_steps_html(explain_result, binary)))
        self.root = w.VBox(parts)

    def static_html(self) -> str:
        html = explain_static_html(self.er, self.binary)
        return html + rule_steps_html(self.er, self.binary) if self.show_rules else html

    def text(self) -> str:
        text = explain_text(self.er)
        rules_text = getattr(self.er, "rules_text", None)
        return text + "\n" + rules_text() if self.show_rules and callable(rules_text) else text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return widget_bundle(self.root, self.static_html(), self.text())


def explain_widget(explain_result: Any, binary: Optional[str] = None, rules: bool = False) -> ExplainView:
    """The explain view for an ``ExplainResult``-like object; display it or read ``.root``
    (``rules=True``: with each optimizer rule's before/after plans)."""
    return ExplainView(explain_result, binary, rules)
