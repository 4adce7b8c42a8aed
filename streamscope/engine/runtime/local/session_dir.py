"""Per-user, per-driver session directories, and the sweep that removes those of dead drivers.

Why directories named ``streamscope-<user>-<driverpid>``: a driver killed with SIGKILL (a kernel
restart, the OOM killer) cannot clean up after itself, and files on tmpfs hold RAM until someone
deletes them. Putting the owner and the driver pid in the name lets the next session (or an ops
check) find such leftovers and prove their owner is dead. The pid is always the *last* dash-
separated part of the name. Directories are mode 0700: blocks may hold private data and
``/dev/shm`` is shared by every user of the machine.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from typing import Callable, Iterable, Optional

logger = logging.getLogger(__name__)

STORE_PREFIX = "streamscope"
SPILL_PREFIX = "streamscope-spill"
SPLIT_PREFIX = "streamscope-split"
"""The sockets serving ``streaming_split`` iterators to other processes (``api/split_service.py``,
which names them with this same prefix)."""
DEFAULT_SHM_ROOT = "/dev/shm"

_fallback_warned = False


def current_user() -> str:
    """The user name, reduced to characters that keep directory names unambiguous (no dashes)."""
    try:
        name = getpass.getuser()
    except Exception:  # no passwd entry (containers with a random uid)
        name = f"uid{os.getuid()}"
    return re.sub(r"[^A-Za-z0-9_.]", "_", name) or f"uid{os.getuid()}"


def temp_root() -> str:
    return tempfile.gettempdir()


def make_session_dir(parent: str, prefix: str, user: str, pid: Optional[int] = None) -> str:
    """Create ``<parent>/<prefix>-<user>-<pid>`` with mode 0700 and return its path.

    A second runtime in the same driver gets ``<prefix>-<user>-<k>-<pid>``: the pid stays last.
    """
    pid = os.getpid() if pid is None else pid
    os.makedirs(parent, exist_ok=True)
    k = 0
    while True:
        name = f"{prefix}-{user}-{pid}" if k == 0 else f"{prefix}-{user}-{k}-{pid}"
        path = os.path.join(parent, name)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            k += 1
            continue
        os.chmod(path, 0o700)  # the umask may have dropped bits; make the mode exact
        return path


_planned: set[str] = set()
_planned_lock = threading.Lock()


def plan_session_dir(parent: str, prefix: str, user: str, pid: Optional[int] = None) -> str:
    """A path named like :func:`make_session_dir`'s, reserved in this process but not created.

    Why: a spill directory should exist only once something spills. An unwritable spill location
    then fails only runs that need to spill (with an error naming it), not every task. Whoever
    spills first creates it (:func:`create_planned_dir`, or a worker's ``os.makedirs``).
    """
    pid = os.getpid() if pid is None else pid
    with _planned_lock:
        k = 0
        while True:
            name = f"{prefix}-{user}-{pid}" if k == 0 else f"{prefix}-{user}-{k}-{pid}"
            path = os.path.join(parent, name)
            if path not in _planned and not os.path.lexists(path):
                _planned.add(path)
                return path
            k += 1


def create_planned_dir(path: str) -> str:
    """Create a planned session directory (mode 0700) if nobody has yet; returns ``path``."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    os.chmod(path, 0o700)
    return path


def _name_pattern(prefix: str, user: str) -> "re.Pattern[str]":
    return re.compile(rf"^{re.escape(prefix)}-{re.escape(user)}-(?:\d+-)?(\d+)$")


def _owner_is_dead(pid: int, dir_mtime: float) -> bool:
    """True when no live process can own a directory stamped with ``pid``.

    A zombie counts as dead. A live process that started after the directory was last modified
    is a recycled pid, not the owner, so that counts as dead too.
    """
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
        return proc.create_time() > dir_mtime + 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # no permission to look: it exists, so leave its directory alone
        return False


def is_leftover(path: str) -> bool:
    """True when the session directory at ``path`` belongs to a driver that is gone — what the
    sweep removes (also used by tests and checks that look for leaked directories)."""
    name = os.path.basename(path.rstrip("/"))
    tail = name.rsplit("-", 1)[-1]
    if not tail.isdigit():
        return False
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return False  # already gone: nothing left over
    return _owner_is_dead(int(tail), mtime)


def sweep_dead_sessions(parents: Iterable[str], user: str) -> list[str]:
    """Delete this user's session and spill directories whose driver pid is dead.

    Returns the removed paths. Directories of other users and of live drivers are never touched.
    """
    patterns = [_name_pattern(prefix, user) for prefix in (STORE_PREFIX, SPILL_PREFIX, SPLIT_PREFIX)]
    removed = []
    uid = os.getuid()
    for parent in dict.fromkeys(p for p in parents if p):
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            match = next((m for p in patterns if (m := p.match(entry.name))), None)
            if match is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid != uid or not entry.is_dir(follow_symlinks=False):
                continue
            pid = int(match.group(1))
            if pid == os.getpid() or not _owner_is_dead(pid, st.st_mtime):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(entry.path)
                logger.info("removed %s left by dead driver pid %d", entry.path, pid)
    return removed


def free_bytes(path: str) -> int:
    return shutil.disk_usage(path).free


def choose_store_parent(
    capacity: int,
    shm_root: str = DEFAULT_SHM_ROOT,
    free_bytes_fn: Callable[[str], int] = free_bytes,
) -> tuple[str, str]:
    """Where the store's session directory goes: ``(parent, kind)``, kind "tmpfs" or "disk".

    tmpfs is preferred (block files there are RAM, mapped by every process). When it is missing or
    has less free space than the capacity, blocks go to a disk-backed directory under the temp dir
    instead: slower, but a store that fills tmpfs would crash the whole machine's shared memory
    users. ``free_bytes_fn`` is injectable so tests can pretend tmpfs is too small.
    """
    reason = None
    if not os.path.isdir(shm_root):
        reason = f"{shm_root} does not exist"
    else:
        try:
            available = free_bytes_fn(shm_root)
        except OSError as exc:
            available, reason = 0, f"{shm_root} is not usable ({exc})"
        if reason is None and available < capacity:
            reason = f"{shm_root} has {available} bytes free, less than the store capacity of {capacity} bytes"
    if reason is None:
        return shm_root, "tmpfs"
    _warn_fallback_once(f"streamscope: {reason}; keeping blocks in a disk-backed directory under {temp_root()} "
                        "(slower). Lower DataContext.object_store_capacity_bytes or enlarge /dev/shm.")
    return temp_root(), "disk"


def _warn_fallback_once(message: str) -> None:
    global _fallback_warned
    if _fallback_warned:
        logger.info(message)
        return
    _fallback_warned = True
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def remove_dir(path: Optional[str]) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)
