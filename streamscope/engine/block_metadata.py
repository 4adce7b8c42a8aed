"""BlockMetadata: what a datasource says about the rows a read task will produce, before reading.

Why a class of its own: this is the public, Ray Data 2.60-shaped record that custom datasources
build (``ReadTask(read_fn, BlockMetadata(num_rows, size_bytes, input_files=..., exec_stats=None))``),
with Ray's fields in Ray's order so positional calls written for Ray mean the same here. It has no
``schema`` field (Ray 2.60 dropped it: a read task's schema goes to ``ReadTask(schema=...)``). The
executor's own per-block record, which does carry the schema, is
``streamscope.engine.block.BlockMetadata`` (Ray calls its equivalent ``BlockMetadataWithSchema``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple


@dataclass(frozen=True)
class BlockMetadata:
    """Rows, bytes and source files of a block (or of everything a read task yields), known
    without reading it; ``None`` where unknown.

    ``num_rows`` lets ``count()`` answer without reading when every read task knows it;
    ``size_bytes`` sizes the read; ``input_files`` is what ``Dataset.input_files()`` lists.
    ``exec_stats`` and ``task_exec_stats`` are Ray's execution-statistics slots: datasources
    pass ``None``; streamscope keeps what it is given and reads neither (its stats come from the
    executor's telemetry).

    Examples:
        >>> from streamscope.block import BlockMetadata
        >>> meta = BlockMetadata(num_rows=3, size_bytes=24, input_files=["a.csv"], exec_stats=None)
        >>> meta.num_rows, meta.input_files
        (3, ('a.csv',))
        >>> BlockMetadata(3, 24, None)  # positional, in Ray 2.60's order
        BlockMetadata(num_rows=3, size_bytes=24, exec_stats=None, task_exec_stats=None, input_files=None)
    """

    num_rows: Optional[int]
    size_bytes: Optional[int]
    exec_stats: Optional[Any]
    task_exec_stats: Optional[Any] = field(default=None)
    input_files: Optional[Tuple[str, ...]] = field(default=None)

    def __post_init__(self) -> None:
        for name in ("num_rows", "size_bytes"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"BlockMetadata: {name} must be an int or None, got {value!r} "
                                f"({type(value).__name__}); convert it with int(...)")
            if value < 0:
                raise ValueError(f"BlockMetadata: {name} must not be negative, got {value}")
            object.__setattr__(self, name, int(value))  # numpy integers become plain ints
        files = self.input_files
        if files is not None:
            if isinstance(files, str):
                raise TypeError(f"BlockMetadata: input_files must be a list of paths, got the string {files!r}; "
                                "wrap it in a list")
            if not isinstance(files, tuple):
                object.__setattr__(self, "input_files", tuple(files))
