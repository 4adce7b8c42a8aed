"""The file options every read shares, as Ray Data 2.60 has them: ``include_paths``,
``ignore_missing_paths``, ``file_extensions``, ``shuffle`` ("files" and ``FileShuffleConfig``,
reshuffled per execution unless ``reseed_after_execution=False``), ``skip_paths`` and
``tensor_column_schema`` of read_parquet, and a user's ``FileBasedDatasource`` subclass going
through the same machinery. Expected values come from pandas, numpy and plain Python."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope as ss
from streamscope.datasource import FileBasedDatasource, FileShuffleConfig, Partitioning, PathPartitionFilter
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine import tensor


@pytest.fixture
def csv_dir(tmp_path):
    for i in range(12):
        (tmp_path / f"f{i:02d}.csv").write_text(f"x\n{i}\n")
    return tmp_path


def _datasource(ds):
    return ds._plan.dag.datasource


def _task_order(ds, parallelism=64):
    """The files of one planned execution, in task order (each call is one execution)."""
    return [os.path.basename(t.input_files[0]) for t in _datasource(ds).get_read_tasks(parallelism)]


@pytest.mark.parametrize("reader, ext", [
    (ss.read_parquet, "parquet"), (ss.read_csv, "csv"), (ss.read_json, "json"), (ss.read_text, "txt"),
    (ss.read_binary_files, "bin"), (ss.read_numpy, "npy"),
])
def test_include_paths_adds_a_path_column(tmp_path, runtime, reader, ext):
    path = tmp_path / f"data.{ext}"
    if ext == "parquet":
        pq.write_table(pa.table({"x": [1, 2]}), path)
    elif ext == "csv":
        path.write_text("x\n1\n2\n")
    elif ext == "json":
        path.write_text('{"x": 1}\n{"x": 2}\n')
    elif ext == "txt":
        path.write_text("1\n2\n")
    elif ext == "npy":
        np.save(path, np.array([1, 2]))
    else:
        path.write_bytes(b"12")
    rows = reader(str(tmp_path), include_paths=True).take_all()
    assert rows and all(r["path"] == str(path) for r in rows)


def test_read_parquet_columns_keep_the_path_column_as_ray(tmp_path, runtime):
    pq.write_table(pa.table({"x": [1], "y": [2]}), tmp_path / "a.parquet")
    ds = ss.read_parquet(str(tmp_path), columns=["y"], include_paths=True)
    assert ds.columns() == ["y", "path"]
    assert ds.take_all() == [{"y": 2, "path": str(tmp_path / "a.parquet")}]


def test_ignore_missing_paths(csv_dir, runtime):
    missing = str(csv_dir / "nope.csv")
    with pytest.raises(DataSourceError, match="nope.csv"):
        ss.read_csv([str(csv_dir / "f00.csv"), missing])
    assert ss.read_csv([str(csv_dir / "f00.csv"), missing], ignore_missing_paths=True).take_all() == [{"x": 0}]
    with pytest.raises(DataSourceError, match="ignore_missing_paths"):
        ss.read_csv([missing], ignore_missing_paths=True)


def test_file_extensions_match_as_ray_case_dot_and_compression(tmp_path, runtime):
    (tmp_path / "a.CSV").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    with gzip.open(tmp_path / "c.csv.gz", "wt") as f:
        f.write("x\n3\n")
    (tmp_path / "notes.txt").write_text("not,csv\n")
    plain = ss.read_csv(str(tmp_path), file_extensions=["csv"])
    assert sorted(r["x"] for r in plain.take_all()) == [1, 2]
    dotted = ss.read_csv(str(tmp_path), file_extensions=[".csv", "csv.gz"])
    expected = pd.concat([pd.read_csv(tmp_path / n) for n in ("a.CSV", "b.csv", "c.csv.gz")])
    assert sorted(r["x"] for r in dotted.take_all()) == sorted(expected["x"])
    assert len(ss.read_csv(str(tmp_path)).input_files()) == 4  # read_csv's default: every file, as Ray
    with pytest.raises(DataSourceError, match=r"no files with extensions \['parquet'\].*file_extensions=None"):
        ss.read_csv(str(tmp_path), file_extensions=["parquet"])
    with pytest.raises(TypeError, match="file_extensions must be a list"):
        ss.read_csv(str(tmp_path), file_extensions="csv")


def test_skip_paths_of_read_parquet(csv_dir, runtime):
    pq.write_table(pa.table({"x": [1]}), csv_dir / "a.parquet")
    pq.write_table(pa.table({"x": [2]}), csv_dir / "b.parquet")
    kept = ss.read_parquet(str(csv_dir), skip_paths=[str(csv_dir / "a.parquet")])
    assert kept.take_all() == [{"x": 2}]


def test_seeded_shuffle_is_reproducible_and_reseeds_per_execution(csv_dir):
    names = sorted(os.listdir(csv_dir))
    fixed = ss.read_csv(str(csv_dir), shuffle=FileShuffleConfig(seed=5, reseed_after_execution=False))
    first, second = _task_order(fixed), _task_order(fixed)
    assert first == second and sorted(first) == names and first != names
    epochs = ss.read_csv(str(csv_dir), shuffle=FileShuffleConfig(seed=5))
    again = ss.read_csv(str(csv_dir), shuffle=FileShuffleConfig(seed=5))
    orders = [_task_order(epochs) for _ in range(3)]
    assert orders == [_task_order(again) for _ in range(3)]  # the same seed gives the same epochs
    assert len({tuple(o) for o in orders}) == 3 and all(sorted(o) == names for o in orders)


def test_shuffle_files_keeps_every_row_and_preserve_order_follows_the_file_order(csv_dir, ctx, runtime):
    ctx.execution_options.preserve_order = True
    ds = ss.read_csv(str(csv_dir), shuffle=FileShuffleConfig(seed=3, reseed_after_execution=False),
                     override_num_blocks=12)
    order = _task_order(ds, 12)
    assert [r["x"] for r in ds.take_all()] == [int(n[1:3]) for n in order]
    unseeded = ss.read_csv(str(csv_dir), shuffle="files")
    assert sorted(r["x"] for r in unseeded.take_all()) == list(range(12))
    with pytest.raises(ValueError, match="shuffle=True is not supported"):
        ss.read_csv(str(csv_dir), shuffle=True)
    with pytest.raises(ValueError, match="seed must be an int"):
        FileShuffleConfig(seed="1")


def test_tensor_column_schema_turns_bytes_into_tensors(tmp_path, runtime):
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3) + i for i in range(5)]
    pq.write_table(pa.table({"id": list(range(5)), "t": [a.tobytes() for a in arrays]}), tmp_path / "t.parquet",
                   row_group_size=2)
    ds = ss.read_parquet(str(tmp_path), tensor_column_schema={"t": (np.float32, (2, 3))})
    assert tensor.is_tensor_type(ds.schema().base_schema.field("t").type)
    rows = sorted(ds.take_all(), key=lambda r: r["id"])
    for row, expected in zip(rows, arrays):
        np.testing.assert_array_equal(row["t"], expected)
    wrong = ss.read_parquet(str(tmp_path), tensor_column_schema={"t": (np.float64, (2, 3))})
    with pytest.raises(DataSourceError, match="holds 24 bytes"):
        wrong.take_all()
    with pytest.raises(TypeError, match="tensor_column_schema"):
        ss.read_parquet(str(tmp_path), tensor_column_schema={"t": np.float32})


class _Lines(FileBasedDatasource):
    """A user's datasource in Ray's shape: only ``_read_stream``."""

    def _read_stream(self, f, path):
        lines = f.read().decode().splitlines()
        yield pa.table({"line": lines, "n": [len(x) for x in lines]})


def test_a_user_file_based_datasource_gets_the_file_machinery(tmp_path, runtime):
    for part, text in (("a", "xy\nz\n"), ("b", "hello\n")):
        (tmp_path / f"part={part}").mkdir()
        (tmp_path / f"part={part}" / "f.log").write_text(text)
        (tmp_path / f"part={part}" / "skip.tmp").write_text("ignored\n")
    src = _Lines(str(tmp_path), partitioning=Partitioning("hive"), file_extensions=["log"], include_paths=True,
                 shuffle=FileShuffleConfig(seed=1))
    rows = ss.read_datasource(src).take_all()
    expected = [(line, len(line), part) for part, text in (("a", "xy\nz\n"), ("b", "hello\n")) for line in text.split()]
    assert sorted((r["line"], r["n"], r["part"]) for r in rows) == sorted(expected)
    assert all(r["path"].endswith(os.path.join(f"part={r['part']}", "f.log")) for r in rows)
    pruned = ss.read_datasource(src).filter(expr="part == 'b'")
    assert pruned.take_all() == [{"line": "hello", "n": 5, "part": "b", "path": str(tmp_path / "part=b" / "f.log")}]
    only_a = _Lines(str(tmp_path), partition_filter=PathPartitionFilter.of(lambda p: p.get("part") == "a"),
                    file_extensions=["log"])
    assert sorted(r["line"] for r in ss.read_datasource(only_a).take_all()) == ["xy", "z"]
    assert len(_Lines(str(tmp_path)).input_files()) == 4  # Ray's base default: no extension filter


@pytest.mark.parametrize("arg, value, match", [
    ("schema", pa.schema([("line", pa.string())]), "schema= is not supported"),
    ("open_stream_args", {"buffer_size": 1}, "open_stream_args"),
    ("meta_provider", object(), "meta_provider"),
    ("partitioning", "hive", "Partitioning"),
])
def test_file_based_datasource_refuses_what_it_does_not_do(tmp_path, arg, value, match):
    (tmp_path / "f.log").write_text("x\n")
    with pytest.raises((ValueError, TypeError), match=match):
        _Lines(str(tmp_path), **{arg: value})


def test_a_subclass_without_read_stream_says_what_to_implement(tmp_path, runtime):
    (tmp_path / "f.log").write_text("x\n")
    with pytest.raises(DataSourceError, match=r"must implement _read_stream\(self, f, path\)"):
        ss.read_datasource(FileBasedDatasource(str(tmp_path))).take_all()


def test_read_parquet_pyarrow_arguments(tmp_path, runtime):
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), tmp_path / "t.parquet")
    (tmp_path / "k=7").mkdir()
    pq.write_table(pa.table({"a": [3], "b": ["z"]}), tmp_path / "k=7" / "u.parquet")
    schema = pa.schema([("a", pa.float32()), ("b", pa.string()), ("k", pa.int64())])
    ds = ss.read_parquet(str(tmp_path), schema=schema)
    assert ds.schema().base_schema == schema  # the given types, partition column included
    rows = sorted(ds.take_all(), key=lambda r: r["a"])
    assert rows == [{"a": 1.0, "b": "x", "k": None}, {"a": 2.0, "b": "y", "k": None}, {"a": 3.0, "b": "z", "k": 7}]
    assert isinstance(rows[0]["a"], float)
    dictionary = ss.read_parquet(str(tmp_path / "t.parquet"), dataset_kwargs={"read_dictionary": ["b"]},
                                 batch_readahead=1, use_threads=False)
    assert pa.types.is_dictionary(dictionary.to_arrow().schema.field("b").type)
    with pytest.raises(TypeError, match="unexpected arguments \\['nope'\\]"):
        ss.read_parquet(str(tmp_path), nope=1)
    with pytest.raises(ValueError, match="partitioning= to read_parquet itself"):
        ss.read_parquet(str(tmp_path), dataset_kwargs={"partitioning": "hive"})
    with pytest.raises(TypeError, match="ParquetFileFormat"):
        ss.read_parquet(str(tmp_path), dataset_kwargs={"no_such_option": 1})


class _Sizes(FileBasedDatasource):
    """Opens files itself, with random access, as a Ray subclass may."""

    def _open_input_source(self, filesystem, path, **open_args):
        return filesystem.open_input_file(path)

    def _read_stream(self, f, path):
        yield pa.table({"size": [f.size()], "head": [f.read(2)]})


def test_a_subclass_may_open_its_files_itself(tmp_path, runtime):
    (tmp_path / "a.bin").write_bytes(b"abcdef")
    assert ss.read_datasource(_Sizes(str(tmp_path))).take_all() == [{"size": 6, "head": b"ab"}]
