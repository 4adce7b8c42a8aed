"""The benchmark tooling itself: data generation at a tiny size, and the runner's arithmetic
(medians, ratios, goal verdicts, the markdown table) on synthetic result lines.

Timing goals are never asserted here (BENCHMARKS.md: they live in the report, not in tests); what
is asserted is that the numbers the report prints are the right ones for the lines it was given.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchmarks import datagen, report, run

ROOT = Path(__file__).resolve().parents[2]


def rec(workload, engine, wall, variant="", ok=True, **extra):
    r = {"workload": workload, "variant": variant, "engine": engine, "size": "tiny", "ok": ok,
         "wall_s": wall if ok else None, "rows": 1000 if ok else None, "error": None if ok else extra.pop("error", "boom"),
         "peak_rss_tree_bytes": extra.pop("rss", 100 << 20), "spilled_bytes": extra.pop("spilled", None)}
    r.update(extra)
    return r


# ---- datagen --------------------------------------------------------------------------------------


def test_datagen_tiny_matches_spec_and_is_idempotent(tmp_path):
    res = datagen.generate("tiny", tmp_path, log=lambda *_: None)
    assert len(res["written"]) == datagen.W2_FILES + 1 and not res["skipped"]

    paths = datagen.w2_paths("tiny", tmp_path)
    t = pq.read_table(paths[3])
    assert t.num_rows == datagen.W2_ROWS_PER_FILE["tiny"]
    assert [f.name for f in t.schema] == ["customer_id", "amount", "category", "ts"]
    assert str(t.schema.field("ts").type) == "timestamp[us]"
    assert str(t.schema.field("category").type) == "string"
    # The seed is 1000 + file index and customer_id is the first draw.
    first = np.random.default_rng(1003).integers(0, 1_000_000, t.num_rows, dtype=np.int64)
    assert np.array_equal(t["customer_id"].to_numpy(), first)
    amount = t["amount"].to_numpy()
    assert amount.min() >= 0 and amount.max() < 200 and np.allclose(amount, np.round(amount, 2))
    assert set(t["category"].to_pylist()) <= {f"category_{i:02d}" for i in range(20)}
    ts = t["ts"].to_numpy().astype("datetime64[us]")
    assert ts.min() >= np.datetime64("2024-01-01") and ts.max() < np.datetime64("2034-01-01")

    img = pq.read_table(datagen.w3_path("tiny", tmp_path))
    assert img.num_rows == datagen.W3_IMAGES["tiny"]
    assert img.schema.field("image").type.extension_name == "arrow.fixed_shape_tensor"
    arr = img["image"].combine_chunks().to_numpy_ndarray()
    assert arr.shape == (datagen.W3_IMAGES["tiny"], 28, 28) and arr.dtype == np.uint8
    # nearest-neighbour upsampling of the 8x8 digit (0..16) times 16, clipped to uint8
    from sklearn.datasets import load_digits

    d = load_digits()
    src = (np.arange(28) * 8) // 28
    assert np.array_equal(arr[0], np.minimum(d.images[0][src][:, src] * 16, 255).astype(np.uint8))
    assert arr[0, 0:3, 0:3].min() == arr[0, 0:3, 0:3].max()  # a 3x3 block maps to one source pixel
    assert img["label"].to_pylist()[:3] == list(d.target[:3])

    again = datagen.generate("tiny", tmp_path, log=lambda *_: None)
    assert not again["written"] and len(again["skipped"]) == datagen.W2_FILES + 1


def test_datagen_regenerates_a_file_with_the_wrong_row_count(tmp_path):
    datagen.generate("tiny", tmp_path, workloads=("w3",), log=lambda *_: None)
    path = datagen.w3_path("tiny", tmp_path)
    pq.write_table(pq.read_table(path).slice(0, 5), path)
    res = datagen.generate("tiny", tmp_path, workloads=("w3",), log=lambda *_: None)
    assert res["written"] == [path]
    assert pq.ParquetFile(path).metadata.num_rows == datagen.W3_IMAGES["tiny"]


# ---- report ---------------------------------------------------------------------------------------


def test_median_minmax_and_failures():
    lines = [json.dumps(r) for r in [
        rec("W1", "streamscope", 1.0), rec("W1", "streamscope", 3.0), rec("W1", "streamscope", 2.0),
        rec("W1", "ray", 30.0), rec("W1", "ray", 10.0), rec("W1", "ray", 20.0),
        rec("W1", "plain", 0.5), rec("W1", "plain", 0.5), rec("W1", "plain", 0.7),
        rec("W1", "polars", None, ok=False, error="timeout"),
    ]] + ["", "not json"]
    cells = report.summarize(report.read_jsonl(lines))
    ss = cells[("W1", "", "streamscope")]
    assert (ss.median, ss.min, ss.max, ss.runs) == (2.0, 1.0, 3.0, 3)
    assert report.ratio(cells, "W1", "", "ray") == pytest.approx(10.0)
    assert report.ratio(cells, "W1", "", "plain") == pytest.approx(0.25)
    assert report.ratio(cells, "W1", "", "polars") is None
    assert cells[("W1", "", "polars")].errors == ["timeout"]

    goals = {(n, t): (met, fig) for n, t, met, fig in report.evaluate_goals(cells)}
    assert goals[("W1", ">= 10x Ray Data")] == (True, "10.00x")
    # 2.0 s against plain's 0.5 s: 4x plain's time, over the 3x bound
    assert goals[("W1", "within 3x of a plain-Python row loop")] == (False, "4.00x plain's time")
    assert not any(n.startswith("W2") for n, _ in goals)  # only goals of measured workloads

    md = report.markdown(cells)
    assert "| W1 | - | streamscope | 2.00 | 1.00-3.00 | 3/3 | 500 |" in md
    assert "| W1 | - | polars | - | - | 0/1 |" in md and "failed: timeout" in md
    ratio_row = next(line for line in md.splitlines() if line.startswith("| W1 | - | 10.00x"))
    assert "0.25x" in ratio_row
    assert "| W1 | >= 10x Ray Data | met | 10.00x |" in md


def test_goal_verdicts_for_memory_busy_deadlock_and_overhead():
    cells = report.summarize([
        rec("W4", "streamscope", 5.0, rss=2 << 30, spilled=123),
        rec("W4", "streamscope", 7.0, rss=4 << 30, spilled=456),
        rec("W4", "streamscope", 6.0, rss=3 << 30, spilled=None),
        rec("W3", "streamscope", 4.0, variant="half", actor_busy_fraction=0.95),
        rec("W3", "streamscope", 4.0, variant="default"),
        rec("W3", "ray", None, variant="default", ok=False, error="timeout"),
        rec("W6", "streamscope", 10.0, variant="off"), rec("W6", "streamscope", 10.4, variant="on"),
        rec("W0", "streamscope", 0.4, warm_s=0.02),
    ])
    goals = {(n, t): (met, fig) for n, t, met, fig in report.evaluate_goals(cells)}
    assert goals[("W4", "peak RSS (tree) <= 2.5 GiB")] == (False, "3.00 GiB")  # median of 2, 3, 4 GiB
    assert cells[("W4", "", "streamscope")].spilled_max == 456
    assert goals[("W4", "completes with the exact sum")][0] is True
    assert goals[("W4", ">= 2x Ray Data")][0] is None  # Ray not in this run: not measured
    assert goals[("W3", "model actors busy >= 90 % of the run")] == (True, "95 %")
    assert goals[("W3", "default num_cpus completes (no deadlock)")][0] is True
    assert goals[("W6", "dashboard on vs off: <= 5 % wall difference")][0] is True
    assert goals[("W0", "cold start <= 0.6 s whole process")] == (True, "0.40 s")
    assert goals[("W0b", "warm small query <= 10 ms")] == (False, "20.0 ms")
    md = report.markdown(cells)
    assert "not measured" in md and "| W3 | default | ray | - | - | 0/1 |" in md


def test_engines_that_disagree_on_the_answer_are_flagged():
    cells = report.summarize([
        rec("W2", "duckdb", 1.0, groups=10, total_amount=5.5),
        rec("W2", "polars", 1.0, groups=10, total_amount=5.5),
        rec("W2", "streamscope", 1.0, groups=9, total_amount=5.5),
        rec("W1", "plain", 1.0, groups=3), rec("W1", "ray", 9.0, groups=3),
    ])
    wrong = report.disagreements(cells)
    assert len(wrong) == 1 and wrong[0].startswith("W2: engines disagree")
    assert "streamscope: {'groups': 9" in wrong[0] and "duckdb, polars: {'groups': 10" in wrong[0]
    assert "Answers differ between engines" in report.markdown(cells)


# ---- runner ---------------------------------------------------------------------------------------


def test_plan_applies_engines_and_variants():
    cells = run.plan(["W3", "W5:sort", "W0"], ["streamscope", "plain", "duckdb"])
    names = [(w.id, v, e) for w, v, e in cells]
    assert ("W3", "default", "plain") not in names  # plain has no actors
    assert ("W3", "half", "plain") in names and ("W3", "default", "streamscope") in names
    assert ("W5", "sort", "duckdb") in names and not any(v in ("shuffle", "groupby") for _, v, _ in names)
    assert ("W0", "", "duckdb") in names
    with pytest.raises(SystemExit):
        run.plan(["W9"], ["streamscope"])


def test_rotation_alternates_engines_within_each_group():
    cells = run.plan(["W1", "W4"], ["streamscope", "ray", "plain"])
    once = [(w.id, e) for w, _, e in run._rotate(cells)]
    assert once == [("W1", "ray"), ("W1", "plain"), ("W1", "streamscope"),
                    ("W4", "ray"), ("W4", "plain"), ("W4", "streamscope")]


def test_write_docs_replaces_only_the_marked_section(tmp_path, monkeypatch):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# B\n\nintro\n\n{run.TABLE_BEGIN}\nold table\n{run.TABLE_END}\n\n## Profiling notes\nkeep\n")
    monkeypatch.setattr(run, "DOCS", doc)
    run.write_docs("new table")
    text = doc.read_text()
    assert "new table" in text and "old table" not in text
    assert text.startswith("# B\n\nintro") and text.endswith("## Profiling notes\nkeep\n")


def test_a_workload_script_prints_one_result_line(tmp_path):
    """End to end through a real subprocess: the plain W1 loop at the tiny size."""
    w = run.WORKLOADS["W1"]
    r = run.measure(sys.executable, w, "", "plain", "tiny", timeout_s=60)
    assert r["ok"], r
    assert r["rows"] == 10_000 and r["groups"] == 15 and r["peak_rss_tree_bytes"] > 0
    assert r["process_wall_s"] >= r["wall_s"] > 0


@pytest.mark.slow
def test_runner_end_to_end_writes_jsonl_and_table(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--engines", "plain,pandas", "--workloads", "W0,W1,W4",
         "--size", "tiny", "--repeat", "2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = report.read_jsonl(next(out.glob("*.jsonl")).read_text().splitlines())
    assert len(lines) == 2 * (2 + 2 + 1)  # W0, W1 for both engines; W4 for plain only; 2 rounds
    assert all(r["ok"] for r in lines), [r["error"] for r in lines if not r["ok"]]
    md = next(out.glob("*.md")).read_text()
    assert "| W4 | - | plain |" in md and "Command: `python -m benchmarks.run" in md
