"""The driver's view of the shared-memory block store: which block files exist, where, how big.

Why the driver owns the accounting while workers write the files: workers must write their
outputs straight into the session directory (no copy through a pipe), but only one party can
decide which blocks to spill, or two processes would race to move the same file. So a worker
writes ``<session>/<block_id>.arrow`` and reports its size; the driver's :class:`BlockStore`
records it, and when the bytes held in memory exceed the capacity it moves the least recently
used blocks to the spill directory. Blocks being read by a running task are pinned and never
move while pinned.

Reads restore: a read of a spilled block moves it back to tmpfs when there is room under the
capacity, and otherwise maps it from the spill disk. Either way its bytes count as restored.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import threading
from collections import OrderedDict
from typing import Iterable, Optional, Sequence

import pyarrow as pa

from streamscope.engine.exceptions import ObjectStoreFullError
from streamscope.engine.runtime.base import StoreStats
from streamscope.engine.runtime.local import blockfile, session_dir


class _Entry:
    __slots__ = ("path", "size", "spilled", "pins")

    def __init__(self, path: str, size: int, spilled: bool):
        self.path = path
        self.size = size
        self.spilled = spilled
        self.pins = 0


class BlockStore:
    """Block files in one session directory, counted against ``capacity`` bytes, with LRU spill.

    Thread-safe: the executor thread, the consumer thread and telemetry may all call in.
    """

    def __init__(self, directory: str, kind: str, capacity: int, spill_parent: Optional[str], user: str):
        self.directory = directory
        self.kind = kind
        self.capacity = int(capacity)
        self._user = user
        self._spill_parent = spill_parent or session_dir.temp_root()
        self._spill_dir: Optional[str] = None
        self._spill_dirs: list[str] = []
        self._mem: "OrderedDict[str, _Entry]" = OrderedDict()  # least recently used first
        self._spilled: dict[str, _Entry] = {}
        self._in_memory = 0
        self._spilled_total = 0
        self._spilled_by_task: dict[int, int] = {}
        """Bytes spilled per producing task id (parsed from block ids), for per-operator stats."""
        self._restored_total = 0
        self._ids = itertools.count()
        self._lock = threading.RLock()
        self._closed = False
        self._spill_fault: Optional[ObjectStoreFullError] = None

    # ---- configuration -----------------------------------------------------------------
    @property
    def backend(self) -> str:
        return f"{self.kind}:{self.directory}"

    @property
    def spill_parent(self) -> str:
        return self._spill_parent

    def spill_dir_path(self) -> str:
        """Where blocks spill now: a path reserved for this session, created only when the first
        block spills (here or in a worker), so an unwritable spill location fails only runs that
        need to spill."""
        with self._lock:
            if self._spill_dir is None:
                self._spill_dir = session_dir.plan_session_dir(
                    self._spill_parent, session_dir.SPILL_PREFIX, self._user
                )
                self._spill_dirs.append(self._spill_dir)
            return self._spill_dir

    def spill_dir(self) -> str:
        """The current spill directory, created (mode 0700) if it does not exist yet.

        Raises ObjectStoreFullError naming the directory when it cannot be created."""
        path = self.spill_dir_path()
        try:
            return session_dir.create_planned_dir(path)
        except OSError as exc:
            raise ObjectStoreFullError(blockfile.spill_failure_message(path, exc)) from None

    def take_spill_fault(self) -> Optional[ObjectStoreFullError]:
        """The error of the last spill that failed since the previous call, if any (then cleared).

        Spilling happens inside ``add``/``unpin``/``set_capacity``, whose callers are the
        runtime's bookkeeping: a failure there must not break it half-way, so the store stays
        over capacity for the moment and the fault is reported to whoever asks next."""
        with self._lock:
            fault, self._spill_fault = self._spill_fault, None
            return fault

    def spill_dirs(self) -> list[str]:
        with self._lock:
            return list(self._spill_dirs)

    def unreported_output_allowance(self, writers: int) -> int:
        """Bytes of output one task may keep in tmpfs before the driver has heard of them.

        Why: the driver spills only blocks it knows about, and a task that reports its outputs
        when it ends (an exchange's reduce task, an actor call) could otherwise fill the
        machine's shared memory far past the capacity before the first report (a ``map_groups``
        returning 128 MiB per group over a thousand groups filled /dev/shm). Past this allowance
        a task writes its further outputs straight to the spill directory. A quarter of the
        capacity is shared among the ``writers`` processes that may run tasks at once, so the
        store's tmpfs holds at most ``1.25 x capacity``, plus the first output block of each
        running task and the blocks pinned as inputs of running tasks (never moved while read).

        Examples:
            >>> import tempfile
            >>> store = BlockStore(tempfile.mkdtemp(), "tmpfs", 64 << 20, None, "me")
            >>> store.unreported_output_allowance(writers=2) >> 20
            8
        """
        with self._lock:
            return max(0, self.capacity // (4 * max(1, int(writers))))

    def set_capacity(self, capacity: int) -> None:
        with self._lock:
            self.capacity = int(capacity)
            self._maybe_spill()

    def set_spill_parent(self, parent: Optional[str]) -> None:
        """New spills go under ``parent``; blocks already spilled stay where they are."""
        parent = parent or session_dir.temp_root()
        with self._lock:
            if parent != self._spill_parent:
                self._spill_parent = parent
                self._spill_dir = None
                self._spill_fault = None  # a fault of the old location says nothing of the new one

    # ---- writing -------------------------------------------------------------------------
    def put(self, table: pa.Table) -> str:
        """Write a block from the driver; return its id. Spills older blocks if over capacity."""
        block_id = f"p{next(self._ids)}"
        path = blockfile.block_path(self.directory, block_id)
        spilled = False
        try:
            size = blockfile.write_block(path, table)
        except ObjectStoreFullError as first:
            spill_path = blockfile.block_path(self.spill_dir(), block_id)
            try:
                size = blockfile.write_block(spill_path, table)
            except ObjectStoreFullError as second:
                raise ObjectStoreFullError(f"{first}; spilling it failed too: {second}") from second
            path, spilled = spill_path, True
        try:
            self.add(block_id, path, size, spilled)
        except ObjectStoreFullError:
            self.free([block_id])  # nobody would ever learn its id
            raise
        return block_id

    def add(self, block_id: str, path: str, size: int, spilled: bool = False) -> None:
        """Account for a block file a worker wrote; may spill colder blocks to make room.

        Raises ObjectStoreFullError (naming the spill directory) when room was needed and
        spilling failed; the block is accounted for either way, so the caller frees it."""
        with self._lock:
            if self._closed:
                blockfile.remove_quietly(path)
                return
            entry = _Entry(path, size, spilled)
            if spilled:
                self._spilled[block_id] = entry
                self._spilled_total += size
                self._count_spill(block_id, size)
            else:
                self._mem[block_id] = entry
                self._in_memory += size
                self._maybe_spill()
                fault = self.take_spill_fault()
                if fault is not None:
                    raise fault

    # ---- reading -------------------------------------------------------------------------
    def get(self, block_id: str) -> pa.Table:
        """The block, memory-mapped zero-copy (restored from the spill dir if it was spilled)."""
        with self._lock:
            path = self._locate(block_id)
            return blockfile.read_block(path)

    def pin_for_read(self, block_ids: Sequence[str]) -> list[str]:
        """Paths a worker will map; the blocks stay put (never spilled or restored) until unpinned.

        Raises KeyError naming the first block that was freed (nothing is pinned then).
        """
        with self._lock:
            for block_id in block_ids:
                if block_id not in self._mem and block_id not in self._spilled:
                    raise KeyError(f"block {block_id} was freed or never existed")
            paths = []
            for block_id in block_ids:
                paths.append(self._locate(block_id))
                self._entry(block_id).pins += 1
            return paths

    def unpin(self, block_ids: Iterable[str]) -> None:
        with self._lock:
            for block_id in block_ids:
                entry = self._mem.get(block_id) or self._spilled.get(block_id)
                if entry is not None and entry.pins > 0:
                    entry.pins -= 1
            self._maybe_spill()

    def __contains__(self, block_id: str) -> bool:
        with self._lock:
            return block_id in self._mem or block_id in self._spilled

    def location(self, block_id: str) -> str:
        """Where the block's file is now (for tests and diagnostics; never given to the executor)."""
        with self._lock:
            return self._entry(block_id).path

    # ---- freeing -------------------------------------------------------------------------
    def free(self, block_ids: Iterable[str]) -> None:
        """Delete the blocks' files now. Unknown ids are ignored (free is idempotent).

        The file goes first and the entry last, in two adjacent statements that call nothing: a
        KeyboardInterrupt landing before them leaves the block accounted for, so freeing it again
        (its owner's cleanup does) finishes the job, never a forgotten file. (One landing exactly
        between the two would count the block's bytes off twice on the second free; Python gives
        no atomic step smaller than that here.)"""
        with self._lock:
            for block_id in block_ids:
                entry = self._mem.get(block_id) or self._spilled.get(block_id)
                if entry is None:
                    continue
                blockfile.remove_quietly(entry.path)
                if block_id in self._mem:
                    self._in_memory -= entry.size; del self._mem[block_id]  # noqa: E702 - adjacent on purpose
                else:
                    del self._spilled[block_id]

    def stats(self) -> StoreStats:
        with self._lock:
            return StoreStats(
                capacity_bytes=self.capacity,
                in_memory_bytes=self._in_memory,
                spilled_now_bytes=sum(e.size for e in self._spilled.values()),
                spilled_total_bytes=self._spilled_total,
                restored_total_bytes=self._restored_total,
                num_blocks=len(self._mem) + len(self._spilled),
                backend=self.backend,
            )

    def close(self) -> None:
        """Delete every block, the session directory and every spill directory. Idempotent."""
        with self._lock:
            self._closed = True
            self._mem.clear()
            self._spilled.clear()
            self._in_memory = 0
            session_dir.remove_dir(self.directory)
            for path in self._spill_dirs:
                session_dir.remove_dir(path)
            self._spill_dirs.clear()
            self._spill_dir = None

    # ---- internals (call with the lock held) ---------------------------------------------
    def _entry(self, block_id: str) -> _Entry:
        entry = self._mem.get(block_id) or self._spilled.get(block_id)
        if entry is None:
            raise KeyError(f"block {block_id} was freed or never existed")
        return entry

    def _locate(self, block_id: str) -> str:
        entry = self._mem.get(block_id)
        if entry is not None:
            self._mem.move_to_end(block_id)
            return entry.path
        entry = self._entry(block_id)
        self._restored_total += entry.size
        if entry.pins == 0 and self._in_memory + entry.size <= self.capacity:
            target = blockfile.block_path(self.directory, block_id)
            try:
                _move_file(entry.path, target)
            except (ObjectStoreFullError, OSError):
                return entry.path  # no room on tmpfs after all: map it from the spill disk
            del self._spilled[block_id]
            entry.path, entry.spilled = target, False
            self._mem[block_id] = entry
            self._in_memory += entry.size
        return entry.path

    def _maybe_spill(self) -> None:
        while self._in_memory > self.capacity:
            victim = next((bid for bid, e in self._mem.items() if e.pins == 0), None)
            if victim is None:
                return  # everything in memory is being read right now; spill later
            entry = self._mem[victim]
            try:
                target = blockfile.block_path(self.spill_dir(), victim)
                _move_file(entry.path, target)
            except ObjectStoreFullError as exc:
                self._spill_fault = exc
                return  # over capacity until a block is freed; the fault goes to the next caller
            except OSError as exc:
                self._spill_fault = ObjectStoreFullError(blockfile.spill_failure_message(self._spill_dir or "", exc))
                return
            del self._mem[victim]
            self._in_memory -= entry.size
            entry.path, entry.spilled = target, True
            self._spilled[victim] = entry
            self._spilled_total += entry.size
            self._count_spill(victim, entry.size)

    def _count_spill(self, block_id: str, size: int) -> None:
        task_id = blockfile.task_of_block(block_id)
        if task_id is not None:
            self._spilled_by_task[task_id] = self._spilled_by_task.get(task_id, 0) + size

    def spilled_bytes_by_task(self, task_ids) -> dict[int, int]:
        """Bytes of these tasks' outputs that have been spilled so far."""
        with self._lock:
            return {t: self._spilled_by_task[t] for t in task_ids if t in self._spilled_by_task}


def _move_file(src: str, dst: str) -> None:
    """Rename when both sides share a filesystem, else copy then unlink (tmpfs <-> disk)."""
    try:
        os.rename(src, dst)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = dst + ".partial"
    try:
        shutil.copyfile(src, partial)
        os.rename(partial, dst)
    except OSError as exc:
        blockfile.remove_quietly(partial)
        if blockfile.is_disk_full(exc):
            raise ObjectStoreFullError(
                f"no space left in {os.path.dirname(dst)} to spill block {os.path.basename(src)}; "
                "set DataContext.spill_dir to a larger disk or lower the load"
            ) from exc
        raise
    os.unlink(src)
