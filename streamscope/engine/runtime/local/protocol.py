"""The messages between the driver and a worker process, and how they are encoded.

Why plain tuples pickled with protocol 5 over a ``multiprocessing`` Connection: a task message is
a few hundred bytes, so per-task overhead is dominated by encoding, and tuples of builtins pickle
several times faster than dataclasses. Payloads that the standard pickler refuses (a lambda inside
a payload) fall back to cloudpickle, whose output the standard unpickler reads.

Driver -> worker::

    (FN, fn_id, fn_bytes)            cache a cloudpickled task function (sent once per worker)
    (FORGET, fn_id)                  drop it (its operator is done)
    (TASK, task_id, attempt, fn_id, payload_bytes, input_paths, operator, max_block_bytes,
     store_dir, spill_dir)           run one attempt of a task; the payload is pickled apart, so
                                     one the worker cannot unpickle fails that task with the
                                     reason instead of killing the worker
    (STOP,)                          exit the main loop
    (ACTOR_INIT, fn_id, operator, context)
                                     actor processes only: construct the actor's state now, with
                                     ``context`` current (as below)
    A TASK may carry an 11th item, an environment dict applied before it runs (GPU tasks), a
    12th, ``(stream, skip)``: report outputs as they are written, skipping the first ``skip``
    (a retry of an attempt whose first outputs were already reported), and a 13th, the run's
    DataContext as ``(key, pickled bytes)`` (``runtime/context_shipping.py``), current while the
    task runs; the worker unpickles each key once, and a 14th, the bytes of output the task may
    keep in tmpfs before reporting them (``BlockStore.unreported_output_allowance``; past it,
    outputs go straight to the spill directory), and a 15th, every spill directory of the session
    (blocks spilled before ``spill_dir`` changed stay where they are). ``None`` in any of them:
    not used. A worker reads input blocks only from ``store_dir`` and the spill directories and
    refuses a task naming any other path.

Worker -> driver::

    (DONE, task_id, attempt, TaskResult, files, exception_bytes)
        files: [(block_id, path, size, spilled)]; exception_bytes: the user's exception pickled
        apart from the result (None when there is none or it would not pickle)
    (PARTIAL, task_id, attempt, (block_id, path, size, spilled), BlockMetadata)
        one output block of a streaming task, sent as soon as it is written
    (ACTOR_READY, pid, TaskError or None, exception_bytes)
        the answer to ACTOR_INIT
"""

from __future__ import annotations

import io
import pickle
import types
from typing import Any

FN = "fn"
FORGET = "forget"
TASK = "task"
STOP = "stop"
DONE = "done"
PARTIAL = "partial"
ACTOR_INIT = "actor_init"
ACTOR_READY = "actor_ready"

PROTOCOL = 5


class _ByReferenceOnlyWhenImportable(pickle.Pickler):
    """The standard pickler, except that a function or class defined in ``__main__`` (a script or a
    notebook cell) is refused: pickled by reference, a worker could not find it (``Can't get
    attribute 'connect' on <module '__main__'>``), so the message goes to cloudpickle, which
    pickles it by value."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (types.FunctionType, type)) and getattr(obj, "__module__", None) == "__main__":
            raise pickle.PicklingError(f"{obj!r} is defined in __main__: pickle it by value")
        return NotImplemented


def encode(message: tuple) -> bytes:
    """Pickle a message (protocol 5) with the fast standard pickler; what it refuses (lambdas,
    closures) goes through cloudpickle instead.

    Examples:
        >>> decode(encode(("task", 1, [1, 2]))) == ("task", 1, [1, 2])
        True
    """
    try:
        return pickle.dumps(message, protocol=PROTOCOL)
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(message, protocol=PROTOCOL)


def encode_payload(payload: Any) -> bytes:
    """Pickle a task's payload for a worker: as :func:`encode`, but a function or class defined
    in ``__main__`` is never pickled by a reference the worker could not resolve (it goes by
    value, through cloudpickle). Only payloads need this check; the replies workers send and the
    driver's own messages carry no user code, so they keep the plain pickler.

    Examples:
        >>> decode(encode_payload({"rows": 3})) == {"rows": 3}
        True
    """
    try:
        buffer = io.BytesIO()
        _ByReferenceOnlyWhenImportable(buffer, protocol=PROTOCOL).dump(payload)
        return buffer.getvalue()
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(payload, protocol=PROTOCOL)


def decode(data: bytes) -> Any:
    return pickle.loads(data)
