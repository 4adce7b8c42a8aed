"""Retries of errors raised by user code inside map tasks, as Ray Data 2.60 has them: a map's
``retry_exceptions``/``max_retries``, ``DataContext.retried_map_errors``/``max_map_retries``,
``actor_task_retry_on_errors`` and ``actor_init_retry_on_errors``/``actor_init_max_retries``,
on the local (worker processes) and in-process runtimes.

Calls are counted in a file (worker processes share no memory), one byte per call, so a UDF can
fail on exactly its first k calls and a test can assert how many calls there were. Each plan has
a single task where the count matters, so no two processes race on the file. Expected rows come
from plain Python.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fsspec.implementations.local import LocalFileSystem

import streamscope
from streamscope.engine.error_retry import stop_retrying_when
from streamscope.engine.runtime import get_runtime
from streamscope.engine.transforms.udf_retry import RetryRule, run_with_retries

RUNTIMES = ["local", "inprocess"]


@pytest.fixture(params=RUNTIMES)
def rt(request, ctx):
    ctx.runtime = request.param
    return get_runtime(ctx)


def bump(path: str) -> int:
    """Count one call; returns its number (1 for the first)."""
    with open(path, "a") as f:
        f.write("x")
    return os.path.getsize(path)


def calls(path) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def flaky(path, fail_on, exc_type=ConnectionError):
    """A batch UDF whose calls numbered in ``fail_on`` raise ``exc_type``."""

    def udf(batch):
        n = bump(str(path))
        if n in fail_on:
            raise exc_type(f"flaky call {n}")
        return batch

    return udf


def ids(rows) -> list[int]:
    return [r["id"] for r in rows]


# ---- ray_remote_args retry_exceptions / max_retries ---------------------------------------------
def test_named_exception_is_retried_until_it_succeeds(rt, tmp_path):
    path = tmp_path / "calls"
    ds = streamscope.range(20, override_num_blocks=1).map_batches(
        flaky(path, {1, 2}), retry_exceptions=[ConnectionError], max_retries=3)
    assert sorted(ids(ds.take_all())) == list(range(20))
    assert calls(path) == 3
    stats = ds.stats()
    (op,) = [o for o in stats.operators if "MapBatches" in o.name]
    assert op.retries == 2
    assert "* Retries: 2" in str(stats)
    assert stats.snapshot.operators[[o.name for o in stats.snapshot.operators].index(op.name)].retries == 2


def test_a_listed_class_retries_its_subclasses_and_true_retries_anything(rt, tmp_path):
    path = tmp_path / "sub"
    ds = streamscope.range(10, override_num_blocks=1).map_batches(
        flaky(path, {1}, ConnectionResetError), retry_exceptions=[OSError], max_retries=1)
    assert sorted(ids(ds.take_all())) == list(range(10))
    assert calls(path) == 2
    path = tmp_path / "any"
    ds = streamscope.range(10, override_num_blocks=1).map_batches(flaky(path, {1, 2}, KeyError), retry_exceptions=True)
    assert sorted(ids(ds.take_all())) == list(range(10))
    assert calls(path) == 3  # max_retries not given: Ray Data's -1, no limit


def test_an_exception_not_named_is_never_retried(rt, tmp_path):
    path = tmp_path / "calls"
    ds = streamscope.range(10, override_num_blocks=1).map_batches(
        flaky(path, {1}, ValueError), retry_exceptions=[ConnectionError], max_retries=5)
    with pytest.raises(ValueError) as info:
        ds.take_all()
    assert "MapBatches(udf)" in str(info.value) and "flaky call 1" in str(info.value)
    assert "attempts" not in str(info.value).split("Traceback")[0]
    assert calls(path) == 1


def test_without_retry_arguments_nothing_is_retried(rt, tmp_path):
    path = tmp_path / "calls"
    with pytest.raises(ConnectionError):
        streamscope.range(10, override_num_blocks=1).map_batches(flaky(path, {1})).take_all()
    assert calls(path) == 1


def test_max_retries_used_up_fails_with_the_last_error_and_the_attempt_count(rt, tmp_path):
    path = tmp_path / "calls"
    ds = streamscope.range(10, override_num_blocks=1).map_batches(
        flaky(path, {1, 2, 3, 4}), retry_exceptions=True, max_retries=2)
    with pytest.raises(ConnectionError) as info:
        ds.take_all()
    text = str(info.value)
    assert "MapBatches(udf)" in text and "flaky call 3" in text
    assert "gave up after 3 attempts" in text and "at most 2" in text
    assert calls(path) == 3


def test_rows_a_task_delivered_before_raising_are_delivered_once(rt, ctx, tmp_path):
    ctx.target_min_block_size = 1  # every batch leaves the task as its own block, at once
    path = tmp_path / "calls"
    # one 50-row input block, so one task calls the UDF on 5 batches; the 3rd call raises once,
    # after two batches went out: the retry re-runs the task and skips those 20 rows
    ds = streamscope.range(50, override_num_blocks=1).map_batches(
        flaky(path, {3}), batch_size=10, retry_exceptions=[ConnectionError], max_retries=1)
    got = ids(ds.take_all())
    assert sorted(got) == list(range(50)) and len(got) == 50
    assert calls(path) == 2 + 1 + 5
    assert [o.retries for o in ds.stats().operators if "MapBatches" in o.name] == [1]


def test_retry_arguments_keep_maps_apart_as_in_ray_data(rt, tmp_path):
    path = tmp_path / "calls"
    ds = streamscope.range(10, override_num_blocks=1).map_batches(
        flaky(path, {1}), retry_exceptions=[ConnectionError], max_retries=1).map(lambda r: r)
    assert sorted(ids(ds.take_all())) == list(range(10))
    names = [o.name for o in ds.stats().operators]
    assert names == ["ReadRange", "MapBatches(udf)", "Map(<lambda>)"]


@pytest.mark.parametrize("args, error, message", [
    ({"retry_exceptions": "ConnectionError"}, TypeError,
     "'retry_exceptions' must be a bool or a list of exception classes"),
    ({"retry_exceptions": True, "max_retries": -2}, ValueError, "'max_retries' only accepts None, 0, -1 or a positive"),
])
def test_bad_retry_arguments_are_refused_when_the_map_is_built(args, error, message):
    with pytest.raises(error, match=message) as info:
        streamscope.range(10).map_batches(lambda b: b, **args)
    assert "MapBatches(<lambda>)" in str(info.value)


# ---- DataContext.retried_map_errors / max_map_retries -------------------------------------------
def test_context_patterns_retry_matching_errors(rt, ctx, tmp_path):
    ctx.retried_map_errors = [r"Connection\w+: flaky"]  # a regular expression over "Class: message"
    ctx.max_map_retries = 1
    ctx.target_min_block_size = 1
    path = tmp_path / "calls"
    ds = streamscope.range(30, override_num_blocks=1).map_batches(flaky(path, {2}), batch_size=10)
    got = ids(ds.take_all())
    assert sorted(got) == list(range(30)) and len(got) == 30
    assert calls(path) == 1 + 1 + 3
    read, model = ds.stats().operators  # a batch_size keeps the map apart from its read, as in Ray
    assert (read.name, model.name) == ("ReadRange", "MapBatches(udf)")
    assert (read.retries, model.retries) == (0, 1)


def test_context_patterns_that_do_not_match_and_zero_retries_retry_nothing(rt, ctx, tmp_path):
    ctx.retried_map_errors = ["Throttled"]
    ctx.max_map_retries = 3
    path = tmp_path / "nomatch"
    with pytest.raises(ConnectionError):
        streamscope.range(10, override_num_blocks=1).map_batches(flaky(path, {1})).take_all()
    assert calls(path) == 1
    ctx.retried_map_errors = True
    ctx.max_map_retries = 0  # Ray Data's default: retried_map_errors alone retries nothing
    path = tmp_path / "zero"
    with pytest.raises(ConnectionError):
        streamscope.range(10, override_num_blocks=1).map_batches(flaky(path, {1})).take_all()
    assert calls(path) == 1


def test_context_retries_used_up_say_how_many_attempts(rt, ctx, tmp_path):
    ctx.retried_map_errors = ["flaky"]
    ctx.max_map_retries = 1
    path = tmp_path / "calls"
    with pytest.raises(ConnectionError) as info:
        streamscope.range(10, override_num_blocks=1).map_batches(flaky(path, {1, 2, 3})).take_all()
    assert "gave up after 2 attempts" in str(info.value) and "max_map_retries" in str(info.value)
    assert calls(path) == 2


def test_bad_context_values_are_refused_when_the_run_starts(ctx):
    ctx.retried_map_errors = "flaky"
    with pytest.raises(ValueError, match="retried_map_errors must be True, False or a list of strings"):
        streamscope.range(10).map(lambda r: r).take_all()


class FlakyWriteFS(LocalFileSystem):
    """The local filesystem, except that writing opens numbered in ``fail_on`` raise."""

    def __init__(self, counter: str = "", fail_on: tuple = (), **kwargs):
        super().__init__(**kwargs)
        self.counter, self.fail_on = counter, tuple(fail_on)

    def _open(self, path, mode="rb", **kwargs):
        if "w" in mode and self.counter and bump(self.counter) in self.fail_on:
            raise RuntimeError(f"flaky write of {path}")
        return super()._open(path, mode, **kwargs)


def test_a_retried_write_task_leaves_each_row_in_one_file_once(rt, ctx, tmp_path):
    ctx.retried_map_errors = ["flaky write"]  # not an IO error the file retry knows: the task retries
    ctx.max_map_retries = 1
    counter, out = str(tmp_path / "opens"), tmp_path / "out"
    # one write task writing 3 files (one per input block); its second file fails once
    ds = streamscope.range(30, override_num_blocks=3).repartition(1).map_batches(lambda b: b, batch_size=10)
    ds.write_csv(str(out), filesystem=FlakyWriteFS(counter=counter, fail_on=(2,)))
    files = sorted(os.listdir(out))
    assert len(files) == 3
    assert not [f for f in files if f.startswith(".")]  # no temporary file left behind
    rows = sorted(v for f in files for v in pacsv.read_csv(out / f).column("id").to_pylist())
    assert rows == list(range(30))
    assert calls(counter) == 1 + 1 + len(files)


# ---- actor pools ---------------------------------------------------------------------------------
class FlakyModel:
    def __init__(self, path, fail_on, ctor_path=None, ctor_fail_on=()):
        if ctor_path is not None and bump(ctor_path) in ctor_fail_on:
            raise ConnectionError("model server not ready")
        self.path, self.fail_on = path, fail_on

    def __call__(self, batch):
        n = bump(self.path)
        if n in self.fail_on:
            raise ConnectionError(f"flaky call {n}")
        return batch


def test_actor_task_retry_on_errors_retries_named_errors_on_the_actor(rt, ctx, tmp_path):
    ctx.actor_task_retry_on_errors = [ConnectionError]
    path = str(tmp_path / "calls")
    ds = streamscope.range(20, override_num_blocks=1).map_batches(
        FlakyModel, fn_constructor_args=(path, {1, 2}), compute=streamscope.ActorPoolStrategy(size=1))
    assert sorted(ids(ds.take_all())) == list(range(20))
    assert calls(path) == 3
    assert [o.retries for o in ds.stats().operators if "MapBatches" in o.name] == [2]


def test_actor_tasks_are_not_retried_on_errors_not_named(rt, ctx, tmp_path):
    ctx.actor_task_retry_on_errors = [KeyError]
    path = str(tmp_path / "calls")
    ds = streamscope.range(20, override_num_blocks=1).map_batches(FlakyModel, fn_constructor_args=(path, {1}), compute=streamscope.ActorPoolStrategy(size=1))
    with pytest.raises(ConnectionError, match="flaky call 1"):
        ds.take_all()
    assert calls(path) == 1


def test_a_raising_constructor_is_retried_in_its_actor_when_asked(rt, ctx, tmp_path):
    ctx.actor_init_retry_on_errors = True
    ctx.actor_init_max_retries = 2
    path, ctor = str(tmp_path / "calls"), str(tmp_path / "ctor")
    ds = streamscope.range(20, override_num_blocks=1).map_batches(
        FlakyModel, fn_constructor_args=(path, (), ctor, {1, 2}), compute=streamscope.ActorPoolStrategy(size=1))
    assert sorted(ids(ds.take_all())) == list(range(20))
    assert calls(ctor) == 3 and calls(path) == 1


def test_constructor_retries_used_up_or_not_asked_for_fail_the_run(rt, ctx, tmp_path):
    path, ctor = str(tmp_path / "calls"), str(tmp_path / "ctor")
    ds = streamscope.range(20, override_num_blocks=1).map_batches(
        FlakyModel, fn_constructor_args=(path, (), ctor, {1, 2, 3}), compute=streamscope.ActorPoolStrategy(size=1))
    with pytest.raises(ConnectionError, match="model server not ready"):
        ds.take_all()  # actor_init_retry_on_errors is False by default: one attempt
    assert calls(ctor) == 1
    ctx.actor_init_retry_on_errors = True
    ctx.actor_init_max_retries = 1
    ctor2 = str(tmp_path / "ctor2")
    ds = streamscope.range(20, override_num_blocks=1).map_batches(
        FlakyModel, fn_constructor_args=(path, (), ctor2, {1, 2, 3}), compute=streamscope.ActorPoolStrategy(size=1))
    with pytest.raises(ConnectionError) as info:
        ds.take_all()
    assert "gave up after 2 attempts" in str(info.value)
    assert calls(ctor2) == 2 and calls(path) == 0


# ---- the retry loop itself -----------------------------------------------------------------------
def test_a_cancelled_task_stops_retrying_even_without_a_limit():
    attempts = []

    def chain(blocks):
        for t in blocks:
            attempts.append(1)
            raise ConnectionError("down for good")
            yield t

    unlimited = (RetryRule(True, -1, "ray_remote_args retry_exceptions/max_retries"),)
    stopped = {"now": False}
    with stop_retrying_when(lambda: stopped["now"] or len(attempts) >= 3):
        with pytest.raises(ConnectionError) as info:
            list(run_with_retries(chain, iter([pa.table({"x": [1]})]), unlimited, "Map(f)"))
    assert len(attempts) == 3 and "gave up after 3 attempts" in info.value._streamscope_retry_note


def test_rows_are_skipped_by_count_even_when_batches_are_cut_differently():
    attempts = []

    def chain(blocks):
        attempts.append(1)
        table = pa.concat_tables(list(blocks))
        size = 4 if len(attempts) == 1 else 3  # another attempt cuts its output differently
        for start in range(0, table.num_rows, size):
            if len(attempts) == 1 and start >= 8:
                raise TimeoutError("slow backend")
            yield table.slice(start, size)

    blocks = [pa.table({"x": list(range(0, 6))}), pa.table({"x": list(range(6, 12))})]
    out = list(run_with_retries(chain, iter(blocks), (RetryRule((TimeoutError,), 1, "test"),), "Map(f)"))
    assert [v for t in out for v in t.column("x").to_pylist()] == list(range(12))
    assert len(attempts) == 2


def test_an_error_reading_the_task_inputs_is_never_retried():
    def inputs():
        yield pa.table({"x": [1]})
        raise OSError("block file vanished")

    attempts = []

    def chain(blocks):
        attempts.append(1)
        yield from blocks

    with pytest.raises(OSError, match="block file vanished"):
        list(run_with_retries(chain, inputs(), (RetryRule(True, 5, "test"),), "Map(f)"))
    assert len(attempts) == 1  # a retry would have run on the one block read so far
