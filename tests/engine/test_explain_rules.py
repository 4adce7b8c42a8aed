"""explain(rules=True): each optimizer rule's rewrite as the whole plan before and after it, in the
order the rules fired, ending at the optimized plan."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

import streamscope as ss
from streamscope.widgets.explain_view import explain_widget, rule_steps_html


def _parquet(tmp_path):
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), tmp_path / "f.parquet")
    return ss.read_parquet(str(tmp_path)).filter(expr="a > 1").select_columns(["a"])


def test_each_rule_is_a_before_after_pair_chaining_to_the_optimized_plan(tmp_path):
    result = _parquet(tmp_path)._explain()
    steps = result.rule_steps
    assert [s.rule for s in steps] == ["PredicatePushdown", "ProjectionPushdown"]
    assert steps[0].before.text == result.logical.text  # the first rewrite starts from the plan as written
    assert steps[0].after.text == steps[1].before.text  # each starts where the last ended
    assert steps[-1].after.text == result.optimized.text  # and the last ends at the optimized plan
    assert "Filter" in steps[0].before.text and "Filter" not in steps[0].after.text
    assert [f"{s.rule}: {s.note}" for s in steps] == list(result.rules_fired)


def test_explain_prints_the_steps_only_when_asked(tmp_path, capsys):
    ds = _parquet(tmp_path)
    ds.explain()
    assert "Optimizer rules" not in capsys.readouterr().out
    ds.explain(rules=True)
    out = capsys.readouterr().out
    assert "[1] PredicatePushdown: filter a > 1 pushed into ReadParquet" in out and "[2] ProjectionPushdown" in out
    ss.range(3).explain(rules=True)
    assert "no rule fired" in capsys.readouterr().out


def test_the_rules_view_draws_a_graph_pair_per_rule(tmp_path):
    result = _parquet(tmp_path)._explain()
    html = rule_steps_html(result)
    assert html.count('class="streamscope-rule-step"') == 2 and html.count(">before<") == 2
    view = explain_widget(result, rules=True)
    assert "PredicatePushdown" in view.static_html() and "[2] ProjectionPushdown" in view.text()
    assert "Optimizer rules" not in explain_widget(result).static_html()
