"""A datasink written against Ray Data 2.60's interface runs after changing only the import.

``write(blocks, ctx)`` runs in worker processes on a pickled copy of the sink, so what it wrote
is checked through files it leaves in a directory; the driver-side callbacks run on the sink the
test holds. Expected values come from plain Python and pyarrow.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, Optional

import pyarrow as pa
import pytest

import streamscope
from streamscope.block import Block
from streamscope.datasource import Datasink, WriteResult


class JsonRowsDatasink(Datasink[int]):
    """Each write task stores its rows as one JSON file named by its task index and returns how
    many rows it stored; ``on_write_complete`` keeps the combined result."""

    def __init__(self, out_dir: str, min_rows: Optional[int] = None):
        self.out_dir = out_dir
        self.min_rows = min_rows
        self.started_with: object = "not called"
        self.completed: Optional[WriteResult] = None
        self.failed: Optional[BaseException] = None

    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        self.started_with = schema
        os.makedirs(self.out_dir, exist_ok=True)

    def write(self, blocks: Iterable[Block], ctx) -> int:
        rows = [row for block in blocks for row in block.to_pylist()]
        with open(os.path.join(self.out_dir, f"task-{ctx.task_idx}.json"), "w") as f:
            json.dump({"rows": rows, "op": ctx.op_name, "write_uuid": ctx.kwargs["write_uuid"]}, f)
        return len(rows)

    def on_write_complete(self, write_result: WriteResult[int]) -> None:
        self.completed = write_result

    def on_write_failed(self, error: Exception) -> None:
        self.failed = error

    @property
    def min_rows_per_write(self) -> Optional[int]:
        return self.min_rows


def _written(out_dir: str) -> dict:
    return {name: json.load(open(os.path.join(out_dir, name))) for name in sorted(os.listdir(out_dir))}


def test_rows_reach_write_and_results_are_combined(tmp_path):
    out = str(tmp_path / "out")
    sink = JsonRowsDatasink(out)
    ds = streamscope.range(20, override_num_blocks=4).map(lambda row: {"id": row["id"], "double": 2 * row["id"]})
    ds.write_datasink(sink)
    files = _written(out)
    stored = sorted((r["id"], r["double"]) for f in files.values() for r in f["rows"])
    assert stored == [(i, 2 * i) for i in range(20)]
    result = sink.completed
    assert result is not None and sink.failed is None
    assert result.num_rows == 20
    expected_bytes = pa.table({"id": pa.array(range(20), pa.int64()), "double": pa.array(range(0, 40, 2), pa.int64())}).nbytes
    assert result.size_bytes == expected_bytes
    assert sorted(result.write_returns) == sorted(len(f["rows"]) for f in files.values())
    assert sum(result.write_returns) == 20
    # task_idx numbers the write tasks 0..n-1; every task saw the same write uuid
    assert sorted(files) == [f"task-{i}.json" for i in range(len(result.write_returns))]
    assert len({f["write_uuid"] for f in files.values()}) == 1
    assert all(f["op"].endswith("WriteJsonRows") for f in files.values())


def test_on_write_start_gets_the_known_schema(tmp_path):
    sink = JsonRowsDatasink(str(tmp_path / "out"))
    streamscope.range(3).write_datasink(sink)
    assert sink.started_with.equals(pa.schema([("id", pa.int64())]))
    sink = JsonRowsDatasink(str(tmp_path / "out2"))
    streamscope.range(3).map_batches(lambda b: b).write_datasink(sink)
    assert sink.started_with is None  # a UDF's output schema is unknown until it runs


def _explode(batch):
    if 7 in batch["id"]:
        raise ValueError("row 7 is bad")
    return batch


def test_a_failing_udf_calls_on_write_failed_and_not_on_write_complete(tmp_path):
    sink = JsonRowsDatasink(str(tmp_path / "out"))
    with pytest.raises(ValueError, match="row 7 is bad") as raised:
        streamscope.range(10, override_num_blocks=2).map_batches(_explode).write_datasink(sink)
    assert sink.completed is None
    assert sink.failed is raised.value  # the error the user sees is the one the sink got


class FailingCommitDatasink(JsonRowsDatasink):
    def on_write_complete(self, write_result: WriteResult[int]) -> None:
        raise RuntimeError("commit refused")


def test_a_failing_on_write_complete_calls_on_write_failed(tmp_path):
    sink = FailingCommitDatasink(str(tmp_path / "out"))
    with pytest.raises(RuntimeError, match="commit refused") as raised:
        streamscope.range(4).write_datasink(sink)
    assert sink.failed is raised.value


def test_min_rows_per_write_bundles_the_input(tmp_path):
    out = str(tmp_path / "out")
    sink = JsonRowsDatasink(out, min_rows=5)
    streamscope.range(12, override_num_blocks=12).write_datasink(sink)
    counts = sorted(sink.completed.write_returns)
    assert sum(counts) == 12
    assert all(c >= 5 for c in counts[1:])  # every task but possibly the last has at least 5 rows
    assert len(counts) <= 3


class BytesBundledDatasink(JsonRowsDatasink):
    @property
    def min_bytes_per_write(self) -> Optional[int]:
        return 1 << 20


def test_min_bytes_per_write_is_refused_before_anything_runs(tmp_path):
    sink = BytesBundledDatasink(str(tmp_path / "out"))
    with pytest.raises(ValueError, match="WriteBytesBundled: min_bytes_per_write is not supported.*min_rows_per_write"):
        streamscope.range(4).write_datasink(sink)
    assert sink.started_with == "not called"


def test_names_and_generic_subscripts_follow_ray():
    class _PrivateDatasink(Datasink):
        pass

    assert _PrivateDatasink().get_name() == "Private"
    assert JsonRowsDatasink("x").get_name() == "JsonRows"
    assert Datasink[None] is not None and WriteResult[int] is not None
    combined = WriteResult.combine(WriteResult(1, 8, [1]), WriteResult(2, 16, [2]))
    assert (combined.num_rows, combined.size_bytes, combined.write_returns) == (3, 24, [1, 2])


def test_file_sinks_still_commit_and_report_their_files(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    streamscope.range(6, override_num_blocks=2).write_parquet(str(out))
    files = sorted(p for p in os.listdir(out) if not p.startswith("."))
    assert files and all(f.endswith(".parquet") for f in files)
    assert sorted(pq.read_table(str(out)).column("id").to_pylist()) == list(range(6))
