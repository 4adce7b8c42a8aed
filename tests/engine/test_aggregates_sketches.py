"""ApproximateQuantile and ApproximateTopK: the documented error bounds against numpy / exact
counts, merging across tasks and groups, and the ImportError naming the extra."""

from __future__ import annotations

import builtins
import collections

import numpy as np
import pytest

import streamscope as ss
from streamscope.aggregate import ApproximateQuantile, ApproximateTopK
from streamscope.engine import aggregate_sketches


def test_kll_rank_error_on_100k_values(runtime):
    rng = np.random.default_rng(7)
    values = rng.lognormal(0.0, 1.5, 100_000)
    qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    ds = ss.from_numpy(values).repartition(10)  # 10 partial sketches merged
    for k, eps in [(200, 0.0133), (800, 0.0035)]:
        got = ds.aggregate(ApproximateQuantile("data", qs, quantile_precision=k))["approx_quantile(data)"]
        assert len(got) == len(qs) and got == sorted(got)
        sorted_vals = np.sort(values.astype(np.float32))
        for q, v in zip(qs, got):
            rank = np.searchsorted(sorted_vals, np.float32(v), side="right") / len(values)
            assert abs(rank - q) <= eps, (k, q, rank)
            lo, hi = np.quantile(values, [max(q - eps, 0), min(q + eps, 1)])
            assert lo * (1 - 1e-6) <= v <= hi * (1 + 1e-6)


def test_quantiles_per_group_and_nulls(runtime):
    rows = [{"g": i % 2, "v": float(i) if i % 5 else None} for i in range(200)]
    ds = ss.from_items(rows).repartition(4)
    got = {r["g"]: r["approx_quantile(v)"] for r in ds.groupby("g").aggregate(ApproximateQuantile("v", [0.0, 1.0])).take_all()}
    for g in (0, 1):
        vals = [r["v"] for r in rows if r["g"] == g and r["v"] is not None]
        assert got[g] == [min(vals), max(vals)]  # below K values the sketch is exact at the ends
    empty = ss.from_items([{"v": None}, {"v": None}]).aggregate(ApproximateQuantile("v", [0.5]))
    assert empty == {"approx_quantile(v)": None}


def test_top_k_is_exact_below_capacity(runtime):
    rng = np.random.default_rng(3)
    words = [f"w{int(x)}" for x in rng.zipf(1.7, 20_000) % 300]
    ds = ss.from_items([{"w": w} for w in words]).repartition(8)
    got = ds.aggregate(ApproximateTopK("w", k=5))["approx_topk(w)"]
    want = collections.Counter(words).most_common(5)
    assert [(d["w"], d["count"]) for d in got] == want


def test_top_k_error_bound_above_capacity(runtime):
    rng = np.random.default_rng(5)
    heavy = [f"h{i}" for i in range(5) for _ in range(2000 - i * 100)]
    tail = [f"t{i}" for i in rng.integers(0, 50_000, 40_000)]
    words = heavy + tail
    n, log_capacity = len(words), 8
    ds = ss.from_items([{"w": w} for w in words]).repartition(6)
    got = ds.aggregate(ApproximateTopK("w", k=5, log_capacity=log_capacity))["approx_topk(w)"]
    true = collections.Counter(words)
    assert [d["w"] for d in got] == [f"h{i}" for i in range(5)]
    for d in got:
        assert abs(d["count"] - true[d["w"]]) <= n / 2 ** log_capacity


def test_top_k_encode_lists_and_non_strings(runtime):
    ds = ss.from_items([{"t": [1, 2]}, {"t": [2, 3]}, {"t": [2]}, {"t": None}])
    got = ds.aggregate(ApproximateTopK("t", k=2, encode_lists=True, alias_name="top"))["top"]
    assert got[0] == {"t": 2, "count": 3} and got[1]["count"] == 1
    whole = ds.aggregate(ApproximateTopK("t", k=1))["approx_topk(t)"]
    assert whole[0]["count"] == 1 and whole[0]["t"] in ([1, 2], [2, 3], [2])


def test_arguments_checked_before_running():
    with pytest.raises(ValueError, match="quantiles must be a non-empty list"):
        ApproximateQuantile("v", [1.5])
    with pytest.raises(ValueError, match="k must be a positive int"):
        ApproximateTopK("v", k=0)
    with pytest.raises(TypeError, match="must be numeric"):
        ss.from_items([{"s": "a"}]).aggregate(ApproximateQuantile("s", [0.5]))


def test_missing_datasketches_names_the_extra(monkeypatch):
    real = builtins.__import__

    def no_sketches(name, *args, **kwargs):
        if name == "datasketches":
            raise ImportError("No module named 'datasketches'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sketches)
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[sketches\]'"):
        ApproximateQuantile("v", [0.5])
    with pytest.raises(ImportError, match="datasketches"):
        aggregate_sketches.datasketches()


def test_python_partial_states_through_a_spilling_exchange(runtime, ctx):
    """Sketch and ValueCounter accumulators are binary state values: they spill and merge like
    the built-ins' state columns."""
    import pandas as pd

    from streamscope.aggregate import ValueCounter

    ctx.object_store_capacity_bytes = 256 << 10
    n, groups = 60_000, 300

    def add(batch):
        ids = batch["id"]
        return {"k": (ids * 7919) % groups, "v": (ids % 97).astype(np.float64), "w": ids % 5}

    g = ss.range(n, override_num_blocks=12).map_batches(add).groupby("k").aggregate(
        ApproximateQuantile("v", [0.0, 0.5, 1.0], quantile_precision=200), ValueCounter("w"))
    got = g.to_pandas().set_index("k").sort_index()
    ids = np.arange(n)
    want = pd.DataFrame({"k": (ids * 7919) % groups, "v": (ids % 97).astype(float), "w": ids % 5}).groupby("k")
    assert len(got) == groups
    for k, q in got["approx_quantile(v)"].items():
        vals = want.get_group(k)["v"].to_numpy()
        assert q[0] == vals.min() and q[2] == vals.max()
        rank = (vals <= q[1]).mean()
        assert abs(rank - 0.5) <= 0.0133 + 1 / len(vals)
    for k, vc in got["value_counter(w)"].items():
        assert dict(zip(vc["values"], vc["counts"])) == want.get_group(k)["w"].value_counts().to_dict()
    assert g.stats().spilled_bytes > 0
