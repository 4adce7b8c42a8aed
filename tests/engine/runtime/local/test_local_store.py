"""The block store on its own: files, zero-copy maps, capacity, spill and restore, full disks."""

from __future__ import annotations

import os
import stat

import numpy as np
import pyarrow as pa
import pytest

from streamscope.engine import tensor
from streamscope.engine.exceptions import ObjectStoreFullError
from streamscope.engine.runtime.local import blockfile, session_dir
from streamscope.engine.runtime.local.store import BlockStore


@pytest.fixture
def store(tmp_path):
    user = session_dir.current_user()
    directory = session_dir.make_session_dir("/dev/shm", session_dir.STORE_PREFIX, user)
    s = BlockStore(directory, "tmpfs", 1 << 30, str(tmp_path), user)
    yield s
    s.close()


def _mapping_ranges(path):
    ranges = []
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith(path):
                lo, hi = line.split()[0].split("-")
                ranges.append((int(lo, 16), int(hi, 16)))
    return ranges


def test_put_get_free_round_trip_is_zero_copy(store):
    table = pa.table({"x": np.arange(100_000, dtype=np.int64), "s": [str(i) for i in range(100_000)]})
    block_id = store.put(table)
    path = store.location(block_id)
    assert path.startswith(store.directory + os.sep) and os.path.exists(path)
    back = store.get(block_id)
    assert back.equals(table)
    ranges = _mapping_ranges(path)
    assert ranges, "the block file is not memory-mapped"
    data = back.column("x").chunks[0].buffers()[1]
    assert any(lo <= data.address and data.address + data.size <= hi for lo, hi in ranges)
    assert store.stats().in_memory_bytes == os.path.getsize(path)
    store.free([block_id])
    assert not os.path.exists(path)
    assert store.stats().num_blocks == 0 and store.stats().in_memory_bytes == 0
    with pytest.raises(KeyError):
        store.get(block_id)
    store.free([block_id])  # idempotent


def test_tensor_columns_survive(store):
    fixed = tensor.ndarray_to_arrow(np.arange(24, dtype=np.float32).reshape(3, 2, 4))
    ragged = tensor.tensors_to_arrow([np.zeros((2, 3)), np.ones((1, 5)), np.full((4, 1), 7.0)])
    table = pa.table({"fixed": fixed, "ragged": ragged})
    back = store.get(store.put(table))
    assert back.schema == table.schema
    assert tensor.is_tensor_type(back.schema.field("fixed").type)
    assert back.equals(table)
    rows = tensor.arrow_to_numpy(back.column("ragged"))
    np.testing.assert_array_equal(rows[2], np.full((4, 1), 7.0))


def test_session_dir_is_private(store):
    mode = stat.S_IMODE(os.stat(store.directory).st_mode)
    assert mode == 0o700
    assert os.path.basename(store.directory).endswith(f"-{os.getpid()}")
    spill = store.spill_dir()
    assert stat.S_IMODE(os.stat(spill).st_mode) == 0o700


def test_spill_and_restore_past_capacity(store):
    store.set_capacity(1 << 20)
    rng = np.random.default_rng(0)
    tables = [pa.table({"v": rng.random(25_000)}) for _ in range(50)]  # 200 KB each, ~10 MB
    ids = [store.put(t) for t in tables]
    stats = store.stats()
    assert stats.spilled_total_bytes > 8 << 20
    assert stats.in_memory_bytes <= 1 << 20
    assert stats.num_blocks == 50
    spilled = [i for i in ids if store.location(i).startswith(store.spill_dir())]
    assert len(spilled) >= 40
    for block_id, table in zip(ids, tables):
        assert store.get(block_id).equals(table)
    after = store.stats()
    assert after.restored_total_bytes > 0
    assert after.in_memory_bytes <= 1 << 20
    store.free(ids)
    assert os.listdir(store.directory) == [] and os.listdir(store.spill_dir()) == []
    assert store.stats().spilled_now_bytes == 0


def test_read_restores_into_memory_when_room(store):
    store.set_capacity(1 << 20)
    a = store.put(pa.table({"v": np.zeros(100_000)}))  # 800 KB
    b = store.put(pa.table({"v": np.ones(100_000)}))  # pushes a out
    assert store.location(a).startswith(store.spill_dir())
    store.free([b])
    assert store.get(a).column("v").to_numpy().sum() == 0
    assert store.location(a).startswith(store.directory)
    assert store.stats().restored_total_bytes > 0


def test_pinned_blocks_never_move(store):
    store.set_capacity(1 << 20)
    a = store.put(pa.table({"v": np.zeros(100_000)}))
    [path] = store.pin_for_read([a])
    store.put(pa.table({"v": np.ones(100_000)}))
    assert store.location(a) == path  # pinned: the newer block was spilled instead
    store.unpin([a])


def test_full_disk_raises_object_store_full_naming_the_directory(store):
    # /dev/full answers every write with ENOSPC: the store's next block file and its spill file
    # are made to point there.
    os.symlink("/dev/full", blockfile.block_path(store.directory, "p0"))
    os.symlink("/dev/full", blockfile.block_path(store.spill_dir(), "p0"))
    with pytest.raises(ObjectStoreFullError) as info:
        store.put(pa.table({"x": np.arange(10_000)}))
    assert store.directory in str(info.value) and store.spill_dir() in str(info.value)
    assert store.stats().num_blocks == 0


def test_full_tmpfs_falls_back_to_spill_dir(store):
    os.symlink("/dev/full", blockfile.block_path(store.directory, "p0"))
    table = pa.table({"x": np.arange(10_000)})
    block_id = store.put(table)
    assert store.location(block_id).startswith(store.spill_dir())
    assert store.get(block_id).equals(table)
