"""Logical rules: limit, projection and predicate pushdown, and what the optimizer records."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

import streamscope
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.optimizer import optimize


def ident(row):
    return row


def _kinds(plan):
    return [op.kind for op in plan.operators()]


def test_limit_moves_below_row_preserving_map_and_into_range():
    ds = streamscope.range(1000).map(ident).limit(10)
    result = optimize(ds._plan)
    ops = result.plan.operators()
    assert isinstance(ops[-1], L.MapRows)  # the map now runs on the limited rows
    assert any(isinstance(op, L.Limit) and op.limit == 10 for op in ops)
    assert any(rule == "LimitPushdown" for rule, _ in result.fired)
    assert ds.count() == 10


def test_limit_stays_above_filter_and_flat_map():
    for ds in (streamscope.range(100).filter(lambda r: r["id"] > 50).limit(5),
               streamscope.range(100).flat_map(lambda r: [r, r]).limit(5)):
        plan = optimize(ds._plan).plan
        assert isinstance(plan.dag, L.Limit)
        assert not isinstance(plan.dag.inputs[0], L.Limit)


def test_stacked_limits_merge():
    ds = streamscope.range(100).limit(30).limit(7).limit(50)
    plan = optimize(ds._plan).plan
    limits = [op for op in plan.operators() if isinstance(op, L.Limit)]
    assert limits and all(op.limit == 7 for op in limits)
    assert [r["id"] for r in ds.take_all()] == list(range(7))


def test_limit_runs_udf_on_few_rows(runtime, tmp_path):
    marker = str(tmp_path)

    def tracking(batch):
        open(os.path.join(marker, f"{batch['id'].min()}-{len(batch['id'])}"), "w").close()
        return batch

    ds = streamscope.range(100_000, override_num_blocks=20).map_batches(tracking).limit(5)
    assert [r["id"] for r in ds.take_all()] == list(range(5))
    seen_rows = sum(int(n.split("-")[1]) for n in os.listdir(marker))
    assert seen_rows < 100_000  # upstream stopped early


def test_projection_and_predicate_pushdown_into_parquet(tmp_path, runtime):
    t = pa.table({"a": list(range(100)), "b": [i * 2 for i in range(100)], "c": ["x"] * 100})
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=10)
    ds = streamscope.read_parquet(str(tmp_path)).select_columns(["a", "b"]).filter(expr="a >= 95")
    result = optimize(ds._plan)
    assert _kinds(result.plan) == ["Read"]  # both folded into the scan
    rules = [rule for rule, _ in result.fired]
    assert "ProjectionPushdown" in rules and "PredicatePushdown" in rules
    out = ds.to_pandas().sort_values("a")
    assert list(out.columns) == ["a", "b"]
    assert out["a"].tolist() == [95, 96, 97, 98, 99]
    assert out["b"].tolist() == [190, 192, 194, 196, 198]


def test_pushdown_skipped_for_missing_column(tmp_path, runtime):
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "t.parquet")
    ds = streamscope.read_parquet(str(tmp_path)).filter(expr="nope > 1")
    assert _kinds(optimize(ds._plan).plan) == ["Read", "Filter"]
    try:
        ds.take_all()
    except Exception as exc:  # the error names the column
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected an error naming the missing column")


def test_optimizer_does_not_mutate_the_users_plan():
    ds = streamscope.range(100).map(ident).limit(3)
    before = ds._plan.text()
    optimize(ds._plan)
    assert ds._plan.text() == before
