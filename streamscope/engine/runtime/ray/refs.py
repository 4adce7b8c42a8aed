"""RayBlockRef: the executor's opaque handle to a block living in Ray's object store."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.engine.runtime.base import BlockRef


@dataclass(frozen=True, slots=True)
class RayBlockRef(BlockRef):
    """Names one ObjectRef that the :class:`RayRuntime` holds for the executor.

    Why a key and not the ObjectRef itself: Ray frees an object when the last ObjectRef to it is
    dropped, and the executor's contract is that ``free`` deletes a block *now*. The runtime keeps
    the only driver-side ObjectRef in a table; ``free`` drops it, so the object goes as soon as no
    running task still reads it, however long copies of this small handle linger in queues.
    """

    key: str
    """The ObjectRef's hex id."""

    def __repr__(self) -> str:
        return f"RayBlockRef({self.key[:16]}…)"
