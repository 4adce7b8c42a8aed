"""A datasource written against Ray Data 2.60's interface runs after changing only the import.

The ``NumbersDatasource`` below is shaped like the custom-datasource examples of Ray Data's docs
(``get_read_tasks`` splitting the rows over ``parallelism`` tasks, each a
``ReadTask(read_fn, BlockMetadata(...))``); expected values come from plain Python and pyarrow.
Every read task appends to a counter file when it reads, so a test can prove that ``count()``
answered from metadata without reading.
"""

from __future__ import annotations

import os
from typing import List, Optional

import pyarrow as pa
import pytest

import streamscope
from streamscope.block import BlockMetadata
from streamscope.datasource import Datasource, ReadTask
from streamscope.engine.exceptions import DataSourceError


def _note_read(counter: str) -> None:
    with open(counter, "a") as f:
        f.write("r")


def _reads(counter: str) -> int:
    return len(open(counter).read()) if os.path.exists(counter) else 0


def _read_range(counter: str, start: int, end: int, as_pandas: bool = False):
    _note_read(counter)
    values = list(range(start, end))
    table = pa.table({"value": pa.array(values, pa.int64()), "square": pa.array([v * v for v in values], pa.int64())})
    return [table.to_pandas()] if as_pandas else [table.slice(0, 2), table.slice(2)]


class NumbersDatasource(Datasource):
    """``n`` rows of ``value`` and ``square``, split evenly over the read tasks."""

    def __init__(self, n: int, counter: str, know_rows: bool = True, as_pandas: bool = False):
        super().__init__()
        self.n = n
        self.counter = counter
        self.know_rows = know_rows
        self.as_pandas = as_pandas

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return self.n * 16

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context=None) -> List[ReadTask]:
        parallelism = max(1, min(parallelism, self.n))
        bounds = [self.n * i // parallelism for i in range(parallelism + 1)]
        schema = pa.schema([("value", pa.int64()), ("square", pa.int64())])
        tasks = []
        for start, end in zip(bounds, bounds[1:]):
            metadata = BlockMetadata(
                num_rows=(end - start) if self.know_rows else None,
                size_bytes=(end - start) * 16,
                input_files=[f"numbers-{v}" for v in range(start, end)],
                exec_stats=None,
            )
            read_fn = lambda start=start, end=end: _read_range(self.counter, start, end, self.as_pandas)  # noqa: E731
            tasks.append(ReadTask(read_fn, metadata, schema=schema, per_task_row_limit=per_task_row_limit))
        return tasks


def _expected(n: int) -> list[dict]:
    return [{"value": v, "square": v * v} for v in range(n)]


def test_count_take_and_schema_of_a_ray_shaped_datasource(tmp_path):
    counter = str(tmp_path / "reads")
    ds = streamscope.read_datasource(NumbersDatasource(10, counter), override_num_blocks=3)
    assert ds.count() == 10
    assert ds.schema().base_schema.equals(pa.schema([("value", pa.int64()), ("square", pa.int64())]))
    assert _reads(counter) == 0  # count() and schema() answered from the read tasks' metadata
    rows = sorted(ds.take_all(), key=lambda r: r["value"])
    assert rows == _expected(10)
    assert _reads(counter) == 3  # one read per task of override_num_blocks=3
    assert sorted(ds.input_files()) == sorted(f"numbers-{v}" for v in range(10))


def test_count_reads_when_a_task_does_not_know_its_rows(tmp_path):
    counter = str(tmp_path / "reads")
    ds = streamscope.read_datasource(NumbersDatasource(7, counter, know_rows=False), override_num_blocks=2)
    assert ds.count() == 7
    assert _reads(counter) == 2


def test_read_fn_may_return_pandas_dataframes(tmp_path):
    counter = str(tmp_path / "reads")
    ds = streamscope.read_datasource(NumbersDatasource(5, counter, as_pandas=True), override_num_blocks=2)
    assert sorted(ds.take_all(), key=lambda r: r["value"]) == _expected(5)


def test_per_task_row_limit_stops_each_task(tmp_path):
    counter = str(tmp_path / "reads")
    tasks = NumbersDatasource(10, counter).get_read_tasks(2, per_task_row_limit=3)
    got = [pa.concat_tables(list(task())).column("value").to_pylist() for task in tasks]
    assert got == [[0, 1, 2], [5, 6, 7]]  # each task of 5 rows stops after 3 (its 2+3 blocks sliced)
    assert [task.per_task_row_limit for task in tasks] == [3, 3]


class _RecordingDatasource(Datasource):
    """Remembers how the planner called ``get_read_tasks``."""

    def __init__(self, log_path: str):
        super().__init__()
        self.log_path = log_path

    def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        with open(self.log_path, "a") as f:
            f.write(f"{parallelism}:{per_task_row_limit}:{type(data_context).__name__}\n")
        return [ReadTask(lambda: [pa.table({"a": [1, 2, 3]})], BlockMetadata(3, 24, None))]

    def estimate_inmemory_data_size(self):
        return 24


def test_planner_passes_the_runs_data_context(tmp_path):
    log = tmp_path / "calls"
    ds = streamscope.read_datasource(_RecordingDatasource(str(log)), override_num_blocks=4)
    assert ds.take_all() == [{"a": 1}, {"a": 2}, {"a": 3}]
    calls = log.read_text().split()
    assert "4:None:DataContext" in calls  # the run plans with parallelism=4 and its context


class LegacySignatureDatasource(Datasource):
    """``get_read_tasks(self, parallelism)`` only, and the num_rows= keyword form of ReadTask."""

    def get_read_tasks(self, parallelism):
        return [ReadTask(lambda: [pa.table({"a": [1, 2]})], num_rows=2, size_bytes=16)]


def test_a_get_read_tasks_without_rays_keywords_still_works():
    ds = streamscope.read_datasource(LegacySignatureDatasource())
    assert ds.count() == 2
    assert ds.take_all() == [{"a": 1}, {"a": 2}]


def test_names_follow_ray():
    assert NumbersDatasource(1, "x").get_name() == "Numbers"
    ds = streamscope.read_datasource(NumbersDatasource(1, "x"))
    assert ds._plan.dag.name == "ReadNumbers"
    assert streamscope.range(3)._plan.dag.name == "ReadRange"  # streamscope's own names unchanged


def _single_table():
    return pa.table({"a": [1]})


def _dict_block():
    return [{"a": [1]}]


class _BadDatasource(Datasource):
    def __init__(self, read_fn):
        super().__init__()
        self.read_fn = read_fn

    def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        return [ReadTask(self.read_fn, BlockMetadata(1, 8, None))]

    def estimate_inmemory_data_size(self):
        return 8


def test_a_read_fn_returning_a_block_not_a_list_is_named():
    with pytest.raises(TypeError, match=r"Read_Bad: read_fn must return an iterable of blocks, got a Table; "
                                        r"return \[block\] instead of block"):
        streamscope.read_datasource(_BadDatasource(_single_table)).take_all()


def test_a_read_fn_yielding_a_dict_is_named():
    with pytest.raises(TypeError, match="Read_Bad: read_fn yielded a dict, which is not a block"):
        streamscope.read_datasource(_BadDatasource(_dict_block)).take_all()


def test_get_read_tasks_must_return_read_tasks():
    class WrongDatasource(Datasource):
        def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            return [lambda: [pa.table({"a": [1]})]]

    with pytest.raises(TypeError, match="WrongDatasource.get_read_tasks returned a function; it must return ReadTask"):
        streamscope.read_datasource(WrongDatasource()).count()


def test_block_metadata_has_rays_fields_in_rays_order():
    meta = BlockMetadata(3, 24, None, None, ["a.csv"])
    assert (meta.num_rows, meta.size_bytes, meta.exec_stats, meta.task_exec_stats, meta.input_files) == (
        3, 24, None, None, ("a.csv",))
    with pytest.raises(TypeError, match="exec_stats"):
        BlockMetadata(num_rows=3, size_bytes=24)  # required, as in Ray 2.60
    with pytest.raises(TypeError, match="schema"):
        BlockMetadata(num_rows=3, size_bytes=24, schema=None, input_files=None, exec_stats=None)
    with pytest.raises(TypeError, match="size_bytes must be an int"):
        BlockMetadata(3, 2.5, None)


def test_read_task_has_rays_attributes_and_checks_its_arguments():
    meta = BlockMetadata(2, 16, None)
    schema = pa.schema([("a", pa.int64())])
    fn = lambda: [pa.table({"a": [1, 2]})]  # noqa: E731
    task = ReadTask(fn, meta, schema=schema, per_task_row_limit=1)
    assert task.metadata is meta and task.schema is schema and task.read_fn is fn and task.per_task_row_limit == 1
    assert [b.num_rows for b in task()] == [1]
    with pytest.raises(TypeError, match="ReadTask: metadata must be a BlockMetadata"):
        ReadTask(fn, 5)
    with pytest.raises(ValueError, match="pass either metadata or num_rows, not both"):
        ReadTask(fn, meta, num_rows=2)
    with pytest.raises(TypeError, match="read_fn must be a callable"):
        ReadTask([pa.table({"a": [1]})], meta)


def test_read_datasource_refuses_what_it_cannot_honour():
    source = NumbersDatasource(3, "x")
    with pytest.raises(ValueError, match=r"unexpected keyword arguments \['n'\].*create_reader"):
        streamscope.read_datasource(source, n=3)
    placed = streamscope.read_datasource(source, label_selector={"zone": "a"})  # a Ray option: Ray runtime only
    with pytest.raises(Exception, match=r"label_selector= needs the Ray runtime"):
        placed.take()
    with pytest.raises(ValueError, match=r"read_datasource\(compute=.*reads run as tasks"):
        streamscope.read_datasource(source, compute=streamscope.ActorPoolStrategy(size=1))
    with pytest.raises(TypeError, match=r"'runtime_envs' is not a Ray remote argument; did you mean 'runtime_env'"):
        streamscope.read_datasource(source, ray_remote_args={"runtime_envs": {}})
    ds = streamscope.read_datasource(source, compute=streamscope.TaskPoolStrategy(size=2))
    assert ds._plan.dag.concurrency == 2


class DriverOnlyDatasource(NumbersDatasource):
    @property
    def supports_distributed_reads(self) -> bool:
        return False


def test_a_driver_only_read_runs_locally_and_is_refused_on_a_cluster(tmp_path, ctx):
    from streamscope.engine.execution.run import _refuse_driver_node_only

    ds = streamscope.read_datasource(DriverOnlyDatasource(4, str(tmp_path / "reads")))
    assert sorted(r["value"] for r in ds.take_all()) == [0, 1, 2, 3]  # local workers are on the driver's machine
    cluster = ctx.copy()
    cluster.runtime = "ray"
    with pytest.raises(DataSourceError, match="ReadDriverOnly: supports_distributed_reads is False"):
        _refuse_driver_node_only(ds._plan, cluster)


def test_public_import_paths_mirror_ray():
    import streamscope.block as block_module
    import streamscope.datasource as datasource_module

    assert datasource_module.Datasource is streamscope.Datasource
    assert datasource_module.ReadTask is streamscope.ReadTask
    assert datasource_module.Datasink is streamscope.Datasink
    assert block_module.BlockMetadata is BlockMetadata
    assert set(datasource_module.__all__) >= {"Datasink", "Datasource", "ReadTask", "WriteResult", "WriteReturnType"}


class StoredCountDatasource(Datasource):
    """Shaped like the example in Ray 2.60's ``Datasource`` docstring: it keeps its row count in
    ``self.num_rows`` (Ray's Datasource has no ``num_rows`` method) and builds its metadata
    positionally."""

    def __init__(self, num_rows: int = 100):
        super().__init__()
        self.num_rows = num_rows

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context=None) -> List[ReadTask]:
        rows_per_task = self.num_rows // parallelism
        return [
            ReadTask(
                lambda: [pa.Table.from_pydict({"data": range(rows_per_task)})],
                BlockMetadata(rows_per_task, rows_per_task * 8, None, None),
            )
            for _ in range(parallelism)
        ]

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return self.num_rows * 8


def test_a_datasource_that_stores_num_rows_as_an_attribute():
    source = StoredCountDatasource(num_rows=100)
    tasks = source.get_read_tasks(parallelism=5)
    assert len(tasks) == 5 and tasks[0].metadata.num_rows == 20
    assert source.estimate_inmemory_data_size() == sum(t.metadata.size_bytes for t in tasks)
    ds = streamscope.read_datasource(source, override_num_blocks=5)
    assert ds.count() == 100
    assert sorted(r["data"] for r in ds.take_all()) == sorted(list(range(20)) * 5)
    assert ds.input_files() == []


def test_a_limit_reaches_get_read_tasks_as_per_task_row_limit(tmp_path):
    counter = str(tmp_path / "reads")
    log = tmp_path / "calls"

    class LoggingNumbersDatasource(NumbersDatasource):
        def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            with open(log, "a") as f:
                f.write(f"{per_task_row_limit}\n")
            return super().get_read_tasks(parallelism, per_task_row_limit, data_context)

    ds = streamscope.read_datasource(LoggingNumbersDatasource(10, counter), override_num_blocks=2).limit(3)
    assert ds.take_all() == _expected(3)
    assert "3" in log.read_text().split()  # the run asked each read task for at most 3 rows
    assert ds.count() == 3
