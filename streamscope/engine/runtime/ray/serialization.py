"""How blocks cross Ray's object store: as Arrow IPC streams, out of band.

Why not Ray's own Arrow reducer: in Ray 2.60 it rebuilds extension arrays from a type alias and
fails on Arrow's canonical ``arrow.variable_shape_tensor`` (streamscope's ragged tensor columns:
"No type alias for extension<arrow.variable_shape_tensor...>"). Plain pickling of a table is no
answer either: a sliced table (outputs are split to ``max_block_bytes``) pickles its whole
parent buffers. The IPC stream format carries extension types and slices exactly; handing the
stream to pickle as a ``PickleBuffer`` lets Ray store it out of band, so a reader on the same
node maps it from the object store without a copy.

Only the serializing side needs the reducer (the pickle names :func:`table_from_ipc`, which any
process with streamscope can call); it is installed in the driver when the runtime starts and
in each worker before its first output.
"""

from __future__ import annotations

import pickle

import pyarrow as pa

_installed = False


def table_from_ipc(data) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _reduce_table(table: pa.Table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return table_from_ipc, (pickle.PickleBuffer(sink.getvalue()),)


def install() -> None:
    """Make this process's Ray serializer write tables as IPC (idempotent)."""
    global _installed
    if _installed:
        return
    import ray

    ray._private.worker.global_worker.get_serialization_context()._register_cloudpickle_reducer(pa.Table, _reduce_table)
    _installed = True
