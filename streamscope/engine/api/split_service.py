"""Serving ``streaming_split`` iterators to other processes of this machine.

Why: the splits exist to feed training workers, and those are processes (``torch.multiprocessing``,
a launcher's workers). A split iterator pickled in the driver becomes, in the worker, a
:class:`~streamscope.engine.api.remote_split_iterator.RemoteSplitIterator` that asks this service
for its blocks; the execution stays in the driver, one per epoch for all n splits, exactly as for
threads.

How: one ``multiprocessing.connection`` listener per ``streaming_split``, on a Unix socket in a
mode-0700 directory named like the session directories (``streamscope-split-<user>-<pid>``, so the
next session removes it if this driver is killed), with a random 32-byte key that travels inside
the pickle. No TCP port is opened. Each worker connection gets a thread that runs the split's pass
and sends each block as an Arrow IPC stream. A worker that disconnects mid-pass (it stopped, or
died) closes its pass, so the dealer never waits on it.

The service lives until the process exits (or :func:`close_all`): a pickled iterator may be
unpickled long after the driver dropped its own references to the splits.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
from multiprocessing.connection import Connection, Listener
from typing import Any

from streamscope.engine.api.remote_split_iterator import RemoteSplitIterator
from streamscope.engine.api.split_wire import table_to_bytes

SPLIT_PREFIX = "streamscope-split"
"""Directory prefix of the split sockets (``runtime/local/session_dir.py`` sweeps them with the
session directories)."""

_services: dict[int, "SplitService"] = {}
_lock = threading.Lock()


class SplitService:
    """The listener serving one coordinator's splits (see the module doc).

    Example::

        service = SplitService(coordinator)
        conn = Client(service.address, family="AF_UNIX", authkey=service.authkey)
    """

    def __init__(self, coordinator: Any):
        from streamscope.engine.runtime.local import session_dir  # see the import-structure test

        self._remove_dir = session_dir.remove_dir
        self.coordinator = coordinator
        self.dir = session_dir.make_session_dir(session_dir.temp_root(), SPLIT_PREFIX, session_dir.current_user())
        self.address = os.path.join(self.dir, "splits.sock")
        self.authkey = os.urandom(32)
        self.host = socket.gethostname()
        self._listener = Listener(self.address, family="AF_UNIX", authkey=self.authkey)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="streamscope-split-service", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except Exception:  # closed, or a client that failed the key check
                if self._closed:
                    return
                continue
            threading.Thread(target=self._serve, args=(conn,), name="streamscope-split-conn", daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        tables = None
        try:
            while True:
                request = conn.recv()
                kind = request[0]
                if kind == "begin":
                    if tables is not None:
                        tables.close()
                    tables = self.coordinator.consume(int(request[1]))
                    conn.send(("ok",))
                elif kind == "next":
                    try:
                        table = next(tables)
                    except StopIteration:
                        tables = None
                        conn.send(("end",))
                    except BaseException as exc:  # noqa: BLE001 - the worker sees the run's error
                        tables = None
                        conn.send(("error", _portable(exc)))
                    else:
                        conn.send(("block",))
                        conn.send_bytes(table_to_bytes(table))
                elif kind == "close":
                    if tables is not None:
                        tables.close()
                        tables = None
                    conn.send(("ok",))
                elif kind == "schema":
                    conn.send(("ok", self.coordinator.dataset.schema()))
                elif kind == "stats":
                    conn.send(("ok", str(self.coordinator.dataset.stats())))
                else:
                    conn.send(("error", ValueError(f"unknown request {kind!r}")))
        except (EOFError, OSError):
            pass  # the worker went away: its pass is closed below
        finally:
            if tables is not None:
                tables.close()
            conn.close()

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        except Exception:
            pass
        self._remove_dir(self.dir)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles, else a RuntimeError carrying its text."""
    import pickle

    try:
        pickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def service_for(coordinator: Any) -> SplitService:
    """The coordinator's service, started on first use."""
    with _lock:
        service = _services.get(id(coordinator))
        if service is None or service.coordinator is not coordinator:
            service = SplitService(coordinator)
            _services[id(coordinator)] = service
        return service


def remote_split_args(coordinator: Any, index: int) -> tuple:
    """What ``StreamSplitDataIterator.__reduce__`` returns: a RemoteSplitIterator served from here."""
    service = service_for(coordinator)
    return (RemoteSplitIterator, (service.address, service.authkey, index, coordinator.n, service.host, os.getpid()))


def close_all() -> None:
    """Close every split service of this process (at exit)."""
    with _lock:
        services = list(_services.values())
        _services.clear()
    for service in services:
        service.close()


atexit.register(close_all)


__all__ = ["SplitService", "close_all", "remote_split_args", "service_for", "SPLIT_PREFIX"]
