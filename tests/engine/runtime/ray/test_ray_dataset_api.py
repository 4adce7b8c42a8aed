"""The Dataset API on both runtimes: each check runs on ``runtime="local"`` and ``runtime="ray"``
against an answer computed independently (pandas/numpy), so both runtimes give identical results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope.engine.exceptions import UserCodeException


def _ids(rows, key="id"):
    return sorted(r[key] for r in rows)


def double(row):
    return {"id": row["id"] * 2}


def add_square(batch):
    batch["sq"] = batch["id"] ** 2
    return batch


def explode(row):
    return [{"id": row["id"]}, {"id": -row["id"]}]


def fail_on_7(row):
    if row["id"] == 7:
        raise ValueError("seven is not allowed")
    return row


class AddOffset:
    """A callable class, run on an actor pool."""

    def __init__(self, offset):
        self.offset = offset

    def __call__(self, batch):
        batch["id"] = batch["id"] + self.offset
        return batch


def test_map_filter_flat_map_count(engine):
    ds = streamscope.range(300, override_num_blocks=6).map(double).filter(lambda r: r["id"] % 3 == 0).flat_map(explode)
    expected = sorted([i * 2 for i in range(300) if (i * 2) % 3 == 0] + [-(i * 2) for i in range(300) if (i * 2) % 3 == 0])
    assert _ids(ds.take_all()) == expected
    assert ds.count() == len(expected)


def test_map_batches_formats(engine):
    ds = streamscope.range(1000, override_num_blocks=4).map_batches(add_square, batch_size=128)
    df = ds.to_pandas().sort_values("id").reset_index(drop=True)
    ref = pd.DataFrame({"id": np.arange(1000)})
    ref["sq"] = ref["id"] ** 2
    pd.testing.assert_frame_equal(df, ref, check_dtype=False)
    pandas_out = streamscope.range(50).map_batches(lambda d: d.assign(half=d["id"] / 2), batch_format="pandas").to_pandas()
    assert sorted(pandas_out["half"]) == [i / 2 for i in range(50)]


def test_limit_take_union_repartition(engine):
    ds = streamscope.range(1000, override_num_blocks=10).map(double)
    assert [r["id"] for r in ds.take(5)] == [0, 2, 4, 6, 8]
    assert ds.limit(17).count() == 17
    both = streamscope.range(10).union(streamscope.range(5).map(lambda r: {"id": r["id"] + 100}))
    assert _ids(both.take_all()) == list(range(10)) + list(range(100, 105))
    rep = streamscope.range(100, override_num_blocks=3).repartition(7).materialize()
    assert rep.num_blocks() == 7 and _ids(rep.take_all()) == list(range(100))


def test_mix_interleaves_by_rows_on_both_runtimes(engine):
    """MixOperator runs no task, so it forwards Ray ObjectRefs as it forwards local blocks."""
    a = streamscope.from_arrow([pa.table({"id": [1, 2]}), pa.table({"id": [3, 4]})])
    b = streamscope.from_arrow([pa.table({"id": [5, 6]}), pa.table({"id": [7, 8]})])
    assert [r["id"] for r in a.mix(b).take_all()] == [1, 2, 5, 6, 3, 4, 7, 8]
    shortest = streamscope.MixStoppingCondition.STOP_ON_SHORTEST
    assert [r["id"] for r in a.mix(b, weights=[3, 1], stopping_condition=shortest).take_all()] == [1, 2, 5, 6, 3, 4]


def test_iter_batches(engine):
    sizes, seen = [], []
    for batch in streamscope.range(1000, override_num_blocks=5).iter_batches(batch_size=300):
        sizes.append(len(batch["id"]))
        seen.extend(batch["id"].tolist())
    assert sum(sizes) == 1000 and max(sizes) <= 300
    assert sorted(seen) == list(range(1000))


def test_read_and_write_parquet(engine, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    frames = [pd.DataFrame({"k": np.arange(i * 100, (i + 1) * 100), "v": np.random.default_rng(i).random(100)}) for i in range(4)]
    for i, f in enumerate(frames):
        pq.write_table(pa.Table.from_pandas(f, preserve_index=False), src / f"part-{i}.parquet")
    ds = streamscope.read_parquet(str(src)).filter(lambda r: r["k"] % 2 == 0).map_batches(lambda b: {**b, "v2": b["v"] * 2})
    out = tmp_path / f"out-{engine.name}"
    ds.write_parquet(str(out))
    back = pq.read_table(str(out)).to_pandas().sort_values("k").reset_index(drop=True)
    ref = pd.concat(frames).query("k % 2 == 0").sort_values("k").reset_index(drop=True)
    ref["v2"] = ref["v"] * 2
    pd.testing.assert_frame_equal(back[["k", "v", "v2"]], ref[["k", "v", "v2"]], check_dtype=False)


def test_tensor_columns(engine):
    ds = streamscope.range_tensor(64, shape=(3, 4), override_num_blocks=4).map_batches(lambda b: {"data": b["data"] * 2})
    data = ds.take_batch(64)["data"]
    assert data.shape == (64, 3, 4)
    order = np.argsort(data[:, 0, 0])
    np.testing.assert_array_equal(data[order], np.stack([np.full((3, 4), 2 * i) for i in range(64)]))


def test_error_names_the_operator(engine):
    with pytest.raises(UserCodeException) as info:
        streamscope.range(20, override_num_blocks=2).map(fail_on_7).take_all()
    assert "Map(fail_on_7)" in str(info.value)
    assert isinstance(info.value, ValueError) and "seven is not allowed" in str(info.value)
    # the runtime is ready for the next run, and the failed run left no block behind
    assert streamscope.range(10).map(double).count() == 10


def test_actor_pool_map_batches(engine):
    # On Ray, actors hold real CPUs: two half-CPU actors leave one of the two CPUs for the reads.
    ds = streamscope.range(200, override_num_blocks=4).map_batches(
        AddOffset, fn_constructor_args=(1000,), compute=streamscope.ActorPoolStrategy(size=2), batch_size=50, num_cpus=0.5)
    assert _ids(ds.take_all()) == list(range(1000, 1200))


def test_materialize_then_reuse(engine):
    mat = streamscope.range(100, override_num_blocks=4).map(double).materialize()
    assert mat.count() == 100
    assert _ids(mat.map(lambda r: {"id": r["id"] + 1}).take_all()) == [i * 2 + 1 for i in range(100)]


def test_same_answers_on_both_runtimes(ray_runtime, ctx):
    """One pipeline, both runtimes, compared to each other row for row."""
    def pipeline():
        return (streamscope.range(500, override_num_blocks=5).map(double).map_batches(add_square)
                .filter(lambda r: r["id"] % 4 == 0).to_pandas().sort_values("id").reset_index(drop=True))

    ctx.runtime = "local"
    local = pipeline()
    ctx.runtime = "ray"
    on_ray = pipeline()
    pd.testing.assert_frame_equal(local, on_ray)


def test_to_dask_and_to_daft_on_each_runtime(engine):
    """The bridges resolve the blocks' references of either runtime (ray.ObjectRefs on Ray) with
    any Dask scheduler and any Daft runner: Dask's threaded default here, Daft's native one."""
    dask = pytest.importorskip("dask")
    daft = pytest.importorskip("daft")
    ds = streamscope.range(12, override_num_blocks=3).map_batches(add_square)
    expected = pd.DataFrame({"id": np.arange(12), "sq": np.arange(12) ** 2})
    ddf = ds.to_dask()
    assert ddf.npartitions == 3
    with dask.config.set(scheduler="threads"):
        got = ddf.compute().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    df = ds.to_daft().sort("id")
    assert df.to_pydict() == {"id": list(range(12)), "sq": [i * i for i in range(12)]}
    assert isinstance(df, daft.DataFrame)
