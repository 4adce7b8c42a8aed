"""Dataset.to_random_access_dataset: lookups by key against a plain-Python dict of the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import streamscope


@pytest.fixture(params=["local", "in_process"])
def path(request, ctx):
    if request.param == "in_process":
        request.getfixturevalue("inline_ctx")
    return request.param


def test_get_async_and_multiget_match_a_dict(path):
    rng = np.random.default_rng(3)
    keys = rng.permutation(np.arange(0, 3000, 3))  # unique, unsorted, gaps between keys
    values = rng.normal(size=len(keys))
    rows = {int(k): {"key": int(k), "value": float(v)} for k, v in zip(keys, values)}
    ds = streamscope.from_pandas(pd.DataFrame({"key": keys, "value": values}), override_num_blocks=7)
    rad = ds.to_random_access_dataset("key", num_workers=3)
    probes = [int(k) for k in rng.integers(-10, 3010, 400)]
    assert rad.multiget(probes) == [rows.get(k) for k in probes]
    for k in probes[:50]:
        assert streamscope.get(rad.get_async(k)) == rows.get(k)
    text = rad.stats()
    assert text.splitlines()[0] == "RandomAccessDataset:" and "- Num workers: 3" in text


def test_string_keys_and_defaults():
    ds = streamscope.from_items([{"name": n, "n": i} for i, n in enumerate(["pear", "apple", "fig", "kiwi"])])
    rad = ds.to_random_access_dataset("name")
    assert rad.multiget(["fig", "banana", "pear"]) == [{"name": "fig", "n": 2}, None, {"name": "pear", "n": 0}]
    assert "- Num workers: 4" in rad.stats()  # Ray's default: four per node, one node here


def test_accesses_are_counted_per_share():
    rad = streamscope.range(40, override_num_blocks=4).to_random_access_dataset("id", num_workers=2)
    rad.multiget(list(range(40)))  # one access per block touched: 4 blocks over 2 shares
    assert "- Accesses per worker: 2 min, 2 max, 2 mean" in rad.stats()


def test_refusals():
    ds = streamscope.range(5)
    with pytest.raises(ValueError, match="key column 'nope' is not in the dataset's columns"):
        ds.to_random_access_dataset("nope")
    with pytest.raises(ValueError, match="num_workers must be a positive integer"):
        ds.to_random_access_dataset("id", num_workers=0)
    with pytest.raises(ValueError, match="has null values"):
        streamscope.from_arrow(pa.table({"k": [1, None, 3]})).to_random_access_dataset("k")
    empty = streamscope.from_arrow(pa.table({"k": pa.array([], pa.int64())}))
    rad = empty.to_random_access_dataset("k")
    assert rad.multiget([1]) == [None] and streamscope.get(rad.get_async(1)) is None
