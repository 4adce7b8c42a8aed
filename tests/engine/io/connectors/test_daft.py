"""Dataset.to_daft and from_daft against the real Daft: rows and Arrow types as pyarrow has them,
one Daft partition per block, tensors both ways, Daft's Python and Tensor columns, the empty
cases, the refused inputs and the missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest

daft = pytest.importorskip("daft")  # the daft extra; scripts/bootstrap.sh installs it, so CI runs these

import streamscope  # noqa: E402
from streamscope.engine.io.optional_deps import MissingExtraError  # noqa: E402

TABLE = pa.table({
    "i": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
    "f": pa.array([0.5, None, 2.5, 3.5, 4.5, 5.5], pa.float64()),
    "s": pa.array(["a", "b", None, "d", "e", "f"], pa.large_string()),
    "b": pa.array([True, False, True, True, False, False]),
})


class Payload:
    """A Python object no Arrow type holds."""

    def __init__(self, value):
        self.value = value


def test_to_daft_one_partition_per_block_with_the_rows_and_types(runtime):
    ds = streamscope.from_arrow(TABLE, override_num_blocks=3)
    df = ds.to_daft()
    assert isinstance(df, daft.DataFrame)
    parts = [part.to_arrow() for part in df.iter_partitions()]
    assert [part.num_rows for part in parts] == [2, 2, 2]
    assert df.to_arrow().equals(TABLE)
    assert df.to_pydict() == TABLE.to_pydict()


def test_to_daft_of_a_lazy_plan_runs_it_and_daft_computes_on_it(runtime):
    ds = streamscope.range(10, override_num_blocks=2).map_batches(lambda b: {"id": b["id"], "sq": b["id"] ** 2})
    df = ds.to_daft().where(daft.col("id") >= 5).sort("id")
    assert df.to_pydict() == {"id": [5, 6, 7, 8, 9], "sq": [25, 36, 49, 64, 81]}


def test_to_daft_tensor_columns_become_daft_tensors(runtime):
    array = np.arange(12).reshape(4, 3)
    df = streamscope.from_numpy(array).to_daft()
    (field,) = list(df.schema())
    assert field.dtype.is_fixed_shape_tensor()
    np.testing.assert_array_equal(np.stack(df.to_pydict()["data"]), array)


def test_to_daft_of_an_empty_dataset_keeps_its_columns(runtime):
    df = streamscope.range(10).filter(lambda row: False).to_daft()
    assert df.count_rows() == 0
    assert df.to_arrow().schema == pa.schema([("id", pa.int64())])


def test_from_daft_runs_the_query_into_a_materialized_dataset(runtime):
    df = daft.from_arrow(TABLE)
    query = df.where(daft.col("i") % 2 == 0).with_column("twice", daft.col("i") * 2)
    ds = streamscope.from_daft(query)
    assert isinstance(ds, streamscope.MaterializedDataset)
    got = ds.to_arrow()
    even = TABLE.filter(pa.compute.equal(pa.compute.bit_wise_and(TABLE["i"], 1), 0))
    assert got.column_names == ["i", "f", "s", "b", "twice"]
    assert got.select(["i", "f", "s", "b"]).to_pydict() == even.to_pydict()
    assert got["twice"].to_pylist() == [i * 2 for i in even["i"].to_pylist()]
    assert got.schema.field("s").type == pa.large_string()


def test_from_daft_one_block_per_partition(runtime):
    ds = streamscope.from_daft(daft.from_arrow([TABLE.slice(0, 2), TABLE.slice(2, 4)]))
    assert ds.num_blocks() == 2
    assert ds.to_arrow().to_pydict() == TABLE.to_pydict()


def test_round_trip_through_daft_keeps_rows_types_and_tensors(runtime):
    ds = streamscope.from_items([{"id": i, "vec": np.full(3, i, dtype=np.float32), "name": f"n{i}"}
                                 for i in range(5)], override_num_blocks=2)
    back = streamscope.from_daft(ds.to_daft())
    schema = ds.schema().base_schema
    # Daft's strings are Arrow large_string; every other type comes back as it went
    assert back.schema().base_schema == schema.set(schema.get_field_index("name"), pa.field("name", pa.large_string()))
    rows, expected = back.take_all(), ds.take_all()
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    for got, want in zip(rows, expected):
        np.testing.assert_array_equal(got["vec"], want["vec"])


def test_from_daft_python_and_variable_shape_tensor_columns_become_python_values(runtime):
    df = daft.from_pydict({"o": [Payload(1), Payload(2)], "t": [np.zeros(2), np.ones(3)], "x": ["p", "q"]})
    ds = streamscope.from_daft(df)
    rows = ds.take_all()
    assert [row["o"].value for row in rows] == [1, 2]
    np.testing.assert_array_equal(rows[0]["t"], np.zeros(2))
    np.testing.assert_array_equal(rows[1]["t"], np.ones(3))
    assert [row["x"] for row in rows] == ["p", "q"]
    assert ds.map_batches(lambda b: {"v": np.array([o.value * 10 for o in b["o"]])}).take_all() == [
        {"v": 10}, {"v": 20}]


def test_from_daft_of_no_rows_keeps_the_columns(runtime):
    ds = streamscope.from_daft(daft.from_arrow(TABLE).where(daft.col("i") > 100))
    assert ds.count() == 0
    assert ds.columns() == ["i", "f", "s", "b"]


def test_from_daft_refuses_what_is_no_daft_dataframe():
    with pytest.raises(TypeError, match="from_daft expects a daft.DataFrame, got pyarrow.lib.Table"):
        streamscope.from_daft(TABLE)


def test_missing_daft_names_the_extra(monkeypatch):
    ds = streamscope.range(3)
    monkeypatch.setitem(sys.modules, "daft", None)
    for call in (ds.to_daft, lambda: streamscope.from_daft(object())):
        with pytest.raises(MissingExtraError, match=r"needs the 'daft' package.*pip install 'streamscope\[daft\]'"):
            call()
    with pytest.raises(ImportError, match=r"^to_daft needs"):
        ds.to_daft()
