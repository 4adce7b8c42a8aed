"""Checkpoint and resume: a read -> map -> write job SIGKILLed at random moments, ten times, then
run to the end, writes every row exactly once, and deletes its checkpoint when it succeeds.

Where each kill lands depends on timing, and that is the point: the assertions hold wherever it
lands (before the first commit, between a task's checkpoint and its renames, after the last).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import streamscope as ss
from streamscope.checkpoint import CheckpointConfig

DRIVER = Path(__file__).with_name("checkpoint_driver.py")
FILES, ROWS_PER_FILE = 20, 500


def _write_input(directory: Path) -> None:
    directory.mkdir()
    for i in range(FILES):
        ids = np.arange(i * ROWS_PER_FILE, (i + 1) * ROWS_PER_FILE, dtype=np.int64)
        pq.write_table(pa.table({"id": ids}), directory / f"part-{i:02d}.parquet")


def _run_driver(args: list[str], kill_after_s: float | None) -> int:
    proc = subprocess.Popen([sys.executable, str(DRIVER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if kill_after_s is None:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert b"done" in out
        return proc.returncode
    try:
        proc.wait(timeout=kill_after_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode


@pytest.mark.slow
def test_a_job_killed_ten_times_writes_every_row_exactly_once(tmp_path):
    source, output, checkpoint = tmp_path / "in", tmp_path / "out", tmp_path / "ckpt"
    _write_input(source)
    args = [str(source), str(output), str(checkpoint)]
    rng = random.Random(20261202)
    kills = 0
    while kills < 10:
        if _run_driver(args, kill_after_s=rng.uniform(0.5, 4.0)) == 0:
            break  # it finished before the kill (and deleted its checkpoint): the job is done
        kills += 1
    else:
        _run_driver(args, kill_after_s=None)
    assert kills >= 5  # most runs were cut short: the resume path was exercised

    table = pq.read_table(output)  # pyarrow's own reader: hidden temporaries are never read
    ids = np.sort(table.column("id").to_numpy())
    assert np.array_equal(ids, np.arange(FILES * ROWS_PER_FILE))  # every row, once
    squared = table.column("squared").to_numpy()
    assert np.array_equal(squared, table.column("id").to_numpy() ** 2)
    assert not checkpoint.exists()  # deleted on success
    assert not [p for p in output.rglob("*") if p.name.startswith(".")]  # no temporaries left


def test_a_resumed_write_adds_only_the_missing_rows(tmp_path, ctx):
    output, checkpoint = tmp_path / "out", tmp_path / "ckpt"
    ctx.checkpoint_config = CheckpointConfig("id", str(checkpoint), delete_checkpoint_on_success=False)
    ss.range(1000, override_num_blocks=4).filter(lambda r: r["id"] % 3 == 0).write_parquet(str(output))
    seen_dir = tmp_path / "seen"
    seen_dir.mkdir()

    def record(batch):  # runs in workers: what the map received goes to files
        import uuid

        np.save(seen_dir / f"{uuid.uuid4().hex}.npy", batch["id"])
        return batch

    ss.range(1000, override_num_blocks=4).map_batches(record).write_parquet(str(output))
    seen = sorted(int(i) for f in seen_dir.iterdir() for i in np.load(f))
    assert seen == [i for i in range(1000) if i % 3 != 0]  # done rows never reach the map
    ids = sorted(pq.read_table(output).column("id").to_pylist())
    assert ids == list(range(1000))
    assert checkpoint.exists()


def test_checkpointing_refuses_what_it_cannot_honour(tmp_path, ctx):
    ctx.checkpoint_config = {"id_column": "id", "checkpoint_path": str(tmp_path / "ckpt")}
    with pytest.raises(ValueError, match="mode='append'"):
        ss.range(10).write_parquet(str(tmp_path / "a"), mode="overwrite")
    with pytest.raises(ValueError, match="checkpoint id column 'key'"):
        ctx.checkpoint_config = {"id_column": "key", "checkpoint_path": str(tmp_path / "ckpt")}
        ss.range(10).write_parquet(str(tmp_path / "b"))
    with pytest.raises(ValueError, match="checkpoint_filter_cls"):
        CheckpointConfig("id", str(tmp_path), checkpoint_filter_cls=object)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_committed_file_that_vanished_is_an_error_not_lost_rows(tmp_path, ctx):
    output, checkpoint = tmp_path / "out", tmp_path / "ckpt"
    ctx.checkpoint_config = CheckpointConfig("id", str(checkpoint), delete_checkpoint_on_success=False)
    ss.range(100, override_num_blocks=2).write_parquet(str(output))
    victim = sorted(p for p in output.iterdir())[0]
    os.unlink(victim)
    with pytest.raises(Exception, match="which is gone"):
        ss.range(100, override_num_blocks=2).write_parquet(str(output))
