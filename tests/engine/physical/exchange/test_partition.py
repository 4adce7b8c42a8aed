"""The key hash: equal keys meet in one partition across blocks and types; nulls meet too."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from streamscope.engine.physical.exchange.partition import hash_partition, split_by_partition


def test_same_key_same_partition_across_blocks():
    a = pa.table({"k": ["x", "y", None, "z"], "n": [1, 2, None, 3]})
    b = pa.table({"k": pa.array(["z", None, "x"]).dictionary_encode(), "n": [3, None, 1]})
    pa_, pb = hash_partition(a, ["k", "n"], 7), hash_partition(b, ["k", "n"], 7)
    assert pa_[0] == pb[2] and pa_[2] == pb[1] and pa_[3] == pb[0]


def test_float_zero_and_spread():
    t = pa.table({"f": [0.0, -0.0, 1.5]})
    p = hash_partition(t, ["f"], 16)
    assert p[0] == p[1]
    many = hash_partition(pa.table({"i": np.arange(10000)}), ["i"], 8)
    assert np.bincount(many).min() > 1000


def test_split_by_partition_keeps_everything():
    t = pa.table({"i": np.arange(100)})
    parts = split_by_partition(t, hash_partition(t, ["i"], 5), 5)
    assert len(parts) == 5 and sorted(v for p in parts for v in p.column("i").to_pylist()) == list(range(100))
