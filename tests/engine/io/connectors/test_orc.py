"""read_orc and Dataset.write_orc against pyarrow.orc: types, footers, stripes as tasks,
projection into read_stripe, two-phase writes, argument checks, errors naming the file."""

from __future__ import annotations

import datetime
import decimal
import os

import numpy as np
import pyarrow as pa
import pyarrow.orc as orc
import pytest

import streamscope
from streamscope.engine.io.orc_datasource import ORCDatasource


def _table(n: int = 50) -> pa.Table:
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "small": pa.array([i % 7 for i in range(n)], pa.int32()),
        "x": pa.array([i / 3 for i in range(n)], pa.float32()),
        "name": [None if i % 5 == 0 else f"n{i}" for i in range(n)],
        "when": pa.array([datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i) for i in range(n)],
                         pa.timestamp("ns")),
        "price": pa.array([decimal.Decimal(f"{i}.50") for i in range(n)], pa.decimal128(9, 2)),
        "tags": [[f"t{j}" for j in range(i % 3)] for i in range(n)],
        "pt": [{"a": i, "b": str(i)} for i in range(n)],
        "m": pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
    })


@pytest.fixture(scope="module")
def striped(tmp_path_factory):
    """One file of 20 stripes of 1024 rows."""
    path = str(tmp_path_factory.mktemp("orc") / "big.orc")
    table = pa.table({"id": np.arange(20 * 1024), "s": [str(i) for i in range(20 * 1024)]})
    orc.write_table(table, path, stripe_size=64 * 1024, batch_size=1024)
    assert orc.ORCFile(path).nstripes == 20
    return path, table


def test_read_matches_pyarrow(tmp_path):
    path = str(tmp_path / "t.orc")
    orc.write_table(_table(), path)
    expected = orc.read_table(path)
    ds = streamscope.read_orc(path)
    assert ds.schema().names == expected.column_names and ds.schema().types == expected.schema.types
    assert ds.count() == 50
    assert ds.to_arrow().equals(expected)


def test_count_and_schema_from_footers(striped, monkeypatch):
    path, table = striped
    source = ORCDatasource(path)

    def no_data(*args, **kwargs):
        raise AssertionError("read a stripe to answer a metadata question")

    monkeypatch.setattr(orc.ORCFile, "read_stripe", no_data)
    assert source.num_rows() == table.num_rows
    assert source.schema().names == ["id", "s"]


def test_stripes_spread_over_tasks(striped, run_tasks):
    path, table = striped
    tasks = ORCDatasource(path).get_read_tasks(4)
    assert len(tasks) == 4
    out = run_tasks(ORCDatasource(path), parallelism=4)
    assert sorted(out.column("id").to_pylist()) == table.column("id").to_pylist()
    ds = streamscope.read_orc(path, override_num_blocks=4)
    assert ds.count() == table.num_rows and ds.sum("id") == sum(range(table.num_rows))


def test_files_are_tasks_when_there_are_enough(tmp_path):
    for i in range(3):
        orc.write_table(pa.table({"v": [i, i]}), str(tmp_path / f"f{i}.orc"))
    tasks = ORCDatasource(str(tmp_path)).get_read_tasks(2)
    assert sorted(len(t.input_files) for t in tasks) == [1, 2]
    assert sorted(streamscope.read_orc(str(tmp_path)).take_all(), key=lambda r: r["v"]) == [{"v": v} for v in (0, 0, 1, 1, 2, 2)]


def test_projection_goes_into_read_stripe(striped, run_tasks, monkeypatch):
    path, table = striped
    ds = streamscope.read_orc(path).select_columns(["s"])
    assert "ReadORC (columns=['s'])" in ds._explain().text()
    assert ds.take(2) == [{"s": "0"}, {"s": "1"}]
    seen = set()
    real = orc.ORCFile.read_stripe

    def watching(self, n, columns=None):
        seen.add(tuple(columns) if columns is not None else None)
        return real(self, n, columns=columns)

    monkeypatch.setattr(orc.ORCFile, "read_stripe", watching)
    out = run_tasks(ORCDatasource(path).apply_projection(["s"]), parallelism=2, pickle=False)
    assert out.column_names == ["s"] and out.num_rows == table.num_rows
    assert seen == {("s",)}


def test_filter_and_projection_both_go_into_the_read(striped):
    path, table = striped
    ds = streamscope.read_orc(path).filter(expr="id >= 20478").select_columns(["s"])
    assert "ReadORC (columns=['s']; row filter=id >= 20478)" in ds._explain().text()
    assert ds.take_all() == [{"s": "20478"}, {"s": "20479"}]


def test_partitions_paths_and_partition_only_projection(tmp_path):
    for part, values in (("a", [1, 2]), ("b", [3])):
        os.makedirs(tmp_path / f"k={part}")
        orc.write_table(pa.table({"v": values}), str(tmp_path / f"k={part}" / "p.orc"))
    kwargs = dict(partitioning=streamscope.datasource.Partitioning("hive"), include_paths=True)
    ds = streamscope.read_orc(str(tmp_path), **kwargs)
    rows = sorted(ds.take_all(), key=lambda r: r["v"])
    assert [(r["v"], r["k"]) for r in rows] == [(1, "a"), (2, "a"), (3, "b")]
    assert rows[2]["path"].endswith(os.path.join("k=b", "p.orc"))
    assert sorted(r["k"] for r in ds.select_columns(["k"]).take_all()) == ["a", "a", "b"]
    assert ds.filter(expr="k == 'b'").count() == 1


def test_corrupt_file_error_names_it(tmp_path):
    (tmp_path / "broken.orc").write_bytes(b"ORC? no")
    with pytest.raises(streamscope.DataSourceError, match="broken.orc"):
        streamscope.read_orc(str(tmp_path)).schema()
    with pytest.raises(Exception, match="broken.orc"):
        streamscope.read_orc(str(tmp_path)).take_all()


def _orc_files(root) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


def test_write_round_trip_and_args(tmp_path):
    table = _table(30)
    out = str(tmp_path / "out")
    streamscope.from_arrow(table).repartition(3).write_orc(out, compression="zstd",
                                                          arrow_orc_args_fn=lambda: {"compression": "snappy"})
    files = _orc_files(out)
    assert len(files) == 3 and all(f.endswith(".orc") for f in files)
    assert {orc.ORCFile(f).compression for f in files} == {"SNAPPY"}  # the fn wins, as in Ray
    back = pa.concat_tables([orc.read_table(f) for f in files]).sort_by("id")
    assert back.equals(table)


def test_write_modes(tmp_path):
    out = str(tmp_path / "out")
    streamscope.range(4).write_orc(out, min_rows_per_file=4)
    with pytest.raises(ValueError, match="already exists"):
        streamscope.range(2).write_orc(out, mode="error")
    streamscope.range(2).write_orc(out, mode="overwrite")
    assert sorted(pa.concat_tables([orc.read_table(f) for f in _orc_files(out)]).column("id").to_pylist()) == [0, 1]


def test_write_refuses_unknown_args_and_unstorable_columns(tmp_path):
    with pytest.raises(TypeError, match="stripesize"):
        streamscope.range(2).write_orc(str(tmp_path / "a"), stripesize=10)
    with pytest.raises(ValueError, match="compression"):
        streamscope.range(2).write_orc(str(tmp_path / "b"), compression="nope")
    with pytest.raises(ValueError, match=r"'data \(extension"):
        streamscope.range_tensor(3, shape=(2,)).write_orc(str(tmp_path / "c"))
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "c")


def test_failing_udf_mid_write_leaves_no_files(tmp_path):
    out = str(tmp_path / "out")

    def fail_late(batch):
        if batch["id"][0] >= 60:
            raise RuntimeError("boom in the UDF")
        return batch

    ds = streamscope.range(100, override_num_blocks=10).map_batches(fail_late)
    with pytest.raises(Exception, match="boom in the UDF"):
        ds.write_orc(out)
    assert _orc_files(out) == []
