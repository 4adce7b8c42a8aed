"""Fault injection for the reliability suite: UDFs that kill their own process, exactly once.

Why marker files: a UDF runs in whichever worker (or actor) process the runtime picks, and a task
killed mid-way is re-run in a fresh process, so an in-memory counter would reset and kill again
forever. Every decision "is this the call that dies?" is taken through files in a directory the
test owns (``tmp_path``): ``os.open(O_CREAT | O_EXCL)`` succeeds in exactly one process, so each
fault happens exactly once however often the call is retried.

Ways to die (``how``):

* ``"sigkill"``: ``os.kill(os.getpid(), SIGKILL)``, what the OOM killer does;
* ``"exit"``: ``os._exit(3)``, native code calling ``exit`` (no Python cleanup runs);
* ``"segfault"``: ``ctypes.string_at(0)``, a real SIGSEGV from reading address 0.

Examples::

    chaos = Chaos(tmp_path)
    fn = chaos.kill_on_rows(double, rows={123}, how="segfault")   # dies once, on the block holding 123
    fn = chaos.kill_on_call(double, k=3, how="exit")              # the 3rd call (any process) dies
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import cloudpickle
import numpy as np
import psutil

# UDFs defined here are pickled by value, so workers need not import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

HOWS = ("sigkill", "exit", "segfault")


def die(how: str) -> None:
    """End this process at once, the chosen way; never returns."""
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "exit":
        os._exit(3)
    elif how == "segfault":
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
        ctypes.string_at(0)
    else:
        raise ValueError(f"unknown way to die: {how!r}")
    os._exit(99)  # pragma: no cover - not reached


def claim(directory: str, name: str) -> bool:
    """True in exactly one caller, whatever process it runs in: creates ``directory/name``."""
    try:
        fd = os.open(os.path.join(directory, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def next_call(directory: str, counter: str = "calls") -> int:
    """A 1-based call number shared by every process (a counter file under an flock)."""
    path = os.path.join(directory, counter)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 32)
        n = int(raw or b"0") + 1
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, str(n).encode())
        return n
    finally:
        os.close(fd)


class Chaos:
    """Faults coordinated through files under ``directory`` (a test's ``tmp_path``)."""

    def __init__(self, directory: Any):
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)

    def faults(self) -> list[str]:
        """Names of the faults that happened so far (each marker is one)."""
        return sorted(n for n in os.listdir(self.directory) if n.startswith("fault-"))

    def kill_on_rows(self, fn: Callable, rows: Iterable[int], how: str = "sigkill", column: str = "id") -> Callable:
        """``fn`` (a batch UDF), except that the first call whose batch holds one of ``rows`` in
        ``column`` kills its process — once per listed row, however often it is retried."""
        directory, wanted = self.directory, sorted(int(r) for r in rows)

        def chaotic(batch):
            values = np.asarray(batch[column])
            for row in wanted:
                if np.any(values == row) and claim(directory, f"fault-row-{row}"):
                    die(how)
            return fn(batch)

        chaotic.__name__ = getattr(fn, "__name__", "chaotic")
        return chaotic

    def kill_on_call(self, fn: Callable, k: int, how: str = "sigkill") -> Callable:
        """``fn``, except that the ``k``-th call across all processes kills its process (once)."""
        directory = self.directory

        def chaotic(*args, **kwargs):
            if next_call(directory) == k and claim(directory, f"fault-call-{k}"):
                die(how)
            return fn(*args, **kwargs)

        chaotic.__name__ = getattr(fn, "__name__", "chaotic")
        return chaotic

    def always_die(self, fn: Callable, how: str = "sigkill") -> Callable:
        """``fn`` whose every call kills its process (for retries that must run out)."""
        directory = self.directory

        def chaotic(*args, **kwargs):
            claim(directory, f"fault-always-{next_call(directory, 'always')}")
            die(how)

        chaotic.__name__ = getattr(fn, "__name__", "chaotic")
        return chaotic


# ---- leak checks --------------------------------------------------------------------------------
def child_pids(pid: int | None = None) -> set[int]:
    """Live (non-zombie) descendants of ``pid`` (default: this process)."""
    try:
        children = psutil.Process(pid or os.getpid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return set()
    alive = set()
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def gone(pid: int) -> bool:
    """Dead, or a zombie nobody reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def files_under(*directories: str) -> set[str]:
    """Every file below these directories (missing ones count as empty)."""
    found = set()
    for directory in directories:
        for root, _, names in os.walk(directory):
            found.update(os.path.join(root, n) for n in names)
    return found


def block_id_of_file(path: str) -> str:
    """The block id a block file is named after (``/dev/shm/s/t3-a1-0.arrow`` -> ``t3-a1-0``);
    any other file (a ``.partial`` copy) is known by its whole name, so it never passes for a block."""
    name = os.path.basename(path)
    return name[: -len(".arrow")] if name.endswith(".arrow") else name


def session_files(runtime) -> set[str]:
    """The files in the local runtime's store directory and in every spill directory it made."""
    store = runtime.store
    return files_under(store.directory, *store.spill_dirs())


def tree(path: Any) -> list[str]:
    """Relative paths of every file under ``path``, hidden ones included, sorted."""
    root = Path(path)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---- faults in tasks that run no user code (exchanges) --------------------------------------------
def _dying_task(how: str, write_first: bool):
    """A task function that reads its inputs, writes one unreported output block (a partial
    result the runtime must delete) and then dies the chosen way."""

    def dying(payload, blocks, ctx):
        import pyarrow as pa

        for _ in blocks:
            pass
        if write_first:
            yield pa.table({"partial": [1, 2, 3]})
        die(how)
        yield  # pragma: no cover - a generator, like every task function

    return dying


class DispatchFaults:
    """While active, the chosen dispatches of an operator's tasks on the local runtime's task
    pool run a function that dies (``how``) in the worker instead of the task; the runtime sees
    a worker die with that task in flight, exactly as if the task's own code had crashed, and
    re-runs it (a re-run is a new dispatch: it dies too only if its number is chosen).

    ``operator``: a prefix of the task's operator name ("Sort", "Aggregate", "Join");
    ``dispatches``: 1-based numbers of that operator's dispatches to kill, ``"all"``, or
    ``"first-attempts"`` (every task of the operator dies once, on its first attempt).
    ``hits`` counts the kills. Used as a context manager; the pool is restored on exit.
    """

    def __init__(self, runtime, operator: str, dispatches: Any = (1,), how: str = "sigkill"):
        self.runtime, self.operator, self.how = runtime, operator, how
        self.dispatches = dispatches
        self.seen = 0
        self.hits = 0
        self.killed_operators: list[str] = []

    def __enter__(self) -> "DispatchFaults":
        from streamscope.engine.runtime.local import protocol

        pool = self.runtime.pool
        original = pool.send_task

        def send_task(worker, fn_id, fn_bytes, message):
            decoded = protocol.decode(message)
            operator = decoded[6]
            if operator.startswith(self.operator):
                self.seen += 1
                first = decoded[2] == 1
                if (self.dispatches == "all" or (self.dispatches == "first-attempts" and first)
                        or (isinstance(self.dispatches, (tuple, list, set)) and self.seen in self.dispatches)):
                    self.hits += 1
                    self.killed_operators.append(operator)
                    stream = bool(decoded[11] and decoded[11][0])
                    chaos_id = f"chaos-{self.how}-{'stream' if stream else 'files'}"
                    body = cloudpickle.dumps(_dying_task(self.how, write_first=not stream))
                    return original(worker, chaos_id, body, protocol.encode((*decoded[:3], chaos_id, *decoded[4:])))
            return original(worker, fn_id, fn_bytes, message)

        pool.send_task = send_task
        self._pool = pool
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.__dict__.pop("send_task", None)
