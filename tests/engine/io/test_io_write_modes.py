"""write_*(mode=...): Ray Data 2.60's SaveMode semantics on a real directory, checked with plain
pyarrow (file and row counts), and the atomic overwrite (a failed run leaves the old data)."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

import streamscope
from streamscope import SaveMode


def _files(d) -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(str(d), "**"), recursive=True) if os.path.isfile(p))


def _parquet_rows(d) -> list[int]:
    return sorted(v for f in _files(d) for v in pq.read_table(f).column("id").to_pylist())


def _ds(n=10, blocks=2):
    return streamscope.range(n, override_num_blocks=blocks)


def test_save_mode_is_a_str_enum_with_rays_values():
    assert [m.value for m in SaveMode] == ["create", "append", "overwrite", "ignore", "error", "upsert"]
    assert SaveMode.OVERWRITE == "overwrite" and SaveMode("ignore") is SaveMode.IGNORE


def test_append_is_the_default_and_adds_files(tmp_path, runtime):
    out = tmp_path / "out"
    _ds().write_parquet(str(out))
    assert len(_files(out)) == 2 and _parquet_rows(out) == list(range(10))
    _ds().write_parquet(str(out))
    _ds().write_parquet(str(out), mode=SaveMode.APPEND)
    assert len(_files(out)) == 6
    assert _parquet_rows(out) == sorted(list(range(10)) * 3)


@pytest.mark.parametrize("mode", ["overwrite", SaveMode.OVERWRITE])
def test_overwrite_replaces_everything(tmp_path, runtime, mode):
    out = tmp_path / "out"
    _ds(10, 2).write_parquet(str(out))
    _ds(10, 2).write_parquet(str(out))
    (out / ".hidden").write_text("old")  # Ray's overwrite empties the whole directory
    (out / "sub").mkdir()
    (out / "sub" / "old.parquet").write_bytes(open(_files(out)[0], "rb").read())
    _ds(3, 1).write_parquet(str(out), mode=mode)
    assert len(_files(out)) == 1
    assert _parquet_rows(out) == [0, 1, 2]
    assert sorted(os.listdir(out)) == [os.path.basename(_files(out)[0])]


def test_ignore_leaves_existing_data_untouched(tmp_path, runtime):
    out = tmp_path / "out"
    _ds().write_parquet(str(out))
    before = {f: os.path.getmtime(f) for f in _files(out)}
    _ds(5, 1).write_parquet(str(out), mode="ignore")
    assert {f: os.path.getmtime(f) for f in _files(out)} == before
    assert _parquet_rows(out) == list(range(10))


@pytest.mark.parametrize("mode", ["error", "create", SaveMode.ERROR])
def test_error_raises_naming_the_path(tmp_path, runtime, mode):
    out = tmp_path / "out"
    _ds().write_parquet(str(out))
    with pytest.raises(ValueError, match="already exists") as info:
        _ds().write_parquet(str(out), mode=mode)
    assert str(out) in str(info.value)
    assert isinstance(info.value, FileExistsError)
    assert len(_files(out)) == 2


def test_an_existing_empty_directory_counts_as_existing(tmp_path, runtime):
    """As in Ray 2.60: the path existing is enough, even with nothing in it."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="already exists"):
        _ds().write_parquet(str(empty), mode="error")
    _ds().write_parquet(str(empty), mode="ignore")
    assert _files(empty) == []


@pytest.mark.parametrize("mode", ["append", "overwrite", "ignore", "error"])
def test_a_missing_directory_is_written_in_every_mode(tmp_path, runtime, mode):
    out = tmp_path / "missing" / "out"
    _ds().write_parquet(str(out), mode=mode)
    assert _parquet_rows(out) == list(range(10))


def _fail_on_seven(row):
    if row["id"] == 7:
        raise RuntimeError("row 7 is bad")
    return row


def test_a_failed_overwrite_leaves_the_old_data_intact(tmp_path, runtime):
    out = tmp_path / "out"
    _ds(20, 4).write_parquet(str(out))
    before = _files(out)
    with pytest.raises(RuntimeError, match="row 7 is bad"):
        _ds(10, 2).map(_fail_on_seven).write_parquet(str(out), mode="overwrite")
    assert _files(out) == before
    assert sorted(os.listdir(out)) == sorted(os.path.basename(f) for f in before)  # no temporaries left
    assert _parquet_rows(out) == list(range(20))
    assert streamscope.read_parquet(str(out)).count() == 20


@pytest.mark.parametrize("writer", ["write_csv", "write_json"])
def test_modes_apply_to_every_file_writer(tmp_path, runtime, writer):
    out = tmp_path / "out"
    getattr(_ds(), writer)(str(out))
    getattr(_ds(), writer)(str(out), mode="overwrite")
    assert len(_files(out)) == 2
    getattr(_ds(), writer)(str(out), mode="ignore")
    assert len(_files(out)) == 2
    with pytest.raises(ValueError, match="already exists"):
        getattr(_ds(), writer)(str(out), mode="error")
    if writer == "write_json":
        ids = [json.loads(line)["id"] for f in _files(out) for line in open(f)]
    else:
        ids = [int(line) for f in _files(out) for line in open(f).read().split()[1:]]
    assert sorted(ids) == list(range(10))


def test_write_numpy_overwrite(tmp_path, runtime):
    out = tmp_path / "npy"
    streamscope.range_tensor(6, shape=(2,)).write_numpy(str(out), column="data")
    streamscope.range_tensor(2, shape=(2,)).write_numpy(str(out), column="data", mode="overwrite")
    assert sum(len(np.load(f)) for f in _files(out)) == 2


@pytest.mark.parametrize("mode", ["bogus", "OVERWRITE", "upsert", 3, None])
def test_invalid_modes_are_refused_before_anything_is_written(tmp_path, runtime, mode):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="mode") as info:
        _ds().write_parquet(str(out), mode=mode)
    assert "'overwrite'" in str(info.value)
    assert not out.exists()
