"""Ray Data quickstart snippets, run with ``import streamscope as ray_data``-style replacement.

Some run with the shipped defaults (small plans on driver threads), some on the worker pool."""

from __future__ import annotations

import numpy as np
import pandas as pd

import streamscope as ray_data


def test_quickstart_map_take(inline_ctx):
    assert ray_data.range(1000).map(lambda r: {"id": r["id"] * 2}).take(5) == [{"id": i * 2} for i in range(5)]


def test_quickstart_map_take_on_workers(runtime):
    ds = ray_data.range(1000).map(lambda r: {"id": r["id"] * 2})
    assert ds.take(5) == [{"id": i * 2} for i in range(5)]
    assert ds._last_run.runtime is runtime


def test_quickstart_transform_batches(inline_ctx):
    from typing import Dict

    def transform_batch(batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        vec_a = batch["petal length (cm)"]
        vec_b = batch["petal width (cm)"]
        batch["petal area (cm^2)"] = vec_a * vec_b
        return batch

    df = pd.DataFrame({"petal length (cm)": [1.4, 4.7, 6.0], "petal width (cm)": [0.2, 1.4, 2.5]})
    ds = ray_data.from_pandas(df).map_batches(transform_batch)
    out = ds.to_pandas()
    np.testing.assert_allclose(out["petal area (cm^2)"], df["petal length (cm)"] * df["petal width (cm)"])
    assert ds.schema().names == ["petal length (cm)", "petal width (cm)", "petal area (cm^2)"]


def test_quickstart_iter_batches_and_write(runtime, tmp_path):
    ds = ray_data.from_items([{"food": "spam", "price": 9.34}, {"food": "ham", "price": 5.37},
                              {"food": "eggs", "price": 0.94}])
    prices = sorted(p for b in ds.iter_batches(batch_size=2, batch_format="pandas") for p in b["price"])
    assert prices == [0.94, 5.37, 9.34]
    ds.write_parquet(str(tmp_path / "food"))
    back = ray_data.read_parquet(str(tmp_path / "food"))
    assert sorted(back.to_pandas()["food"]) == ["eggs", "ham", "spam"]
    assert back.count() == 3


def test_quickstart_filter_and_count(inline_ctx):
    ds = ray_data.range(10_000).filter(lambda r: r["id"] % 5 == 0)
    assert ds.count() == 2000
    assert ds._last_run.runtime.name == "inprocess"
