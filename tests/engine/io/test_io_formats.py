import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from streamscope.engine import tensor
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.binary_datasource import BinaryDatasource
from streamscope.engine.io.csv_datasource import CSVDatasource
from streamscope.engine.io.image_datasource import ImageDatasource
from streamscope.engine.io.json_datasource import JSONDatasource
from streamscope.engine.io.numpy_datasource import NumpyDatasource
from streamscope.engine.io.range_datasource import RangeDatasource
from streamscope.engine.io.text_datasource import TextDatasource


@pytest.fixture
def csv_dir(tmp_path):
    df = pd.DataFrame({"a": np.arange(50), "b": [f"s{i}" for i in range(50)], "c": np.linspace(0, 1, 50)})
    for i in range(5):
        df.iloc[i * 10:(i + 1) * 10].to_csv(tmp_path / f"p{i}.csv", index=False)
    return tmp_path, df


def test_csv_matches_pandas_and_projection(csv_dir, run_tasks):
    d, df = csv_dir
    ds = CSVDatasource(str(d))
    assert len(ds.get_read_tasks(2)) == 2
    out = run_tasks(ds, 2).to_pandas().sort_values("a").reset_index(drop=True)
    pd.testing.assert_frame_equal(out, df)
    narrowed = run_tasks(ds.apply_projection(["b"]), 3)
    assert narrowed.column_names == ["b"] and narrowed.num_rows == 50


def test_csv_limit_and_glob(csv_dir, run_tasks):
    d, _ = csv_dir
    ds = CSVDatasource(str(d / "p[01].csv")).apply_limit(15)
    assert [t.input_files for t in ds.get_read_tasks(1)][0][0].endswith("p0.csv")
    assert run_tasks(ds, 1).num_rows == 15


def test_json_lines_and_array_like_ray(tmp_path, run_tasks):
    (tmp_path / "lines.json").write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n')
    (tmp_path / "arr.json").write_text(json.dumps([{"a": 3, "b": "z"}, {"a": 4, "b": "w"}], indent=2))
    (tmp_path / "notes.txt").write_text("ignored: not a json extension")
    out = run_tasks(JSONDatasource(str(tmp_path)), 2).to_pandas().sort_values("a")
    assert out["a"].tolist() == [1, 2, 3, 4] and out["b"].tolist() == ["x", "y", "z", "w"]


def test_json_gzip_and_memory(memfs, run_tasks):
    import gzip

    fs, root = memfs
    fs.pipe(f"{root}/a.jsonl.gz", gzip.compress(b'{"v": 1}\n{"v": 2}\n'))
    out = run_tasks(JSONDatasource(f"memory://{root}", lines=True, include_paths=True))
    assert out["v"].to_pylist() == [1, 2]
    assert out["path"].to_pylist() == [f"memory://{root}/a.jsonl.gz"] * 2


def test_bad_json_names_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    ds = JSONDatasource(str(tmp_path / "bad.json"))
    with pytest.raises(DataSourceError, match="bad.json"):
        list(ds.get_read_tasks(1)[0]())


def test_text_lines(tmp_path, run_tasks):
    (tmp_path / "t.txt").write_bytes("a\r\n\nb\né\n".encode("latin-1"))
    ds = TextDatasource(str(tmp_path / "t.txt"), encoding="latin-1")
    assert run_tasks(ds)["text"].to_pylist() == ["a", "b", "é"]
    keep = TextDatasource(str(tmp_path / "t.txt"), encoding="latin-1", drop_empty_lines=False, include_paths=True)
    out = run_tasks(keep)
    assert out.column_names == ["text", "path"]
    assert out["text"].to_pylist() == ["a", "", "b", "é"]


def test_binary(tmp_path, run_tasks):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    (tmp_path / "y.bin").write_bytes(b"abc")
    out = run_tasks(BinaryDatasource(str(tmp_path), include_paths=True))
    assert out["bytes"].to_pylist() == [b"\x00\x01", b"abc"]
    assert [p.rsplit("/", 1)[1] for p in out["path"].to_pylist()] == ["x.bin", "y.bin"]


def test_numpy(tmp_path, run_tasks):
    np.save(tmp_path / "a.npy", np.arange(6).reshape(3, 2))
    np.save(tmp_path / "b.npy", np.arange(6, 10).reshape(2, 2))
    out = run_tasks(NumpyDatasource(str(tmp_path)))
    assert isinstance(out.schema.field("data").type, pa.FixedShapeTensorType)
    np.testing.assert_array_equal(tensor.arrow_to_numpy(out["data"]), np.arange(10).reshape(5, 2))
    np.save(tmp_path / "c.npy", np.arange(3))
    flat = run_tasks(NumpyDatasource(str(tmp_path / "c.npy")))
    assert flat["data"].to_pylist() == [0, 1, 2]


def _png(path, array):
    from PIL import Image

    Image.fromarray(array).save(path)


def test_images_same_shape_fixed_tensor(tmp_path, run_tasks):
    rng = np.random.default_rng(1)
    arrays = [rng.integers(0, 255, (4, 5, 3), dtype=np.uint8) for _ in range(3)]
    for i, a in enumerate(arrays):
        _png(tmp_path / f"{i}.png", a)
    (tmp_path / "readme.md").write_text("not an image")
    out = run_tasks(ImageDatasource(str(tmp_path), include_paths=True), 1)
    assert out.column_names == ["image", "path"]
    assert isinstance(out.schema.field("image").type, pa.FixedShapeTensorType)
    np.testing.assert_array_equal(tensor.arrow_to_numpy(out["image"]), np.stack(arrays))
    assert [p.rsplit("/", 1)[1] for p in out["path"].to_pylist()] == ["0.png", "1.png", "2.png"]


def test_images_variable_shape_then_size_and_mode(tmp_path, run_tasks):
    _png(tmp_path / "a.png", np.zeros((4, 5, 3), np.uint8))
    _png(tmp_path / "b.png", np.full((6, 7, 3), 200, np.uint8))
    out = run_tasks(ImageDatasource(str(tmp_path)), 1)
    assert out.schema.field("image").type.extension_name == tensor.VARIABLE_SHAPE_TENSOR
    assert [a.shape for a in tensor.arrow_to_numpy(out["image"])] == [(4, 5, 3), (6, 7, 3)]
    resized = run_tasks(ImageDatasource(str(tmp_path), size=(3, 2), mode="L"), 2)
    assert isinstance(resized.schema.field("image").type, pa.FixedShapeTensorType)
    assert tensor.arrow_to_numpy(resized["image"]).shape == (2, 3, 2)


def test_images_limit_and_not_an_image(tmp_path, run_tasks):
    for i in range(4):
        _png(tmp_path / f"{i}.png", np.zeros((2, 2, 3), np.uint8))
    assert run_tasks(ImageDatasource(str(tmp_path)).apply_limit(3), 1).num_rows == 3
    (tmp_path / "9.png").write_bytes(b"not a png")
    with pytest.raises(DataSourceError, match="9.png"):
        run_tasks(ImageDatasource(str(tmp_path)), 1)


def test_range_like_ray(run_tasks):
    ds = RangeDatasource(10)
    assert ds.num_rows() == 10 and ds.schema() == pa.schema([("id", pa.int64())])
    tasks = ds.get_read_tasks(3)
    assert [t.num_rows for t in tasks] == [4, 4, 2]
    assert run_tasks(ds, 3)["id"].to_pylist() == list(range(10))
    assert run_tasks(ds.apply_limit(4), 3)["id"].to_pylist() == [0, 1, 2, 3]
    rt = RangeDatasource(3, block_format="tensor", tensor_shape=(2, 2))
    block = run_tasks(rt, 2)
    assert block.schema == rt.schema()
    data = tensor.arrow_to_numpy(block["data"])
    assert data.dtype == np.int64
    np.testing.assert_array_equal(data, np.stack([np.full((2, 2), i) for i in range(3)]))
    assert rt.schema().field("data").type == pa.fixed_shape_tensor(pa.int64(), (2, 2))
    assert RangeDatasource(0).get_read_tasks(4) == []
