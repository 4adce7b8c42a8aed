"""``streamscope.collate_fn``: the collate-function classes of ``ray.data.collate_fn`` under the same
path (``from ray.data.collate_fn import NumpyBatchCollateFn`` becomes
``from streamscope.collate_fn import NumpyBatchCollateFn``). Subclass one to tell
``iter_jax_batches(collate_fn=...)`` which batch format your function takes.
"""

from __future__ import annotations

from streamscope.engine.collate_fn import (
    ArrowBatchCollateFn,
    CollateFn,
    NumpyBatchCollateFn,
    PandasBatchCollateFn,
)

__all__ = ["ArrowBatchCollateFn", "CollateFn", "NumpyBatchCollateFn", "PandasBatchCollateFn"]
