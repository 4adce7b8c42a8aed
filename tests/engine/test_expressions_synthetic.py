"""``random()``, ``uuid()``, ``monotonically_increasing_id()`` and ``download()`` (Ray Data 2.60's
expressions): seeding per block, task and execution as Ray's, ids from task numbers, bytes from
fsspec paths, and errors naming the URI."""

from __future__ import annotations

import uuid as uuid_module

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope.datatype import DataType
from streamscope.expressions import col, download, monotonically_increasing_id, random, uuid


def _by_id(ds, column):
    return [r[column] for r in sorted(ds.take_all(), key=lambda r: r["id"])]


def test_seeded_random_without_reseeding_repeats_every_execution():
    ds = streamscope.range(9, override_num_blocks=3).with_column("r", random(seed=42, reseed_after_execution=False))
    first, second = _by_id(ds, "r"), _by_id(ds, "r")
    assert first == second and len(set(first)) == 9 and all(0 <= v < 1 for v in first)
    # Ray's seed sequence: [block within task, task within operator, execution (0 here), seed]
    expected = [v for task in range(3) for v in np.random.default_rng([0, task, 0, 42]).random(3)]
    assert first == expected


def test_seeded_random_reseeds_per_execution_reproducibly():
    def build():
        return streamscope.range(6, override_num_blocks=2).with_column("r", random(seed=1))

    ds = build()
    runs = [_by_id(ds, "r") for _ in range(3)]
    assert runs[0] != runs[1] != runs[2]  # each execution (epoch) differs
    again = build()
    assert [_by_id(again, "r") for _ in range(3)] == runs  # and the sequence of executions is reproducible
    assert runs[1] == [v for task in range(2) for v in np.random.default_rng([0, task, 1, 1]).random(3)]


def test_unseeded_random_differs_between_executions():
    ds = streamscope.range(5).with_column("r", random())
    assert _by_id(ds, "r") != _by_id(ds, "r")
    with pytest.raises(ValueError, match="non-negative integer"):
        random(seed=-1)


def test_a_random_filter_is_not_pushed_or_moved(tmp_path):
    pq.write_table(pa.table({"id": list(range(200))}), tmp_path / "f.parquet")
    ds = streamscope.read_parquet(str(tmp_path)).with_column("x", col("id") * 2).filter(
        expr=random(seed=3, reseed_after_execution=False) < 0.5)
    assert ds._explain().rules_fired == ()
    kept = [r["id"] for r in ds.take_all()]
    assert 50 < len(kept) < 150 and sorted(kept) == sorted(r["id"] for r in ds.take_all())
    # beside a pushed conjunct, the random part stays a filter and still reseeds per execution
    mixed = streamscope.read_parquet(str(tmp_path)).filter(expr=(col("id") >= 100) & (random(seed=3) < 0.5))
    assert "filter=id >= 100" in mixed._explain().optimized.text
    runs = [sorted(r["id"] for r in mixed.take_all()) for _ in range(2)]
    assert all(min(run) >= 100 for run in runs) and runs[0] != runs[1]


def test_uuids_are_unique_uuid4_strings():
    values = _by_id(streamscope.range(50, override_num_blocks=3).with_column("u", uuid()), "u")
    assert len(set(values)) == 50
    assert {uuid_module.UUID(v).version for v in values} == {4}
    dashless = streamscope.range(2).with_column("u", uuid().str.replace("-", "")).take_all()
    assert {len(r["u"]) for r in dashless} == {32}


def test_monotonic_ids_put_the_task_number_above_the_row_number():
    ids = _by_id(streamscope.range(9, override_num_blocks=3).with_column("m", monotonically_increasing_id()), "m")
    assert ids == [(task << 33) + row for task in range(3) for row in range(3)]
    two = streamscope.range(4, override_num_blocks=1).with_columns(
        {"a": monotonically_increasing_id(), "b": monotonically_increasing_id()})
    rows = two.take_all()
    assert [r["a"] for r in rows] == [r["b"] for r in rows] == [0, 1, 2, 3]  # each expression counts on its own


def test_grouped_with_column_runs_expressions_per_group():
    ds = streamscope.from_items([{"g": i % 3, "v": i} for i in range(9)])
    out = ds.groupby("g").with_column("w", col("v") * 10 + col("g")).take_all()
    assert sorted((r["g"], r["v"], r["w"]) for r in out) == sorted((i % 3, i, i * 10 + i % 3) for i in range(9))
    ids = ds.groupby("g").with_column("m", monotonically_increasing_id()).take_all()
    assert len({r["m"] for r in ids}) == 9  # counted across the groups of each task, never repeated
    with pytest.raises(ValueError, match="non-empty string"):
        ds.groupby("g").with_column("", col("v"))
    with pytest.raises(TypeError, match="must be a streamscope expression"):
        ds.groupby("g").with_column("w", lambda b: b)
    with pytest.raises(ValueError, match="num_gpus not supported"):
        ds.groupby("g").with_column("w", col("v"), num_gpus=1)


@pytest.fixture
def files(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(bytes([i]) * (i + 1))
        paths.append(str(path))
    return paths


def test_download_reads_local_paths_and_file_uris(files):
    rows = [{"id": i, "uri": p if i % 2 else f"file://{p}"} for i, p in enumerate(files)] + [{"id": 9, "uri": None}]
    ds = streamscope.from_items(rows, override_num_blocks=2).with_column("bytes", download("uri"))
    got = _by_id(ds, "bytes")
    assert got == [open(p, "rb").read() for p in files] + [None]
    assert ds._plan.dag.output_schema().field("bytes").type == pa.binary()  # known without running


def test_download_through_a_given_filesystem(files):
    for fs in (pafs.LocalFileSystem(), fsspec.filesystem("file")):
        ds = streamscope.from_items([{"id": 0, "uri": files[2]}]).with_column("b", download("uri", filesystem=fs))
        assert _by_id(ds, "b") == [bytes([2]) * 3]


def test_download_of_memory_uris_in_the_driver(inline_ctx):
    with fsspec.open("memory://expr-tests/a.txt", "wb") as f:
        f.write(b"payload")
    ds = streamscope.from_items([{"id": 0, "uri": "memory://expr-tests/a.txt"}])
    out = ds.with_columns({"b": download("uri"), "n": download("uri").cast(DataType.string()).str.len()}).take_all()
    assert out == [{"id": 0, "uri": "memory://expr-tests/a.txt", "b": b"payload", "n": 7}]  # download inside an expression


def test_a_missing_uri_fails_naming_it(files, tmp_path):
    missing = str(tmp_path / "nope.bin")
    ds = streamscope.from_items([{"uri": files[0]}, {"uri": missing}]).with_column("b", download("uri"))
    with pytest.raises(streamscope.DataSourceError, match=f"download\\('uri'\\): cannot read '{missing}'"):
        ds.take_all()
    with pytest.raises(TypeError, match="holds int64, not URI strings"):
        streamscope.range(2).with_column("b", download("id")).take_all()
