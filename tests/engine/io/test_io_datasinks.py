import json
import os

import cloudpickle
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from streamscope.engine import tensor
from streamscope.engine.io.csv_datasink import CSVDatasink
from streamscope.engine.io.json_datasink import JSONDatasink
from streamscope.engine.io.numpy_datasink import NumpyDatasink
from streamscope.engine.io.parquet_datasink import ParquetDatasink
from streamscope.engine.io.parquet_datasource import ParquetDatasource
from streamscope.engine.runtime.base import TaskContext
from streamscope.datasource import WriteResult


def _blocks():
    return [pa.table({"id": [0, 1, 2], "s": ["a", "b", "c"]}), pa.table({"id": [3, 4], "s": ["d", "e"]})]


def _visible(d):
    return sorted(p for p in os.listdir(d) if not p.startswith("."))


def _ctx(i):
    return TaskContext(operator="Write", task_index=i)


def _run(sink, task_blocks):
    """Driver start, pickled sink per worker task, the tasks' returns combined as the driver does."""
    sink.on_write_start()
    returns = []
    for i, blocks in enumerate(task_blocks):
        worker_sink = cloudpickle.loads(cloudpickle.dumps(sink))
        returns.append(worker_sink.write(blocks, _ctx(i)))
    return WriteResult(num_rows=sum(r.num_rows for r in returns), size_bytes=sum(r.size_bytes for r in returns),
                       write_returns=returns)


def _complete(sink, result):
    sink.on_write_complete(result)
    return sink.written_paths


@pytest.mark.parametrize("sink_cls,ext", [(ParquetDatasink, "parquet"), (CSVDatasink, "csv"), (JSONDatasink, "json")])
def test_files_appear_only_after_complete(tmp_path, sink_cls, ext):
    out = tmp_path / "out"
    sink = sink_cls(str(out))
    results = _run(sink, [_blocks(), [_blocks()[0]]])
    assert _visible(out) == []  # only hidden temporaries so far
    assert len(os.listdir(out)) == 3
    finals = _complete(sink, results)
    assert _visible(out) == sorted(os.path.basename(f) for f in finals)
    assert not [p for p in os.listdir(out) if p.startswith(".")]
    names = sorted(os.path.basename(f) for f in finals)
    uuid_part = f"{sink._dataset_uuid}_{sink._write_uuid}"
    if ext == "parquet":
        assert names == [f"{uuid_part}_000000-0.parquet", f"{uuid_part}_000000-1.parquet", f"{uuid_part}_000001-0.parquet"]
    else:
        assert names == [f"{uuid_part}_000000-1.{ext}", f"{uuid_part}_000000.{ext}", f"{uuid_part}_000001.{ext}"]
    assert results.num_rows == 8 and sum(r.num_rows for r in results.write_returns) == 8


def test_contents_readable(tmp_path):
    for cls, reader in [(ParquetDatasink, pq.read_table), (CSVDatasink, pacsv.read_csv)]:
        d = tmp_path / cls.__name__
        sink = cls(str(d))
        sink.on_write_complete(_run(sink, [_blocks()]))
        got = pa.concat_tables([reader(str(d / f)) for f in _visible(d)]).to_pandas().sort_values("id")
        assert got["id"].tolist() == [0, 1, 2, 3, 4]
    d = tmp_path / "json"
    sink = JSONDatasink(str(d))
    sink.on_write_complete(_run(sink, [_blocks()]))
    rows = [json.loads(line) for f in _visible(d) for line in (d / f).read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == [0, 1, 2, 3, 4]
    assert {"id": 0, "s": "a"} in rows  # JSON lines, one object per row


def test_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    sink = ParquetDatasink(str(out))
    ok = _run(sink, [_blocks()])

    def bad_blocks():
        yield _blocks()[0]
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError):
        sink.write(bad_blocks(), _ctx(1))  # this task dies without reporting its temporary
    assert ok.write_returns[0].temp_paths  # the finished task's temporaries are on disk
    sink.on_write_failed(RuntimeError("x"))
    # no file, and not the directory the write made either: a second try with the default
    # mode="error" would otherwise fail with "already exists"
    assert not out.exists()


def test_overwrite_replaces_only_at_complete(tmp_path):
    out = tmp_path / "out"
    first = ParquetDatasink(str(out))
    old = _complete(first, _run(first, [_blocks()]))
    second = ParquetDatasink(str(out), mode="overwrite")
    results = _run(second, [[_blocks()[1]]])
    assert _visible(out) == sorted(os.path.basename(p) for p in old)  # old data still there
    new = _complete(second, results)
    assert _visible(out) == [os.path.basename(new[0])]
    with pytest.raises(FileExistsError):
        ParquetDatasink(str(out), mode="error").on_write_start()


def test_tensor_round_trip_parquet(tmp_path, run_tasks):
    fixed = np.arange(12, dtype=np.int16).reshape(3, 2, 2)
    ragged = [np.ones((1, 3)), np.zeros((2, 3)), np.ones((4, 3))]
    block = pa.table({"f": tensor.ndarray_to_arrow(fixed), "v": tensor.tensors_to_arrow(ragged)})
    sink = ParquetDatasink(str(tmp_path / "t"))
    sink.on_write_complete(_run(sink, [[block]]))
    (name,) = _visible(tmp_path / "t")
    plain = pq.read_table(tmp_path / "t" / name)  # plain pyarrow sees the canonical types
    assert plain.schema.field("f").type.extension_name == tensor.FIXED_SHAPE_TENSOR
    assert plain.schema.field("v").type.extension_name == tensor.VARIABLE_SHAPE_TENSOR
    back = run_tasks(ParquetDatasource(str(tmp_path / "t")))
    np.testing.assert_array_equal(tensor.arrow_to_numpy(back["f"]), fixed)
    assert [a.shape for a in tensor.arrow_to_numpy(back["v"])] == [(1, 3), (2, 3), (4, 3)]


def test_numpy_sink(tmp_path):
    data = np.arange(12).reshape(4, 3)
    sink = NumpyDatasink(str(tmp_path / "n"), column="x")
    sink.on_write_complete(_run(sink, [[pa.table({"x": tensor.ndarray_to_arrow(data)})]]))
    (name,) = _visible(tmp_path / "n")
    assert name.endswith("_000000.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "n" / name), data)
    with pytest.raises(KeyError, match="nope"):
        NumpyDatasink(str(tmp_path / "n2"), column="nope").write([_blocks()[0]], _ctx(0))


def test_csv_rejects_tensor_and_memory_fs(memfs):
    fs, root = memfs
    sink = CSVDatasink(f"memory://{root}/out")
    with pytest.raises(TypeError, match="'t'"):
        _run(sink, [[pa.table({"t": tensor.ndarray_to_arrow(np.zeros((2, 2)))})]])
    sink = CSVDatasink(f"memory://{root}/out2")
    finals = _complete(sink, _run(sink, [_blocks()]))
    assert all(f.startswith(f"memory://{root}/out2/") for f in finals)
    assert pd.read_csv(fs.open(finals[0].replace("memory://", ""))).shape == (3, 2)
