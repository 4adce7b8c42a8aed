"""The worker process: a loop that caches task functions and runs tasks on memory-mapped blocks.

Why a loop over a Connection instead of ``concurrent.futures``: the pool must ship each pickled
function once per worker (not once per task), read inputs by mapping block files the driver
names, write outputs straight into the store directory, and tell the driver exactly which files
an attempt produced. A process that dies mid-task is noticed by the driver through its sentinel;
nothing here needs to survive that.

:class:`WorkerLoop` dispatches on the message kind through a handler table so that actor
processes (a later addition) can reuse the loop and add their own message kinds.

Workers die with their driver: ``PR_SET_PDEATHSIG`` kills a worker when its parent (the
forkserver, which itself exits when the driver does) dies, and a watchdog thread checks the
driver pid in case the signal was never armed (not Linux, or the parent died before ``prctl``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional

import cloudpickle  # noqa: F401 - imported here so the forkserver preloads it for every worker
import pyarrow as pa
import pyarrow.ipc  # noqa: F401

from streamscope.engine.block import BlockMetadata, block_size_bytes
from streamscope.engine.exceptions import ObjectStoreFullError
from streamscope.engine.runtime.local import blockfile, protocol
from streamscope.engine.runtime.local.refs import LocalBlockRef
from streamscope.engine.runtime.context_shipping import ContextCache
from streamscope.engine.runtime.task_runner import error_from_exception, run_task
from streamscope.engine.runtime.base import TaskResult

WATCHDOG_INTERVAL_S = 0.5

_fn_loads = 0


def _warm_up() -> None:
    """Pay pyarrow's lazy imports now, at import time in the forkserver, so each forked worker
    starts with them loaded instead of paying ~0.2 s on its first task (``pa.table`` on a dict
    makes pyarrow import pandas to check whether the input is a DataFrame)."""
    table = pa.table({"warm": [0]})
    with pa.ipc.new_file(pa.BufferOutputStream(), table.schema) as writer:
        writer.write_table(table)


_warm_up()


def fn_loads() -> int:
    """How many task functions this process has unpickled (tests use it to prove "once")."""
    return _fn_loads


def worker_main(conn: Any, driver_pid: int, worker_id: str) -> None:
    """Entry point of a worker process (the ``multiprocessing.Process`` target)."""
    die_with_parent(driver_pid)
    # Ctrl-C in a terminal reaches the whole process group; the driver decides what to cancel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    WorkerLoop(conn, worker_id).run()


class WorkerLoop:
    """Receive messages, run handlers, send replies, until STOP or the driver hangs up."""

    def __init__(self, conn: Any, worker_id: str):
        self.conn = conn
        self.worker_id = worker_id
        self.fns: dict[str, Callable] = {}
        self.fn_errors: dict[str, BaseException] = {}
        """Functions that did not unpickle here, with why: their tasks fail with that reason."""
        self.contexts = ContextCache()
        """Runs' DataContexts, unpickled once per key (see ``runtime/context_shipping.py``)."""
        self.handlers: dict[str, Callable[[tuple], Optional[tuple]]] = {
            protocol.FN: self.on_fn,
            protocol.FORGET: self.on_forget,
            protocol.TASK: self.on_task,
        }

    def run(self) -> None:
        while True:
            try:
                data = self.conn.recv_bytes()
            except (EOFError, OSError):
                return  # the driver closed its end: nothing more to do
            message = protocol.decode(data)
            if message[0] == protocol.STOP:
                return
            reply = self.handlers[message[0]](message)
            if reply is not None:
                self.conn.send_bytes(protocol.encode(reply))

    def on_fn(self, message: tuple) -> None:
        global _fn_loads
        _, fn_id, fn_bytes = message
        try:
            self.fns[fn_id] = protocol.decode(fn_bytes)
        except Exception as exc:  # e.g. a module the driver has and this process cannot import
            self.fn_errors[fn_id] = exc
            return
        _fn_loads += 1

    def on_forget(self, message: tuple) -> None:
        self.fns.pop(message[1], None)
        self.fn_errors.pop(message[1], None)

    def on_task(self, message: tuple) -> tuple:
        (_, task_id, attempt, fn_id, payload_bytes, paths, operator, max_block_bytes, store_dir, spill_dir, *extra) = message
        if extra and extra[0]:
            os.environ.update(extra[0])  # a GPU task: its devices (the runtime keeps one set per worker)
        stream, skip_rows = extra[1] if len(extra) > 1 and extra[1] else (False, 0)
        packed_context = extra[2] if len(extra) > 2 else None
        allowance = extra[3] if len(extra) > 3 else None
        spill_dirs = extra[4] if len(extra) > 4 and extra[4] else ()
        outside = first_path_outside(paths, (store_dir, spill_dir, *spill_dirs))
        if outside is not None:  # never read a file the session does not own
            err = error_from_exception(operator, PermissionError(
                f"{self.worker_id} refuses to read input {outside!r}: not a block file in the session's "
                f"store ({store_dir}) or spill directories"))
            err.system = True
            return (protocol.DONE, task_id, attempt, TaskResult(error=err), [], None)
        files: list[tuple[str, str, int, bool]] = []
        produced = [0]
        skipped = [0]
        unreported = [0]  # tmpfs bytes of outputs the driver will hear of only when the task ends

        def put(table: pa.Table) -> LocalBlockRef:
            if skipped[0] < skip_rows:  # rows an earlier attempt of this task already reported
                drop = min(table.num_rows, skip_rows - skipped[0])
                skipped[0] += drop
                table = table.slice(drop)
                if table.num_rows == 0:
                    return LocalBlockRef("skipped")
            index = produced[0]
            produced[0] += 1
            block_id = blockfile.task_block_id(task_id, attempt, index)
            # a reported block is the driver's to spill; an unreported one past the allowance
            # (store.unreported_output_allowance) goes straight to the spill directory
            to_spill = (not stream and allowance is not None and unreported[0] > 0
                        and unreported[0] + table.nbytes > allowance)
            entry = write_output(block_id, table, store_dir, spill_dir, to_spill=to_spill)
            if not stream and not entry[3]:
                unreported[0] += entry[2]
            if stream:
                meta = BlockMetadata(table.num_rows, block_size_bytes(table), table.schema)
                self.conn.send_bytes(protocol.encode((protocol.PARTIAL, task_id, attempt, entry, meta)))
            else:
                files.append(entry)
            return LocalBlockRef(block_id)

        fn = self.fns.get(fn_id)
        try:
            if fn_id in self.fn_errors:
                raise self.fn_errors[fn_id]
            payload = protocol.decode(payload_bytes)
        except Exception as exc:  # what the driver sent does not unpickle in this process
            err = error_from_exception(operator, RuntimeError(
                f"{operator}: the task could not be loaded in worker {self.worker_id}: {type(exc).__name__}: {exc} "
                "(is everything it uses importable in a fresh Python process?)"))
            return (protocol.DONE, task_id, attempt, TaskResult(error=err), files, None)
        if fn is None:  # a driver bug, but say so instead of dying with a KeyError
            err = error_from_exception(operator, RuntimeError(f"function {fn_id} was never sent to {self.worker_id}"))
            err.system = True
            return (protocol.DONE, task_id, attempt, TaskResult(error=err), files, None)
        try:
            data_context = self.contexts.get(packed_context)
        except Exception as exc:  # a setting whose value does not unpickle here: the task's error
            return (protocol.DONE, task_id, attempt, TaskResult(error=error_from_exception(operator, exc)), files, None)
        inputs = (blockfile.read_block(path) for path in paths)
        result = run_task(
            fn,
            payload,
            inputs,
            operator=operator,
            task_index=task_id,
            max_block_bytes=max_block_bytes,
            put=put,
            worker=self.worker_id,
            data_context=data_context,
            process_wide=True,  # one task at a time here: threads the task starts see it too
        )
        if stream:
            result.outputs = []  # every written block was reported as it was written
        return (protocol.DONE, task_id, attempt, result, files, detach_exception(result))


def first_path_outside(paths: Any, directories: Any) -> Optional[str]:
    """The first of ``paths`` that is not a block file (``<id>.arrow``) directly inside one of
    ``directories``, or None. Paths are normalised first, so ``store/../elsewhere`` is outside.

    Examples:
        >>> first_path_outside(["/dev/shm/s-1/t1-a1-0.arrow"], ["/dev/shm/s-1"]) is None
        True
        >>> first_path_outside(["/dev/shm/s-1/../s-2/t1-a1-0.arrow"], ["/dev/shm/s-1"])
        '/dev/shm/s-1/../s-2/t1-a1-0.arrow'
    """
    allowed = {os.path.normpath(d) for d in directories if d}
    for path in paths:
        normal = os.path.normpath(path)
        if os.path.dirname(normal) not in allowed or not normal.endswith(blockfile.SUFFIX):
            return path
    return None


def detach_exception(result: TaskResult) -> Optional[bytes]:
    """Pickle the user's exception on its own, so a class the driver cannot import loses only the
    exception object (the error keeps its type name, message and traceback text) instead of the
    whole result message."""
    error = result.error
    if error is None:
        return None
    return detach_error_exception(error)


def detach_error_exception(error: Any) -> Optional[bytes]:
    """Take the exception (or, when only its class pickles, the class) out of a ``TaskError``
    and pickle it on its own; :func:`attach_exception` puts it back in the driver."""
    exc, error.exception = error.exception, None
    exc_type, error.exception_type = error.exception_type, None
    for carried in (exc, exc_type):
        if carried is None:
            continue
        try:
            return protocol.encode(carried)
        except Exception:
            continue
    return None


def attach_exception(error: Any, exception_bytes: Optional[bytes]) -> None:
    """The driver's side of :func:`detach_error_exception`: an exception, or its class alone. A
    class the driver cannot import leaves the error with its type name and traceback text."""
    if error is None or exception_bytes is None:
        return
    try:
        carried = protocol.decode(exception_bytes)
    except Exception:  # its class does not exist in the driver: keep the text only
        return
    if isinstance(carried, type):
        error.exception_type = carried
    else:
        error.exception = carried


def write_output(block_id: str, table: pa.Table, store_dir: str, spill_dir: Optional[str],
                 to_spill: bool = False) -> tuple[str, str, int, bool]:
    """Write one output block into the store directory, or straight to the spill dir when tmpfs
    is full or ``to_spill`` (the task is past its unreported-output allowance). Returns
    ``(block_id, path, size, spilled)`` for the driver's accounting."""
    path = blockfile.block_path(store_dir, block_id)
    try:
        if to_spill and spill_dir:
            raise ObjectStoreFullError(f"the task's outputs in {store_dir} are past its allowance")
        return block_id, path, blockfile.write_block(path, table), False
    except ObjectStoreFullError as first:
        if not spill_dir:
            raise
        path = blockfile.block_path(spill_dir, block_id)
        try:
            os.makedirs(spill_dir, mode=0o700, exist_ok=True)  # the driver only reserved its name
            return block_id, path, blockfile.write_block(path, table), True
        except ObjectStoreFullError as second:
            raise ObjectStoreFullError(f"{first}; writing it to the spill directory failed too: {second}") from None
        except OSError as second:  # not writable, not a directory...: the store's fault, not the UDF's
            raise ObjectStoreFullError(f"{first}; {blockfile.spill_failure_message(spill_dir, second)}") from None


# ---- dying with the driver ------------------------------------------------------------------
def die_with_parent(driver_pid: int) -> None:
    """Arm PDEATHSIG (Linux) and start the watchdog thread; exit now if the driver is gone."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except Exception:  # pragma: no cover - exotic libc; the watchdog still covers us
            pass
    parent = os.getppid()
    if parent == 1 or not pid_alive(driver_pid):
        os._exit(1)
    threading.Thread(
        target=_watchdog, args=(parent, driver_pid), name="streamscope-watchdog", daemon=True
    ).start()


def _watchdog(parent: int, driver_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_INTERVAL_S)
        if os.getppid() != parent or not pid_alive(driver_pid):
            os._exit(1)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (a killed driver stays a zombie until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True
