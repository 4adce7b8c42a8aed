"""Hive and directory partitions of file reads, as Ray Data 2.60 reads them: discovered by default
for Parquet, CSV and JSON (not for text, binary, numpy, images), values as strings unless
``field_types`` types them, in the schema without reading rows, and filters on them (or a
``partition_filter``) dropping whole files before any read task runs.

Expected rows come from ``pyarrow.dataset`` with a string-typed Hive partitioning and from plain
Python."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import streamscope as ss
from streamscope.datasource import Partitioning, PathPartitionFilter, PathPartitionParser
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io import parquet_datasource
from streamscope.engine.logical.optimizer import optimize


def _rows(table_or_rows, keys):
    rows = table_or_rows.to_pylist() if isinstance(table_or_rows, pa.Table) else table_or_rows
    return sorted((tuple(r[k] for k in keys) for r in rows), key=repr)


@pytest.fixture
def hive(tmp_path):
    """A Parquet table written by pyarrow with partition_cols=["year", "month"]."""
    table = pa.table({"v": list(range(12)), "year": [2022, 2023, 2024] * 4, "month": ["01", "02"] * 6})
    root = tmp_path / "t"
    pq.write_to_dataset(table, str(root), partition_cols=["year", "month"])
    return str(root), table


def _expected(root, **types):
    fields = [("year", types.get("year", pa.string())), ("month", pa.string())]
    return pads.dataset(root, format="parquet", partitioning=pads.partitioning(pa.schema(fields), flavor="hive")).to_table()


def _read_op(ds):
    return optimize(ds._plan).plan.dag


def test_read_parquet_adds_hive_columns_as_strings_like_pyarrow(hive, runtime):
    root, _ = hive
    ds = ss.read_parquet(root)
    expected = _expected(root)
    assert _rows(ds.take_all(), ["v", "year", "month"]) == _rows(expected, ["v", "year", "month"])
    assert ds.schema().names == ["v", "year", "month"]
    assert ds.schema().types[1:] == [pa.string(), pa.string()]


def test_schema_columns_and_count_need_no_rows(hive, monkeypatch):
    root, table = hive

    def boom(*a, **k):
        raise AssertionError("data was read")

    monkeypatch.setattr(parquet_datasource, "_make_scanner", boom)
    ds = ss.read_parquet(root)
    assert ds.columns() == ["v", "year", "month"]
    assert ds.count() == table.num_rows


def test_projections_of_partition_columns(hive, runtime):
    root, _ = hive
    expected = _expected(root)
    ds = ss.read_parquet(root, columns=["year", "v"])
    assert ds.columns() == ["year", "v"]
    assert _rows(ds.take_all(), ["year", "v"]) == _rows(expected, ["year", "v"])
    only = ss.read_parquet(root).select_columns(["month"])
    assert sorted(r["month"] for r in only.take_all()) == sorted(expected.column("month").to_pylist())


def test_field_types_type_the_partition_columns(hive, runtime):
    root, _ = hive
    ds = ss.read_parquet(root, partitioning=Partitioning("hive", field_types={"year": int}))
    assert ds.schema().types[1] == pa.int64()
    expected = _expected(root, year=pa.int64())
    assert _rows(ds.take_all(), ["v", "year", "month"]) == _rows(expected, ["v", "year", "month"])


def test_partitioning_none_reads_only_the_files_columns(hive, runtime):
    root, table = hive
    ds = ss.read_parquet(root, partitioning=None)
    assert ds.columns() == ["v"]
    assert sorted(r["v"] for r in ds.take_all()) == table.column("v").to_pylist()


def _text_tree(tmp_path):
    for country in ("fr", "us"):
        d = tmp_path / f"country={country}"
        d.mkdir()
        (d / "a.csv").write_text(f"n\n{len(country)}\n7\n")
        (d / "a.json").write_text(json.dumps({"n": 1}) + "\n")
        (d / "a.txt").write_text("hello\n")
        (d / "a.bin").write_bytes(b"\x01")
        np.save(d / "a.npy", np.arange(2))
    return str(tmp_path)


def test_csv_and_json_discover_hive_by_default_as_ray_does(tmp_path, runtime):
    root = _text_tree(tmp_path)
    csv = ss.read_csv(root, file_extensions=["csv"]).take_all()
    assert sorted((r["n"], r["country"]) for r in csv) == [(2, "fr"), (2, "us"), (7, "fr"), (7, "us")]
    js = ss.read_json(root).take_all()
    assert sorted((r["n"], r["country"]) for r in js) == [(1, "fr"), (1, "us")]


@pytest.mark.parametrize("reader, ext, column", [
    (ss.read_text, "txt", "text"), (ss.read_binary_files, "bin", "bytes"), (ss.read_numpy, "npy", "data"),
])
def test_other_readers_default_to_no_partitioning_and_take_one(tmp_path, runtime, reader, ext, column):
    root = _text_tree(tmp_path)
    assert list(reader(root, file_extensions=[ext]).take(1)[0]) == [column]
    rows = reader(root, file_extensions=[ext], partitioning=Partitioning("hive")).take_all()
    assert {r["country"] for r in rows} == {"fr", "us"} and all(set(r) == {column, "country"} for r in rows)


def test_directory_partitioning_labels_images(tmp_path, runtime):
    from PIL import Image

    for label, shade in (("cat", 10), ("dog", 200)):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.new("L", (3, 2), color=shade).save(tmp_path / label / f"{i}.png")
    part = Partitioning("dir", field_names=["label"], base_dir=str(tmp_path))
    rows = ss.read_images(str(tmp_path), partitioning=part).take_all()
    assert sorted((r["label"], int(r["image"][0, 0])) for r in rows) == [("cat", 10)] * 2 + [("dog", 200)] * 2
    pruned = ss.read_images(str(tmp_path), partitioning=part).filter(expr="label == 'dog'")
    assert "2 of 4 files pruned" in _read_op(pruned).detail()
    assert [int(r["image"][0, 0]) for r in pruned.take_all()] == [200, 200]


def test_directory_partitioning_without_the_right_base_dir_says_so(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "x.bin").write_bytes(b"1")
    with pytest.raises(ValueError, match="set base_dir"):
        ss.read_binary_files(str(tmp_path), partitioning=Partitioning("dir", field_names=["label"]))


def test_reads_back_streamscopes_own_partitioned_write(tmp_path, runtime):
    out = str(tmp_path / "out")
    rows = [{"city": c, "year": y, "v": i} for i, (c, y) in enumerate([("a b", 1), ("x", 2), (None, 1)] * 2)]
    ss.from_items(rows).write_parquet(out, partition_cols=["city", "year"])
    back = ss.read_parquet(out)
    assert back.columns() == ["v", "city", "year"]
    # strings, URL-decoded; a null partition stays pyarrow's directory name, as Ray Data reads it
    expected = [(r["v"], r["city"] if r["city"] is not None else "__HIVE_DEFAULT_PARTITION__", str(r["year"]))
                for r in rows]
    assert sorted((r["v"], r["city"], r["year"]) for r in back.take_all()) == sorted(expected)


def test_filter_on_partition_columns_prunes_files_before_reading(hive, runtime, monkeypatch):
    root, _ = hive
    footers = []
    original = pq.read_metadata
    monkeypatch.setattr(pq, "read_metadata", lambda path, **k: footers.append(path) or original(path, **k))
    ds = ss.read_parquet(root).filter(expr="year == '2023' and month != '02'")
    read = _read_op(ds)
    assert "5 of 6 files pruned by year == '2023' and month != '02'" in read.detail()
    files = [f for t in read.datasource.get_read_tasks(8) for f in t.input_files]
    assert len(files) == 1 and "year=2023" in files[0] and "month=01" in files[0]
    expected = _expected(root).filter((pc.field("year") == "2023") & (pc.field("month") != "02"))
    assert ds.count() == expected.num_rows  # from the kept files' footers
    assert _rows(ds.take_all(), ["v", "year", "month"]) == _rows(expected, ["v", "year", "month"])
    # the footers read on the driver: the first file's (the schema) and the kept file's only
    assert len(set(footers) - set(files)) <= 1
    assert "pruned" in ds._explain().text()


def test_mixed_and_data_filters_give_pyarrows_rows(hive, runtime):
    root, _ = hive
    expected = _expected(root)
    cases = {
        "year == '2024' or v > 9": (pc.field("year") == "2024") | (pc.field("v") > 9),
        "year != '2022' and v < 6": (pc.field("year") != "2022") & (pc.field("v") < 6),
    }
    for text, arrow in cases.items():
        ds = ss.read_parquet(root).filter(expr=text)
        assert _rows(ds.take_all(), ["v", "year", "month"]) == _rows(expected.filter(arrow), ["v", "year", "month"])


def test_filter_comparing_a_string_partition_with_an_int_fails_at_plan_time(hive):
    root, _ = hive
    ds = ss.read_parquet(root).filter(expr="year == 2023")
    with pytest.raises(ValueError, match=r"field_types=\{'year': int\}"):
        ds.explain()


def test_csv_filter_prunes_and_filters_rows(tmp_path, runtime):
    root = _text_tree(tmp_path)
    ds = ss.read_csv(root, file_extensions=["csv"]).filter(expr="country == 'us' and n > 3")
    assert "1 of 2 files pruned" in _read_op(ds).detail()
    assert ds.take_all() == [{"n": 7, "country": "us"}]
    keep_us = PathPartitionFilter.of(lambda p: p["country"] == "us")
    only_us = ss.read_csv(root, file_extensions=["csv"], partition_filter=keep_us)
    assert "partition_filter dropped 5 files" in _read_op(only_us).detail()  # fr's five, before the extension filter
    assert sorted(r["n"] for r in only_us.take_all()) == [2, 7]


def test_partition_filter_drops_files_when_the_read_is_built(hive, runtime):
    root, _ = hive
    keep = PathPartitionFilter.of(lambda p: p["year"] == "2022")
    ds = ss.read_parquet(root, partition_filter=keep)
    assert len(ds.input_files()) == 2 and all("year=2022" in f for f in ds.input_files())
    expected = _expected(root).filter(pc.field("year") == "2022")
    assert _rows(ds.take_all(), ["v", "year", "month"]) == _rows(expected, ["v", "year", "month"])
    assert "partition_filter dropped 4 files" in _read_op(ds).detail()
    typed = PathPartitionFilter.of(lambda p: p["year"] >= 2023, field_types={"year": int})
    assert len(ss.read_parquet(root, partition_filter=typed).input_files()) == 4
    with pytest.raises(DataSourceError, match="partition_filter kept none"):
        ss.read_parquet(root, partition_filter=PathPartitionFilter.of(lambda p: False))
    with pytest.raises(TypeError, match="PathPartitionFilter"):
        ss.read_parquet(root, partition_filter=lambda paths: paths)


def test_a_partition_column_also_in_the_file_must_agree(tmp_path, runtime):
    (tmp_path / "k=1").mkdir()
    (tmp_path / "k=1" / "ok.csv").write_text("k,v\n1,5\n")
    assert ss.read_csv(str(tmp_path)).take_all() == [{"k": 1, "v": 5}]
    (tmp_path / "k=1" / "bad.csv").write_text("k,v\n2,6\n")
    with pytest.raises(DataSourceError, match="path says k='1'"):
        ss.read_csv(str(tmp_path)).take_all()


def test_parser_hive_and_dir_rules():
    hive = PathPartitionParser(Partitioning("hive"))
    assert hive("r/a=1/not-a-pair/b=x%2Fy/f.csv") == {"a": "1", "b": "x/y"}
    assert hive("r/f.csv") == {}
    named = PathPartitionParser(Partitioning("hive", field_names=["a", "b"]))
    with pytest.raises(ValueError, match="must match field_names"):
        named("r/b=1/a=2/f.csv")
    based = PathPartitionParser(Partitioning("dir", base_dir="/r", field_names=["x", "y"]))
    assert based("/r/1/2/f.csv") == {"x": "1", "y": "2"}
    assert based("/elsewhere/1/2/f.csv") == {}  # outside base_dir: unpartitioned
    typed = PathPartitionParser(Partitioning("hive", field_types={"a": float, "b": bool}))
    assert typed("a=1.5/b=True/f") == {"a": 1.5, "b": True}
    with pytest.raises(ValueError, match="cannot read 'x' as int"):
        PathPartitionParser(Partitioning("hive", field_types={"a": int}))("a=x/f")
    with pytest.raises(ValueError, match="needs field_names"):
        Partitioning("dir")
    with pytest.raises(ValueError, match="unknown style"):
        Partitioning("flat")
    with pytest.raises(TypeError, match="field_types"):
        Partitioning("hive", field_types={"a": list})


def test_to_pyarrow_matches_pyarrows_own_partitioning():
    ours = Partitioning("hive", field_names=["year", "city"], field_types={"year": int}).to_pyarrow()
    assert ours.schema == pa.schema([("year", pa.int64()), ("city", pa.string())])
    assert isinstance(Partitioning("dir", field_names=["a"]).to_pyarrow(), pads.DirectoryPartitioning)


def test_ray_import_paths_map_one_to_one():
    from streamscope.datasource import FileBasedDatasource, FileShuffleConfig, PartitionStyle
    from streamscope.datasource.file_based_datasource import FileBasedDatasource as FBD
    from streamscope.datasource.partitioning import Partitioning as P

    assert P is Partitioning and FBD is FileBasedDatasource
    assert ss.FileShuffleConfig is FileShuffleConfig is ss.datasource.FileShuffleConfig
    assert PartitionStyle.HIVE == "hive" and ss.datasource.FileBasedDatasource is FileBasedDatasource


def test_text_and_binary_schemas_are_known_without_reading(tmp_path, monkeypatch):
    root = _text_tree(tmp_path)
    from streamscope.engine.io.file_datasource import FileBasedDatasource

    monkeypatch.setattr(FileBasedDatasource, "_read_file", lambda *a: (_ for _ in ()).throw(AssertionError("read")))
    text = ss.read_text(root, file_extensions=["txt"], partitioning=Partitioning("hive"), include_paths=True)
    assert text.schema().base_schema == pa.schema([("text", pa.string()), ("country", pa.string()), ("path", pa.string())])
    binary = ss.read_binary_files(root, file_extensions=["bin"]).select_columns(["bytes"])
    assert binary.columns() == ["bytes"]


def test_a_partition_column_the_files_also_store_takes_their_type(tmp_path, runtime):
    for year in (2022, 2023):
        (tmp_path / f"year={year}").mkdir()
        pq.write_table(pa.table({"v": [year % 10], "year": [year]}), tmp_path / f"year={year}" / "p.parquet")
    ds = ss.read_parquet(str(tmp_path))
    assert ds.schema().base_schema == pa.schema([("v", pa.int64()), ("year", pa.int64())])
    pruned = ds.filter(expr="year == 2023")  # compared as the files' ints, and still pruned by path
    assert "1 of 2 files pruned" in _read_op(pruned).detail()
    assert pruned.take_all() == [{"v": 3, "year": 2023}]


def test_evaluate_predicate_on_partition_as_ray():
    parse = PathPartitionParser(Partitioning("hive", field_types={"n": int}))
    assert parse.evaluate_predicate_on_partition("t/n=3/f", "n > 2") is True
    assert parse.evaluate_predicate_on_partition("t/n=1/f", "n > 2") is False
    assert parse.evaluate_predicate_on_partition("t/f", "n > 2") is False  # unpartitioned
    assert parse.evaluate_predicate_on_partition("t/n=1/f", "m == 'x'") is True  # cannot tell: kept
