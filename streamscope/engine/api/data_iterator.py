"""DataIterator: what training loops consume, as in Ray Data.

``Dataset.iterator()`` gives a :class:`DatasetIterator`, which runs the dataset each time it is
iterated; ``Dataset.streaming_split(n)`` gives n :class:`StreamSplitDataIterator` that share one
execution (the dealer that feeds them is :mod:`streamscope.engine.api.streaming_split`). Batching,
rows and torch conversion are shared by all of them here.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.batching import iter_batches
from streamscope.engine.api.torch import torch_collate
from streamscope.engine.block import iter_rows


class DataIterator:
    """Base: subclasses provide ``_iter_tables()``; batching, rows and torch conversion are shared."""

    def _iter_tables(self) -> Iterator[pa.Table]:
        raise NotImplementedError

    def iter_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256,
                     batch_format: Optional[str] = "default", drop_last: bool = False,
                     local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                     _collate_fn: Any = None) -> Iterator[Any]:
        return iter_batches(self._iter_tables(), batch_size=batch_size, batch_format=batch_format, drop_last=drop_last,
                            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
                            prefetch_batches=prefetch_batches, collate_fn=_collate_fn)

    def iter_rows(self) -> Iterator[dict]:
        for table in self._iter_tables():
            yield from iter_rows(table)

    def iter_torch_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256, dtypes: Any = None,
                           device: Any = "auto", collate_fn: Any = None, drop_last: bool = False,
                           local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                           pin_memory: bool = False) -> Iterator[Any]:
        collate = torch_collate(dtypes, device, collate_fn, pin_memory)
        return self.iter_batches(prefetch_batches=prefetch_batches, batch_size=batch_size, batch_format="numpy",
                                 drop_last=drop_last, local_shuffle_buffer_size=local_shuffle_buffer_size,
                                 local_shuffle_seed=local_shuffle_seed, _collate_fn=collate)


class DatasetIterator(DataIterator):
    """Runs its dataset anew on each iteration (``Dataset.iterator()``)."""

    def __init__(self, dataset: Any):
        self._dataset = dataset

    def _iter_tables(self) -> Iterator[pa.Table]:
        return self._dataset._iter_tables()

    def __repr__(self) -> str:
        return f"DataIterator({self._dataset._plan.dag.name})"


class StreamSplitDataIterator(DataIterator):
    """One of the n iterators of ``streaming_split`` (one pass over its share of the data)."""

    def __init__(self, coordinator: Any, index: int):
        self._coord = coordinator
        self._index = index
        self._used = False

    def _iter_tables(self) -> Iterator[pa.Table]:
        if self._used:
            raise RuntimeError("this streaming_split iterator was already consumed (one pass per split)")
        self._used = True
        return self._coord.consume(self._index)

    def __repr__(self) -> str:
        return f"StreamSplitDataIterator({self._index} of {self._coord.n})"
