"""A ``streaming_split`` iterator in another process: what a pickled split becomes.

Why a DataIterator of its own: a training worker calls the same methods as on the split it was
sent (``iter_batches``, ``iter_torch_batches``, ``iter_rows``, ``materialize``, ``schema``), but
the execution and its blocks stay in the driver; each pass asks the driver's
:mod:`~streamscope.engine.api.split_service` for the split's blocks, one Arrow IPC stream at a
time, so a worker holds at most the block it is reading plus its batcher's prefetch.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.data_iterator import DataIterator
from streamscope.engine.api.split_wire import connect, table_from_bytes

_materializer: Optional[Callable[[list], Any]] = None


def set_materializer(make: Callable[[list], Any]) -> None:
    """Install how a list of Arrow tables becomes a MaterializedDataset (``from_arrow``;
    ``api/from_memory.py`` installs it). Why a hook: the Dataset classes import the splits, which
    import this module, so this module may not import them back."""
    global _materializer
    _materializer = make


class RemoteSplitIterator(DataIterator):
    """Split ``index`` of ``n``, served by the driver process ``pid`` on ``host``.

    Example (in a worker process that received a pickled split)::

        def train(split):
            for epoch in range(3):
                for batch in split.iter_torch_batches(batch_size=64):
                    ...
    """

    def __init__(self, address: str, authkey: bytes, index: int, n: int, host: str, pid: int):
        self._address = address
        self._authkey = authkey
        self._index = index
        self._n = n
        self._host = host
        self._pid = pid

    def __reduce__(self):
        return (RemoteSplitIterator, (self._address, self._authkey, self._index, self._n, self._host, self._pid))

    def _connect(self):
        return connect(self._address, self._authkey, self._host, self._pid)

    def _iter_tables(self) -> Iterator[pa.Table]:
        conn = self._connect()
        try:
            _expect_ok(conn, ("begin", self._index))
            while True:
                conn.send(("next",))
                reply = conn.recv()
                if reply[0] == "block":  # the block follows as Arrow IPC stream bytes
                    yield table_from_bytes(conn.recv_bytes())
                elif reply[0] == "end":
                    return
                else:
                    raise reply[1]
        finally:
            try:
                conn.send(("close",))
                conn.recv()
            except (EOFError, OSError):
                pass
            conn.close()

    def _ask(self, what: str) -> Any:
        conn = self._connect()
        try:
            return _expect_ok(conn, (what,))[1]
        finally:
            conn.close()

    def materialize(self) -> Any:
        """One pass over this split, as a MaterializedDataset in this process."""
        if _materializer is None:  # pragma: no cover - streamscope's import installs it
            raise RuntimeError("RemoteSplitIterator.materialize: import streamscope first")
        return _materializer(list(self._iter_tables()))

    def schema(self) -> Any:
        """The split's schema (the driver's dataset's)."""
        return self._ask("schema")

    def stats(self) -> str:
        """The statistics of the driver's last execution behind the splits."""
        return self._ask("stats")

    def __repr__(self) -> str:
        return f"RemoteSplitIterator({self._index} of {self._n}, served by pid {self._pid} on {self._host})"


def _expect_ok(conn, request: tuple) -> tuple:
    conn.send(request)
    reply = conn.recv()
    if reply[0] != "ok":
        raise reply[1]
    return reply


__all__ = ["RemoteSplitIterator", "set_materializer"]
