"""Normalizer, PowerTransformer and UniformKBinsDiscretizer against scikit-learn; the discretizers
against pandas.cut; tokenizer and vectorizers against a plain-Python model of Ray Data's rules
(split on spaces, SHA-256 of the token modulo num_features)."""

from __future__ import annotations

import collections
import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn import preprocessing as skp

import streamscope as ss
from streamscope.preprocessors import (
    CountVectorizer, CustomKBinsDiscretizer, FeatureHasher, HashingVectorizer, Normalizer, PowerTransformer, Tokenizer,
    UniformKBinsDiscretizer,
)

RNG = np.random.default_rng(11)
NUM = pd.DataFrame({"a": RNG.normal(0, 3, 40), "b": RNG.exponential(2, 40), "c": RNG.uniform(-5, 5, 40), "id": np.arange(40)})
DOCS = ["the cat sat", "the dog sat down", None, "a cat and a dog", "the the the", "sat"]


@pytest.fixture(scope="module", autouse=True)
def _warm():
    from streamscope.engine.runtime import get_runtime

    get_runtime()


def _num_ds():
    return ss.from_pandas(NUM).repartition(3)


def _by_id(ds):
    return ds.to_pandas().sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_normalizer_matches_sklearn(norm):
    out = _by_id(Normalizer(["a", "b", "c"], norm=norm).transform(_num_ds()))
    want = skp.Normalizer(norm=norm).fit_transform(NUM[["a", "b", "c"]].to_numpy())
    assert np.allclose(out[["a", "b", "c"]].to_numpy(), want)
    appended = _by_id(Normalizer(["a", "b"], norm=norm, output_columns=["na", "nb"]).transform(_num_ds()))
    assert np.array_equal(appended["a"], NUM["a"]) and "na" in appended


def test_normalizer_zero_row_and_bad_norm():
    out = Normalizer(["x", "y"]).transform_batch(pd.DataFrame({"x": [0.0, 3.0], "y": [0.0, 4.0]}))
    assert np.isnan(out["x"][0]) and out["x"][1] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="Normalizer: norm must be one of"):
        Normalizer(["x"], norm="l3")


@pytest.mark.parametrize("power", [-1.0, 0.0, 0.5, 2.0, 3.0])
def test_yeo_johnson_matches_sklearn(power):
    out = _by_id(PowerTransformer(["a", "c"], power=power).transform(_num_ds()))
    for col in ("a", "c"):
        sk = skp.PowerTransformer(method="yeo-johnson", standardize=False).fit(NUM[[col]].to_numpy())
        sk.lambdas_ = np.array([power])
        assert np.allclose(out[col].to_numpy(), sk.transform(NUM[[col]].to_numpy())[:, 0])


@pytest.mark.parametrize("power", [-0.5, 0.0, 1.5])
def test_box_cox_matches_sklearn(power):
    out = _by_id(PowerTransformer(["b"], power=power, method="box-cox", output_columns=["bb"]).transform(_num_ds()))
    sk = skp.PowerTransformer(method="box-cox", standardize=False).fit(NUM[["b"]].to_numpy())
    sk.lambdas_ = np.array([power])
    assert np.allclose(out["bb"].to_numpy(), sk.transform(NUM[["b"]].to_numpy())[:, 0])
    with pytest.raises(ValueError, match="PowerTransformer: method must be one of"):
        PowerTransformer(["b"], power=1.0, method="log")


@pytest.mark.parametrize("bins", [3, 7])
def test_uniform_kbins_matches_sklearn_and_pandas(bins):
    p = UniformKBinsDiscretizer(["a", "c"], bins=bins).fit(_num_ds())
    out = _by_id(p.transform(_num_ds()))
    sk = skp.KBinsDiscretizer(n_bins=bins, encode="ordinal", strategy="uniform").fit(NUM[["a", "c"]].to_numpy())
    assert np.array_equal(out[["a", "c"]].to_numpy(), sk.transform(NUM[["a", "c"]].to_numpy()))
    for col in ("a", "c"):
        assert np.array_equal(out[col].to_numpy(), pd.cut(NUM[col], bins, labels=False).to_numpy())
        assert len(p.stats_[col]) == bins + 1


def test_uniform_kbins_per_column_bins_and_labels():
    labels = pd.CategoricalDtype(["low", "high"], ordered=True)
    p = UniformKBinsDiscretizer(["a", "c"], bins={"a": 2, "c": 4}, dtypes={"a": labels},
                                output_columns=["a_bin", "c_bin"]).fit(_num_ds())
    out = _by_id(p.transform(_num_ds()))
    want = pd.cut(NUM["a"], 2, labels=["low", "high"])
    assert out["a_bin"].astype(str).tolist() == want.astype(str).tolist()
    assert np.array_equal(out["c_bin"].to_numpy(), pd.cut(NUM["c"], 4, labels=False).to_numpy())
    with pytest.raises(ValueError, match="no entry for column"):
        UniformKBinsDiscretizer(["a", "c"], bins={"a": 2}).fit(_num_ds())
    with pytest.raises(TypeError, match="bins must be a positive int"):
        UniformKBinsDiscretizer(["a"], bins=2.5).fit(_num_ds())


def test_custom_kbins_matches_pandas_cut():
    edges = [-10, -1, 0, 1, 10]
    for right, include_lowest in [(True, False), (False, True)]:
        out = _by_id(CustomKBinsDiscretizer(["a", "c"], bins=edges, right=right, include_lowest=include_lowest)
                     .transform(_num_ds()))
        for col in ("a", "c"):
            want = pd.cut(NUM[col], edges, right=right, include_lowest=include_lowest, labels=False)
            assert out[col].tolist() == pytest.approx(want.tolist(), nan_ok=True)
    interval = pd.IntervalIndex.from_breaks([0, 2, 5])
    x = pd.Series([1.0, 3.0, 7.0])
    out = CustomKBinsDiscretizer(["x"], bins={"x": interval}).transform_batch(pd.DataFrame({"x": x}))
    assert out["x"].astype(str).tolist() == pd.cut(x, interval).astype(str).tolist()  # intervals, as pandas.cut gives
    assert out["x"][0] == pd.Interval(0, 2, closed="right") and pd.isna(out["x"][2])
    with pytest.raises(ValueError, match="duplicates must be one of"):
        CustomKBinsDiscretizer(["x"], bins=[0, 1], duplicates="keep")


# ---- text: a plain-Python model of Ray Data's rules ------------------------------------------
def _ray_hash(token, n):
    return int(hashlib.sha256(str(token).encode()).hexdigest(), 16) % n


def _text_ds():
    return ss.from_items([{"id": i, "t": d} for i, d in enumerate(DOCS)]).repartition(3)


def test_tokenizer():
    out = _by_id(Tokenizer(["t"]).transform(_text_ds()))
    assert [None if v is None else list(v) for v in out["t"]] == [None if d is None else d.split(" ") for d in DOCS]
    upper = Tokenizer(["t"], tokenization_fn=lambda s: s.upper().split(), output_columns=["tok"])
    out = _by_id(upper.transform(_text_ds()))
    assert list(out["tok"][0]) == ["THE", "CAT", "SAT"] and out["t"][0] == "the cat sat"


def test_hashing_vectorizer_follows_rays_hash():
    n = 6
    out = _by_id(HashingVectorizer(["t"], num_features=n).transform(_text_ds()))
    for doc, got in zip(DOCS, out["t"]):
        if doc is None:
            assert got is None
            continue
        want = [0] * n
        for token in doc.split(" "):
            want[_ray_hash(token, n)] += 1
        assert list(got) == want


def test_count_vectorizer_vocabulary_and_counts():
    p = CountVectorizer(["t"]).fit(_text_ds())
    tokens = [tok for d in DOCS if d is not None for tok in d.split(" ")]
    assert p.stats_["token_counts(t)"] == collections.Counter(tokens)
    out = _by_id(p.transform(_text_ds()))
    vocab = [t for t, _ in p.stats_["token_counts(t)"].most_common()]
    assert vocab[:2] == ["the", "sat"]  # 5 and 3 occurrences
    for doc, got in zip(DOCS, out["t"]):
        assert got is None if doc is None else list(got) == [doc.split(" ").count(t) for t in vocab]
    top = CountVectorizer(["t"], max_features=2, output_columns=["counts"]).fit(_text_ds())
    assert dict(top.stats_["token_counts(t)"]) == {"the": 5, "sat": 3}
    assert list(_by_id(top.transform(_text_ds()))["counts"][4]) == [3, 0]


def test_feature_hasher_follows_rays_hash():
    df = pd.DataFrame({"id": range(4), "apple": [1, 0, 2, 3], "banana": [0, 4, 1, 0], "cherry": [5, 5, 0, 1]})
    cols, n = ["apple", "banana", "cherry"], 4
    out = _by_id(FeatureHasher(cols, num_features=n, output_column="h").transform(ss.from_pandas(df).repartition(2)))
    for i, row in df.iterrows():
        want = [0] * n
        for c in cols:
            want[_ray_hash(c, n)] += row[c]
        assert list(out["h"][i]) == want
    assert list(out["apple"]) == [1, 0, 2, 3]  # inputs stay
