"""Every write argument is honoured or refused before the run starts: rows per file (counted with
pyarrow.parquet), Hive partitions (read back with pyarrow.dataset), concurrency and
ray_remote_args, format options, and refusals that name the argument with nothing written and no
task run (a UDF that leaves a marker file when it runs)."""

from __future__ import annotations

import glob
import os
import warnings

import pyarrow as pa
import pyarrow.csv  # noqa: F401  (pa.csv)
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope.engine.io.datasink import Datasink
from streamscope.engine.io.write_args import rows_per_file, write_resources
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.physical.planner import plan_physical


def _files(d, ext="") -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(str(d), "**"), recursive=True)
                  if os.path.isfile(p) and p.endswith(ext))


def _file_rows(d) -> list[int]:
    return sorted(pq.read_metadata(f).num_rows for f in _files(d, ".parquet"))


def test_min_rows_per_file_gathers_blocks(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(100, override_num_blocks=10).write_parquet(str(out), min_rows_per_file=25)
    rows = _file_rows(out)
    assert sum(rows) == 100
    assert all(r >= 25 for r in rows[1:])  # only the last bundle may hold the remainder
    assert len(rows) < 10


def test_max_rows_per_file_splits_blocks(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(100, override_num_blocks=2).write_parquet(str(out), max_rows_per_file=15)
    rows = _file_rows(out)
    assert sum(rows) == 100 and max(rows) <= 15
    assert sorted(pq.read_table(str(out)).column("id").to_pylist()) == list(range(100))


def test_min_and_max_rows_per_file_together(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(100, override_num_blocks=10).write_parquet(str(out), min_rows_per_file=25, max_rows_per_file=30)
    rows = _file_rows(out)
    assert sum(rows) == 100 and max(rows) <= 30


def test_num_rows_per_file_is_the_deprecated_min_rows_per_file(tmp_path, runtime):
    out = tmp_path / "csv"
    with pytest.warns(DeprecationWarning, match="num_rows_per_file"):
        streamscope.range(40, override_num_blocks=8).write_csv(str(out), num_rows_per_file=20)
    counts = sorted(len(open(f).read().split()) - 1 for f in _files(out))  # minus the header line
    assert sum(counts) == 40 and all(c >= 20 for c in counts[1:])


@pytest.mark.parametrize("writer,kwargs", [("write_json", {}), ("write_numpy", {"column": "data"})])
def test_min_rows_per_file_on_other_writers(tmp_path, runtime, writer, kwargs):
    out = tmp_path / "out"
    ds = streamscope.range_tensor(30, shape=(2,), override_num_blocks=6)
    getattr(ds, writer)(str(out), min_rows_per_file=30, **kwargs)
    assert len(_files(out)) == 1


def test_partition_cols_write_hive_directories(tmp_path, runtime):
    out = tmp_path / "out"
    rows = [{"city": c, "year": y, "v": i} for i, (c, y) in enumerate([("a b", 1), ("a b", 2), ("x", 1), (None, 2)] * 3)]
    streamscope.from_items(rows).write_parquet(str(out), partition_cols=["city", "year"])
    dirs = sorted({os.path.relpath(os.path.dirname(f), out) for f in _files(out)})
    assert dirs == ["city=__HIVE_DEFAULT_PARTITION__/year=2", "city=a%20b/year=1", "city=a%20b/year=2", "city=x/year=1"]
    assert all(pq.read_table(f).column_names == ["v"] for f in _files(out))
    back = pads.dataset(str(out), partitioning="hive").to_table().sort_by("v").to_pylist()
    assert [(r["city"], r["year"], r["v"]) for r in back] == [(r["city"], r["year"], r["v"]) for r in rows]


def test_overwrite_of_a_partitioned_directory_removes_old_partitions(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.from_items([{"k": "old", "v": 1}]).write_parquet(str(out), partition_cols=["k"])
    streamscope.from_items([{"k": "new", "v": 2}]).write_parquet(str(out), partition_cols=["k"], mode="overwrite")
    assert os.listdir(out) == ["k=new"]


def test_arrow_parquet_args_reach_pyarrow(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(50, override_num_blocks=1).write_parquet(str(out), compression="zstd", row_group_size=10)
    (f,) = _files(out)
    meta = pq.read_metadata(f)
    assert meta.num_row_groups == 5 and meta.row_group(0).column(0).compression == "ZSTD"
    out2 = tmp_path / "out2"
    streamscope.range(5).write_parquet(str(out2), arrow_parquet_args_fn=lambda: {"compression": "gzip"})
    assert {pq.read_metadata(f).row_group(0).column(0).compression for f in _files(out2)} == {"GZIP"}


def test_concurrency_and_num_cpus_are_honoured(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(20, override_num_blocks=4).write_parquet(str(out), concurrency=1, ray_remote_args={"num_cpus": 1})
    assert sum(_file_rows(out)) == 20


def test_the_planned_write_carries_its_cap_and_resources():
    class Sink(Datasink):
        pass

    dag = L.Write(streamscope.range(10)._plan.dag, Sink(), concurrency=2, min_rows_per_bundle=5,
                  **write_resources("w", {"num_cpus": 0.5}))
    op = plan_physical(LogicalPlan(dag)).sink
    assert op.concurrency_cap() == 2 and op.resources.cpu == 0.5
    assert op.min_rows_per_bundle == 5 and op.exact_min_rows
    assert op.inputs, "a write with min_rows_per_file is never fused onto its read"


def _marking(marker):
    def fn(batch):
        with open(marker, "a") as f:
            f.write("ran\n")
        return batch

    return fn


REFUSED = [
    ("write_parquet", {"partition_cols": "city"}, TypeError, "partition_cols"),
    ("write_parquet", {"max_rows_per_file": 0}, ValueError, "max_rows_per_file"),
    ("write_parquet", {"min_rows_per_file": 10, "max_rows_per_file": 5}, ValueError, "min_rows_per_file"),
    ("write_parquet", {"min_rows_per_file": 5, "num_rows_per_file": 5}, ValueError, "num_rows_per_file"),
    ("write_parquet", {"min_bytes_per_file": 1024}, ValueError, "min_bytes_per_file"),
    ("write_parquet", {"catalog": object()}, ValueError, "catalog"),
    ("write_parquet", {"arrow_open_stream_args": {"compression": "gzip"}}, ValueError, "arrow_open_stream_args"),
    ("write_parquet", {"no_such_option": 1}, TypeError, "no_such_option"),
    ("write_parquet", {"partitioning_flavor": "hive"}, ValueError, "partition_cols"),
    ("write_parquet", {"concurrency": 0}, ValueError, "concurrency"),
    ("write_parquet", {"concurrency": "2"}, TypeError, "concurrency"),
    ("write_parquet", {"ray_remote_args": {"runtime_env": {"pip": ["x"]}}}, ValueError, "runtime_env= needs the Ray runtime"),
    ("write_parquet", {"ray_remote_args": {"scheduling_strategy": object()}}, ValueError, "scheduling_strategy"),
    ("write_csv", {"ray_remote_args": {"runtimeenv": {}}}, TypeError, "did you mean 'runtime_env'"),
    ("write_csv", {"ray_remote_args": {"name": "w"}}, ValueError, "name= is not supported"),
    ("write_parquet", {"filename_provider": "names"}, TypeError, "filename_provider"),
    ("write_csv", {"delimiter": ";"}, TypeError, "delimiter"),
    ("write_csv", {"min_rows_per_file": -1}, ValueError, "min_rows_per_file"),
    ("write_json", {"no_such_arg": 1}, TypeError, "no_such_arg"),
    ("write_json", {"ray_remote_args": {"num_cpus": -1}}, ValueError, "num_cpus"),
    ("write_numpy", {"compression": "zstd"}, TypeError, "compression"),
]


@pytest.mark.parametrize("writer,kwargs,error,name", REFUSED, ids=[f"{w}-{next(iter(k))}" for w, k, _, _ in REFUSED])
def test_refused_before_any_task_runs(tmp_path, runtime, writer, kwargs, error, name):
    out = tmp_path / "out"
    marker = tmp_path / "ran"
    ds = streamscope.range_tensor(10, shape=(2,)).map_batches(_marking(str(marker)))
    if writer == "write_numpy":
        kwargs = dict(kwargs, column="data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error, match=name):
            getattr(ds, writer)(str(out), **kwargs)
    assert not marker.exists(), "the run started"
    assert not out.exists()


def test_csv_write_options_are_passed(tmp_path, runtime):
    out = tmp_path / "out"
    options = pa.csv.WriteOptions(delimiter=";")
    streamscope.from_items([{"a": 1, "b": 2}]).write_csv(str(out), write_options=options)
    (f,) = _files(out)
    assert open(f).read().splitlines()[1] == "1;2"


def test_rows_per_file_rules():
    assert rows_per_file("w", min_rows_per_file=3, max_rows_per_file=3) == (3, 3)
    with pytest.raises(TypeError, match="min_rows_per_file"):
        rows_per_file("w", min_rows_per_file=True)


def test_modes_on_a_memory_filesystem(memfs, runtime):
    fs, root = memfs
    url = f"memory://{root}/out"
    streamscope.range(10, override_num_blocks=2).write_parquet(url)
    streamscope.range(3, override_num_blocks=1).write_parquet(url, mode="overwrite")
    (only,) = fs.find(f"{root}/out")
    assert pq.read_table(fs.open(only)).num_rows == 3
    with pytest.raises(FileExistsError, match="already exists"):
        streamscope.range(3).write_parquet(url, mode="error")


def test_a_write_of_no_rows_leaves_no_directory_it_made(tmp_path, runtime):
    out = tmp_path / "empty"
    streamscope.range(10).filter(lambda r: False).write_parquet(str(out))
    assert not out.exists()


class _FixedNames:
    def get_filename_for_task(self, write_uuid, task_index):
        return f"part-{task_index}.parquet"


def test_filename_provider_names_files_and_append_needs_the_write_uuid(tmp_path, runtime):
    out = tmp_path / "out"
    streamscope.range(6, override_num_blocks=1).write_parquet(str(out), filename_provider=_FixedNames(), mode="overwrite")
    (name,) = [os.path.basename(f) for f in _files(out)]
    assert name.startswith("part-") and name.endswith("-0.parquet")
    with pytest.raises(ValueError, match="write uuid"):
        streamscope.range(6).write_parquet(str(out), filename_provider=_FixedNames())
    assert pq.read_table(str(out)).num_rows == 6
