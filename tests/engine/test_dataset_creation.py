"""Creation APIs against independent pandas/numpy/pyarrow computations."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope


def _sorted_df(df: pd.DataFrame, by: str) -> pd.DataFrame:
    return df.sort_values(by).reset_index(drop=True)


def test_range_rows_schema_and_count(runtime):
    ds = streamscope.range(1000)
    assert ds.count() == 1000
    assert ds.schema().names == ["id"]
    ids = sorted(r["id"] for r in ds.take_all())
    assert ids == list(range(1000))


def test_range_override_num_blocks(runtime):
    ds = streamscope.range(100, override_num_blocks=7)
    assert ds.num_blocks() == 7
    assert sorted(r["id"] for r in ds.take_all()) == list(range(100))


def test_range_tensor_values_and_shape(runtime):
    ds = streamscope.range_tensor(10, shape=(2, 3))
    batch = ds.take_batch(10)
    data = batch["data"]
    assert isinstance(data, np.ndarray) and data.shape == (10, 2, 3)
    order = np.argsort(data[:, 0, 0])
    expected = np.stack([np.full((2, 3), i) for i in range(10)])
    np.testing.assert_array_equal(data[order], expected)


def test_from_items_dicts_and_scalars(runtime):
    items = [{"a": i, "b": str(i)} for i in range(20)]
    ds = streamscope.from_items(items)
    assert ds.count() == 20
    assert sorted(ds.take_all(), key=lambda r: r["a"]) == items
    scalars = streamscope.from_items([3, 1, 2])
    assert scalars.columns() == ["item"]
    assert sorted(r["item"] for r in scalars.take_all()) == [1, 2, 3]


def test_from_items_override_num_blocks(runtime):
    ds = streamscope.from_items(list(range(10)), override_num_blocks=3)
    assert ds.num_blocks() == 3


def test_from_pandas_roundtrip(runtime):
    df = pd.DataFrame({"x": np.arange(50), "y": np.linspace(0, 1, 50), "s": [f"r{i}" for i in range(50)]})
    ds = streamscope.from_pandas([df.iloc[:20], df.iloc[20:]])
    assert ds.num_blocks() == 2
    out = ds.to_pandas()
    pd.testing.assert_frame_equal(_sorted_df(out, "x"), df, check_dtype=True)


def test_from_numpy_1d_and_nd(runtime):
    arr = np.arange(12)
    ds = streamscope.from_numpy(arr)
    assert ds.columns() == ["data"]
    assert sorted(r["data"] for r in ds.take_all()) == list(range(12))
    nd = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    got = streamscope.from_numpy(nd).take_batch(4)["data"]
    np.testing.assert_array_equal(got, nd)


def test_from_arrow(runtime):
    t = pa.table({"k": list(range(30)), "v": [i * 0.5 for i in range(30)]})
    ds = streamscope.from_arrow(t, override_num_blocks=3)
    assert ds.num_blocks() == 3
    assert ds.to_arrow().sort_by("k").equals(t)


# ---- files ---------------------------------------------------------------------------------------

@pytest.fixture
def parquet_dir(tmp_path):
    df = pd.DataFrame({"a": np.arange(100), "b": np.arange(100) * 2.0, "c": [f"s{i}" for i in range(100)]})
    d = tmp_path / "pq"
    d.mkdir()
    for i in range(4):
        pq.write_table(pa.Table.from_pandas(df.iloc[i * 25:(i + 1) * 25], preserve_index=False), d / f"part-{i}.parquet")
    return d, df


def test_read_parquet_directory(parquet_dir, runtime):
    d, df = parquet_dir
    ds = streamscope.read_parquet(str(d))
    assert ds.count() == 100
    pd.testing.assert_frame_equal(_sorted_df(ds.to_pandas(), "a"), df)
    assert sorted(os.path.basename(f) for f in ds.input_files()) == [f"part-{i}.parquet" for i in range(4)]


def test_read_parquet_columns_glob_and_list(parquet_dir, runtime):
    d, df = parquet_dir
    ds = streamscope.read_parquet(str(d / "part-[01].parquet"), columns=["a", "c"])
    out = _sorted_df(ds.to_pandas(), "a")
    assert list(out.columns) == ["a", "c"]
    pd.testing.assert_frame_equal(out, df[["a", "c"]].iloc[:50].reset_index(drop=True))
    listed = streamscope.read_parquet([str(d / "part-0.parquet"), str(d / "part-3.parquet")])
    assert sorted(r["a"] for r in listed.take_all()) == list(range(25)) + list(range(75, 100))


def test_read_parquet_override_num_blocks(parquet_dir, runtime):
    d, _ = parquet_dir
    ds = streamscope.read_parquet(str(d), override_num_blocks=2)
    assert sum(1 for _ in ds.iter_batches(batch_size=None)) >= 1
    assert ds.count() == 100


def test_read_csv(tmp_path, runtime):
    df = pd.DataFrame({"x": range(40), "name": [f"n{i}" for i in range(40)]})
    df.iloc[:20].to_csv(tmp_path / "a.csv", index=False)
    df.iloc[20:].to_csv(tmp_path / "b.csv", index=False)
    out = streamscope.read_csv(str(tmp_path)).to_pandas()
    pd.testing.assert_frame_equal(_sorted_df(out, "x"), df)


def test_read_json_lines_and_arrays(tmp_path, runtime):
    rows = [{"id": i, "tag": f"t{i % 3}"} for i in range(30)]
    (tmp_path / "lines.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "arr.json").write_text(json.dumps(rows))
    by_lines = streamscope.read_json(str(tmp_path / "lines.jsonl"), lines=True).take_all()
    by_array = streamscope.read_json(str(tmp_path / "arr.json")).take_all()
    assert sorted(by_lines, key=lambda r: r["id"]) == rows
    assert sorted(by_array, key=lambda r: r["id"]) == rows


def test_read_text(tmp_path, runtime):
    (tmp_path / "a.txt").write_text("hello\nworld\n\nlast\n")
    lines = [r["text"] for r in streamscope.read_text(str(tmp_path / "a.txt")).take_all()]
    assert lines == ["hello", "world", "last"]


def _write_images(d, n=4):
    from PIL import Image

    arrays = []
    for i in range(n):
        arr = (np.arange(8 * 6 * 3).reshape(8, 6, 3) * (i + 1) % 256).astype(np.uint8)
        Image.fromarray(arr).save(d / f"img{i}.png")
        arrays.append(arr)
    return arrays


def test_read_images_plain_size_mode_paths(tmp_path, runtime):
    from PIL import Image

    arrays = _write_images(tmp_path)
    rows = streamscope.read_images(str(tmp_path), include_paths=True).take_all()
    assert len(rows) == 4
    by_name = {os.path.basename(r["path"]): r["image"] for r in rows}
    for i, arr in enumerate(arrays):
        np.testing.assert_array_equal(by_name[f"img{i}.png"], arr)
    resized = streamscope.read_images(str(tmp_path), size=(4, 5), mode="L").take_batch(4)["image"]
    # Ray Data resizes (bilinear, size=(height, width)) and then converts the mode
    expected = np.asarray(Image.open(tmp_path / "img0.png").resize((5, 4), resample=Image.BILINEAR).convert("L"))
    assert resized.shape == (4, 4, 5)
    assert any(np.array_equal(img, expected) for img in resized)
    assert "path" not in streamscope.read_images(str(tmp_path)).columns()


def test_read_binary_files(tmp_path, runtime):
    payloads = {f"f{i}.bin": os.urandom(100 + i) for i in range(3)}
    for name, data in payloads.items():
        (tmp_path / name).write_bytes(data)
    rows = streamscope.read_binary_files(str(tmp_path), include_paths=True).take_all()
    assert {os.path.basename(r["path"]): r["bytes"] for r in rows} == payloads


def test_read_numpy(tmp_path, runtime):
    arr = np.arange(30, dtype=np.int64).reshape(10, 3)
    np.save(tmp_path / "a.npy", arr)
    got = streamscope.read_numpy(str(tmp_path / "a.npy")).take_batch(10)["data"]
    np.testing.assert_array_equal(got, arr)


def test_memory_filesystem_paths(runtime):
    import fsspec

    fs = fsspec.filesystem("memory")
    root = "/streamscope-engine-test"
    if fs.exists(root):
        fs.rm(root, recursive=True)
    try:
        t = pa.table({"a": list(range(10))})
        with fs.open(f"{root}/x.parquet", "wb") as f:
            pq.write_table(t, f)
        ds = streamscope.read_parquet(f"memory://{root}/x.parquet")
        assert sorted(r["a"] for r in ds.take_all()) == list(range(10))
        streamscope.range(5).write_parquet(f"memory://{root}/out")
        assert sorted(r["id"] for r in streamscope.read_parquet(f"memory://{root}/out").take_all()) == list(range(5))
    finally:
        if fs.exists(root):
            fs.rm(root, recursive=True)


def test_missing_path_error_names_file(tmp_path, runtime):
    missing = str(tmp_path / "nope.parquet")
    with pytest.raises(Exception) as info:
        streamscope.read_parquet(missing).take_all()
    assert "nope.parquet" in str(info.value)


def test_corrupt_parquet_error_names_file(tmp_path, runtime):
    good = pa.table({"a": [1, 2, 3]})
    pq.write_table(good, tmp_path / "good.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet at all PAR1")
    with pytest.raises(Exception) as info:
        streamscope.read_parquet(str(tmp_path)).take_all()
    assert "bad.parquet" in str(info.value)
    # the pool is still usable afterwards
    assert streamscope.range(10).count() == 10
    assert len(streamscope.range(10).map(lambda r: r).take_all()) == 10
