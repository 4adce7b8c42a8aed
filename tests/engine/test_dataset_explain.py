"""explain() text and the golden DOT of logical and physical plans.

Regenerate the golden files after an intended change with::

    STREAMSCOPE_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/engine/test_dataset_explain.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import streamscope

GOLDEN = Path(__file__).parent / "golden"


def double(row):
    return {"id": row["id"] * 2}


def add_one(batch):
    return {"id": batch["id"] + 1}


def _plans():
    chain = streamscope.range(100).map(double).filter(expr="id > 5").map_batches(add_one).limit(10)
    union = streamscope.range(10).map_batches(add_one).union(streamscope.range(5)).repartition(2)
    project = streamscope.from_items([{"a": 1, "b": 2}]).select_columns(["a"]).rename_columns({"a": "x"})
    gpu_split = streamscope.range(10).map_batches(add_one).map_batches(add_one, num_cpus=2)
    return {"chain": chain, "union": union, "project": project, "resources_split": gpu_split}


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STREAMSCOPE_REGEN_GOLDEN"):
        path.write_text(text)
        return
    assert path.exists(), f"missing golden file {path}; run with STREAMSCOPE_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file (STREAMSCOPE_REGEN_GOLDEN=1 to update)"


@pytest.mark.parametrize("plan", ["chain", "union", "project", "resources_split"])
def test_golden_dot(plan):
    ds = _plans()[plan]
    result = ds._explain()
    _check(f"{plan}.logical.dot", result.logical.dot)
    _check(f"{plan}.optimized.dot", result.optimized.dot)
    _check(f"{plan}.physical.dot", result.physical.dot)


def test_explain_text_and_does_not_execute(capsys):
    ds = streamscope.range(100).map(double).filter(expr="id > 5").map_batches(add_one).limit(10)
    ds.explain()
    out = capsys.readouterr().out
    assert "-------- Logical Plan --------" in out
    assert "-------- Physical Plan --------" in out
    assert "Limit[limit=10]" in out
    assert "MapRows[Map(double)]" in out
    assert ds._last_run is None
    # fused: the read and every map run in one task
    physical = out.split("-------- Physical Plan --------")[1]
    assert "ReadRange->Map(double)" in physical


def test_explain_shows_pushdowns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1, 2, 3], "b": [4, 5, 6]}), tmp_path / "x.parquet")
    ds = streamscope.read_parquet(str(tmp_path)).select_columns(["a"]).filter(expr="a > 1")
    result = ds._explain()
    assert any("ProjectionPushdown" in f for f in result.rules_fired)
    assert any("PredicatePushdown" in f for f in result.rules_fired)
    assert result.pushdowns
    assert sorted(r["a"] for r in ds.take_all()) == [2, 3]


def test_dataset_repr_is_lazy():
    ds = streamscope.range(10).map(double)
    text = repr(ds)
    assert "Map(double)" in text and "num_rows=10" in text
    assert ds._last_run is None
