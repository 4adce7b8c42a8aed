"""DataIterator: what training loops consume, as in Ray Data.

``Dataset.iterator()`` gives a :class:`DatasetIterator`, which runs the dataset each time it is
iterated; ``Dataset.streaming_split(n)`` gives n :class:`StreamSplitDataIterator` that share one
execution (the dealer that feeds them is :mod:`streamscope.engine.api.streaming_split`). Batching,
rows and the torch, JAX and TensorFlow conversions are shared by all of them here.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pyarrow as pa

from streamscope.engine.api.batching import iter_batches
from streamscope.engine.api.jax import check_jax_args, import_jax, jax_converter, skip_empty
from streamscope.engine.api.tensorflow import TensorFlowMixin, tf_converter
from streamscope.engine.api.torch import TorchMixin, torch_collate
from streamscope.engine.collate_fn import collate_batch_format
from streamscope.engine.block import iter_rows
from streamscope.engine.context import DataContext


class DataIterator:
    """What training loops consume, as in Ray Data: ``Dataset.iterator()`` gives one that runs the
    dataset on each pass; ``Dataset.streaming_split(n)`` gives n that share one run (one pass
    each). Batches, rows and torch tensors come out the same way from every kind.

    Examples:
        >>> it = streamscope.range(10).iterator()
        >>> [len(batch["id"]) for batch in it.iter_batches(batch_size=4)]
        [4, 4, 2]
        >>> sum(1 for _ in it.iter_rows())  # a second pass runs the dataset again
        10
    """

    def _iter_tables(self) -> Iterator[pa.Table]:
        raise NotImplementedError

    def _open_tables(self) -> Iterator[pa.Table]:
        """The block stream, with its run created now (see ``Dataset._open_tables``); iterators
        whose run already exists (streaming splits) just return their stream."""
        return self._iter_tables()

    def iter_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256,
                     batch_format: Optional[str] = "default", drop_last: bool = False,
                     local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                     _collate_fn: Any = None) -> Iterator[Any]:
        """Iterate over batches of exactly ``batch_size`` rows across block boundaries (the last may
        be smaller unless ``drop_last``), in ``batch_format``; a prefetch thread prepares
        ``prefetch_batches`` ahead, and ``local_shuffle_buffer_size`` draws rows at random from a
        buffer of at least that many rows.

        Examples:
            >>> it = streamscope.range(10).iterator()
            >>> [len(batch["id"]) for batch in it.iter_batches(batch_size=4, drop_last=True)]
            [4, 4]
        """
        return iter_batches(self._open_tables, batch_size=batch_size, batch_format=batch_format, drop_last=drop_last,
                            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
                            prefetch_batches=prefetch_batches, collate_fn=_collate_fn)

    def iter_rows(self) -> Iterator[dict]:
        """Iterate over the rows as dicts.

        Examples:
            >>> sorted(row["id"] for row in streamscope.range(3).iterator().iter_rows())
            [0, 1, 2]
        """
        for table in self._iter_tables():
            yield from iter_rows(table)

    def iter_torch_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256, dtypes: Any = None,
                           device: Any = "auto", collate_fn: Any = None, drop_last: bool = False,
                           local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                           pin_memory: bool = False) -> Iterator[Any]:
        """Iterate over batches as dicts of torch tensors (``dtypes`` per column, on ``device``), or
        whatever ``collate_fn`` makes of each numpy batch.

        Examples:
            >>> import torch
            >>> it = streamscope.range(6).iterator()
            >>> [batch["id"].shape for batch in it.iter_torch_batches(batch_size=3, device="cpu")]
            [torch.Size([3]), torch.Size([3])]
        """
        collate = torch_collate(dtypes, device, collate_fn, pin_memory)
        return self.iter_batches(prefetch_batches=prefetch_batches, batch_size=batch_size, batch_format="numpy",
                                 drop_last=drop_last, local_shuffle_buffer_size=local_shuffle_buffer_size,
                                 local_shuffle_seed=local_shuffle_seed, _collate_fn=collate)

    to_torch = TorchMixin.to_torch

    def iter_jax_batches(self, *, prefetch_batches: int = 1, batch_size: int = 256, dtypes: Any = None,
                         collate_fn: Any = None, drop_last: bool = False,
                         local_shuffle_buffer_size: Optional[int] = None, local_shuffle_seed: Optional[int] = None,
                         synchronize_batches: bool = False, paddings: Any = None) -> Iterator[Any]:
        """Iterate over batches as dicts of JAX arrays sharded along the batch dimension over all
        JAX devices (``dtypes`` per column; a short last batch dropped with ``drop_last`` or padded
        with ``paddings``), or as the arrays a ``collate_fn`` class makes of each batch.

        Examples:
            >>> import jax
            >>> it = streamscope.range(6).iterator()
            >>> [batch["id"].shape for batch in it.iter_jax_batches(batch_size=3, drop_last=True)]
            [(3,), (3,)]
        """
        jax = import_jax()
        check_jax_args(jax, batch_size, dtypes, synchronize_batches)
        batch_format = collate_batch_format(collate_fn, "iter_jax_batches")
        convert = jax_converter(dtypes, paddings, batch_size, collate_fn)
        return skip_empty(self.iter_batches(
            prefetch_batches=prefetch_batches, batch_size=batch_size, batch_format=batch_format, drop_last=drop_last,
            local_shuffle_buffer_size=local_shuffle_buffer_size, local_shuffle_seed=local_shuffle_seed,
            _collate_fn=convert))

    def iter_tf_batches(self, *, prefetch_batches: int = 1, batch_size: Optional[int] = 256, dtypes: Any = None,
                        drop_last: bool = False, local_shuffle_buffer_size: Optional[int] = None,
                        local_shuffle_seed: Optional[int] = None) -> Iterator[Any]:
        """Iterate over batches as dicts of TensorFlow tensors, with ``dtypes`` (one, or a dict by
        column) or the dtype TensorFlow infers from the numpy data.

        Examples:
            >>> import tensorflow as tf
            >>> it = streamscope.range(6).iterator()
            >>> [batch["id"].shape.as_list() for batch in it.iter_tf_batches(batch_size=4)]
            [[4], [2]]
        """
        convert = tf_converter(dtypes)
        return self.iter_batches(prefetch_batches=prefetch_batches, batch_size=batch_size, batch_format="numpy",
                                 drop_last=drop_last, local_shuffle_buffer_size=local_shuffle_buffer_size,
                                 local_shuffle_seed=local_shuffle_seed, _collate_fn=convert)

    to_tf = TensorFlowMixin.to_tf

    def _source(self) -> Any:
        """The Dataset this iterator reads (its plan, schema and last run)."""
        raise NotImplementedError

    def materialize(self) -> Any:
        """What this iterator yields, as a MaterializedDataset (one pass over it).

        Examples:
            >>> streamscope.range(5).iterator().materialize().count()
            5
        """
        return self._source()._from_tables(list(self._iter_tables()))

    def schema(self) -> Any:
        """The schema of the rows this iterator yields.

        Examples:
            >>> streamscope.range(3).iterator().schema().names
            ['id']
        """
        return self._source().schema()

    def stats(self) -> str:
        """The statistics of the last execution behind this iterator, as text.

        Examples:
            >>> it = streamscope.range(4).iterator()
            >>> _ = list(it.iter_rows())
            >>> "ReadRange" in it.stats()
            True
        """
        return str(self._source().stats())

    def get_context(self) -> DataContext:
        """The DataContext its runs use: the current one, which each run copies when it starts.

        Examples:
            >>> streamscope.range(3).iterator().get_context() is streamscope.DataContext.get_current()
            True
        """
        return DataContext.get_current()


class DatasetIterator(DataIterator):
    """Runs its dataset anew on each iteration (``Dataset.iterator()``)."""

    def __init__(self, dataset: Any):
        self._dataset = dataset

    def _source(self) -> Any:
        return self._dataset

    def _iter_tables(self) -> Iterator[pa.Table]:
        return self._dataset._iter_tables()

    def _open_tables(self) -> Iterator[pa.Table]:
        return self._dataset._open_tables()

    def materialize(self) -> Any:
        return self._dataset.materialize()

    def __repr__(self) -> str:
        return f"DataIterator({self._dataset._plan.dag.name})"


class StreamSplitDataIterator(DataIterator):
    """One of the n iterators of ``streaming_split``: each pass over it is one epoch of its share
    of the data, and the n splits of an epoch share one execution (a pass after the first waits
    until every split has begun it, as in Ray Data).

    Picklable: sent to another process of this machine (a training worker started with
    ``multiprocessing`` or ``torch.multiprocessing``), it is consumed there, fed from this process
    over a private socket (:mod:`streamscope.engine.api.split_service`). Consume each split in one
    place only.

    Examples:
        >>> a, b = streamscope.range(10).streaming_split(2, equal=True)
        >>> import threading
        >>> out = {}
        >>> t = threading.Thread(target=lambda: out.update(b=[r["id"] for r in b.iter_rows()]))
        >>> t.start(); rows_a = [r["id"] for r in a.iter_rows()]; t.join()
        >>> len(rows_a), len(out["b"]), sorted(rows_a + out["b"]) == list(range(10))
        (5, 5, True)
    """

    def __init__(self, coordinator: Any, index: int):
        self._coord = coordinator
        self._index = index

    def _source(self) -> Any:
        return self._coord.dataset

    def _iter_tables(self) -> Iterator[pa.Table]:
        return self._coord.consume(self._index)

    def __reduce__(self):
        return self._coord.remote_split(self._index)

    def __repr__(self) -> str:
        return f"StreamSplitDataIterator({self._index} of {self._coord.n})"
