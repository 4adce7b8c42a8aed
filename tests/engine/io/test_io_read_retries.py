"""Read tasks retry file opens and reads whose error ``DataContext.retried_io_errors`` names, with
backoff, never delivering a row twice, and the retries show in ``Dataset.stats()``; on the local
(worker processes) and in-process runtimes.

The flaky filesystem counts its opens in a file (worker processes share no memory) and fails the
opens numbered in ``fail_on``. Expected rows come from the csv module.
"""

from __future__ import annotations

import csv
import os

import pytest
from fsspec.implementations.local import LocalFileSystem

import streamscope
from streamscope.engine.runtime import get_runtime


@pytest.fixture(params=["local", "inprocess"])
def rt(request, ctx):
    ctx.runtime = request.param
    return get_runtime(ctx)


class FlakyFS(LocalFileSystem):
    """The local filesystem, except that reading opens numbered in ``fail_on`` raise ``message``."""

    def __init__(self, counter: str = "", fail_on: tuple = (), message: str = "AWS Error SLOW_DOWN", **kwargs):
        super().__init__(**kwargs)
        self.counter, self.fail_on, self.message = counter, tuple(fail_on), message

    def _open(self, path, mode="rb", **kwargs):
        if "r" in mode and self.counter:
            with open(self.counter, "a") as f:
                f.write("x")
            n = os.path.getsize(self.counter)
            if n in self.fail_on:
                raise OSError(f"{self.message} (open {n} of {path})")
        return super()._open(path, mode, **kwargs)


def opens(path) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def write_csv(path, rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name"])
        w.writerows(rows)


def expected(*paths) -> list[tuple[int, str]]:
    out = []
    for p in paths:
        with open(p, newline="") as f:
            out += [(int(r["id"]), r["name"]) for r in csv.DictReader(f)]
    return sorted(out)


def test_a_transient_open_error_is_retried_and_counted(rt, tmp_path):
    data = tmp_path / "a.csv"
    write_csv(data, [(i, f"n{i}") for i in range(25)])
    counter = str(tmp_path / "opens")
    ds = streamscope.read_csv(str(data), filesystem=FlakyFS(counter=counter, fail_on=(1, 2)))
    rows = sorted((r["id"], r["name"]) for r in ds.take_all())
    assert rows == expected(data)
    assert opens(counter) == 3
    (op,) = ds.stats().operators
    assert op.retries == 2 and "* Retries: 2" in str(ds.stats())


def test_a_file_already_read_is_not_read_again_when_the_next_one_fails(rt, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(first, [(i, "a") for i in range(10)])
    write_csv(second, [(i, "b") for i in range(10, 30)])
    counter = str(tmp_path / "opens")
    # one read task reads both files in order; the second file's first open fails after the
    # first file's rows have left the task: only the second file is opened again
    ds = streamscope.read_csv(str(tmp_path), filesystem=FlakyFS(counter=counter, fail_on=(2,)), override_num_blocks=1)
    rows = [(r["id"], r["name"]) for r in ds.take_all()]
    assert sorted(rows) == expected(first, second) and len(rows) == 30
    (op,) = ds.stats().operators
    assert op.tasks == 1 and op.retries == 1
    assert opens(counter) == 3  # a retry of the whole task would have opened a.csv again: 4


def test_an_error_retried_io_errors_does_not_name_fails_at_once_naming_the_file(rt, tmp_path):
    data = tmp_path / "a.csv"
    write_csv(data, [(1, "x")])
    counter = str(tmp_path / "opens")
    ds = streamscope.read_csv(str(data), filesystem=FlakyFS(counter=counter, fail_on=(1,), message="disk on fire"))
    with pytest.raises(streamscope.DataSourceError) as info:
        ds.take_all()
    assert "a.csv" in str(info.value) and "disk on fire" in str(info.value)
    assert opens(counter) == 1


def test_retried_io_errors_patterns_may_be_regular_expressions(rt, ctx, tmp_path):
    data = tmp_path / "a.csv"
    write_csv(data, [(i, "x") for i in range(5)])
    ctx.retried_io_errors = [r"OSError: Throttl(ed|ing)"]
    counter = str(tmp_path / "opens")
    ds = streamscope.read_csv(str(data), filesystem=FlakyFS(counter=counter, fail_on=(1,), message="Throttling"))
    assert sorted((r["id"], r["name"]) for r in ds.take_all()) == expected(data)
    assert opens(counter) == 2


# ---- Parquet footers, read on the driver when the read is planned --------------------------------
def test_a_flaky_parquet_footer_read_is_retried_and_a_corrupt_one_is_named(tmp_path, ctx):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from fsspec.implementations.memory import MemoryFileSystem

    from streamscope.engine.exceptions import DataSourceError

    class FlakyMemoryFS(MemoryFileSystem):
        """fsspec's memory filesystem (pyarrow reads it through fsspec, unlike local files),
        failing the reading opens numbered in ``fail_on`` with ``message``."""

        def __init__(self, counter, fail_on, message, **kwargs):
            super().__init__(**kwargs)
            self.counter, self.fail_on, self.message = counter, fail_on, message

        def _open(self, path, mode="rb", **kwargs):
            if "r" in mode:
                self.counter.append(path)
                if len(self.counter) in self.fail_on:
                    raise OSError(f"{self.message} (open {len(self.counter)} of {path})")
            return super()._open(path, mode, **kwargs)

    memory = MemoryFileSystem()
    with memory.open("/footer-retry/t.parquet", "wb") as f:
        pq.write_table(pa.table({"id": list(range(25))}), f)
    opened: list = []
    flaky = FlakyMemoryFS(opened, (1,), "AWS Error SLOW_DOWN")  # the first open (the footer's) fails
    assert streamscope.read_parquet("memory:///footer-retry/t.parquet", filesystem=flaky).count() == 25
    assert len(opened) >= 2  # the count came from the footer, read on a second try
    other: list = []
    still = FlakyMemoryFS(other, (1,), "connection reset by peer")  # not a retried error: at once, as IO
    with pytest.raises(DataSourceError, match=r"cannot read the Parquet footer of .*t.parquet.*: OSError: connection reset"):
        streamscope.read_parquet("memory:///footer-retry/t.parquet", filesystem=still).count()
    assert len(other) == 1
    memory.rm("/footer-retry", recursive=True)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataSourceError, match=r"bad.parquet.*corrupt or not a Parquet file"):
        streamscope.read_parquet(str(bad)).count()
