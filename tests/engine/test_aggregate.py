"""Aggregations against pandas: grouped and global, nulls, several key types, skewed keys."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamscope as ss
from streamscope.aggregate import AbsMax, AggregateFn, Count, Max, Mean, Min, Quantile, Std, Sum, Unique

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))


def _by_key(rows, key):
    return {r[key]: r for r in rows}


def _close(a, b):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (b is None or (isinstance(b, float) and math.isnan(b)))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_ray_names_and_null_semantics(runtime):
    ds = ss.from_items([{"k": k, "x": x} for k, x in [(1, 1.0), (2, None), (1, 3.0), (3, None), (2, 5.0), (3, None)]])
    rows = _by_key(ds.groupby("k").aggregate(
        Count(), Count("x", ignore_nulls=True), Sum("x"), Sum("x", ignore_nulls=False, alias_name="strict"), Mean("x"), Std("x"),
        Std("x", ddof=0, alias_name="std0"), AbsMax("x"), Quantile("x"), Unique("x")).take_all(), "k")
    # the figures Ray Data 2.60 gives for the same table
    assert rows[1] == {"k": 1, "count()": 2, "count(x)": 2, "sum(x)": 4.0, "strict": 4.0, "mean(x)": 2.0,
                       "std(x)": pytest.approx(2 ** 0.5), "std0": 1.0, "abs_max(x)": 3.0, "quantile(x)": 2.0, "unique(x)": [1.0, 3.0]}
    assert rows[2]["sum(x)"] == 5.0 and rows[2]["strict"] is None and rows[2]["count(x)"] == 1
    assert math.isnan(rows[2]["std(x)"]) and rows[2]["std0"] == 0.0 and rows[2]["unique(x)"] == [None, 5.0]
    assert rows[3]["mean(x)"] is None and rows[3]["std(x)"] is None and rows[3]["count()"] == 2


def test_duplicate_output_names_rejected(runtime):
    with pytest.raises(ValueError, match="alias_name"):
        ss.range(3).groupby("id").aggregate(Sum("id"), Sum("id"))


def test_ignore_nulls_false_makes_null(runtime):
    ds = ss.from_items([{"k": 1, "x": 1.0}, {"k": 1, "x": None}, {"k": 2, "x": 2.0}])
    rows = _by_key(ds.groupby("k").aggregate(Sum("x", ignore_nulls=False), Mean("x", ignore_nulls=False),
                                             Max("x", ignore_nulls=False)).take_all(), "k")
    assert rows[1]["sum(x)"] is None and rows[1]["mean(x)"] is None and rows[1]["max(x)"] is None
    assert rows[2] == {"k": 2, "sum(x)": 2.0, "mean(x)": 2.0, "max(x)": 2.0}
    assert ds.sum("x", ignore_nulls=False) is None and ds.sum("x") == 3.0


def test_global_aggregates(runtime):
    ds = ss.range(100)
    assert ds.sum("id") == 4950 and ds.min("id") == 0 and ds.max("id") == 99
    assert ds.mean("id") == 49.5
    assert ds.std("id") == pytest.approx(np.std(np.arange(100), ddof=1))
    assert ds.sum(["id"]) == {"sum(id)": 4950}
    assert ds.aggregate(Count(), Sum("id")) == {"count()": 100, "sum(id)": 4950}
    assert ss.range(10).filter(lambda r: False).sum("id") is None


def test_custom_aggregate_fn(runtime):
    ds = ss.from_items([{"k": i % 3, "v": i} for i in range(30)]).repartition(4)
    agg = AggregateFn(init=lambda k: [], accumulate_row=lambda a, r: a + [r["v"]], merge=lambda a, b: a + b,
                      finalize=lambda a: sorted(a)[-1], name="biggest")
    rows = _by_key(ds.groupby("k").aggregate(agg, Sum("v")).take_all(), "k")
    assert {k: r["biggest"] for k, r in rows.items()} == {0: 27, 1: 28, 2: 29}
    block_agg = AggregateFn(init=lambda k: 0, accumulate_block=lambda a, b: a + b.num_rows, merge=lambda a, b: a + b, name="n")
    assert ds.aggregate(block_agg) == {"n": 30}


keys = st.one_of(st.integers(-3, 3), st.none())
values = st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.none())


@st.composite
def frames(draw):
    n = draw(st.integers(1, 60))
    kind = draw(st.sampled_from(["int", "str", "float", "skew"]))
    ks = draw(st.lists(keys, min_size=n, max_size=n))
    if kind == "str":
        ks = [None if k is None else f"k{k}" for k in ks]
    elif kind == "float":
        ks = [None if k is None else k / 2 for k in ks]
    elif kind == "skew":
        ks = [0 if i % 5 else k for i, k in enumerate(ks)]
    xs = draw(st.lists(values, min_size=n, max_size=n))
    return list(zip(ks, xs)), draw(st.integers(1, 4))


@SETTINGS
@given(frames())
def test_groupby_matches_pandas(runtime, data):
    pairs, nblocks = data
    ds = ss.from_items([{"k": k, "x": x} for k, x in pairs]).repartition(nblocks)
    got = ds.groupby("k").aggregate(Count(), Sum("x"), Min("x"), Max("x"), Mean("x"), Std("x")).take_all()
    groups: dict = {}
    for k, x in pairs:
        groups.setdefault(k, []).append(x)
    assert sorted(map(repr, (r["k"] for r in got))) == sorted(map(repr, groups))
    for row in got:
        xs = pd.Series(groups[row["k"]], dtype="float64")
        assert row["count()"] == len(xs)
        if xs.count() == 0:
            assert row["sum(x)"] is None and row["mean(x)"] is None and row["min(x)"] is None and row["std(x)"] is None
            continue
        assert _close(row["sum(x)"], float(xs.sum())) and _close(row["mean(x)"], float(xs.mean()))
        assert row["min(x)"] == xs.min() and row["max(x)"] == xs.max()
        want_std = float(xs.std()) if xs.count() > 1 else float("nan")
        assert (math.isnan(want_std) and math.isnan(row["std(x)"])) or math.isclose(row["std(x)"], want_std, rel_tol=1e-6, abs_tol=1e-6)
