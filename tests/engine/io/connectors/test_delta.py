"""read_delta / Dataset.write_delta on local Delta tables, checked against deltalake's own reader
(``DeltaTable(path).to_pyarrow_table()``, ``scan()``), its log (add actions, versions) and
pyarrow/pandas."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import struct
import time

import pyarrow as pa
import pytest

deltalake = pytest.importorskip("deltalake")

import streamscope  # noqa: E402
from streamscope import DataSourceError  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402


def _rows(table_or_rows, key="id"):
    rows = table_or_rows.to_pylist() if isinstance(table_or_rows, pa.Table) else list(table_or_rows)
    return sorted(rows, key=lambda r: r[key])


def _records(df) -> list[dict]:
    """A pandas frame's rows with None (not NaN) for missing values, as streamscope returns them."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _files(root) -> set[str]:
    return {os.path.relpath(p, root) for p in glob.glob(os.path.join(str(root), "**"), recursive=True)
            if os.path.isfile(p)}


def _plan_text(ds) -> str:
    """What ``ds.explain()`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ds.explain()
    return out.getvalue()


def _source(ds):
    return ds._plan.dag.datasource


@pytest.fixture
def table(tmp_path):
    """A table partitioned by ``part`` (a null partition too), two versions, five data files."""
    path = str(tmp_path / "events")
    write_deltalake(path, pa.table({"id": [1, 2, 3, 4], "part": ["a", "a", "b", None], "v": [1.5, 2.5, None, 4.0]}),
                    partition_by=["part"])
    write_deltalake(path, pa.table({"id": [5, 6], "part": ["b", "c"], "v": [5.0, 6.0]}), mode="append")
    return path


# ---- reads ------------------------------------------------------------------------------------
def test_read_matches_deltalake_rows_schema_and_count(table, runtime):
    dt = DeltaTable(table)
    ds = streamscope.read_delta(table)
    expected = dt.to_pyarrow_table()
    assert ds.schema().base_schema == pa.schema(dt.schema().to_arrow())  # partition column in its place
    assert ds.count() == expected.num_rows == 6
    assert _source(ds).num_rows() == 6  # from the log's row counts, before any read
    assert _rows(ds.take_all()) == _rows(expected)


def test_one_read_task_per_data_file_or_grouped(table):
    source = _source(streamscope.read_delta(table))
    n_files = len(DeltaTable(table).file_uris())
    tasks = source.get_read_tasks(100)
    assert len(tasks) == n_files == 5
    assert sorted(f for t in tasks for f in t.input_files) == sorted(DeltaTable(table).file_uris())
    assert [t.metadata.num_rows for t in source.get_read_tasks(1)] == [6]


def test_time_travel_reads_the_version_asked_for(table, runtime):
    old = streamscope.read_delta(table, version=0)
    assert _rows(old.take_all()) == _rows(DeltaTable(table, version=0).to_pyarrow_table())
    assert old.count() == 4
    assert "version=0" in _plan_text(old)


def test_columns_and_projection_pushdown(table, runtime):
    ds = streamscope.read_delta(table, columns=["v", "id"])
    assert ds.schema().names == ["v", "id"]
    assert _rows(ds.take_all()) == _rows(DeltaTable(table).to_pyarrow_table().select(["v", "id"]))
    projected = streamscope.read_delta(table).select_columns(["part"])
    assert "columns=['part']" in _plan_text(projected)
    assert sorted(projected.take_all(), key=str) == sorted(
        [{"part": p} for p in ["a", "a", "b", None, "b", "c"]], key=str)


def test_partition_filter_prunes_files_and_keeps_the_count_exact(table, runtime):
    ds = streamscope.read_delta(table).filter(expr="part == 'b'")
    text = _plan_text(ds)
    assert "3 of 5 files pruned by partition filter part == 'b'" in text
    expected = DeltaTable(table).to_pyarrow_table().to_pandas().query("part == 'b'")
    assert _rows(ds.take_all()) == _rows(_records(expected))
    assert ds.count() == 2


def test_statistics_skip_files_that_cannot_match(table, runtime):
    ds = streamscope.read_delta(table).filter(expr="id >= 5")
    text = _plan_text(ds)
    assert "files skipped by file statistics for id >= 5" in text and "filter=id >= 5" in text
    assert _rows(ds.take_all()) == [{"id": 5, "part": "b", "v": 5.0}, {"id": 6, "part": "c", "v": 6.0}]


def test_filters_mixing_partition_and_data_columns_are_exact(table, runtime):
    df = DeltaTable(table).to_pyarrow_table().to_pandas()
    cases = {
        "part == 'a' or v > 4.5": df[(df.part == "a") | (df.v > 4.5)],
        "part is null or id == 3": df[df.part.isna() | (df.id == 3)],
        "not (id in [1, 5]) and part != 'c'": df[~df.id.isin([1, 5]) & (df.part != "c") & df.part.notna()],
    }
    for expr, expected in cases.items():
        got = streamscope.read_delta(table).filter(expr=expr).take_all()
        assert _rows(got) == _rows(_records(expected)), expr


def test_include_paths_and_limit(table, runtime):
    ds = streamscope.read_delta(table, include_paths=True, columns=["id"])
    rows = ds.take_all()
    assert {r["path"] for r in rows} == set(DeltaTable(table).file_uris())
    assert list(rows[0]) == ["id", "path"]
    assert len(streamscope.read_delta(table).limit(3).take_all()) == 3


def test_columns_added_later_read_as_nulls_in_older_files(tmp_path, runtime):
    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"id": [1]}))
    write_deltalake(path, pa.table({"id": [2], "extra": ["x"]}), mode="append", schema_mode="merge")
    assert _rows(streamscope.read_delta(path).take_all()) == _rows(DeltaTable(path).to_pyarrow_table())
    assert _rows(streamscope.read_delta(path).take_all()) == [{"id": 1, "extra": None}, {"id": 2, "extra": "x"}]


_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def _z85(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i:i + 4], "big")
        chunk = []
        for _ in range(5):
            chunk.append(_Z85[value % 85])
            value //= 85
        out.append("".join(reversed(chunk)))
    return "".join(out)


def _inline_deletion_vector(rows: list[int]) -> dict:
    """The Delta protocol's inline deletion vector (a RoaringBitmapArray, Z85-encoded) for ``rows``."""
    bitmap = (struct.pack("<II", 12346, 1) + struct.pack("<HH", 0, len(rows) - 1) + struct.pack("<I", 16)
              + b"".join(struct.pack("<H", r) for r in sorted(rows)))
    raw = struct.pack("<i", 1681511377) + struct.pack("<q", 1) + struct.pack("<i", 0) + bitmap
    padded = raw + b"\0" * (-len(raw) % 4)
    return {"storageType": "i", "pathOrInlineDv": _z85(padded), "sizeInBytes": len(raw), "cardinality": len(rows)}


def _commit(path: str, version: int, *actions: dict) -> None:
    with open(os.path.join(path, "_delta_log", f"{version:020d}.json"), "w") as f:
        f.write(json.dumps({"commitInfo": {"timestamp": int(time.time() * 1000), "operation": "TEST"}}) + "\n")
        for action in actions:
            f.write(json.dumps(action) + "\n")


def test_deletion_vectors_drop_their_rows(tmp_path, runtime):
    path = str(tmp_path / "dv")
    write_deltalake(path, pa.table({"id": list(range(10)), "g": ["x"] * 10}))
    DeltaTable(path).alter.add_feature(deltalake.TableFeatures.DeletionVectors, allow_protocol_versions_increase=True)
    add = [json.loads(line) for line in open(os.path.join(path, "_delta_log", f"{0:020d}.json"))][-1]["add"]
    now = int(time.time() * 1000)
    new_add = {k: v for k, v in add.items() if v is not None}
    new_add.update(deletionVector=_inline_deletion_vector([1, 4, 7]), modificationTime=now)
    _commit(path, 2, {"remove": {"path": add["path"], "dataChange": True, "deletionTimestamp": now,
                                 "extendedFileMetadata": True, "partitionValues": {}, "size": add["size"]}},
            {"add": new_add})
    expected = sorted(pa.table(DeltaTable(path).scan()).column("id").to_pylist())
    assert expected == [0, 2, 3, 5, 6, 8, 9]  # deltalake's own engine applies the vector
    ds = streamscope.read_delta(path)
    assert ds.count() == 7
    assert sorted(r["id"] for r in ds.take_all()) == expected
    assert sorted(r["id"] for r in ds.filter(expr="id > 3").take_all()) == [5, 6, 8, 9]
    assert streamscope.read_delta(path, version=1).count() == 10


def test_column_mapping_is_refused_by_name(tmp_path):
    path = str(tmp_path / "cm")
    write_deltalake(path, pa.table({"id": [1]}))
    meta = [json.loads(line) for line in open(os.path.join(path, "_delta_log", f"{0:020d}.json"))]
    metadata = next(a["metaData"] for a in meta if "metaData" in a)
    metadata["configuration"] = {"delta.columnMapping.mode": "name", "delta.columnMapping.maxColumnId": "1"}
    schema = json.loads(metadata["schemaString"])
    schema["fields"][0]["metadata"] = {"delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-1a2b"}
    metadata["schemaString"] = json.dumps(schema)
    _commit(path, 1, {"protocol": {"minReaderVersion": 2, "minWriterVersion": 5}}, {"metaData": metadata})
    with pytest.raises(DataSourceError, match="column mapping"):
        streamscope.read_delta(path)


def test_errors_name_the_connector_and_the_path(tmp_path, table, runtime):
    with pytest.raises(DataSourceError, match=r"read_delta: cannot read .*nope.*does not exist"):
        streamscope.read_delta(str(tmp_path / "nope"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataSourceError, match="not a Delta table"):
        streamscope.read_delta(str(tmp_path / "plain"))
    with pytest.raises(DataSourceError, match="version 9 .*versions up to 1"):
        streamscope.read_delta(table, version=9)
    with pytest.raises(ValueError, match="single Delta Lake table"):
        streamscope.read_delta([table, table])
    with pytest.raises(ValueError, match="catalog= is not supported"):
        streamscope.read_delta(table, catalog=object())
    with pytest.raises(TypeError, match="unexpected arguments \\['nonsense'\\]"):
        streamscope.read_delta(table, nonsense=1)
    with pytest.raises(DataSourceError, match="columns \\['zzz'\\] not found"):
        streamscope.read_delta(table, columns=["zzz"])
    victim = DeltaTable(table).file_uris()[0]
    with open(victim, "wb") as f:
        f.write(b"not parquet at all")
    with pytest.raises(DataSourceError, match="ReadDelta: failed to read data file .*" + os.path.basename(victim)):
        streamscope.read_delta(table).take_all()


def test_missing_deltalake_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "deltalake", None)
    with pytest.raises(ImportError, match=r"read_delta needs the 'deltalake' package.*streamscope\[delta\]"):
        streamscope.read_delta(str(tmp_path))
    with pytest.raises(ImportError, match=r"write_delta needs .*streamscope\[delta\]"):
        streamscope.range(1).write_delta(str(tmp_path / "t"))


# ---- writes -----------------------------------------------------------------------------------
def test_write_then_read_back_with_deltalake(tmp_path, runtime):
    path = str(tmp_path / "out")
    data = pa.table({"id": list(range(12)), "g": ["x", "y z", None] * 4, "f": [i / 2 for i in range(12)]})
    streamscope.from_arrow(data).repartition(3).write_delta(path, partition_by=["g"], name="demo", description="d")
    dt = DeltaTable(path)
    assert dt.version() == 0 and dt.metadata().partition_columns == ["g"]
    assert (dt.metadata().name, dt.metadata().description) == ("demo", "d")
    assert _rows(dt.to_pyarrow_table()) == _rows(data)
    assert {os.path.dirname(p) for p in _files(path) if p.endswith(".parquet")} == {
        "g=x", "g=y%20z", "g=__HIVE_DEFAULT_PARTITION__"}
    actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()  # statistics in the log match the rows
    assert sum(a["num_records"] for a in actions) == 12
    assert all(a["null_count.id"] == 0 for a in actions)
    assert min(a["min.id"] for a in actions) == 0 and max(a["max.id"] for a in actions) == 11
    assert "files skipped by file statistics" in _plan_text(streamscope.read_delta(path).filter(expr="id > 100"))


def test_append_overwrite_and_time_travel(tmp_path, runtime):
    path = str(tmp_path / "t")
    streamscope.range(5).write_delta(path)
    streamscope.range(3).write_delta(path)  # append is the default
    assert DeltaTable(path).version() == 1 and DeltaTable(path).to_pyarrow_table().num_rows == 8
    streamscope.from_items([{"id": 100, "name": "new"}]).write_delta(path, mode="overwrite")
    dt = DeltaTable(path)
    assert dt.version() == 2
    assert dt.to_pyarrow_table().to_pylist() == [{"id": 100, "name": "new"}]  # schema replaced too
    assert sorted(DeltaTable(path, version=1).to_pyarrow_table().column("id").to_pylist()) == [0, 0, 1, 1, 2, 2, 3, 4]
    assert sorted(r["id"] for r in streamscope.read_delta(path, version=1).take_all()) == [0, 0, 1, 1, 2, 2, 3, 4]


def test_error_and_ignore_modes(tmp_path, runtime):
    path = str(tmp_path / "t")
    streamscope.range(2).write_delta(path, mode="error")  # no table yet: created
    with pytest.raises(ValueError, match="already exists"):
        streamscope.range(2).write_delta(path, mode="error")
    streamscope.range(7).write_delta(path, mode=streamscope.SaveMode.IGNORE)
    assert DeltaTable(path).version() == 0 and DeltaTable(path).to_pyarrow_table().num_rows == 2
    with pytest.raises(ValueError, match="mode='upsert' is not supported"):
        streamscope.range(2).write_delta(path, mode="upsert")
    with pytest.raises(ValueError, match="catalog= is not supported"):
        streamscope.range(2).write_delta(path, catalog=object())
    with pytest.raises(ValueError, match="schema_mode"):
        streamscope.range(2).write_delta(path, schema_mode="overwrite")


def test_schema_mode_merge_adds_columns_error_refuses(tmp_path, runtime):
    path = str(tmp_path / "t")
    streamscope.range(2).write_delta(path)
    wider = streamscope.from_items([{"id": 9, "tag": "t"}])
    with pytest.raises(ValueError, match=r"columns \['tag'\] are not in the Delta table"):
        wider.write_delta(path, schema_mode="error")
    assert DeltaTable(path).version() == 0
    wider.write_delta(path)
    assert _rows(DeltaTable(path).to_pyarrow_table()) == [{"id": 0, "tag": None}, {"id": 1, "tag": None},
                                                          {"id": 9, "tag": "t"}]
    with pytest.raises(ValueError, match="partitioned by \\[\\]"):
        streamscope.from_items([{"id": 1, "tag": "a"}]).write_delta(path, partition_by=["id"])


def _fail_on_late_rows(batch):
    if batch["id"].min() >= 6:
        raise RuntimeError("boom in the UDF")
    return batch


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_failed_write_leaves_the_table_and_its_files_as_they_were(tmp_path, runtime, mode):
    path = str(tmp_path / "t")
    streamscope.range(4).write_delta(path, partition_by=None)
    before_files, before_version = _files(path), DeltaTable(path).version()
    data = streamscope.range(12, override_num_blocks=4).map(lambda r: {"id": r["id"], "k": r["id"] % 2})
    with pytest.raises(Exception, match="boom in the UDF"):
        data.select_columns(["id"]).map_batches(_fail_on_late_rows).write_delta(path, mode=mode)
    assert DeltaTable(path).version() == before_version
    assert _files(path) == before_files
    assert sorted(DeltaTable(path).to_pyarrow_table().column("id").to_pylist()) == [0, 1, 2, 3]


def test_failed_write_of_a_new_table_leaves_nothing(tmp_path, runtime):
    path = tmp_path / "new"
    with pytest.raises(Exception, match="boom in the UDF"):
        streamscope.range(12, override_num_blocks=4).map_batches(_fail_on_late_rows).write_delta(
            str(path), partition_by=None)
    assert not path.exists()


def test_empty_dataset_creates_an_empty_table(tmp_path, runtime):
    path = str(tmp_path / "empty")
    streamscope.from_arrow(pa.table({"id": pa.array([], pa.int64())})).write_delta(path)
    assert DeltaTable(path).version() == 0 and DeltaTable(path).to_pyarrow_table().num_rows == 0
    assert streamscope.read_delta(path).count() == 0 and streamscope.read_delta(path).schema().names == ["id"]


def test_pyarrow_filesystems_and_scan_options(tmp_path, runtime):
    import pyarrow.fs as pafs

    path = str(tmp_path / "t")
    streamscope.range(6, override_num_blocks=3).write_delta(path, filesystem=pafs.LocalFileSystem())
    assert sorted(DeltaTable(path).to_pyarrow_table().column("id").to_pylist()) == list(range(6))
    rooted = pafs.SubTreeFileSystem(path, pafs.LocalFileSystem())  # read's filesystem is rooted at the table
    ds = streamscope.read_delta(path, filesystem=rooted, shuffle="files", batch_size=2)
    assert sorted(r["id"] for r in ds.take_all()) == list(range(6))


def test_an_error_after_the_commit_keeps_the_committed_files(tmp_path, runtime, monkeypatch):
    from streamscope.engine.io.delta_datasink import DeltaDatasink

    path = str(tmp_path / "t")
    streamscope.range(2).write_delta(path)
    commit = DeltaDatasink.on_write_complete

    def commit_then_fail(self, result):  # as a post-commit hook failing would
        commit(self, result)
        raise RuntimeError("after the commit")

    monkeypatch.setattr(DeltaDatasink, "on_write_complete", commit_then_fail)
    with pytest.raises(RuntimeError, match="after the commit"):
        streamscope.range(3).write_delta(path)
    assert DeltaTable(path).version() == 1
    assert sorted(DeltaTable(path).to_pyarrow_table().column("id").to_pylist()) == [0, 0, 1, 1, 2]
