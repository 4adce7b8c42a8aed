"""What UDF outputs become, by Ray Data 2.60's rules (streamscope/engine/batch_conversion.py):
property tests against an independent model (conversion_model.py), explicit tests per output form
with expected values from numpy/pandas/pyarrow, the refusals, and the Ray Data intro tutorial's
torch transform end to end."""

from __future__ import annotations

import datetime
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import streamscope as ss
from streamscope.engine.batch_conversion import column_to_arrow
from streamscope.engine.block import block_to_batch, concat_blocks, table_rows, to_block
from tests.engine import conversion_model as model

FIXED = "arrow.fixed_shape_tensor"
VARIABLE = "arrow.variable_shape_tensor"
OBJECT = "streamscope.python_object"


class Point:
    """A user class: Arrow has no type for it, so a column of them holds Python objects."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x


def kind_of(arrow_type: pa.DataType) -> str:
    return arrow_type.extension_name if isinstance(arrow_type, pa.BaseExtensionType) else "native"


def same_cell(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_numpy(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype == object:
        assert all(same_cell(g, w) for g, w in zip(got, want)), (got, want)
    else:
        assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f")


def ipc_round_trip(table: pa.Table) -> pa.Table:
    """What the shared-memory store does to a block: Arrow IPC out and back."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return ipc.open_stream(sink.getvalue()).read_all()


# ---- property tests: streamscope against the model ------------------------------------------

SHAPES = [(2,), (3,), (2, 2), (1, 2), (2, 1, 2)]
DTYPES = [np.int32, np.int64, np.float32, np.float64, np.bool_]


@st.composite
def ndarrays(draw):
    shape = draw(st.sampled_from(SHAPES))
    dtype = draw(st.sampled_from(DTYPES))
    flat = draw(st.lists(st.integers(0, 9), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(flat, dtype=dtype).reshape(shape)


scalars = st.one_of(
    st.integers(-5, 5), st.floats(-3, 3, allow_nan=False), st.booleans(), st.text(max_size=3),
    st.none(), st.just(2 ** 70), st.complex_numbers(max_magnitude=3, allow_nan=False, allow_infinity=False),
    st.binary(max_size=3),
)
torch_tensors = ndarrays().map(lambda a: torch.from_numpy(a.astype(np.float32)))
array_values = st.one_of(ndarrays(), torch_tensors, st.lists(st.integers(0, 3), min_size=1, max_size=3),
                         st.integers(0, 3), st.none())

# columns of one family (all scalars, all arrays, all tensors) and mixed ones
columns = st.one_of(
    st.lists(scalars, min_size=1, max_size=6),
    st.lists(st.integers(-9, 9), min_size=1, max_size=6),
    st.lists(ndarrays(), min_size=1, max_size=5),
    st.lists(torch_tensors, min_size=1, max_size=5),
    st.builds(lambda shape, dtype, n: [np.full(shape, i, dtype=dtype) for i in range(n)],
              st.sampled_from(SHAPES), st.sampled_from(DTYPES), st.integers(1, 4)),
    ndarrays().flatmap(lambda first: st.lists(array_values, max_size=4).map(lambda rest: [first, *rest])),
)


def check_against_model(values: list) -> None:
    prediction = model.predict(values)
    if isinstance(prediction, model.Refused):
        with pytest.raises(ValueError, match="column 'c'"):
            column_to_arrow("c", values)
        return
    column = column_to_arrow("c", values)
    if isinstance(prediction, model.Fixed):
        assert kind_of(column.type) == FIXED and tuple(column.type.shape) == prediction.shape
    elif isinstance(prediction, model.Variable):
        assert kind_of(column.type) == VARIABLE
        assert column.type.storage_type.field("shape").type.list_size == prediction.ndim
    elif isinstance(prediction, model.Objects):
        assert kind_of(column.type) == OBJECT
    else:
        assert column.type == prediction.arrow_type
    block = ipc_round_trip(pa.table({"c": column}))
    want = model.expected_numpy(values, prediction)
    assert_same_numpy(block_to_batch(block, "numpy")["c"], want)
    rows = [row["c"] for row in table_rows(block)]
    if isinstance(prediction, (model.Fixed, model.Variable, model.Objects)):
        assert all(same_cell(r, w) for r, w in zip(rows, want))
    else:
        assert rows == block.column("c").to_pylist()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns)
def test_column_conversion_matches_the_model(values):
    check_against_model(values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ndarrays(), min_size=1, max_size=4))
def test_object_ndarray_of_ndarrays_converts_like_the_list(values):
    as_object = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        as_object[i] = v
    from_list, from_object = column_to_arrow("c", values), column_to_arrow("c", as_object)
    assert from_list.type == from_object.type
    assert_same_numpy(block_to_batch(pa.table({"c": from_object}), "numpy")["c"],
                      block_to_batch(pa.table({"c": from_list}), "numpy")["c"])


def test_model_cases_seen_in_ray():
    """Spot checks of the model itself against what Ray 2.60 printed for these values."""
    assert model.predict([1, "a"]) == model.Objects()
    assert model.predict([True, 1]) == model.Objects()
    assert model.predict([1, 2.5]) == model.Native(pa.float64())
    assert model.predict([np.zeros(2, np.int32), np.ones(2)]) == model.Fixed((2,), np.dtype(np.float64))
    assert model.predict([np.zeros(2), np.ones(3)]) == model.Variable(1, np.dtype(np.float64))
    assert model.predict([np.zeros(2), np.ones((3, 1))]) == model.Objects()
    assert model.predict([np.zeros(2), None]) == model.Objects()
    assert model.predict([np.zeros(2), 3]) == model.Refused()
    assert model.predict([None, np.zeros(2)]) == model.Native(pa.list_(pa.float64()))


# ---- explicit forms through map_batches / take_batch -----------------------------------------

def one_batch(fn, n: int = 4, **kwargs):
    return ss.range(n, override_num_blocks=1).map_batches(fn, batch_size=None, **kwargs)


def test_list_of_equal_shape_tensors_is_a_fixed_shape_tensor_column_in_every_format():
    ds = one_batch(lambda b: {"t": [torch.full((2, 3), float(i)) for i in b["id"]]})
    want = np.stack([np.full((2, 3), float(i), dtype=np.float32) for i in range(4)])
    got = ds.take_batch(4)["t"]
    assert_same_numpy(got, want)
    frame = ds.take_batch(4, batch_format="pandas")
    assert frame["t"].dtype == object and len(frame) == 4
    assert all(same_cell(frame["t"][i], want[i]) for i in range(4))
    table = ds.take_batch(4, batch_format="pyarrow")
    assert table.schema.field("t").type.extension_name == FIXED
    assert list(table.schema.field("t").type.shape) == [2, 3]
    assert all(same_cell(row["t"], want[i]) for i, row in enumerate(ds.take(4)))


def test_ragged_arrays_are_a_variable_shape_tensor_column():
    ds = one_batch(lambda b: {"t": [np.arange(int(i) + 1, dtype=np.int16) for i in b["id"]]})
    got = ds.take_batch(4)["t"]
    assert got.dtype == object and got.shape == (4,)
    for i in range(4):
        assert_same_numpy(got[i], np.arange(i + 1, dtype=np.int16))
    assert ds.schema().types[0].extension_name == VARIABLE
    frame = ds.take_batch(4, batch_format="pandas")
    assert same_cell(frame["t"][3], np.arange(4, dtype=np.int16))


def test_dict_of_numpy_lists_torch_and_arrow_columns():
    def fn(batch):
        n = len(batch["id"])
        return {
            "np": batch["id"] * 2,
            "list": [f"s{i}" for i in batch["id"]],
            "torch": torch.arange(n * 2, dtype=torch.float64).reshape(n, 2),
            "torch1d": torch.arange(n),
            "arrow": pa.array(np.arange(n) + 0.5),
            "nested": [[int(i)] * int(i) for i in batch["id"]],
        }

    batch = one_batch(fn).take_batch(4)
    assert_same_numpy(batch["np"], np.arange(4) * 2)
    assert_same_numpy(batch["list"], np.array(["s0", "s1", "s2", "s3"], dtype=object))
    assert_same_numpy(batch["torch"], np.arange(8, dtype=np.float64).reshape(4, 2))
    assert_same_numpy(batch["torch1d"], np.arange(4))
    assert_same_numpy(batch["arrow"], np.arange(4) + 0.5)
    want_nested = pa.array([[i] * i for i in range(4)]).to_numpy(zero_copy_only=False)
    assert_same_numpy(batch["nested"], want_nested)


def test_mixed_python_scalars_become_python_objects_in_every_format():
    values = [1, "a", 2.5, None]
    ds = ss.from_items([{"m": v} for v in values], override_num_blocks=1)
    assert ds.schema().types[0].extension_name == OBJECT
    assert_same_numpy(ds.take_batch(4)["m"], np.array(values, dtype=object))
    assert ds.take_batch(4, batch_format="pandas")["m"].tolist() == values
    table = ds.take_batch(4, batch_format="pyarrow")
    assert table.column("m").to_pylist() == values
    assert [row["m"] for row in ds.take(4)] == values


def test_user_objects_and_pil_images_are_kept_as_objects():
    """Ray 2.60 keeps PIL images (and user objects) as pickled Python objects, not arrays:
    an image has ``__array_interface__`` but no ``__array__``/``__len__``."""
    rng = np.random.default_rng(0)
    pixels = [rng.integers(0, 255, (4, 5, 3), dtype=np.uint8) for _ in range(3)]

    def fn(batch):
        return {"img": [Image.fromarray(p) for p in pixels], "obj": [Point(i) for i in range(3)]}

    ds = ss.range(3, override_num_blocks=1).map_batches(fn, batch_size=None)
    batch = ds.take_batch(3)
    assert all(isinstance(img, Image.Image) for img in batch["img"])
    assert all(np.array_equal(np.asarray(img), p) for img, p in zip(batch["img"], pixels))
    assert list(batch["obj"]) == [Point(0), Point(1), Point(2)]
    as_arrays = ds.map_batches(lambda b: {"img": [np.asarray(i) for i in b["img"]]}).take_batch(3)["img"]
    assert_same_numpy(as_arrays, np.stack(pixels))


def test_numpy_object_array_of_ndarrays_and_pandas_object_columns():
    def fn(batch):
        obj = np.empty(len(batch["id"]), dtype=object)
        obj[:] = [np.full(3, i, dtype=np.float32) for i in batch["id"]]
        return pd.DataFrame({
            "fixed": list(obj),
            "ragged": [np.zeros(int(i) + 1) for i in batch["id"]],
            "mixed": [1, "x", 2, "y"],
            "nullable": pd.array([1, None, 3, None], dtype="Int64"),
            "category": pd.Categorical(["a", "b", "a", "b"]),
        })

    ds = one_batch(fn)
    batch = ds.take_batch(4)
    assert_same_numpy(batch["fixed"], np.stack([np.full(3, i, dtype=np.float32) for i in range(4)]))
    assert [a.shape for a in batch["ragged"]] == [(1,), (2,), (3,), (4,)]
    assert_same_numpy(batch["mixed"], np.array([1, "x", 2, "y"], dtype=object))
    want_nullable = pa.array(pd.array([1, None, 3, None], dtype="Int64"), from_pandas=True)
    assert_same_numpy(batch["nullable"], want_nullable.to_numpy(zero_copy_only=False))
    types = dict(zip(ds.schema().names, ds.schema().types))
    assert types["nullable"] == pa.int64()
    assert pa.types.is_dictionary(types["category"])
    assert types["mixed"].extension_name == OBJECT


def test_pyarrow_table_output_is_kept():
    table = pa.table({"a": [1, 2], "b": ["x", "y"]})
    got = ss.range(2, override_num_blocks=1).map_batches(lambda b: table, batch_size=None).take_batch(2, batch_format="pyarrow")
    assert got.equals(table)


def test_bool_string_and_datetime_columns():
    def fn(batch):
        n = len(batch["id"])
        return {
            "bools": np.arange(n * 2).reshape(n, 2) % 2 == 0,
            "strs": [np.array(["a", "bc"]) for _ in range(n)],
            "when": [datetime.datetime(2024, 1, 1, 0, 0, 0, 5000 * int(i)) for i in batch["id"]],
            "days": np.array(["2024-01-01"] * n, dtype="datetime64[D]"),
        }

    ds = one_batch(fn)
    batch = ds.take_batch(4)
    assert_same_numpy(batch["bools"], np.arange(8).reshape(4, 2) % 2 == 0)
    assert_same_numpy(batch["strs"], np.array([["a", "bc"]] * 4))
    assert batch["when"].dtype == np.dtype("datetime64[ms]")
    assert batch["days"].dtype == np.dtype("datetime64[s]")
    assert batch["days"][0] == np.datetime64("2024-01-01T00:00:00")


def test_rows_from_map_flat_map_from_items_and_add_column_follow_the_same_rules():
    ds = ss.range(3, override_num_blocks=1)
    mapped = ds.map(lambda r: {"t": np.full((2,), r["id"], dtype=np.int8)}).take_batch(3)["t"]
    assert_same_numpy(mapped, np.array([[0, 0], [1, 1], [2, 2]], dtype=np.int8))
    flat = ds.flat_map(lambda r: [{"v": r["id"]}, {"v": str(r["id"])}]).take_batch(6)["v"]
    assert flat.dtype == object and sorted(map(str, flat)) == ["0", "0", "1", "1", "2", "2"]
    items = ss.from_items([np.zeros(2), np.ones(3)], override_num_blocks=1)
    assert items.schema().types[0].extension_name == VARIABLE
    added = ds.add_column("t", lambda b: [torch.ones(2) * i for i in b["id"]], batch_format="numpy").take_batch(3)
    assert_same_numpy(added["t"], np.array([[0, 0], [1, 1], [2, 2]], dtype=np.float32))


def test_object_and_typed_blocks_concatenate_as_objects():
    first = to_block({"c": [1, "x"]})
    second = to_block({"c": [3, 4]})
    merged = concat_blocks([first, second])
    assert merged.schema.field("c").type.extension_name == OBJECT
    assert merged.column("c").to_pylist() == [1, "x", 3, 4]
    with pytest.raises(ValueError, match="column 'c' holds Python objects in some blocks and tensors"):
        concat_blocks([first, to_block({"c": [np.zeros(2), np.zeros(3)]})])


def test_object_columns_cross_the_worker_processes(ctx):
    """The default runtime runs these map tasks in worker processes (conftest turns inline runs
    off): the Python-object and tensor types must survive the shared-memory store."""
    ds = ss.range(6, override_num_blocks=3).map_batches(
        lambda b: {"o": [Point(int(i)) for i in b["id"]], "r": [np.zeros(int(i) + 1) for i in b["id"]]})
    rows = sorted(ds.take_all(), key=lambda r: r["o"].x)
    assert [r["o"] for r in rows] == [Point(i) for i in range(6)]
    assert [r["r"].shape for r in rows] == [(i + 1,) for i in range(6)]


def test_written_parquet_keeps_python_objects(tmp_path):
    import pyarrow.parquet as pq

    block = to_block({"c": [1, "x", None]})
    pq.write_table(block, tmp_path / "o.parquet")
    back = pq.read_table(tmp_path / "o.parquet")
    assert back.column("c").to_pylist() == [1, "x", None]


# ---- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("output, message", [
    (lambda b: 3, "returned a value of type int"),
    (lambda b: [1, 2], "returned a list"),
    (lambda b: np.zeros(3), "returned a bare numpy.ndarray"),
    (lambda b: pa.record_batch({"a": [1]}), "returned a value of type RecordBatch"),
    (lambda b: {"a": 3}, "value for key 'a' is of type int"),
    (lambda b: {"a": (1, 2, 3, 4)}, "value for key 'a' is of type tuple"),
])
def test_map_batches_refuses_what_ray_refuses(output, message):
    ds = ss.range(4, override_num_blocks=1).map_batches(output, batch_size=None)
    with pytest.raises(ValueError, match=message) as info:
        ds.take_all()
    assert "MapBatches" in str(info.value)


@pytest.mark.parametrize("output, message", [
    (lambda b: {"a": [1, 2, 3, 4], "b": [1]}, "column 'b' has 1 values but earlier columns have 4"),
    (lambda b: {"a": [np.zeros(2), 3, 4, 5]}, "column 'a': cannot convert the values to a numpy array"),
    (lambda b: {"a": [torch.zeros(2, dtype=torch.bfloat16)] * 4}, "column 'a': cannot convert"),
])
def test_bad_columns_name_the_operator_and_the_column(output, message):
    ds = ss.range(4, override_num_blocks=1).map_batches(output, batch_size=None)
    with pytest.raises(ValueError, match=message) as info:
        ds.take_all()
    assert "MapBatches" in str(info.value)


def test_object_fallback_can_be_turned_off(ctx):
    ctx.enable_fallback_to_arrow_object_ext_type = False
    with pytest.raises(TypeError, match="column 'm': Arrow cannot hold these values.*enable_fallback_to_arrow_object_ext_type"):
        ss.range(2, override_num_blocks=1).map_batches(lambda b: {"m": [1, "a"]}, batch_size=None).take_all()


# ---- the Ray Data intro tutorial's transform ----------------------------------------------------

def to_tensor(img: np.ndarray) -> torch.Tensor:
    """torchvision's ToTensor: HWC uint8 -> CHW float32 in [0, 1]."""
    return torch.from_numpy(img).permute(2, 0, 1).to(torch.float32) / 255.0


def normalize(t: torch.Tensor, mean, std) -> torch.Tensor:
    """torchvision's Normalize."""
    return (t - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)


def test_tutorial_torch_transform_end_to_end():
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(5)]
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)

    def transform(img):
        return normalize(to_tensor(img), mean, std)

    def preprocess(batch):
        batch["image"] = [transform(img) for img in batch["image"]]
        return batch

    ds = ss.from_items([{"image": img, "label": i} for i, img in enumerate(images)], override_num_blocks=2)
    ds = ds.map_batches(preprocess)
    want = np.stack([(img.transpose(2, 0, 1).astype(np.float32) / 255.0
                      - np.array(mean, dtype=np.float32)[:, None, None]) / np.array(std, dtype=np.float32)[:, None, None]
                     for img in images])
    batch = ds.take_batch(5)
    assert batch["image"].dtype == np.float32 and batch["image"].shape == (5, 3, 6, 8)
    assert np.allclose(batch["image"], want, atol=1e-6)
    seen = []
    for tb in ds.iter_torch_batches(batch_size=2):
        assert isinstance(tb["image"], torch.Tensor) and tb["image"].dtype == torch.float32
        assert tb["image"].shape[1:] == (3, 6, 8)
        seen.extend(zip(tb["label"].tolist(), tb["image"]))
    assert sorted(label for label, _ in seen) == [0, 1, 2, 3, 4]
    for label, image in seen:
        assert np.allclose(image.numpy(), want[label], atol=1e-6)


def test_block_metadata_with_an_object_column_pickles():
    """Block metadata travels between processes with its schema as IPC bytes; the object type
    must come back from those bytes as itself."""
    from streamscope.engine.block import BlockMetadata

    meta = pickle.loads(pickle.dumps(BlockMetadata.of(to_block({"c": [Point(1), None]}))))
    assert meta.schema.field("c").type.extension_name == OBJECT


@pytest.mark.parametrize("array", [
    np.zeros((0, 3)), np.zeros((2, 0)), np.zeros((0, 2), dtype=bool), np.arange(24, dtype=np.int8).reshape(4, 2, 3),
    np.arange(8).reshape(4, 2) % 3 == 0, np.array([["a", "bc"], ["d", "e"]]),
])
def test_tensor_columns_round_trip_whole_and_sliced(array):
    def check(got, want):
        if want.dtype.kind == "U":  # as wide as the longest string of the batch (Ray: of the column)
            assert got.dtype.kind == "U" and got.shape == want.shape and got.tolist() == want.tolist()
        else:
            assert_same_numpy(got, want)

    block = ipc_round_trip(to_block({"t": array}))
    assert block.schema.field("t").type.extension_name == FIXED
    check(block_to_batch(block, "numpy")["t"], array)
    if len(array) > 1:
        check(block_to_batch(block.slice(1), "numpy")["t"], array[1:])
        check(table_rows(block.slice(1))[0]["t"], array[1])


def test_ragged_string_arrays_come_back_as_the_arrays():
    """Arrow's variable-shape tensor holds fixed-width values only, so ragged string arrays are
    kept as Python objects; numpy batches hold the same arrays Ray Data gives back."""
    values = [np.array(["a", "bc"]), np.array(["x"])]
    got = block_to_batch(to_block({"s": values}), "numpy")["s"]
    assert got.dtype == object and all(same_cell(g, w) for g, w in zip(got, values))
