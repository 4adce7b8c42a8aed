"""Ray Data read arguments that streamscope does not act on are refused by name when the read is
built (before anything runs), never dropped; ``ray_remote_args`` sizes each read task, and Ray's
task options (named or inside ``ray_remote_args``) follow the maps' rules."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope as ss
from streamscope.engine.execution.resource_check import ResourceRequestError


@pytest.fixture
def parquet_dir(tmp_path):
    pq.write_table(pa.table({"x": list(range(10))}), tmp_path / "part-0.parquet")
    return str(tmp_path)


@pytest.mark.parametrize("name, value", [
    ("arrow_open_stream_args", {"buffer_size": 1 << 20}),
    ("arrow_open_file_args", {"buffer_size": 1 << 20}),
    ("meta_provider", object()),
    ("include_row_hash", True),
])
def test_unsupported_read_arguments_are_refused_by_name(parquet_dir, name, value):
    with pytest.raises(ValueError, match=rf"read_parquet\({name}=\.\.\.\)"):
        ss.read_parquet(parquet_dir, **{name: value})


@pytest.mark.parametrize("name, value, refusal", [
    ("label_selector", {"zone": "a"}, "label_selector= needs the Ray runtime"),
    ("fallback_strategy", [{"label_selector": {"zone": "b"}}], "fallback_strategy= needs the Ray runtime"),
    ("max_calls", 4, "max_calls= needs the Ray runtime"),
    ("accelerator_type", "A100", "accelerator_type= needs the Ray runtime"),
    ("runtime_env", {"pip": ["x"]}, "runtime_env= needs the Ray runtime"),
    ("resources", {"special": 1}, r"declares no 'special': declare it with streamscope.init\(resources="),
])
def test_ray_task_options_of_reads_follow_the_map_rules(parquet_dir, name, value, refusal):
    """Passed to Ray on the Ray runtime; on the local one refused by name when the run is planned."""
    ds = ss.read_parquet(parquet_dir, **{name: value})
    assert ds._plan.dag.resources.ray_remote_args == {name: value}
    with pytest.raises(ResourceRequestError, match=refusal):
        ds.take_all()


def test_their_defaults_are_accepted_and_mean_what_streamscope_does(parquet_dir):
    ds = ss.read_parquet(parquet_dir, partitioning=None, partition_filter=None, arrow_open_stream_args={},
                         meta_provider=None, ray_remote_args={}, include_row_hash=False, runtime_env=None)
    assert sorted(r["x"] for r in ds.take_all()) == list(range(10))


def test_ray_remote_args_size_the_read_tasks(parquet_dir):
    via_remote = ss.read_parquet(parquet_dir, ray_remote_args={"num_cpus": 0.5, "memory": 1 << 20})
    direct = ss.read_parquet(parquet_dir, num_cpus=0.5, memory=1 << 20)
    for ds in (via_remote, direct):
        res = ds._plan.dag.resources
        assert (res.num_cpus, res.num_gpus, res.memory) == (0.5, None, 1 << 20)
    assert via_remote.count() == 10


def test_other_ray_remote_args_follow_the_map_rules_and_conflicts_are_refused(parquet_dir):
    with pytest.raises(TypeError, match=r"read_csv: 'runtimeenv' is not a Ray remote argument; did you mean 'runtime_env'"):
        ss.read_csv(parquet_dir, ray_remote_args={"runtimeenv": {}})
    ok = ss.read_parquet(parquet_dir, ray_remote_args={"scheduling_strategy": "SPREAD"})  # one machine: same as DEFAULT
    assert len(ok.take_all()) == 10
    with pytest.raises(ResourceRequestError, match=r"runtime_env= needs the Ray runtime"):
        ss.read_parquet(parquet_dir, ray_remote_args={"runtime_env": {"pip": ["x"]}}).take_all()
    with pytest.raises(ValueError, match="runtime_env given twice"):
        ss.read_parquet(parquet_dir, runtime_env={"pip": ["a"]}, ray_remote_args={"runtime_env": {"pip": ["b"]}})



def test_read_datasource_refuses_what_it_would_drop(parquet_dir):
    from streamscope.engine.io.parquet_datasource import ParquetDatasource

    source = ParquetDatasource(parquet_dir)
    with pytest.raises(ResourceRequestError, match=r"runtime_env= needs the Ray runtime"):
        ss.read_datasource(source, runtime_env={"pip": ["x"]}).take_all()
    with pytest.raises(ValueError, match=r"read_(datasource|parquet)\(compute='tasks'\): reads run as tasks"):
        ss.read_datasource(source, compute="tasks")
    with pytest.raises(ValueError, match=r"unexpected keyword arguments \['legacy_arg'\]"):
        ss.read_datasource(source, legacy_arg=1)
    sized = ss.read_datasource(source, ray_remote_args={"num_cpus": 0.25})
    assert sized._plan.dag.resources.num_cpus == 0.25
