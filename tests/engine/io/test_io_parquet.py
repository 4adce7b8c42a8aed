import cloudpickle
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from streamscope.engine import tensor
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io import parquet_datasource
from streamscope.engine.io.parquet_datasource import ParquetDatasource


@pytest.fixture
def pq_dir(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"id": np.arange(n), "amount": rng.integers(0, 200, n), "name": [f"n{i % 7}" for i in range(n)]})
    d = tmp_path / "data"
    d.mkdir()
    for i, part in enumerate(np.array_split(np.arange(n), 3)):
        pq.write_table(pa.Table.from_pandas(df.iloc[part], preserve_index=False), d / f"part-{i}.parquet", row_group_size=25)
    (d / "_SUCCESS").write_text("")
    return d, df


def _sorted(table):
    return table.to_pandas().sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("parallelism", [1, 2, 3, 8, 50])
def test_read_matches_pandas(pq_dir, run_tasks, parallelism):
    d, df = pq_dir
    ds = ParquetDatasource(str(d))
    tasks = ds.get_read_tasks(parallelism)
    assert len(tasks) == min(parallelism, 12)  # 3 files x 4 row groups of 25 rows
    assert sum(t.num_rows for t in tasks) == len(df)
    pd.testing.assert_frame_equal(_sorted(run_tasks(ds, parallelism)), df)


def test_schema_and_count_from_footers_without_reading_rows(pq_dir, monkeypatch):
    d, df = pq_dir
    ds = ParquetDatasource(str(d), columns=["amount", "id"])

    def boom(*a, **k):
        raise AssertionError("data was read")

    monkeypatch.setattr(parquet_datasource, "_make_scanner", boom)
    monkeypatch.setattr(pq, "read_table", boom)
    assert ds.schema().names == ["amount", "id"]
    assert ds.num_rows() == len(df)
    assert ds.estimate_inmemory_data_size() > 0
    assert sum(t.num_rows for t in ds.get_read_tasks(4)) == len(df)


def test_projection_pushdown_reads_fewer_columns(pq_dir, run_tasks):
    d, df = pq_dir
    ds = ParquetDatasource(str(d)).apply_projection(["name"])
    out = run_tasks(ds)
    assert out.column_names == ["name"]
    assert sorted(out["name"].to_pylist()) == sorted(df["name"])
    assert ds.schema().names == ["name"]


def test_predicate_pushdown_uses_scan_filter(pq_dir, run_tasks, monkeypatch):
    d, df = pq_dir
    seen = []
    original = parquet_datasource._make_scanner

    def spy(fragment, **kwargs):
        seen.append(kwargs.get("filter"))
        return original(fragment, **kwargs)

    monkeypatch.setattr(parquet_datasource, "_make_scanner", spy)
    ds = ParquetDatasource(str(d)).apply_predicate("amount > 100 and name in ['n1', 'n2']")
    assert ds.num_rows() is None  # unknown until read
    out = run_tasks(ds, pickle=False)
    expected = df[(df.amount > 100) & df.name.isin(["n1", "n2"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(_sorted(out), expected)
    assert seen and all(isinstance(f, pc_expression()) for f in seen)
    assert "filter=" in " ".join(ds.pushdown_summary())


def pc_expression():
    import pyarrow.compute as pc

    return pc.Expression


def test_predicate_skips_row_groups_by_statistics(tmp_path):
    path = tmp_path / "sorted.parquet"
    pq.write_table(pa.table({"x": np.arange(1000)}), path, row_group_size=100)
    ds = ParquetDatasource(str(path)).apply_predicate("x >= 950")
    import pyarrow.fs as pafs

    fragment = pads.ParquetFileFormat().make_fragment(str(path), filesystem=pafs.LocalFileSystem())
    kept = fragment.subset(filter=ds._scan_filter())
    assert kept.num_row_groups == 1  # the filter prunes by statistics, not only after decoding
    out = [b for t in ds.get_read_tasks(1) for b in t()]
    assert sum(b.num_rows for b in out) == 50


def test_predicate_on_missing_column(pq_dir):
    d, _ = pq_dir
    ds = ParquetDatasource(str(d)).apply_predicate("nope > 1")
    with pytest.raises(KeyError, match="nope"):
        ds.get_read_tasks(2)


def test_limit_pushdown_drops_tasks_and_rows(pq_dir, run_tasks):
    d, df = pq_dir
    ds = ParquetDatasource(str(d)).apply_limit(30)
    tasks = ds.get_read_tasks(12)
    assert sum(t.num_rows for t in tasks) == 30
    assert len(tasks) == 2  # 25 + 5 rows; the other ten tasks are never created
    assert ds.num_rows() == 30
    assert run_tasks(ds, 12).num_rows == 30


def test_missing_and_corrupt_files_named(tmp_path):
    with pytest.raises(DataSourceError, match="nope.parquet"):
        ParquetDatasource(str(tmp_path / "nope.parquet"))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"garbage, not parquet")
    pq.write_table(pa.table({"a": [1]}), tmp_path / "good.parquet")
    ds = ParquetDatasource(str(tmp_path))
    with pytest.raises(DataSourceError, match="bad.parquet"):
        ds.schema()


def test_corrupt_data_pages_named(tmp_path):
    path = tmp_path / "trunc.parquet"
    pq.write_table(pa.table({"a": np.arange(10000)}), path, compression="none")
    raw = bytearray(path.read_bytes())
    raw[4:400] = b"\xff" * 396  # wreck the page headers, keep the footer
    path.write_bytes(bytes(raw))
    ds = ParquetDatasource(str(path))
    with pytest.raises(DataSourceError, match="trunc.parquet"):
        for task in ds.get_read_tasks(1):
            list(task())


def test_tensor_columns_round_trip(tmp_path, run_tasks):
    fixed = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    ragged = [np.ones((1, 2)), np.zeros((3, 2)), np.full((2, 2), 7.0)]
    table = pa.table({"f": tensor.ndarray_to_arrow(fixed), "v": tensor.tensors_to_arrow(ragged)})
    pq.write_table(table, tmp_path / "t.parquet")
    ds = ParquetDatasource(str(tmp_path / "t.parquet"))
    assert tensor.is_tensor_type(ds.schema().field("f").type)
    out = run_tasks(ds)
    np.testing.assert_array_equal(tensor.arrow_to_numpy(out["f"]), fixed)
    for got, want in zip(tensor.arrow_to_numpy(out["v"]), ragged):
        np.testing.assert_array_equal(got, want)


def test_memory_filesystem_and_include_paths(memfs, run_tasks):
    fs, root = memfs
    with fs.open(f"{root}/m.parquet", "wb") as f:
        pq.write_table(pa.table({"a": [1, 2, 3]}), f)
    ds = ParquetDatasource(f"memory://{root}", include_paths=True)
    assert ds.schema().names == ["a", "path"]
    out = run_tasks(ds)
    assert out["a"].to_pylist() == [1, 2, 3]
    assert set(out["path"].to_pylist()) == {f"memory://{root}/m.parquet"}


def test_datasource_pickles_without_footers(pq_dir):
    d, _ = pq_dir
    ds = ParquetDatasource(str(d))
    ds.num_rows()
    clone = cloudpickle.loads(cloudpickle.dumps(ds))
    assert clone._meta is None and clone.num_rows() == ds.num_rows()
