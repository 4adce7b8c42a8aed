"""Task code that reads ``DataContext.get_current()`` inside the task, and the checks built on it,
shared by ``runtime/test_context_in_tasks.py`` (local and in-process runtimes) and
``runtime/ray/test_ray_context_in_tasks.py`` (Ray).

Why this module sits in ``tests/engine/``: that folder is importable in the local runtime's worker
processes and in Ray's workers (``runtime/ray/conftest.py`` puts it on their ``PYTHONPATH``), so
the functions and datasources here pickle by reference on every runtime.

How a check runs (:func:`run`): on a worker runtime ("local", "ray") the settings are the user's,
set on ``DataContext.get_current()``, and the tasks run in other processes that have their own
default context. On the in-process runtime the tasks share the driver's process, so a task could
only see the wrong context when its run's context is not the driver's current one: there the run
gets its settings through ``start_execution(context=...)`` and the driver's context keeps its
defaults.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pyarrow as pa

import streamscope
from streamscope.engine.context import DataContext
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.retry import iterate_with_retry

MARK = 4321.0
"""A ``stall_timeout_s`` (a setting only the driver's live views read) that tasks report back."""


def run(kind: str, ctx: DataContext, ds: Any, **settings: Any) -> list[pa.Table]:
    """Run ``ds`` with ``settings`` on runtime ``kind``; its output blocks in order of arrival."""
    from streamscope.engine.execution.run import start_execution

    if kind == "inprocess":
        run_ctx = ctx.copy()
        run_ctx.runtime = "inprocess"
        for name, value in settings.items():
            setattr(run_ctx, name, value)
        executor = start_execution(ds._plan, name="context-check", context=run_ctx)
        assert executor.runtime.name == "inprocess"
    else:
        ctx.runtime = kind
        for name, value in settings.items():
            setattr(ctx, name, value)
        executor = start_execution(ds._plan, name="context-check")
        assert executor.runtime.name == kind
    return collect(executor)


def collect(executor: Any) -> list[pa.Table]:
    tables = []
    for ref, _meta, owned in executor.iter_output():
        tables.append(executor.runtime.get(ref))
        if owned:
            executor.runtime.free([ref])
    return tables


def column(tables: list[pa.Table], name: str) -> list:
    return [v for t in tables for v in t.column(name).to_pylist()]


# ---- a user function and a callable class --------------------------------------------------------
def report_settings(batch):
    ctx = DataContext.get_current()
    n = len(batch["id"])
    return {"id": batch["id"], "stall": [ctx.stall_timeout_s] * n, "pid": [os.getpid()] * n}


class ReportSettingsActor:
    """Records the setting in its constructor and in each call."""

    def __init__(self):
        self.at_init = DataContext.get_current().stall_timeout_s

    def __call__(self, batch):
        n = len(batch["id"])
        return {"id": batch["id"], "at_init": [self.at_init] * n,
                "at_call": [DataContext.get_current().stall_timeout_s] * n}


# ---- a read whose blocks follow target_max_block_size ---------------------------------------------
class ContextSizedSource(Datasource):
    """One read task of ``rows`` int64s in blocks of half ``target_max_block_size`` each, sized
    inside the task from ``DataContext.get_current()`` as the built-in readers (Parquet, images)
    size theirs."""

    def __init__(self, rows: int):
        self.rows = rows

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        return [ReadTask(read_fn=functools.partial(_read_sized, self.rows))]


def _read_sized(rows: int, rows_per_block: int = 0):
    if not rows_per_block:
        rows_per_block = _half_block_rows()
    for start in range(0, rows, rows_per_block):
        yield pa.table({"id": pa.array(range(start, min(rows, start + rows_per_block)), pa.int64())})


def _half_block_rows() -> int:
    return max(1, (DataContext.get_current().target_max_block_size or (128 << 20)) // 8 // 2)


class PlannedSizedSource(ContextSizedSource):
    """The same blocks, sized when the read is planned (``get_read_tasks``, on the driver) as the
    built-in range reader sizes its."""

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        return [ReadTask(read_fn=functools.partial(_read_sized, self.rows, _half_block_rows()))]


# ---- a read that fails once, retried by the engine's IO retry ---------------------------------------
class FlakySource(Datasource):
    """``tasks`` read tasks of 10 rows each; each fails once with ``message`` (a marker file in
    ``marker_dir`` remembers, across processes) and then reads. The retry is the engine's
    ``iterate_with_retry``, which takes its patterns from ``DataContext.retried_io_errors`` inside
    the task (no backoff sleep, so the test does not wait)."""

    def __init__(self, marker_dir: str, message: str, tasks: int = 2):
        self.marker_dir = marker_dir
        self.message = message
        self.tasks = tasks
        os.makedirs(marker_dir, exist_ok=True)

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        return [ReadTask(read_fn=functools.partial(_flaky_read, self.marker_dir, self.message, i))
                for i in range(self.tasks)]

    def failures(self) -> int:
        return len(os.listdir(self.marker_dir))


def _flaky_read(marker_dir: str, message: str, index: int):
    return iterate_with_retry(functools.partial(_fail_once, marker_dir, message, index), f"flaky read {index}",
                              sleep=_no_sleep)


def _fail_once(marker_dir: str, message: str, index: int):
    marker = os.path.join(marker_dir, f"failed-{index}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise OSError(message)
    yield pa.table({"id": pa.array(range(index * 10, index * 10 + 10), pa.int64())})


def _no_sleep(_seconds: float) -> None:
    pass


# ---- the checks (each runtime's test module calls them) -------------------------------------------
def check_udf_sees_user_setting(kind: str, ctx: DataContext) -> None:
    ds = streamscope.range(200, override_num_blocks=4).map_batches(report_settings)
    assert set(column(run(kind, ctx, ds, stall_timeout_s=MARK), "stall")) == {MARK}
    # a later run with another value: workers that ran the first run's tasks see the new one
    assert set(column(run(kind, ctx, ds, stall_timeout_s=MARK + 1), "stall")) == {MARK + 1}


def check_actor_sees_user_setting(kind: str, ctx: DataContext) -> None:
    ds = streamscope.range(100, override_num_blocks=4).map_batches(
        ReportSettingsActor, compute=streamscope.ActorPoolStrategy(size=1), num_cpus=0.5)
    tables = run(kind, ctx, ds, stall_timeout_s=MARK)
    assert set(column(tables, "at_init")) == {MARK}
    assert set(column(tables, "at_call")) == {MARK}
    assert sorted(column(tables, "id")) == list(range(100))


def check_read_block_sizes_follow_setting(kind: str, ctx: DataContext, source: type = ContextSizedSource) -> None:
    ds = streamscope.read_datasource(source(4096))
    # 8 KiB blocks at most: the task yields 4 KiB ones (512 rows). Had it seen the default 128 MiB
    # it would yield one 32 KiB table, cut into four 1024-row blocks afterwards.
    tables = run(kind, ctx, ds, target_max_block_size=8 << 10, target_min_block_size=1)
    assert [t.num_rows for t in tables] == [512] * 8
    assert column(tables, "id") == list(range(4096))


def check_retried_io_errors_apply_in_tasks(kind: str, ctx: DataContext, tmp_path: Any) -> None:
    added = FlakySource(str(tmp_path / "added"), "STREAMSCOPE-TEST-FLAKY: try again")
    tables = run(kind, ctx, streamscope.read_datasource(added),
                 retried_io_errors=[*ctx.retried_io_errors, "STREAMSCOPE-TEST-FLAKY"])
    assert sorted(column(tables, "id")) == list(range(20))
    assert added.failures() == 2  # each task really failed once and was retried

    removed = FlakySource(str(tmp_path / "removed"), "AWS Error SLOW_DOWN: please reduce your request rate")
    try:
        run(kind, ctx, streamscope.read_datasource(removed), retried_io_errors=[])
    except Exception as exc:  # noqa: BLE001 - the run must fail with the read's own error
        assert "SLOW_DOWN" in str(exc), exc
    else:
        raise AssertionError("a pattern removed from retried_io_errors was still retried")
