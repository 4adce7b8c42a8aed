"""Transforms against independent pandas/numpy computations."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import streamscope
from streamscope import TaskPoolStrategy


def _ids(ds, col="id"):
    return sorted(r[col] for r in ds.take_all())


def test_map_rows(runtime):
    ds = streamscope.range(200).map(lambda r: {"id": r["id"], "sq": r["id"] ** 2})
    df = ds.to_pandas().sort_values("id").reset_index(drop=True)
    expected = pd.DataFrame({"id": np.arange(200), "sq": np.arange(200) ** 2})
    pd.testing.assert_frame_equal(df, expected)


@pytest.mark.parametrize("fmt", ["default", "numpy", "pandas", "pyarrow"])
def test_map_batches_every_batch_format(fmt, runtime):
    seen = []

    def fn(batch):
        if fmt == "pandas":
            assert isinstance(batch, pd.DataFrame)
            return batch.assign(y=batch["id"] * 3)
        if fmt == "pyarrow":
            assert isinstance(batch, pa.Table)
            import pyarrow.compute as pc

            return batch.append_column("y", pc.multiply(batch["id"], 3))
        assert isinstance(batch, dict) and isinstance(batch["id"], np.ndarray)
        return {"id": batch["id"], "y": batch["id"] * 3}

    out = streamscope.range(100).map_batches(fn, batch_format=fmt).to_pandas()
    out = out.sort_values("id").reset_index(drop=True)
    assert (out["y"].to_numpy() == np.arange(100) * 3).all()
    del seen


def test_map_batches_batch_size_exact(runtime):
    def sizes(batch):
        return {"n": np.array([len(batch["id"])])}

    got = sorted(r["n"] for r in streamscope.range(100, override_num_blocks=3).map_batches(sizes, batch_size=16).take_all())
    # 100 rows cut into batches of 16: every batch is full except at most one per input bundle
    assert sum(got) == 100
    assert all(n <= 16 for n in got)
    assert sum(1 for n in got if n < 16) <= 3


def test_map_batches_fn_args_kwargs(runtime):
    def fn(batch, add, *, mul):
        return {"id": (batch["id"] + add) * mul}

    assert _ids(streamscope.range(10).map_batches(fn, fn_args=(1,), fn_kwargs={"mul": 2})) == [(i + 1) * 2 for i in range(10)]


class AddConst:
    instances_per_pid: dict = {}

    def __init__(self, const, *, scale=1):
        self.const = const
        self.scale = scale
        self.pid = os.getpid()

    def __call__(self, batch):
        n = len(batch["id"])
        return {"id": batch["id"] * self.scale + self.const, "inst": np.full(n, f"{self.pid}-{id(self)}")}


def test_map_batches_callable_class_constructor_args(runtime):
    ds = streamscope.range(50, override_num_blocks=10).map_batches(
        AddConst, fn_constructor_args=(5,), fn_constructor_kwargs={"scale": 10}, batch_size=5)
    rows = ds.take_all()
    assert sorted(r["id"] for r in rows) == [i * 10 + 5 for i in range(50)]
    # constructed once per worker process, not once per batch
    instances = {r["inst"] for r in rows}
    assert len(instances) <= len(runtime.workers())
    with pytest.raises(ValueError, match="callable class"):
        streamscope.range(3).map_batches(lambda b: b, fn_constructor_args=(1,))


def test_map_batches_task_pool_strategy_and_num_cpus(runtime):
    ds = streamscope.range(40, override_num_blocks=8).map_batches(
        lambda b: {"id": b["id"] + 1}, compute=TaskPoolStrategy(size=1), num_cpus=0.5)
    assert _ids(ds) == list(range(1, 41))


def test_map_batches_zero_copy_batch_false_gives_writable_arrays(runtime):
    def mutate(batch):
        batch["id"] += 100  # must not raise on a read-only buffer
        return batch

    assert _ids(streamscope.range(20).map_batches(mutate, zero_copy_batch=False)) == list(range(100, 120))


def test_map_batches_bad_return_type_names_operator(runtime):
    def bad(batch):
        return 42

    with pytest.raises(Exception) as info:
        streamscope.range(10).map_batches(bad).take_all()
    assert "MapBatches(bad)" in str(info.value)


def test_flat_map(runtime):
    ds = streamscope.range(10).flat_map(lambda r: [{"v": r["id"]}] * (r["id"] % 3))
    expected = sorted(i for i in range(10) for _ in range(i % 3))
    assert _ids(ds, "v") == expected


def test_filter_fn_and_expr(runtime):
    assert _ids(streamscope.range(100).filter(lambda r: r["id"] % 7 == 0)) == list(range(0, 100, 7))
    assert _ids(streamscope.range(100).filter(expr="id >= 90")) == list(range(90, 100))
    df = pd.DataFrame({"a": np.arange(50), "b": np.arange(50) % 5})
    got = streamscope.from_pandas(df).filter(expr="a > 10 and b == 2").to_pandas()
    expected = df.query("a > 10 and b == 2")
    assert sorted(got["a"]) == sorted(expected["a"])


def test_filter_takes_exactly_one_of_fn_expr():
    with pytest.raises(ValueError):
        streamscope.range(3).filter()
    with pytest.raises(ValueError):
        streamscope.range(3).filter(lambda r: True, expr="id > 1")


def test_add_drop_select_rename_columns(runtime):
    df = pd.DataFrame({"a": np.arange(30), "b": np.arange(30) * 1.5, "c": ["x"] * 30})
    ds = streamscope.from_pandas(df)
    added = ds.add_column("d", lambda b: b["a"] + b["b"]).to_pandas().sort_values("a").reset_index(drop=True)
    np.testing.assert_allclose(added["d"], df["a"] + df["b"])
    assert ds.drop_columns(["c"]).columns() == ["a", "b"]
    assert ds.select_columns(["c", "a"]).columns() == ["c", "a"]
    assert ds.rename_columns({"a": "A"}).columns() == ["A", "b", "c"]
    assert ds.rename_columns(["p", "q", "r"]).to_pandas().columns.tolist() == ["p", "q", "r"]
    with pytest.raises(KeyError, match="zzz"):
        ds.select_columns(["zzz"]).take_all()


def test_limit(runtime):
    assert streamscope.range(1000).limit(17).count() == 17
    rows = streamscope.range(1000, override_num_blocks=10).limit(17).take_all()
    assert [r["id"] for r in rows] == list(range(17))
    assert streamscope.range(5).limit(0).take_all() == []
    # limit after a filter (row count unknown before running)
    got = streamscope.range(1000).filter(lambda r: r["id"] % 2 == 1).limit(5).take_all()
    assert len(got) == 5 and all(r["id"] % 2 == 1 for r in got)


def test_repartition(runtime):
    ds = streamscope.range(100, override_num_blocks=3).repartition(7)
    mat = ds.materialize()
    assert mat.num_blocks() == 7
    assert _ids(mat) == list(range(100))
    by_rows = streamscope.range(100, override_num_blocks=2).repartition(target_num_rows_per_block=30).materialize()
    assert _ids(by_rows) == list(range(100))
    assert all(len(b["id"]) <= 30 for b in by_rows.iter_batches(batch_size=None))


def test_randomize_block_order(runtime):
    ds = streamscope.range(100, override_num_blocks=10).randomize_block_order(seed=1)
    assert _ids(ds) == list(range(100))


def test_union(runtime):
    a = streamscope.range(10)
    b = streamscope.from_items([{"id": 100 + i} for i in range(5)])
    u = a.union(b)
    assert u.count() == 15
    assert _ids(u) == list(range(10)) + list(range(100, 105))


def test_union_preserve_order(runtime, ctx):
    ctx.execution_options.preserve_order = True
    a = streamscope.range(20, override_num_blocks=4).map(lambda r: r)
    b = streamscope.range(5).map(lambda r: {"id": r["id"] + 1000})
    assert [r["id"] for r in a.union(b).take_all()] == list(range(20)) + list(range(1000, 1005))


def test_materialize_reuse_does_not_rerun(runtime, tmp_path):
    marker = tmp_path / "calls"
    marker.mkdir()

    def fn(batch):
        (marker / f"{os.getpid()}-{batch['id'][0]}").touch()
        return batch

    mat = streamscope.range(20, override_num_blocks=4).map_batches(fn).materialize()
    calls = len(os.listdir(marker))
    assert calls >= 1
    assert _ids(mat) == list(range(20))
    assert _ids(mat.map(lambda r: {"id": r["id"] + 1})) == list(range(1, 21))
    assert mat.count() == 20
    assert len(os.listdir(marker)) == calls


def test_set_name(runtime):
    ds = streamscope.range(10)
    ds.set_name("my_ds")
    assert ds.name == "my_ds"
    ds.take_all()
    assert "my_ds" in ds.stats()


def test_map_tensor_columns(runtime):
    ds = streamscope.range(6).map(lambda r: {"id": r["id"], "t": np.full((2, 2), r["id"], dtype=np.float32)})
    rows = sorted(ds.take_all(), key=lambda r: r["id"])
    for r in rows:
        assert isinstance(r["t"], np.ndarray) and r["t"].shape == (2, 2)
        np.testing.assert_array_equal(r["t"], np.full((2, 2), r["id"], dtype=np.float32))
    ragged = streamscope.range(4).map(lambda r: {"id": r["id"], "t": np.arange(r["id"] + 1)})
    got = sorted(ragged.take_all(), key=lambda r: r["id"])
    for r in got:
        np.testing.assert_array_equal(r["t"], np.arange(r["id"] + 1))


@pytest.mark.parametrize("call", [
    lambda ds: ds.select_columns(["x"], num_cpus=2),
    lambda ds: ds.drop_columns(["x"], concurrency=4),
    lambda ds: ds.rename_columns({"x": "y"}, runtime_env={"pip": ["pandas"]}),
])
def test_column_ops_refuse_task_arguments_they_cannot_honour(call):
    with pytest.raises(ValueError, match="has no tasks of its own"):
        call(streamscope.from_items([{"x": i} for i in range(10)]))


def test_column_ops_accept_ray_defaults():
    ds = streamscope.from_items([{"x": i} for i in range(10)]).select_columns(["x"], compute=None, concurrency=None)
    assert sorted(r["x"] for r in ds.take_all()) == list(range(10))
