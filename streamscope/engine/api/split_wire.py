"""The wire between a split service and a split consumed in another process: how a block
travels (an Arrow IPC stream: exact types and bytes) and how a worker connects, with an error that
says where the split is served when it cannot.

Example::

    assert table_from_bytes(table_to_bytes(table)).equals(table)
"""

from __future__ import annotations

import socket
from multiprocessing.connection import Client, Connection

import pyarrow as pa


def table_to_bytes(table: pa.Table) -> bytes:
    """A block as Arrow IPC stream bytes."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def table_from_bytes(data: bytes) -> pa.Table:
    """The block ``table_to_bytes`` sent."""
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def connect(address: str, authkey: bytes, host: str, pid: int) -> Connection:
    """A connection to a split service, or an error saying where the splits are served."""
    try:
        return Client(address, family="AF_UNIX", authkey=authkey)
    except OSError as exc:
        here = socket.gethostname()
        where = "" if here == host else f" (this is {here}: a split can be consumed only on the machine that made it)"
        raise ConnectionError(
            f"streaming_split: cannot reach the process that serves this split (pid {pid} on {host}, socket "
            f"{address}){where}: {exc}. Keep the process that called streaming_split running while its "
            f"splits are consumed") from exc


__all__ = ["connect", "table_from_bytes", "table_to_bytes"]
