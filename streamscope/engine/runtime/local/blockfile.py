"""One block = one Arrow IPC *file* on disk; written once, then memory-mapped by every reader.

Why the IPC file format (not the stream format): it ends with a footer that locates every record
batch, so ``pa.ipc.open_file`` over a ``pa.memory_map`` hands out buffers that point straight into
the mapping (zero-copy, no parsing of the body), and a truncated file from a killed writer is
rejected instead of being half-read.

Why a module of its own: both the driver's store and the worker processes write and read block
files, and both must agree on names and on what "the disk is full" looks like.
"""

from __future__ import annotations

import errno
import os
import re

import pyarrow as pa
import pyarrow.ipc as ipc

from streamscope.engine.exceptions import ObjectStoreFullError

SUFFIX = ".arrow"

_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}


def block_path(directory: str, block_id: str) -> str:
    return os.path.join(directory, block_id + SUFFIX)


def task_block_id(task_id: int, attempt: int, index: int) -> str:
    """Name of the ``index``-th output block of one attempt of a task.

    The task id and attempt are part of the name so the driver can delete the partial outputs of
    an attempt whose worker died without ever reporting them.
    """
    return f"t{task_id}-a{attempt}-{index}"


def task_of_block(block_id: str) -> "int | None":
    """The task id in a block id written by a task (None for blocks put by the driver)."""
    if block_id.startswith("t") and "-a" in block_id:
        try:
            return int(block_id[1:block_id.index("-a")])
        except ValueError:
            return None
    return None


def attempt_file_pattern(task_id: int, attempt: int) -> "re.Pattern[str]":
    return re.compile(rf"^t{task_id}-a{attempt}-\d+{re.escape(SUFFIX)}$")


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return isinstance(exc, OSError) and "No space left on device" in str(exc)


def write_block(path: str, table: pa.Table) -> int:
    """Write ``table`` to ``path`` as an IPC file; return the file's size in bytes.

    A full device raises :class:`ObjectStoreFullError` naming the directory, after removing the
    partial file (a half-written block must never be mistaken for a whole one).
    """
    try:
        with pa.OSFile(path, "wb") as sink:
            with ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            return int(sink.tell())
    except OSError as exc:
        remove_quietly(path)
        if is_disk_full(exc):
            raise ObjectStoreFullError(
                f"no space left in {os.path.dirname(path)} to write block {os.path.basename(path)} "
                f"({table.nbytes} bytes); free blocks, lower the load, or set DataContext.spill_dir "
                "to a larger disk"
            ) from exc
        raise


def read_block(path: str) -> pa.Table:
    """Memory-map the block at ``path``; the table's buffers live inside the mapping.

    The mapping stays valid after the file is unlinked or renamed (POSIX semantics), so a reader
    holding a table never sees it vanish when the store spills or frees the block.
    """
    return ipc.open_file(pa.memory_map(path, "r")).read_all()


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def spill_failure_message(directory: str, exc: BaseException) -> str:
    """Why a block could not spill, and what to do: named directory, the OS's reason."""
    return (f"the object store is full and spilling to {directory} failed ({type(exc).__name__}: {exc}); "
            "set DataContext.spill_dir to a writable directory with free space, or give the store "
            "more room (DataContext.object_store_capacity_bytes)")
