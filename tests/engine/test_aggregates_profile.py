"""CountDistinct, AsList, ValueCounter, MissingValuePercentage, ZeroPercentage and
VectorizedAggregateFnV2 against pandas / plain Python, grouped and global, across many blocks
(so partial states combine across tasks) and through a spilling exchange."""

from __future__ import annotations

import collections
import math

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

import streamscope as ss
from streamscope.aggregate import (
    AsList, CountDistinct, MissingValuePercentage, Sum, ValueCounter, VectorizedAggregateFnV2, ZeroPercentage,
)

ROWS = [{"k": k, "v": v} for k, v in
        [(1, 0.0), (1, None), (1, float("nan")), (2, 2.0), (2, 0.0), (1, 0.0), (3, None), (2, 2.0), (1, 5.0)]]


def _ds(parts=4):
    return ss.from_items(ROWS).repartition(parts)


def _values(k=None):
    return [r["v"] for r in ROWS if k is None or r["k"] == k]


def _isnan(x):
    return isinstance(x, float) and math.isnan(x)


def _pct(part, whole):
    return None if whole == 0 else part / whole * 100.0


def test_default_names_are_rays(runtime):
    out = _ds().aggregate(CountDistinct("v"), AsList("v"), ValueCounter("v"), MissingValuePercentage("v"), ZeroPercentage("v"))
    assert list(out) == ["count_distinct(v)", "list(v)", "value_counter(v)", "missing_pct(v)", "zero_pct(v)"]
    out = _ds().aggregate(CountDistinct("v", alias_name="n"), ZeroPercentage("v", alias_name="z"))
    assert list(out) == ["n", "z"]


def test_global_results_match_plain_python(runtime):
    vals = _values()
    valid = [v for v in vals if v is not None]
    out = _ds().aggregate(CountDistinct("v"), CountDistinct("v", ignore_nulls=False, alias_name="cd_all"),
                          MissingValuePercentage("v"), ZeroPercentage("v"),
                          ZeroPercentage("v", ignore_nulls=False, alias_name="z_all"), AsList("v"),
                          AsList("v", ignore_nulls=True, alias_name="l_valid"))
    distinct_valid = {v for v in valid if not _isnan(v)} | ({"nan"} if any(_isnan(v) for v in valid) else set())
    assert out["count_distinct(v)"] == len(distinct_valid) == 4  # 0, 2, 5, NaN
    assert out["cd_all"] == len(distinct_valid) + 1  # null is one more value
    missing = sum(v is None or _isnan(v) for v in vals)
    assert out["missing_pct(v)"] == pytest.approx(_pct(missing, len(vals)))
    zeros = sum(v == 0 for v in valid)
    assert out["zero_pct(v)"] == pytest.approx(_pct(zeros, len(valid)))
    assert out["z_all"] == pytest.approx(_pct(zeros, len(vals)))
    key = lambda v: (v is None, _isnan(v), v if isinstance(v, float) and not _isnan(v) else 0)
    assert sorted(out["list(v)"], key=key) == pytest.approx(sorted(vals, key=key), nan_ok=True)
    assert len(out["list(v)"]) == len(vals)
    assert sorted(out["l_valid"], key=key) == pytest.approx(sorted(valid, key=key), nan_ok=True)


def test_value_counter_matches_pandas(runtime):
    words = ["a", "b", "a", None, "c", "a", "b", None, "d"]
    ds = ss.from_items([{"w": w} for w in words]).repartition(3)
    out = ds.aggregate(ValueCounter("w"))["value_counter(w)"]
    got = dict(zip(out["values"], out["counts"]))
    want = pd.Series(words, dtype=object).value_counts(dropna=False)
    assert got == {(None if pd.isna(k) else k): int(c) for k, c in want.items()}
    assert len(out["values"]) == len(set(out["values"]))


def test_grouped_results_match_pandas(runtime):
    rows = {r["k"]: r for r in _ds().groupby("k").aggregate(
        CountDistinct("v"), MissingValuePercentage("v"), ZeroPercentage("v"), ValueCounter("v"),
        AsList("v", ignore_nulls=True)).take_all()}
    df = pd.DataFrame(ROWS)
    for k, group in df.groupby("k"):
        vals = _values(k)
        valid = [v for v in vals if v is not None]
        r = rows[k]
        assert r["count_distinct(v)"] == len({"nan" if _isnan(v) else v for v in valid})  # NaN is a value, null is not
        assert r["missing_pct(v)"] == pytest.approx(group["v"].isna().mean() * 100)
        want_zero = _pct(sum(v == 0 for v in valid), len(valid))
        assert (r["zero_pct(v)"] is None and want_zero is None) or r["zero_pct(v)"] == pytest.approx(want_zero)
        counts = collections.Counter("nan" if _isnan(v) else v for v in vals)
        got = collections.Counter()
        for v, c in zip(r["value_counter(v)"]["values"], r["value_counter(v)"]["counts"]):
            got["nan" if _isnan(v) else v] += c
        assert got == counts
        assert len(r["list(v)"]) == len(valid)
    assert rows[3]["zero_pct(v)"] is None and rows[3]["missing_pct(v)"] == 100.0 and rows[3]["count_distinct(v)"] == 0


def test_bad_columns_are_named(runtime):
    with pytest.raises(TypeError, match="CountDistinct: on must be a column name"):
        CountDistinct(["v"])
    with pytest.raises(KeyError, match="no column 'nope'"):
        _ds().aggregate(ValueCounter("nope"))
    with pytest.raises(TypeError, match="zero_pct\\(s\\): column 's' must be numeric"):
        ss.from_items([{"s": "x"}]).aggregate(ZeroPercentage("s"))


class _Total(VectorizedAggregateFnV2):
    def __init__(self, on):
        super().__init__(f"total({on})", zero_factory=lambda: 0, on=on, ignore_nulls=True)

    def aggregate_block(self, block):
        return pc.sum(block[self.get_target_column()]).as_py() or 0

    def _combine_column(self, accumulator_col):
        return pc.sum(accumulator_col).as_py()


def test_vectorized_custom_aggregate_combines_across_tasks(runtime):
    ds = ss.range(1000).repartition(7).map_batches(lambda b: {"id": b["id"], "k": b["id"] % 3})
    rows = {r["k"]: r["total(id)"] for r in ds.groupby("k").aggregate(_Total("id")).take_all()}
    ids = np.arange(1000)
    assert rows == {k: int(ids[ids % 3 == k].sum()) for k in range(3)}


def test_many_groups_through_a_spilling_exchange(runtime, ctx):
    ctx.object_store_capacity_bytes = 1 << 20
    n, groups = 120_000, 5_000

    def add(batch):
        ids = batch["id"]
        return {"k": (ids * 7919) % groups, "v": (ids % 4).astype(np.float64), "w": ids % 11}

    ds = ss.range(n, override_num_blocks=12).map_batches(add)
    g = ds.groupby("k").aggregate(CountDistinct("w"), ZeroPercentage("v"), MissingValuePercentage("v"), Sum("v"))
    got = g.to_pandas().set_index("k").sort_index()
    ids = np.arange(n)
    want = pd.DataFrame({"k": (ids * 7919) % groups, "v": (ids % 4).astype(float), "w": ids % 11}).groupby("k")
    assert len(got) == groups
    assert (got["count_distinct(w)"].to_numpy() == want["w"].nunique().to_numpy()).all()
    assert np.allclose(got["zero_pct(v)"].to_numpy(), (want["v"].apply(lambda s: (s == 0).mean() * 100)).to_numpy())
    assert (got["missing_pct(v)"] == 0.0).all()
    assert g.stats().spilled_bytes > 0


def test_unique_encode_lists_flattens(runtime):
    from streamscope.aggregate import Unique

    rows = [{"k": 1, "t": [3, 1]}, {"k": 1, "t": [1, 2]}, {"k": 2, "t": [None, 4]}, {"k": 2, "t": None}, {"k": 2, "t": [4]}]
    ds = ss.from_items(rows).repartition(3)
    got = {r["k"]: r["unique(t)"] for r in ds.groupby("k").aggregate(Unique("t", encode_lists=True)).take_all()}
    for k in (1, 2):
        elements = {e for r in rows if r["k"] == k and r["t"] is not None for e in r["t"]}
        assert got[k] == ([None] if None in elements else []) + sorted(e for e in elements if e is not None)
    flat = ds.aggregate(Unique("t", encode_lists=Unique.ListEncodingMode.FLATTEN, ignore_nulls=True))
    assert flat == {"unique(t)": [1, 2, 3, 4]}
    with pytest.raises(ValueError, match="HASH is not supported"):
        Unique("t", encode_lists=Unique.ListEncodingMode.HASH)
    with pytest.raises(TypeError, match="encode_lists must be a bool"):
        Unique("t", encode_lists="yes")
