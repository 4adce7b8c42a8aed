"""SaveMode: what a ``write_*`` does when its destination already exists (Ray Data's enum).

Why its own module: ``streamscope.SaveMode`` is public and ``import streamscope`` must stay free
of fsspec, which the file datasinks import.

Ray Data 2.60's file writes, which these follow, count the destination as existing when the path
is there at all: a directory, even an empty one or one holding only hidden files, or a file.
``error`` (and its synonym ``create``) then raise, ``ignore`` writes nothing, ``overwrite``
replaces everything under the path, ``append`` (the default) adds files beside the old ones. A
missing path is created and written in every mode. Ray accepts any other value and silently
appends; streamscope refuses it before the run starts.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class SaveMode(str, Enum):
    """How a write treats a destination that already exists (a ``str`` enum: ``"overwrite"`` and
    ``SaveMode.OVERWRITE`` are the same value).

    ``APPEND`` (default): add new files, keep the old. ``OVERWRITE``: replace everything under the
    path, the old files removed only once the new ones are complete. ``IGNORE``: write nothing if
    the path exists. ``ERROR`` / ``CREATE``: raise if the path exists. ``UPSERT`` belongs to
    table sinks Ray has (Iceberg); the file writes refuse it.

    Examples:
        >>> import os, tempfile
        >>> out = os.path.join(tempfile.mkdtemp(), "out")
        >>> streamscope.range(10).write_parquet(out)
        >>> streamscope.range(3).write_parquet(out, mode=streamscope.SaveMode.OVERWRITE)
        >>> streamscope.read_parquet(out).count()
        3
        >>> streamscope.range(5).write_parquet(out, mode="ignore")  # out exists: nothing written
        >>> streamscope.read_parquet(out).count()
        3
        >>> streamscope.SaveMode("append") is streamscope.SaveMode.APPEND
        True
    """

    CREATE = "create"
    APPEND = "append"
    OVERWRITE = "overwrite"
    IGNORE = "ignore"
    ERROR = "error"
    UPSERT = "upsert"


FILE_SAVE_MODES = (SaveMode.APPEND, SaveMode.OVERWRITE, SaveMode.IGNORE, SaveMode.ERROR, SaveMode.CREATE)


def resolve_save_mode(mode: Any, writer: str) -> SaveMode:
    """``mode`` as a :class:`SaveMode` a file write supports, or a ValueError naming ``mode``, the
    writer and the valid values (exact lower-case strings or the enum, as Ray compares them)."""
    valid = ", ".join(repr(m.value) for m in FILE_SAVE_MODES)
    if isinstance(mode, SaveMode):
        resolved = mode
    elif isinstance(mode, str) and mode in SaveMode._value2member_map_:
        resolved = SaveMode(mode)
    else:
        hint = ""
        if isinstance(mode, str) and mode.lower() in SaveMode._value2member_map_:
            hint = f" (values are lower case: {mode.lower()!r})"
        raise ValueError(f"{writer}: mode must be one of {valid} or a streamscope.SaveMode, got {mode!r}{hint}")
    if resolved not in FILE_SAVE_MODES:
        raise ValueError(f"{writer}: mode={resolved.value!r} is for table sinks, not file writes; use one of {valid}")
    return resolved
