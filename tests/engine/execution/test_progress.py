"""Terminal progress: one redrawn line on a terminal, per-operator lines on request, interval log
lines when output is not a terminal, switchable while a run is going."""

import io
import time

import streamscope
from streamscope.engine.execution.progress import TerminalProgress

from executor_output import drain


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _slow(batch):
    time.sleep(0.05)
    return batch



def _run_with_progress(ctx, stream):
    ds = streamscope.range(2000, override_num_blocks=20).map_batches(_slow)
    ds.set_name("progress-demo")
    executor = ds._start_execution("test")
    progress = TerminalProgress(executor, ctx, stream=stream).start()
    rows = drain(executor)
    progress._thread.join(5)
    return rows, executor


def test_line_mode_redraws_one_line_and_ends_done(ctx):
    ctx.enable_progress_bars, ctx.progress_mode = True, "auto"
    out = FakeTerminal()
    rows, _ = _run_with_progress(ctx, out)
    text = out.getvalue()
    assert rows == 2000
    assert "\r" in text and "[progress-demo]" in text
    final = text.rstrip("\n").split("\r")[-1]
    assert "done" in final and "100.0%" in final and "2000 rows out" in final
    assert text.endswith("\n")


def test_operators_mode_shows_a_line_per_operator(ctx):
    ctx.enable_progress_bars, ctx.progress_mode = True, "operators"
    out = FakeTerminal()
    _run_with_progress(ctx, out)
    last_frame = out.getvalue().rsplit("\r", 1)[-1]
    assert "ReadRange->MapBatches(_slow)" in last_frame and "done" in last_frame


def test_log_mode_prints_interval_lines_when_not_a_terminal(ctx):
    ctx.enable_progress_bars, ctx.progress_mode, ctx.progress_interval_s = True, "auto", 0.2
    out = io.StringIO()
    _run_with_progress(ctx, out)
    lines = [l for l in out.getvalue().splitlines() if l]
    assert len(lines) >= 2  # interval lines while running, then the final line
    assert all("\r" not in l and "\x1b" not in l for l in lines)
    assert "done" in lines[-1]


def test_switching_off_while_running_stops_output(ctx):
    ctx.enable_progress_bars, ctx.progress_mode, ctx.progress_interval_s = True, "auto", 0.1
    out = io.StringIO()
    ds = streamscope.range(2000, override_num_blocks=20).map_batches(_slow)
    executor = ds._start_execution("test")
    progress = TerminalProgress(executor, ctx, stream=out).start()
    it = executor.iter_output()
    ref, _meta, owned = next(it)
    executor.release(ref, owned)
    time.sleep(0.3)
    ctx.progress_mode = "off"  # switched at runtime
    time.sleep(0.2)
    printed = out.getvalue()
    for ref, _meta, owned in it:
        executor.release(ref, owned)
    progress._thread.join(5)
    assert printed  # it was printing before
    assert out.getvalue() == printed  # and nothing after the switch


def test_a_write_counts_rows_written_not_files(ctx, tmp_path):
    ds = streamscope.range(1000, override_num_blocks=4).map_batches(lambda b: b)
    ds.write_parquet(str(tmp_path / "out"))
    snap = ds._last_run.final_snapshot
    assert snap.state == "succeeded"
    assert snap.rows_out == 1000  # not the number of files (one result row per written file)
    writer = snap.operators[-1]
    assert "WriteParquet" in writer.name and writer.rows_out == 1000


def test_a_run_without_progress_is_flagged_stalled(ctx):
    ctx.stall_timeout_s = 0.3
    ds = streamscope.range(4, override_num_blocks=2).map_batches(lambda b: (time.sleep(1.2), b)[1])
    assert ds.count() == 4
    history = ds._last_run.buffer.history()
    assert any(s.stalled for s in history)  # the 1.2 s task outlived the 0.3 s stall timeout
    assert not history[-1].stalled  # a finished run is not stalled


def test_a_run_that_keeps_progressing_is_never_stalled(ctx):
    ctx.stall_timeout_s = 0.5
    ds = streamscope.range(2000, override_num_blocks=20).map_batches(_slow)
    assert ds.count() == 2000
    assert not any(s.stalled for s in ds._last_run.buffer.history())
