"""Preprocessors against pandas/numpy, with Ray Data's stats_ names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import streamscope as ss
from streamscope.preprocessors import (
    Chain, Concatenator, LabelEncoder, MaxAbsScaler, MinMaxScaler, OneHotEncoder, OrdinalEncoder,
    PreprocessorNotFittedException, RobustScaler, SimpleImputer, StandardScaler,
)

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0, -4.0], "b": [5, 5, 5, 5, 5], "c": ["x", "y", "x", "z", "x"]})


@pytest.fixture(scope="module", autouse=True)
def _warm():
    from streamscope.engine.runtime import get_runtime

    get_runtime()


def _ds():
    return ss.from_pandas(DF).repartition(2)


def test_standard_scaler():
    p = StandardScaler(["a", "b"])
    out = p.fit_transform(_ds()).to_pandas().sort_values("c", kind="stable")
    assert p.stats_["mean(a)"] == pytest.approx(DF["a"].mean()) and p.stats_["std(a)"] == pytest.approx(DF["a"].std(ddof=0))
    want = (DF["a"] - DF["a"].mean()) / DF["a"].std(ddof=0)
    assert sorted(out["a"]) == pytest.approx(sorted(want)) and set(out["b"]) == {0.0}


def test_min_max_and_max_abs_and_robust():
    out = MinMaxScaler(["a"], output_columns=["a2"]).fit_transform(_ds()).to_pandas()
    assert sorted(out["a2"]) == pytest.approx(sorted((DF["a"] + 4) / 14)) and "a" in out
    out = MaxAbsScaler(["a"]).fit_transform(_ds()).to_pandas()
    assert sorted(out["a"]) == pytest.approx(sorted(DF["a"] / 10))
    p = RobustScaler(["a"]).fit(_ds())
    q1, med, q3 = np.quantile(DF["a"], [0.25, 0.5, 0.75])
    assert (p.stats_["low_quantile(a)"], p.stats_["median(a)"], p.stats_["high_quantile(a)"]) == pytest.approx((q1, med, q3))


def test_encoders():
    p = OneHotEncoder(["c"]).fit(_ds())
    assert p.stats_ == {"unique_values(c)": {"x": 0, "y": 1, "z": 2}}
    out = p.transform_batch(DF.copy())
    assert [list(v) for v in out["c"]] == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    top = OneHotEncoder(["c"], max_categories={"c": 1}).fit(_ds())
    assert top.stats_ == {"unique_values(c)": {"x": 0}}
    out = OrdinalEncoder(["c"]).fit_transform(_ds()).to_pandas()
    assert sorted(out["c"].tolist()) == [0, 0, 0, 1, 2]
    le = LabelEncoder("c").fit(_ds())
    assert le.transform_batch(pd.DataFrame({"c": ["z", "x"]}))["c"].tolist() == [2, 0]


def test_imputer_and_not_fitted():
    df = pd.DataFrame({"a": [1.0, None, 3.0], "s": ["u", None, "u"]})
    with pytest.raises(PreprocessorNotFittedException):
        SimpleImputer(["a"]).transform(ss.from_pandas(df))
    out = SimpleImputer(["a"]).fit_transform(ss.from_pandas(df)).to_pandas()
    assert sorted(out["a"]) == [1.0, 2.0, 3.0]
    out = SimpleImputer(["s"], strategy="most_frequent").fit_transform(ss.from_pandas(df)).to_pandas()
    assert out["s"].tolist() == ["u", "u", "u"]
    out = SimpleImputer(["a"], strategy="constant", fill_value=0.0).transform(ss.from_pandas(df)).to_pandas()
    assert out["a"].tolist() == [1.0, 0.0, 3.0]


def test_concatenator_and_chain():
    out = Concatenator(["a", "b"], output_column_name="x").transform(ss.from_pandas(DF)).to_pandas()
    assert list(out.columns) == ["c", "x"] and list(out["x"].iloc[0]) == [1.0, 5.0]
    chain = Chain(StandardScaler(["a"]), MinMaxScaler(["a"]))
    out = chain.fit_transform(_ds()).to_pandas()
    assert min(out["a"]) == pytest.approx(0.0) and max(out["a"]) == pytest.approx(1.0)
    assert chain.transform_batch(DF.copy())["a"].max() == pytest.approx(1.0)
