"""MultiHotEncoder and Categorizer against plain Python / pandas; TorchVisionPreprocessor with a
hand-written torch transform (the torchvision wheel on the package index is a CUDA build whose
operators do not load with the CPU torch the project pins); serialize/deserialize and the public
Preprocessor base."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest
import torch

import streamscope as ss
from streamscope.preprocessors import (
    Categorizer, Chain, MinMaxScaler, MultiHotEncoder, Normalizer, Preprocessor, Tokenizer, TorchVisionPreprocessor,
)

GENRES = [["comedy", "action"], ["drama", "comedy", "comedy"], [], None, ["action"], ["horror", "comedy"]]


@pytest.fixture(scope="module", autouse=True)
def _warm():
    from streamscope.engine.runtime import get_runtime

    get_runtime()


def _genre_ds():
    return ss.from_items([{"id": i, "g": g} for i, g in enumerate(GENRES)]).repartition(3)


def _by_id(ds):
    return ds.to_pandas().sort_values("id").reset_index(drop=True)


def test_multi_hot_encoder_counts_elements():
    p = MultiHotEncoder(["g"]).fit(_genre_ds())
    categories = sorted({x for g in GENRES if g for x in g})
    assert p.stats_ == {"unique_values(g)": {c: i for i, c in enumerate(categories)}}
    out = _by_id(p.transform(_genre_ds()))
    for g, got in zip(GENRES, out["g"]):
        counts = collections.Counter(g or [])
        assert list(got) == [counts[c] for c in categories]


def test_multi_hot_encoder_max_categories_and_scalars():
    p = MultiHotEncoder(["g"], max_categories={"g": 2}, output_columns=["g_enc"]).fit(_genre_ds())
    assert p.stats_ == {"unique_values(g)": {"action": 0, "comedy": 1}}  # the 2 most frequent, sorted
    out = p.transform_batch(pd.DataFrame({"g": [["comedy", "x"], "action"]}))
    assert [list(v) for v in out["g_enc"]] == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="max_categories names column"):
        MultiHotEncoder(["g"], max_categories={"h": 1})


def test_categorizer_matches_pandas():
    df = pd.DataFrame({"id": range(6), "s": ["b", "a", None, "c", "a", "b"], "t": ["x", "y", "x", "y", "x", "y"]})
    fixed = pd.CategoricalDtype(["y", "x"], ordered=True)
    p = Categorizer(["s", "t"], dtypes={"t": fixed}).fit(ss.from_pandas(df).repartition(2))
    assert list(p.stats_["s"].categories) == sorted(df["s"].dropna().unique()) and p.stats_["t"] is fixed
    out = p.transform_batch(df.copy())
    assert out["s"].dtype == pd.CategoricalDtype(["a", "b", "c"]) and out["t"].dtype == fixed
    assert out["s"].cat.codes.tolist() == df["s"].astype(pd.CategoricalDtype(["a", "b", "c"])).cat.codes.tolist()
    rows = _by_id(p.transform(ss.from_pandas(df)))
    assert [None if pd.isna(v) else v for v in rows["s"]] == ["b", "a", None, "c", "a", "b"]


class _Scale(torch.nn.Module):
    """A hand-written torchvision-style transform: tensor in, tensor out."""

    def forward(self, x):
        assert isinstance(x, torch.Tensor)
        return x.float() / 255.0


def test_torchvision_preprocessor_per_image_and_batched():
    images = [np.full((2, 3, 3), i * 10, dtype=np.uint8) for i in range(5)]
    ds = ss.from_items([{"id": i, "img": im} for i, im in enumerate(images)]).repartition(2)
    out = _by_id(TorchVisionPreprocessor(["img"], transform=_Scale(), output_columns=["x"]).transform(ds))
    for im, got in zip(images, out["x"]):
        assert np.allclose(np.asarray(got), im / 255.0)
    seen = []

    def whole_batch(t):
        seen.append(tuple(t.shape))
        return t.sum(dim=(1, 2, 3))

    batched = TorchVisionPreprocessor(["img"], transform=whole_batch, batched=True)
    got = batched.transform_batch({"img": np.stack(images)})
    assert seen == [(5, 2, 3, 3)] and got["img"].tolist() == [int(im.sum()) for im in images]


def test_torchvision_preprocessor_array_fallback_ragged_and_errors():
    def numpy_only(a):
        if isinstance(a, torch.Tensor):
            raise TypeError("wants an ndarray")
        return a[: len(a) // 2 + 1]

    p = TorchVisionPreprocessor(["v"], transform=numpy_only)
    out = p.transform_batch({"v": np.array([np.arange(4), np.arange(4)])})
    assert out["v"].tolist() == [[0, 1, 2], [0, 1, 2]]
    ragged = p.transform_batch({"v": np.array([np.arange(2), np.arange(4)], dtype=object)})
    assert out["v"].dtype != object and ragged["v"].dtype == object and ragged["v"][1].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="must return a torch.Tensor or np.ndarray, got list"):
        TorchVisionPreprocessor(["v"], transform=lambda t: [1]).transform_batch({"v": np.zeros((1, 2))})
    with pytest.raises(ValueError, match="output_columns"):
        TorchVisionPreprocessor(["a", "b"], transform=_Scale(), output_columns=["c"])


def test_serialize_round_trip_keeps_stats_and_functions():
    scaler = MinMaxScaler(["x"]).fit(ss.from_items([{"x": 2.0}, {"x": 6.0}]))
    back = Preprocessor.deserialize(scaler.serialize())
    assert back.stats_ == {"min(x)": 2.0, "max(x)": 6.0} and type(back) is MinMaxScaler
    tok = Preprocessor.deserialize(Tokenizer(["t"], tokenization_fn=lambda s: s.split("-")).serialize())
    assert tok.transform_batch(pd.DataFrame({"t": ["a-b"]}))["t"].tolist() == [["a", "b"]]
    import base64

    assert Preprocessor.deserialize(base64.b64encode(Normalizer(["a"]).serialize()).decode()).norm == "l2"
    with pytest.raises(ValueError, match="not written by Preprocessor.serialize"):
        Preprocessor.deserialize(b"garbage")


def test_public_base_and_chain_with_new_preprocessors():
    assert ss.Preprocessor is Preprocessor
    df = pd.DataFrame({"a": [3.0, 1.0], "b": [4.0, 1.0]})
    chain = Chain(Normalizer(["a", "b"]), MinMaxScaler(["a"]))
    out = chain.fit_transform(ss.from_pandas(df)).to_pandas()
    na = np.array([0.6, 1 / np.sqrt(2)])
    assert np.allclose(sorted(out["a"]), sorted((na - na.min()) / (na.max() - na.min())))


def test_input_and_output_columns_and_has_stats():
    from streamscope.preprocessors import Concatenator, FeatureHasher, LabelEncoder

    assert Normalizer(["a", "b"], output_columns=["x", "y"]).get_output_columns() == ["x", "y"]
    assert FeatureHasher(["a"], num_features=2, output_column="h").get_output_columns() == ["h"]
    assert Concatenator(["a", "b"], output_column_name="f").get_output_columns() == ["f"]
    assert LabelEncoder("y").get_input_columns() == ["y"] and LabelEncoder("y").get_output_columns() == ["y"]
    scaler = MinMaxScaler(["x"])
    assert not scaler.has_stats()
    assert scaler.fit(ss.from_items([{"x": 1.0}])).has_stats()
