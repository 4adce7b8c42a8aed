"""Dataset all-to-all methods against pandas / plain Python: sort, shuffles, join, zip, splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamscope as ss

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


def _nulls_last_key(values, descending):
    """Ray Data's order: nulls after every value, whatever the direction."""
    return sorted(values, key=lambda v: (v is None, v if v is not None else 0), reverse=False) if not descending else (
        sorted([v for v in values if v is not None], reverse=True) + [v for v in values if v is None])


@SETTINGS
@given(st.lists(st.one_of(st.integers(-50, 50), st.none()), min_size=0, max_size=80), st.booleans(), st.integers(1, 5))
def test_sort_matches_python(runtime, values, descending, nblocks):
    ds = ss.from_items([{"k": v, "i": i} for i, v in enumerate(values)]).repartition(nblocks) if values else None
    if ds is None:
        return
    got = [r["k"] for r in ds.sort("k", descending=descending).take_all()]
    assert got == _nulls_last_key(values, descending)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=60))
def test_multi_key_sort_matches_pandas(runtime, rows):
    ds = ss.from_items([{"s": s, "f": f} for s, f in rows]).repartition(3)
    got = [(r["s"], r["f"]) for r in ds.sort(["s", "f"], descending=[True, False]).take_all()]
    df = pd.DataFrame(rows, columns=["s", "f"])
    want = df.sort_values(["s", "f"], ascending=[False, True], na_position="last", kind="stable")
    assert got == [(None if pd.isna(s) else s, f) for s, f in want.itertuples(index=False)]


def test_sort_large_globally_ordered(runtime):
    ds = ss.range(20000).map_batches(lambda b: {"id": b["id"], "r": np.sin(b["id"] * 1.0)})
    out = ds.sort("r", descending=True).to_pandas()
    assert len(out) == 20000 and out["r"].is_monotonic_decreasing


def test_sort_with_boundaries(runtime):
    out = [r["id"] for r in ss.range(100).random_shuffle(seed=3).sort("id", boundaries=[10, 50]).take_all()]
    assert out == list(range(100))


def test_random_shuffle_and_repartition(runtime):
    ds = ss.range(1000)
    shuffled = [r["id"] for r in ds.random_shuffle(seed=7).take_all()]
    assert sorted(shuffled) == list(range(1000)) and shuffled != list(range(1000))
    rep = ds.repartition(5, shuffle=True).materialize()
    assert rep.num_blocks() == 5 and sorted(r["id"] for r in rep.take_all()) == list(range(1000))
    by_key = ss.from_items([{"k": i % 7, "v": i} for i in range(200)]).repartition(3, keys=["k"], sort=True).materialize()
    blocks = [set(t.column("k").to_pylist()) for t in by_key._iter_tables()]
    assert sum(len(b) for b in blocks) == 7  # each key lives in one block
    assert sorted(r["v"] for r in by_key.take_all()) == list(range(200))


def test_random_sample(runtime):
    n = ss.range(10000).random_sample(0.3, seed=1).count()
    assert 2700 < n < 3300
    assert ss.range(100).random_sample(0.0).count() == 0


@pytest.mark.parametrize("how,pandas_how", [("inner", "inner"), ("left_outer", "left"), ("right_outer", "right"),
                                            ("full_outer", "outer")])
def test_join_matches_pandas(runtime, how, pandas_how):
    left = pd.DataFrame({"id": [1, 2, 3, 4, 4, 6], "a": list("abcdef")})
    right = pd.DataFrame({"id": [2, 4, 5, 6, 6], "b": [20.0, 40.0, 50.0, 60.0, 61.0]})
    got = ss.from_pandas(left).join(ss.from_pandas(right), how, 3, on=("id",)).to_pandas()
    want = left.merge(right, on="id", how=pandas_how)
    key = ["id", "a", "b"]
    norm = lambda df: sorted(tuple(None if pd.isna(v) else v for v in row) for row in df[key].itertuples(index=False))
    assert norm(got) == norm(want)


def test_join_right_on_and_suffixes(runtime):
    left = ss.from_items([{"id": i, "v": i} for i in range(5)])
    right = ss.from_items([{"rid": i, "v": i * 10} for i in range(3, 8)])
    rows = sorted(left.join(right, "inner", 2, on=("id",), right_on=("rid",), left_suffix="_l", right_suffix="_r").take_all(),
                  key=lambda r: r["id"])
    assert [(r["id"], r["v_l"], r["v_r"]) for r in rows] == [(3, 3, 30), (4, 4, 40)]


def test_zip(runtime, ctx):
    ctx.execution_options.preserve_order = True  # upstream repartitions keep row order only then
    a = ss.range(50).repartition(3)
    b = ss.range(50).map(lambda r: {"id": r["id"] * 2, "y": 1}).repartition(4)
    rows = a.zip(b).take_all()
    assert [(r["id"], r["id_1"], r["y"]) for r in rows] == [(i, 2 * i, 1) for i in range(50)]
    with pytest.raises(ValueError, match="different numbers of rows"):
        a.zip(ss.range(49)).take_all()


def test_splits(runtime, ctx):
    ctx.execution_options.preserve_order = True
    ds = ss.range(10).repartition(3)
    parts = ds.split_at_indices([2, 5, 20])
    assert [[r["id"] for r in p.take_all()] for p in parts] == [[0, 1], [2, 3, 4], [5, 6, 7, 8, 9], []]
    assert [p.count() for p in ds.split(3)] == [3, 3, 4]
    assert [p.count() for p in ds.split(3, equal=True)] == [3, 3, 3]
    assert [p.count() for p in ds.split_proportionately([0.2, 0.5])] == [2, 5, 3]
    train, test = ds.train_test_split(0.3)
    assert [r["id"] for r in train.take_all()] == list(range(7)) and test.count() == 3
    train, test = ds.train_test_split(2, shuffle=True, seed=1)
    assert sorted(r["id"] for r in train.take_all() + test.take_all()) == list(range(10)) and test.count() == 2


def test_unique(runtime):
    ds = ss.from_items([{"x": v} for v in [3, None, 1, 3, 2]])
    assert ds.unique("x") == [None, 1, 2, 3]
    assert ds.unique("x", ignore_nulls=True) == [1, 2, 3]


@pytest.mark.parametrize("fmt", ["default", "numpy", "pandas", "pyarrow"])
def test_map_groups_formats(runtime, fmt):
    ds = ss.from_items([{"k": i % 4, "v": i} for i in range(40)]).repartition(3)

    def fn(batch):
        if fmt == "pandas":
            return pd.DataFrame({"k": [batch["k"].iloc[0]], "total": [batch["v"].sum()]})
        if fmt == "pyarrow":
            return {"k": [batch.column("k")[0].as_py()], "total": [sum(batch.column("v").to_pylist())]}
        return {"k": batch["k"][:1], "total": np.array([batch["v"].sum()])}

    rows = sorted(ds.groupby("k").map_groups(fn, batch_format=fmt).take_all(), key=lambda r: r["k"])
    assert [(r["k"], r["total"]) for r in rows] == [(k, sum(range(k, 40, 4))) for k in range(4)]


def test_groupby_methods_and_keys(runtime):
    df = pd.DataFrame({"a": [1, 1, 2, 2, 2], "b": ["x", "y", "x", "x", None], "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    ds = ss.from_pandas(df)
    assert sorted((r["a"], r["count()"]) for r in ds.groupby("a").count().take_all()) == [(1, 2), (2, 3)]
    rows = {(r["a"], r["b"]): r["sum(v)"] for r in ds.groupby(["a", "b"]).sum("v").take_all()}
    assert rows == {(1, "x"): 1.0, (1, "y"): 2.0, (2, "x"): 7.0, (2, None): 5.0}
    means = {r["a"]: r["mean(v)"] for r in ds.groupby("a").mean("v").take_all()}
    assert means == {1: 1.5, 2: 4.0}
    assert {r["a"]: r["std(v)"] for r in ds.groupby("a").std("v", ddof=0).take_all()}[1] == 0.5
    assert ds.groupby("a").min(["v"]).count() == 2 and ds.groupby("a").max("v").count() == 2


def test_plan_and_stats_show_exchange(runtime):
    ds = ss.range(1000).groupby("id").count()
    ds.count()
    text = repr(ds)
    assert "Aggregate" in text
    ops = ds.stats().operators
    assert any("Aggregate" in o.name for o in ops)
