"""Disk faults: a spill directory or a write's output directory that cannot be written (read-only
or not a directory) or that fills up. Each gives a clear error naming the directory within the
run (``ObjectStoreFullError`` for the store; an ``OSError`` with its errno for a write), leaves no
file of its own behind (no spilled block, no temporary or partial output file, no directory the
write made), and the session goes on. Blocks of an earlier run still held may be spilled into the
full directory; they stay held and readable.

Read-only, three ways: a path under a regular FILE (mkdir fails with ENOTDIR, for root too), a
directory of mode 0500 (skipped as root: root ignores permissions) and, as root, a tmpfs mounted
read-only (EROFS binds root too). Full: a 4 MiB tmpfs mounted for the test (root only; always
unmounted afterwards)."""

from __future__ import annotations

import errno
import os
import subprocess

import numpy as np
import pytest

import streamscope as ss
from streamscope.engine.exceptions import ObjectStoreFullError, UserCodeException

from chaos import block_id_of_file, files_under

IS_ROOT = os.geteuid() == 0
ROWS = 48_000


def _mount_tmpfs(path: str, options: str) -> None:
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")


def _unmount(path: str) -> None:
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


@pytest.fixture
def full_dir(tmp_path):
    """A 4 MiB tmpfs (root only), unmounted after the test whatever happened."""
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root")
    path = str(tmp_path / "small-tmpfs")
    _mount_tmpfs(path, "size=4m")
    try:
        yield path
    finally:
        _unmount(path)


@pytest.fixture(params=["not-a-directory", "mode-0500", "read-only-mount"])
def unwritable(request, tmp_path):
    """``(parent that cannot be written, what must be named)``."""
    kind = request.param
    if kind == "not-a-directory":
        blocker = tmp_path / "a-file"
        blocker.write_text("a regular file")
        yield str(blocker / "sub"), str(blocker)
    elif kind == "mode-0500":
        if IS_ROOT:
            pytest.skip("root ignores permission bits; the read-only mount covers root")
        path = tmp_path / "read-only"
        path.mkdir(mode=0o500)
        try:
            yield str(path), str(path)
        finally:
            path.chmod(0o700)
    else:
        if not IS_ROOT:
            pytest.skip("mounting needs root; mode 0500 covers other users")
        path = str(tmp_path / "ro-tmpfs")
        _mount_tmpfs(path, "size=1m,ro")
        try:
            yield path, path
        finally:
            _unmount(path)


def _widen(batch):
    return {"id": batch["id"], "pad": np.ones((len(batch["id"]), 32))}  # 264 bytes a row: 12.7 MB


def _noisy(batch):
    rng = np.random.default_rng(int(batch["id"][0]))  # incompressible: 6 MB as Parquet too
    return {"id": batch["id"], "x": rng.random(len(batch["id"])), "y": rng.random(len(batch["id"])),
            "z": rng.random(len(batch["id"])), "w": rng.random(len(batch["id"]))}


def _session_goes_on():
    rows = ss.range(10_000, override_num_blocks=4).map_batches(lambda b: {"v": b["id"] * 3}).take_all()
    assert sum(r["v"] for r in rows) == 3 * sum(range(10_000))


# ---- the spill directory ---------------------------------------------------------------------
def test_an_unwritable_spill_dir_fails_the_run_that_must_spill_naming_it(runtime, ctx, leaks, unwritable):
    parent, named = unwritable
    ctx.object_store_capacity_bytes = 1 << 20
    ctx.spill_dir = parent
    ctx.max_errored_blocks = -1  # forgives user errors only: a store fault still fails the run
    with pytest.raises(ObjectStoreFullError) as info:
        ss.range(ROWS, override_num_blocks=24).map_batches(_widen).materialize()
    assert named in str(info.value) and "spill_dir" in str(info.value)
    assert not isinstance(info.value, UserCodeException)
    ctx.spill_dir = None
    leaks.check()
    _session_goes_on()


def _restore_held_blocks(runtime, ctx, leaks, directory: str, capacity) -> None:
    """Read back every block held before the test whose file is under ``directory``: the store
    restores a block it reads to tmpfs when there is room, so no earlier test's block is lost when
    the test unmounts ``directory``. The store gets its usual capacity back first, so they fit."""
    ctx.object_store_capacity_bytes = capacity
    runtime.ensure_started(ctx)
    store = runtime.store
    for block_id in sorted(leaks.held_ids):
        if block_id in store and store.location(block_id).startswith(directory + os.sep):
            store.get(block_id)


@pytest.mark.parametrize("shape", ["materialize", "materialize, an earlier dataset held", "exchange outputs"])
def test_a_full_spill_dir_fails_naming_it_and_leaves_no_file(runtime, ctx, leaks, full_dir, shape):
    capacity = ctx.object_store_capacity_bytes
    earlier = None
    if shape == "materialize, an earlier dataset held":
        # blocks another run still holds are the coldest in the store: this run's pressure spills
        # them first, into the full directory, where they stay (held, readable) after it fails
        earlier = ss.range(1000, override_num_blocks=4).map_batches(lambda b: {"id": b["id"] * 2}).materialize()
        before = set(leaks.held_ids)
        leaks.measure_again()
        earlier_ids = leaks.held_ids - before
    ctx.object_store_capacity_bytes = 1 << 20
    ctx.spill_dir = full_dir
    if shape.startswith("materialize"):  # the driver spills blocks the store holds
        ds = ss.range(ROWS, override_num_blocks=24).map_batches(_widen)
    else:  # reduce tasks write past their allowance straight to the spill directory
        ds = (ss.range(ROWS, override_num_blocks=24).map_batches(lambda b: {"k": b["id"] % 4, "pad": np.ones((len(b["id"]), 32))})
              .groupby("k", num_partitions=2).map_groups(lambda g: g))
    with pytest.raises(ObjectStoreFullError) as info:
        ds.materialize()
    message = str(info.value)
    assert full_dir in message and ("no space left" in message.lower() or "spill" in message)
    ctx.spill_dir = None
    try:
        leaks.check()  # waits (bounded) for the tasks still running when the run failed to be cleaned up
        if earlier is not None:
            spilled_there = {block_id_of_file(p) for p in files_under(full_dir)}
            assert len(earlier_ids) == 4 and earlier_ids <= spilled_there  # the case happened
            assert sorted(r["id"] for r in earlier.take_all()) == [2 * i for i in range(1000)]  # held, whole
    finally:  # whatever failed, no earlier test's block is lost with the unmount
        _restore_held_blocks(runtime, ctx, leaks, full_dir, capacity)
    assert files_under(full_dir) == set()  # no block of this run, no partial file
    _session_goes_on()


# ---- a write's output directory ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_a_write_into_a_full_disk_names_the_path_and_leaves_no_partial_file(runtime, ctx, leaks, full_dir, fmt):
    out = os.path.join(full_dir, "out")
    ds = ss.range(ROWS * 2, override_num_blocks=24).map_batches(_noisy)  # ~10 MB of random floats
    with pytest.raises(OSError) as info:
        getattr(ds, f"write_{fmt}")(out)
    assert info.value.errno == errno.ENOSPC
    assert out in str(info.value) and "No space left" in str(info.value)
    assert files_under(full_dir) == set() and not os.path.exists(out)  # nothing half-written
    # the same write again (default mode="error") is not refused as "already exists"
    getattr(ss.range(100).map_batches(_noisy), f"write_{fmt}")(out)
    assert len(getattr(ss, f"read_{fmt}")(out).take_all()) == 100
    leaks.check()
    _session_goes_on()


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_a_write_into_an_unwritable_dir_names_the_path_and_writes_nothing(runtime, ctx, leaks, unwritable, fmt):
    parent, named = unwritable
    out = os.path.join(parent, "out")
    ds = ss.range(1000, override_num_blocks=4).map_batches(_noisy)
    with pytest.raises(OSError) as info:
        getattr(ds, f"write_{fmt}")(out)
    assert named in str(info.value)
    assert info.value.errno in (errno.ENOTDIR, errno.EACCES, errno.EROFS, errno.EPERM)
    assert not os.path.exists(out)
    if os.path.isdir(named):
        assert files_under(named) == set()
    leaks.check()
    _session_goes_on()
