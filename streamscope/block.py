"""``streamscope.block``: the public names of ``ray.data.block`` that streamscope has, under the
same path (``from ray.data.block import BlockMetadata`` becomes
``from streamscope.block import BlockMetadata``).

``Block`` is what read tasks yield and datasinks receive: a ``pyarrow.Table`` (a read task may
also yield pandas DataFrames, converted as they come).
"""

from __future__ import annotations

from streamscope.engine.block import Block
from streamscope.engine.block_metadata import BlockMetadata

__all__ = ["Block", "BlockMetadata"]
