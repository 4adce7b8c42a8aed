"""Consumption APIs, writes and tensor columns."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope


def _never_called_udf(marker_dir):
    def fn(row):
        open(os.path.join(marker_dir, f"called-{os.getpid()}"), "w").close()
        return row

    return fn


def test_count_from_metadata_does_not_run_udf(runtime, tmp_path):
    ds = streamscope.range(500).map(_never_called_udf(str(tmp_path)))
    assert ds.count() == 500
    assert os.listdir(tmp_path) == []
    assert ds.limit(40).count() == 40
    assert os.listdir(tmp_path) == []
    # a filter makes the count unknown: it must run and be exact
    assert streamscope.range(500).filter(lambda r: r["id"] < 123).count() == 123


def test_take_take_batch_take_all_show(runtime, capsys):
    ds = streamscope.range(50, override_num_blocks=5)
    assert [r["id"] for r in ds.take(7)] == list(range(7))
    batch = ds.take_batch(12)
    np.testing.assert_array_equal(batch["id"], np.arange(12))
    pdf = ds.take_batch(3, batch_format="pandas")
    assert isinstance(pdf, pd.DataFrame) and list(pdf["id"]) == [0, 1, 2]
    assert sorted(r["id"] for r in ds.take_all()) == list(range(50))
    with pytest.raises(ValueError):
        ds.take_all(limit=10)
    ds.show(3)
    assert capsys.readouterr().out.splitlines() == ["{'id': 0}", "{'id': 1}", "{'id': 2}"]


def test_schema_columns_num_blocks_size_bytes(runtime):
    df = pd.DataFrame({"a": np.arange(100, dtype=np.int64), "b": np.arange(100, dtype=np.float64)})
    ds = streamscope.from_pandas(df, override_num_blocks=4)
    assert ds.schema().names == ["a", "b"]
    assert ds.columns() == ["a", "b"]
    assert ds.num_blocks() == 4
    assert ds.size_bytes() == pa.Table.from_pandas(df, preserve_index=False).nbytes
    mapped = ds.map_batches(lambda b: {"c": b["a"] * 2})
    assert mapped.columns() == ["c"]


def test_schema_of_unknown_udf_output_is_fetched(runtime):
    ds = streamscope.range(10).map(lambda r: {"x": str(r["id"])})
    assert ds.schema().names == ["x"]
    assert ds.schema().types[0] == pa.string()


def test_iter_rows(runtime):
    assert sorted(r["id"] for r in streamscope.range(33).iter_rows()) == list(range(33))


@pytest.mark.parametrize("fmt,kind", [("default", dict), ("numpy", dict), ("pandas", pd.DataFrame), ("pyarrow", pa.Table)])
def test_iter_batches_formats_and_sizes(fmt, kind, runtime):
    ds = streamscope.range(103, override_num_blocks=4)
    batches = list(ds.iter_batches(batch_size=10, batch_format=fmt))
    assert all(isinstance(b, kind) for b in batches)
    sizes = [len(b) if not isinstance(b, dict) else len(b["id"]) for b in batches]
    assert sizes == [10] * 10 + [3]
    dropped = list(ds.iter_batches(batch_size=10, drop_last=True, prefetch_batches=0))
    assert [len(b["id"]) for b in dropped] == [10] * 10
    ids = np.concatenate([np.asarray(b["id"]) if not isinstance(b, pa.Table) else b["id"].to_numpy() for b in batches])
    assert sorted(ids.tolist()) == list(range(103))


def test_iter_batches_prefetch_and_local_shuffle(runtime):
    ds = streamscope.range(200, override_num_blocks=4)
    for prefetch in (0, 1, 4):
        ids = np.concatenate([b["id"] for b in ds.iter_batches(batch_size=32, prefetch_batches=prefetch)])
        assert sorted(ids.tolist()) == list(range(200))
    shuffled = np.concatenate([b["id"] for b in ds.iter_batches(batch_size=20, local_shuffle_buffer_size=50, local_shuffle_seed=3)])
    assert sorted(shuffled.tolist()) == list(range(200))
    assert shuffled.tolist() != sorted(shuffled.tolist())


def test_batch_iteration_creates_its_run_on_the_consumers_thread(runtime):
    # The notebook extension shows a live view for the runs created on the thread running the
    # cell; the prefetch thread that pulls the blocks must not be the one that creates the run.
    import importlib.util
    import threading

    from streamscope.engine.execution.telemetry import hub

    threads = []

    def record(_buffer):
        threads.append(threading.current_thread())

    ds = streamscope.range(100, override_num_blocks=4)
    hub().add_listener(record)
    try:
        consumers = {
            "iter_batches": lambda: ds.iter_batches(batch_size=10),
            "iterator().iter_batches": lambda: ds.iterator().iter_batches(batch_size=10),
        }
        if importlib.util.find_spec("torch") is not None:  # an optional extra
            consumers["iter_torch_batches"] = lambda: ds.iter_torch_batches(batch_size=10, device="cpu")
        for name, make in consumers.items():
            threads.clear()
            batches = make()
            assert threads == [], f"{name}: a run was created before iteration began"
            assert sum(len(b["id"]) for b in batches) == 100
            assert threads == [threading.current_thread()], name
    finally:
        hub().remove_listener(record)


def test_iter_batches_early_break_cancels_run(runtime):
    ds = streamscope.range(100_000, override_num_blocks=50).map_batches(lambda b: b)
    for i, _ in enumerate(ds.iter_batches(batch_size=10)):
        if i == 2:
            break
    run = ds._last_run
    run.join(10)
    assert run.state in ("cancelled", "succeeded")
    assert streamscope.range(5).count() == 5


def test_to_pandas(runtime):
    df = pd.DataFrame({"a": np.arange(20), "s": [f"v{i}" for i in range(20)]})
    out = streamscope.from_pandas(df).map_batches(lambda b: b, batch_format="pandas").to_pandas()
    pd.testing.assert_frame_equal(out.sort_values("a").reset_index(drop=True), df)


def test_input_files(tmp_path, runtime):
    for i in range(3):
        pq.write_table(pa.table({"a": [i]}), tmp_path / f"f{i}.parquet")
    ds = streamscope.read_parquet(str(tmp_path)).map(lambda r: r)
    assert sorted(os.path.basename(f) for f in ds.input_files()) == ["f0.parquet", "f1.parquet", "f2.parquet"]
    assert streamscope.range(3).input_files() == []


# ---- writes ----------------------------------------------------------------------------------------

def test_write_parquet_csv_json_numpy(tmp_path, runtime):
    df = pd.DataFrame({"id": np.arange(60), "v": np.arange(60) * 0.25})
    ds = streamscope.from_pandas(df, override_num_blocks=3)
    ds.write_parquet(str(tmp_path / "pq"))
    back = pq.read_table(str(tmp_path / "pq")).to_pandas().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df)

    ds.write_csv(str(tmp_path / "csv"))
    csv = pd.concat(pd.read_csv(f) for f in glob.glob(str(tmp_path / "csv" / "*.csv")))
    pd.testing.assert_frame_equal(csv.sort_values("id").reset_index(drop=True), df)

    ds.write_json(str(tmp_path / "json"))
    rows = [json.loads(line) for f in glob.glob(str(tmp_path / "json" / "*.json")) for line in open(f) if line.strip()]
    assert sorted(r["id"] for r in rows) == list(range(60))

    streamscope.from_numpy(np.arange(24).reshape(6, 4)).write_numpy(str(tmp_path / "npy"), column="data")
    arrays = [np.load(f) for f in glob.glob(str(tmp_path / "npy" / "*.npy"))]
    stacked = np.concatenate(arrays)
    np.testing.assert_array_equal(stacked[np.argsort(stacked[:, 0])], np.arange(24).reshape(6, 4))


def _boom_after(n):
    def fn(batch):
        if batch["id"].max() >= n:
            raise RuntimeError("write source failed")
        return batch

    return fn


def test_failing_write_leaves_nothing_that_looks_complete(tmp_path, runtime):
    out = tmp_path / "out"
    ds = streamscope.range(1000, override_num_blocks=10).map_batches(_boom_after(900))
    with pytest.raises(Exception, match="write source failed"):
        ds.write_parquet(str(out))
    left = [f for f in glob.glob(str(out / "**"), recursive=True) if os.path.isfile(f)]
    assert [f for f in left if f.endswith(".parquet")] == []


# ---- tensors ----------------------------------------------------------------------------------------

def test_tensor_columns_numpy_and_parquet_roundtrip(tmp_path, runtime):
    imgs = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    ds = streamscope.from_numpy(imgs)
    got = ds.take_batch(5)["data"]
    assert isinstance(got, np.ndarray) and got.shape == (5, 3, 4)
    np.testing.assert_array_equal(got, imgs)
    ds.write_parquet(str(tmp_path / "fixed"))
    table = pq.read_table(str(tmp_path / "fixed"))  # plain pyarrow can read it
    assert table.num_rows == 5
    back = streamscope.read_parquet(str(tmp_path / "fixed")).take_batch(5)["data"]
    np.testing.assert_array_equal(back[np.argsort(back[:, 0, 0])], imgs)

    # ragged: every block has its own shape, so the dataset's column is variable-shape
    ragged = streamscope.range(4).map(lambda r: {"id": r["id"], "t": np.ones((r["id"] + 1, 2), dtype=np.int32) * r["id"]})
    table = ragged.to_arrow()
    assert table.schema.field("t").type.extension_name == "arrow.variable_shape_tensor"
    ragged.write_parquet(str(tmp_path / "ragged"))
    files = glob.glob(str(tmp_path / "ragged" / "*.parquet"))
    assert sum(pq.read_table(f).num_rows for f in files) == 4  # plain pyarrow reads every file
    rows = sorted(streamscope.read_parquet(str(tmp_path / "ragged")).take_all(), key=lambda r: r["id"])
    for r in rows:
        assert isinstance(r["t"], np.ndarray)
        np.testing.assert_array_equal(r["t"], np.ones((r["id"] + 1, 2), dtype=np.int32) * r["id"])
    pdf = streamscope.read_parquet(str(tmp_path / "ragged")).to_pandas()
    assert all(isinstance(v, np.ndarray) for v in pdf["t"])
    # ragged inside one block: a variable-shape column written to a single file
    one = streamscope.from_items([{"t": np.arange(n, dtype=np.float64)} for n in (1, 3, 2)], override_num_blocks=1)
    one.write_parquet(str(tmp_path / "one"))
    (f,) = glob.glob(str(tmp_path / "one" / "*.parquet"))
    assert pq.read_table(f).num_rows == 3
    got = sorted((r["t"] for r in streamscope.read_parquet(f).take_all()), key=len)
    for n, arr in zip((1, 2, 3), got):
        np.testing.assert_array_equal(arr, np.arange(n, dtype=np.float64))
