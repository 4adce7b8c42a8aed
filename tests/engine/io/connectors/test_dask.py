"""Dataset.to_dask and from_dask against the real Dask: values and dtypes as pandas has them,
one partition per block, ``meta`` and ``verify_meta`` as Dask applies them, the empty dataset,
the refused inputs and the missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

dask = pytest.importorskip("dask")  # the dask extra; the dev extra installs it, so CI runs these
dd = pytest.importorskip("dask.dataframe")

import streamscope  # noqa: E402
from streamscope.engine.io.optional_deps import MissingExtraError  # noqa: E402

FRAME = pd.DataFrame({
    "i": [1, 2, 3, 4, 5, 6],
    "f": [0.5, None, 2.5, 3.5, 4.5, 5.5],
    "s": ["a", "b", None, "d", "e", "f"],
    "b": [True, False, True, True, False, False],
})


def _frames_equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


def test_to_dask_one_partition_per_block_with_the_rows_and_dtypes_of_pandas(runtime):
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    ds = streamscope.from_arrow(table, override_num_blocks=3)
    ddf = ds.to_dask()
    assert isinstance(ddf, dd.DataFrame)
    assert ddf.npartitions == 3
    expected = table.to_pandas()
    assert ddf.dtypes.to_dict() == expected.dtypes.to_dict()  # before anything is computed: from the meta
    computed = ddf.compute()
    _frames_equal(computed, expected)
    assert [len(part) for part in dask.compute(*ddf.to_delayed())] == [2, 2, 2]


def test_to_dask_of_a_lazy_plan_runs_it(runtime):
    ds = streamscope.range(10, override_num_blocks=2).map_batches(lambda b: {"id": b["id"], "sq": b["id"] ** 2})
    ddf = ds.to_dask()
    expected = pd.DataFrame({"id": np.arange(10), "sq": np.arange(10) ** 2})
    _frames_equal(ddf.compute().sort_values("id"), expected)
    assert int(ddf["sq"].sum().compute()) == int((np.arange(10) ** 2).sum())


def test_to_dask_tensor_columns_are_object_columns_of_arrays(runtime):
    ds = streamscope.from_numpy(np.arange(12).reshape(4, 3))
    ddf = ds.to_dask()
    assert ddf.dtypes["data"] == np.dtype(object)
    cells = ddf.compute()["data"].tolist()
    np.testing.assert_array_equal(np.stack(cells), np.arange(12).reshape(4, 3))


def test_to_dask_meta_overrides_the_inferred_one(runtime):
    ds = streamscope.from_pandas(FRAME[["i", "s"]])
    meta = [("i", "int64"), ("s", FRAME["s"].dtype)]
    ddf = ds.to_dask(meta=meta)
    assert list(ddf.columns) == ["i", "s"]
    _frames_equal(ddf.compute(), FRAME[["i", "s"]])
    empty = pd.DataFrame({"i": pd.Series(dtype="int64"), "s": pd.Series(dtype=FRAME["s"].dtype)})
    _frames_equal(ds.to_dask(meta=empty).compute(), FRAME[["i", "s"]])


def test_to_dask_meta_mismatch_raises_unless_verify_meta_is_false(runtime):
    ds = streamscope.from_pandas(FRAME[["i", "s"]])
    wrong = {"i": "int64", "t": "str"}
    with pytest.raises(ValueError, match="Metadata mismatch found in `from_delayed`"):
        ds.to_dask(meta=wrong).compute()
    unchecked = ds.to_dask(meta=wrong, verify_meta=False)
    assert list(unchecked.columns) == ["i", "t"]  # Dask believes the meta it was given
    assert list(unchecked.compute().columns) == ["i", "s"]  # and the partitions are what they are


def test_to_dask_refuses_a_verify_meta_that_is_no_bool(runtime):
    with pytest.raises(TypeError, match="verify_meta must be a bool"):
        streamscope.range(3).to_dask(verify_meta="yes")


def test_to_dask_of_an_empty_dataset_is_one_empty_partition(runtime):
    ddf = streamscope.range(10).filter(lambda row: False).to_dask()
    assert ddf.npartitions == 1
    computed = ddf.compute()
    assert list(computed.columns) == ["id"] and len(computed) == 0
    assert computed["id"].dtype == np.dtype("int64")
    nothing = streamscope.from_items([]).to_dask().compute()
    assert len(nothing) == 0 and list(nothing.columns) == []


def test_from_dask_one_block_per_partition_in_order(runtime):
    ddf = dd.from_pandas(FRAME, npartitions=3)
    ds = streamscope.from_dask(ddf)
    assert isinstance(ds, streamscope.MaterializedDataset)
    assert ds.num_blocks() == 3
    expected = ddf.compute()
    _frames_equal(ds.to_pandas(), pa.Table.from_pandas(expected, preserve_index=False).to_pandas())
    assert [row["i"] for row in ds.take_all()] == FRAME["i"].tolist()
    assert ds.sum("i") == int(FRAME["i"].sum())


def test_from_dask_computes_the_dask_graph(runtime):
    ddf = dd.from_pandas(FRAME, npartitions=2)
    derived = ddf[ddf["i"] % 2 == 0].assign(twice=lambda d: d["i"] * 2)
    ds = streamscope.from_dask(derived)
    expected = FRAME[FRAME["i"] % 2 == 0].assign(twice=lambda d: d["i"] * 2)
    got = ds.to_pandas()
    assert got["i"].tolist() == expected["i"].tolist()
    assert got["twice"].tolist() == expected["twice"].tolist()
    assert ds.columns() == list(expected.columns)


def test_round_trip_through_dask_keeps_rows_and_types(runtime):
    ds = streamscope.from_pandas(FRAME, override_num_blocks=2)
    back = streamscope.from_dask(ds.to_dask())
    assert back.num_blocks() == 2
    assert back.schema().base_schema == ds.schema().base_schema
    assert back.take_all() == ds.take_all()


def test_from_dask_refuses_what_is_no_dask_dataframe():
    with pytest.raises(TypeError, match="from_dask expects a dask.dataframe.DataFrame.*Series"):
        streamscope.from_dask(dd.from_pandas(FRAME, npartitions=1)["i"])
    with pytest.raises(TypeError, match="from_dask expects a dask.dataframe.DataFrame"):
        streamscope.from_dask(FRAME)


def test_missing_dask_names_the_extra(monkeypatch):
    ds = streamscope.range(3)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    for call in (ds.to_dask, lambda: streamscope.from_dask(object())):
        with pytest.raises(MissingExtraError, match=r"needs the 'dask' package.*pip install 'streamscope\[dask\]'"):
            call()
    with pytest.raises(ImportError, match=r"^to_dask needs"):
        ds.to_dask()
