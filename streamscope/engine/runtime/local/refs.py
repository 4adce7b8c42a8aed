"""The local runtime's block reference: a block id and nothing else.

Why only an id: the executor must never learn where a block lives (tmpfs, spill disk, which
file), because the store moves blocks between those places behind its back. Workers also build
these refs for the blocks they write, so the type lives apart from the driver-only store code.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.engine.runtime.base import BlockRef


@dataclass(frozen=True, slots=True)
class LocalBlockRef(BlockRef):
    block_id: str


def block_id_of(ref: BlockRef) -> str:
    """The block id behind a ref, refusing refs of another runtime (a plan mixing runtimes)."""
    if not isinstance(ref, LocalBlockRef):
        raise TypeError(f"local runtime got a {type(ref).__name__}; expected LocalBlockRef")
    return ref.block_id
