"""Arguments that were accepted and then dropped now do what Ray Data 2.60's do, or are refused.

Each case was found by listing the parameters of public functions that their bodies never read.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import streamscope as ss
from streamscope.aggregate import AbsMax, Max, Min
from streamscope.preprocessors import MinMaxScaler


def _block_sizes(ds):
    return [len(batch["id"]) for batch in ds.iter_batches(batch_size=None)]


def test_repartition_strict_gives_exact_blocks_but_the_last(ctx):
    ds = ss.range(100, override_num_blocks=7)
    assert _block_sizes(ds.repartition(target_num_rows_per_block=30, strict=True)) == [30, 30, 30, 10]
    loose = _block_sizes(ds.repartition(target_num_rows_per_block=30))
    assert sum(loose) == 100 and max(loose) <= 30
    with pytest.warns(UserWarning, match="strict is ignored"):
        ds.repartition(4, strict=True)
    with pytest.raises(ValueError, match="shuffle must be False"):
        ds.repartition(target_num_rows_per_block=30, shuffle=True)
    with pytest.warns(UserWarning, match="keys is ignored"):
        ds.repartition(target_num_rows_per_block=30, keys=["id"])


def test_map_groups_zero_copy_batch_false_hands_the_udf_writable_arrays(ctx):
    ds = ss.from_items([{"k": i % 2, "v": i} for i in range(6)])

    def bump_in_place(group):
        group["v"] += 100
        return group

    rows = ds.groupby("k").map_groups(bump_in_place, zero_copy_batch=False).take_all()
    assert sorted(r["v"] for r in rows) == [100 + i for i in range(6)]
    with pytest.raises(Exception, match="read-only"):
        ds.groupby("k").map_groups(bump_in_place).take_all()


def test_join_checks_key_types_warns_on_the_size_hint_and_refuses_aggregator_args(ctx):
    left = ss.from_items([{"id": 1, "a": 2}])
    with pytest.raises(ValueError, match="key types differ"):
        left.join(ss.from_items([{"id": "1", "b": 3}]), "inner", validate_schemas=True)
    with pytest.raises(ValueError, match="has no column 'key'"):
        left.join(ss.from_items([{"id": 1}]), "inner", on=("key",), validate_schemas=True)
    joined = left.join(ss.from_items([{"id": 1, "b": 3}]), "inner", validate_schemas=True).take_all()
    assert joined == [{"id": 1, "a": 2, "b": 3}]
    with pytest.warns(DeprecationWarning, match="partition_size_hint"):
        left.join(left, "inner", partition_size_hint=8)
    with pytest.raises(ValueError, match="aggregator_ray_remote_args"):
        left.join(left, "inner", aggregator_ray_remote_args={"num_cpus": 1})


@pytest.mark.parametrize("agg", [Min, Max, AbsMax])
def test_min_max_refuse_a_zero_factory(agg):
    with pytest.raises(ValueError, match="zero_factory"):
        agg("x", zero_factory=lambda: 0)
    assert ss.from_items([{"x": -3}, {"x": 2}]).aggregate(agg("x")) == {
        agg("x").name: {Min: -3, Max: 2, AbsMax: 3}[agg]}


def test_preprocessor_transform_takes_rays_arguments_only(ctx):
    ds = ss.from_items([{"x": float(i)} for i in range(10)])
    out = MinMaxScaler(columns=["x"]).fit_transform(ds, transform_batch_size=3, transform_concurrency=1)
    assert np.allclose(sorted(r["x"] for r in out.take_all()), np.arange(10) / 9)
    scaler = MinMaxScaler(columns=["x"]).fit(ds)
    with pytest.raises(TypeError):
        scaler.transform(ds, batch_sizes=3)  # a typo is an error, not silently nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scaler.transform(ds, batch_size=4).count() == 10
