"""Dataset.with_column / with_columns with streamscope.expressions (Ray Data 2.60's names):
values from plain Python, missing columns named before anything runs, plan-visible."""

from __future__ import annotations

import pytest

import streamscope
from streamscope.expressions import col, lit


def _rows(ds) -> list[dict]:
    return sorted(ds.take_all(), key=lambda r: r["id"])


def test_with_column_adds_and_replaces_columns_with_vectorized_values():
    ds = streamscope.from_items([{"id": i, "price": 1.5 * i} for i in range(10)], override_num_blocks=3)
    out = _rows(ds.with_column("total", col("price") * lit(2) + col("id")))
    assert [r["total"] for r in out] == [1.5 * i * 2 + i for i in range(10)]
    replaced = _rows(ds.with_column("price", col("price") // lit(1)))
    assert [r["price"] for r in replaced] == [float(int(1.5 * i)) for i in range(10)]
    assert list(replaced[0]) == ["id", "price"]  # the column keeps its place


def test_with_columns_sees_the_input_columns_and_merges_mappings():
    ds = streamscope.range(6)
    out = _rows(ds.with_columns({"id": col("id") * 10, "was_big": col("id") > 3}, {"odd": (col("id") % 2) == 1}))
    assert [r["id"] for r in out] == [i * 10 for i in range(6)]
    assert [r["was_big"] for r in out] == [i > 3 for i in range(6)]  # computed from the old id
    assert [r["odd"] for r in out] == [i % 2 == 1 for i in range(6)]


def test_a_missing_column_is_named_when_the_plan_is_built_or_when_a_block_arrives():
    with pytest.raises(KeyError, match=r"with_column\('x'\).*'nope'"):
        streamscope.range(3).with_column("x", col("nope"))
    opaque = streamscope.range(3).map(lambda row: {"a": row["id"]})  # schema unknown until it runs
    with pytest.raises(Exception, match=r"WithColumns\(x=nope\).*\['nope'\] not found"):
        opaque.with_column("x", col("nope")).take_all()


def test_values_that_are_not_expressions_are_refused():
    with pytest.raises(TypeError, match="must be an expression"):
        streamscope.range(3).with_column("x", lambda row: 1)
    with pytest.raises(TypeError, match="must be mappings from column name to expression, or unnest"):
        streamscope.range(3).with_columns(["x"])
    ds = streamscope.range(3)
    assert ds.with_columns() is ds  # nothing to add: the dataset itself, as Ray Data


def test_expression_columns_show_in_the_plan_and_let_a_limit_move_before_them():
    ds = streamscope.range(100).with_column("y", col("id") + lit(1)).limit(3)
    explained = ds._explain()
    assert "WithColumns(y=id + 1)" in explained.logical.text
    assert any("moved below WithColumns" in note for note in explained.rules_fired)
    assert [r["y"] for r in ds.take()] == [1, 2, 3]
