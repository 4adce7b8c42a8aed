"""Session directories: naming, the sweep of dead drivers' leftovers, the disk fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streamscope.engine.runtime.local import session_dir


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_dead_sessions_of_this_user(tmp_path):
    user = session_dir.current_user()
    dead = _dead_pid()
    stale = tmp_path / f"streamscope-{user}-{dead}"
    stale_spill = tmp_path / f"streamscope-spill-{user}-1-{dead}"
    stale_split = tmp_path / f"streamscope-split-{user}-{dead}"  # a killed driver's split socket
    live = tmp_path / f"streamscope-{user}-{os.getppid()}"
    other_user = tmp_path / f"streamscope-someoneelse-{dead}"
    unrelated = tmp_path / f"streamscope-{user}-notapid"
    for d in (stale, stale_spill, stale_split, live, other_user, unrelated):
        d.mkdir()
        (d / "p0.arrow").write_bytes(b"x")
    removed = session_dir.sweep_dead_sessions([str(tmp_path)], user)
    assert sorted(removed) == sorted([str(stale), str(stale_spill), str(stale_split)])
    assert not stale.exists() and not stale_spill.exists() and not stale_split.exists()
    assert live.exists() and other_user.exists() and unrelated.exists()


def test_make_session_dir_keeps_pid_last(tmp_path):
    user = session_dir.current_user()
    first = session_dir.make_session_dir(str(tmp_path), "streamscope", user)
    second = session_dir.make_session_dir(str(tmp_path), "streamscope", user)
    assert os.path.basename(first) == f"streamscope-{user}-{os.getpid()}"
    assert first != second and second.endswith(f"-{os.getpid()}")


def test_disk_fallback_when_tmpfs_too_small(monkeypatch):
    monkeypatch.setattr(session_dir, "_fallback_warned", False)
    with pytest.warns(RuntimeWarning, match="disk-backed"):
        parent, kind = session_dir.choose_store_parent(1 << 30, "/dev/shm", free_bytes_fn=lambda p: 1 << 20)
    assert (parent, kind) == (session_dir.temp_root(), "disk")
    # warned once per process
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert session_dir.choose_store_parent(1 << 30, "/nonexistent-shm")[1] == "disk"
    assert session_dir.choose_store_parent(1 << 20, "/dev/shm", free_bytes_fn=lambda p: 1 << 30) == ("/dev/shm", "tmpfs")


def test_runtime_uses_disk_backend_when_tmpfs_too_small(make_rt, monkeypatch):
    monkeypatch.setattr(session_dir, "_fallback_warned", False)
    with pytest.warns(RuntimeWarning):
        rt = make_rt(store_capacity=1 << 30, free_bytes_fn=lambda p: 0)
    backend = rt.store_stats().backend
    assert backend.startswith("disk:" + session_dir.temp_root())
    directory = backend.split(":", 1)[1]
    assert os.path.basename(directory).endswith(f"-{os.getpid()}")
    import pyarrow as pa

    ref, _ = rt.put(pa.table({"x": [1, 2, 3]}))
    assert rt.get(ref).column("x").to_pylist() == [1, 2, 3]
    rt.shutdown()
    assert not os.path.exists(directory)


def test_is_leftover_matches_what_the_sweep_removes(tmp_path):
    dead = tmp_path / f"streamscope-someone-{_dead_pid()}"
    mine = tmp_path / f"streamscope-someone-{os.getpid()}"
    odd = tmp_path / "streamscope-quickstart-abc"
    for d in (dead, mine, odd):
        d.mkdir()
    assert session_dir.is_leftover(str(dead))
    assert not session_dir.is_leftover(str(mine))
    assert not session_dir.is_leftover(str(odd))
    assert not session_dir.is_leftover(str(tmp_path / "streamscope-someone-1-gone"))
