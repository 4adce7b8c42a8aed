"""The refs API: to_arrow_refs / to_pandas_refs / to_numpy_refs / get_internal_block_refs /
iter_internal_ref_bundles, from_arrow_refs / from_pandas_refs / from_numpy_refs, and
streamscope.get. Expected values come from pandas, pyarrow and numpy. Re-run on the Ray runtime by
tests/engine/runtime/ray/test_ray_engine_suites.py, where the refs are real ray.ObjectRefs."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import streamscope


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"k": np.arange(12, dtype=np.int64), "x": np.arange(12) * 0.5,
                         "s": [f"r{i}" for i in range(12)]})


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("k").reset_index(drop=True)


def _assert_ref_kind(runtime, refs):
    if runtime.name == "ray":
        import ray

        assert all(isinstance(ref, ray.ObjectRef) for ref in refs)
    else:
        assert all(isinstance(ref, streamscope.ObjectRef) for ref in refs)


def test_pandas_refs_round_trip(runtime):
    df = _frame()
    ds = streamscope.from_pandas(df, override_num_blocks=3)
    refs = ds.to_pandas_refs()
    assert len(refs) == 3
    _assert_ref_kind(runtime, refs)
    frames = streamscope.get(refs)
    assert all(isinstance(f, pd.DataFrame) for f in frames)
    assert sorted(len(f) for f in frames) == [4, 4, 4]
    pd.testing.assert_frame_equal(_sorted(pd.concat(frames)), df)
    back = streamscope.from_pandas_refs(refs)
    assert isinstance(back, streamscope.MaterializedDataset)
    assert back.num_blocks() == 3
    pd.testing.assert_frame_equal(_sorted(back.to_pandas()), df)
    # one ref (not a list) is accepted too
    one = streamscope.from_pandas_refs(refs[0])
    pd.testing.assert_frame_equal(one.to_pandas(), frames[0].reset_index(drop=True))


def test_arrow_refs_round_trip_after_a_transform(runtime):
    table = pa.table({"k": list(range(10)), "v": [str(i) for i in range(10)]})
    ds = streamscope.from_arrow(table).map_batches(lambda b: {"k": b["k"] * 2, "v": b["v"]}, batch_size=4)
    refs = ds.to_arrow_refs()
    _assert_ref_kind(runtime, refs)
    tables = streamscope.get(refs)
    assert all(isinstance(t, pa.Table) for t in tables)
    got = pa.concat_tables(tables).sort_by("k")
    expected = pa.table({"k": [2 * i for i in range(10)], "v": [str(i) for i in range(10)]})
    assert got.equals(expected)
    back = streamscope.from_arrow_refs(refs).to_arrow().sort_by("k")
    assert back.equals(expected)


def test_numpy_refs_dict_and_column(runtime):
    df = _frame()
    ds = streamscope.from_pandas(df, override_num_blocks=2).select_columns(["k", "x"])
    dicts = streamscope.get(ds.to_numpy_refs())
    assert all(isinstance(d, dict) and sorted(d) == ["k", "x"] for d in dicts)
    k = np.sort(np.concatenate([d["k"] for d in dicts]))
    np.testing.assert_array_equal(k, df["k"].to_numpy())
    xs = streamscope.get(ds.to_numpy_refs(column="x"))
    assert all(isinstance(a, np.ndarray) for a in xs)
    np.testing.assert_array_equal(np.sort(np.concatenate(xs)), df["x"].to_numpy())
    # refs of dicts come back as their columns, refs of arrays as column "data"
    back = streamscope.from_numpy_refs(ds.to_numpy_refs())
    pd.testing.assert_frame_equal(_sorted(back.to_pandas()), df[["k", "x"]])
    data = streamscope.from_numpy_refs(ds.to_numpy_refs(column="k")).to_pandas()
    assert sorted(data["data"]) == list(range(12))


def test_numpy_refs_of_a_tensor_column(runtime):
    arr = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    refs = streamscope.from_numpy(arr).to_numpy_refs(column="data")
    got = np.concatenate(streamscope.get(refs))
    assert got.shape == (6, 2, 2)
    np.testing.assert_array_equal(got[np.argsort(got[:, 0, 0])], arr)


def test_numpy_refs_bad_column_names_it(runtime):
    ds = streamscope.from_pandas(_frame())
    with pytest.raises(ValueError, match="'nope'.*\\['k', 'x', 's'\\]"):
        ds.to_numpy_refs(column="nope")
    # a schema only known by running: refused when the block is converted
    lazy = ds.map_batches(lambda b: b)
    with pytest.raises(ValueError, match="'nope'"):
        lazy.to_numpy_refs(column="nope")


@pytest.mark.parametrize("fn, value, expected", [
    ("from_pandas_refs", lambda: pd.DataFrame({"a": [1]}), "DataFrame"),
    ("from_arrow_refs", lambda: pa.table({"a": [1]}), "Table"),
    ("from_numpy_refs", lambda: np.arange(3), "ndarray"),
])
def test_from_refs_refuses_values_that_are_no_refs(runtime, fn, value, expected):
    with pytest.raises(TypeError, match=f"{fn} expects an ObjectRef.*got {expected}"):
        getattr(streamscope, fn)(value())
    with pytest.raises(TypeError, match=f"{fn} expects an ObjectRef.*got {expected}"):
        getattr(streamscope, fn)([value()])


def test_from_refs_refuses_refs_of_the_wrong_type(runtime):
    ref = streamscope.ObjectRef(pa.table({"a": [1]}))
    with pytest.raises(TypeError, match="from_pandas_refs: a reference resolved to a Table; expected a pandas.DataFrame"):
        streamscope.from_pandas_refs([ref])
    with pytest.raises(TypeError, match="from_numpy_refs: .* resolved to a Table"):
        streamscope.from_numpy_refs(ref)
    with pytest.raises(TypeError, match="from_arrow_refs: .* resolved to a DataFrame"):
        streamscope.from_arrow_refs(streamscope.ObjectRef(pd.DataFrame({"a": [1]})))


def test_local_handles_are_accepted_on_every_runtime(runtime):
    df = pd.DataFrame({"a": [3, 1, 2]})
    ds = streamscope.from_pandas_refs([streamscope.ObjectRef(df)])
    pd.testing.assert_frame_equal(ds.to_pandas(), df)
    assert ds.map(lambda r: {"a": r["a"] * 10}).sum("a") == 60


def test_get_refuses_non_refs():
    assert streamscope.get([streamscope.ObjectRef(1), streamscope.ObjectRef("x")]) == [1, "x"]
    with pytest.raises(TypeError, match="get expects an ObjectRef.*got int"):
        streamscope.get(5)


def test_refs_outlive_the_dataset_and_its_run(runtime):
    df = _frame()
    mat = streamscope.from_pandas(df, override_num_blocks=2).map_batches(lambda b: b).materialize()
    arrow_refs = mat.to_arrow_refs()
    pandas_refs = mat.to_pandas_refs()
    del mat
    gc.collect()
    pd.testing.assert_frame_equal(_sorted(pa.concat_tables(streamscope.get(arrow_refs)).to_pandas()), df)
    pd.testing.assert_frame_equal(_sorted(pd.concat(streamscope.get(pandas_refs))), df)


def test_internal_block_refs_and_ref_bundles(runtime):
    df = _frame()
    ds = streamscope.from_pandas(df, override_num_blocks=3)
    block_refs = ds.get_internal_block_refs()
    _assert_ref_kind(runtime, block_refs)
    assert sorted(t.num_rows for t in streamscope.get(block_refs)) == [4, 4, 4]
    bundles = list(ds.iter_internal_ref_bundles())
    assert len(bundles) == 3
    total = 0
    for bundle in bundles:
        assert isinstance(bundle, streamscope.engine.api.refs.RefBundle)
        (ref, meta), = bundle.blocks
        table = streamscope.get(ref)
        assert meta.num_rows == table.num_rows == bundle.num_rows() == 4
        assert bundle.size_bytes() == meta.size_bytes == table.nbytes
        assert bundle.block_refs == [ref] and bundle.metadata == [meta]
        assert bundle.schema.names == ["k", "x", "s"]
        total += table.num_rows
    assert total == len(df)


def test_empty_dataset(runtime):
    empty = streamscope.from_pandas(_frame()).filter(expr="k > 100")
    frames = streamscope.get(empty.to_pandas_refs())
    assert sum(len(f) for f in frames) == 0
    assert sum(t.num_rows for t in streamscope.get(empty.to_arrow_refs())) == 0
    assert sum(len(a) for a in streamscope.get(empty.to_numpy_refs(column="k"))) == 0
    assert sum(b.num_rows() for b in empty.iter_internal_ref_bundles()) == 0
    assert streamscope.from_pandas_refs(empty.to_pandas_refs()).count() == 0
    assert streamscope.from_pandas_refs([]).count() == 0
    assert streamscope.from_arrow_refs([]).count() == 0
