"""``Dataset.to_random_access_dataset``: look records up by a key column (Ray Data's
``RandomAccessDataset``, experimental and deprecated there too).

How: the dataset is sorted by the key once; its sorted, non-empty blocks are copied into driver
memory (as the refs API copies them: nothing stays pinned in the block store) with each block's
first and last key. A lookup binary-searches the blocks' last keys for the block, then the block's
key column for the row. Ray serves lookups from ``num_workers`` actors holding the blocks; here
they are answered in the driver process, so ``num_workers`` divides the blocks into that many
shares (block ``i`` to share ``i % num_workers``) whose accesses ``stats()`` reports, as Ray
reports its workers', but adds no parallelism. ``get_async`` answers at once with a
:class:`~streamscope.ObjectRef`; resolve it with :func:`streamscope.get`, as Ray code resolves
its ObjectRef with ``ray.get``. This works the same on every runtime (on the Ray runtime the
sorted blocks are fetched to the driver).

This module imports nothing of the Dataset (``dataset.py`` mixes :class:`RandomAccessMixin` in).
"""

from __future__ import annotations

import bisect
import collections
import numbers
import time
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.api.refs import ObjectRef, get


class RandomAccessDataset:
    """Records of a dataset found by key (see :meth:`Dataset.to_random_access_dataset
    <streamscope.Dataset.to_random_access_dataset>`). Keys should be unique; with duplicates one
    of the matching records is returned. A missing key gives None.

    Examples:
        >>> rad = streamscope.range(100, override_num_blocks=4).to_random_access_dataset("id")
        >>> streamscope.get(rad.get_async(42))
        {'id': 42}
        >>> rad.multiget([3, 1000, 97])
        [{'id': 3}, None, {'id': 97}]
    """

    def __init__(self, ds: Any, key: str, num_workers: int):
        if not isinstance(key, str):
            raise TypeError(f"to_random_access_dataset: key must be a column name (str), got {key!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 1:
            raise ValueError(f"to_random_access_dataset: num_workers must be a positive integer, got {num_workers!r}")
        schema = ds.schema(fetch_if_missing=True)
        if schema is None:
            raise ValueError("RandomAccessDataset only supports Arrow-format blocks (this dataset has no schema: "
                             "it produced no blocks)")
        if key not in schema.names:
            raise ValueError(f"to_random_access_dataset: key column {key!r} is not in the dataset's columns "
                             f"{schema.names}")
        start = time.perf_counter()
        self._key = key
        self._num_workers = int(num_workers)
        self._blocks: list[pa.Table] = []
        self._keys: list[np.ndarray] = []
        for table in get(ds.sort(key).to_arrow_refs()):
            if table.num_rows == 0:
                continue
            column = table.column(key)
            if column.null_count:
                raise ValueError(f"to_random_access_dataset: key column {key!r} has null values; "
                                 f"filter them out first (ds.filter(expr=col({key!r}).is_not_null()))")
            self._blocks.append(table)
            self._keys.append(column.to_numpy(zero_copy_only=False))
        self._lower = self._keys[0][0] if self._keys else None
        self._upper = [keys[-1] for keys in self._keys]
        self._accesses = [0] * self._num_workers
        self._access_s = [0.0] * self._num_workers
        self._build_s = time.perf_counter() - start

    # ---- lookups -------------------------------------------------------------------------------
    def _block_for(self, key: Any) -> Optional[int]:
        if not self._upper or key < self._lower:
            return None
        i = bisect.bisect_left(self._upper, key)
        return i if i < len(self._upper) else None

    def _row_in(self, block: int, key: Any) -> Optional[dict]:
        keys = self._keys[block]
        j = int(np.searchsorted(keys, key))
        if j < len(keys) and keys[j] == key:
            return self._blocks[block].slice(j, 1).to_pylist()[0]
        return None

    def _count(self, block: Optional[int], started: float) -> None:
        share = 0 if block is None else block % self._num_workers
        self._accesses[share] += 1
        self._access_s[share] += time.perf_counter() - started

    def get_async(self, key: Any) -> ObjectRef:
        """The record with ``key`` (a dict of column to value), or None, behind an
        :class:`~streamscope.ObjectRef`: ``streamscope.get(rad.get_async(k))``.

        Examples:
            >>> rad = streamscope.from_items([{"k": "b", "v": 2}, {"k": "a", "v": 1}]).to_random_access_dataset("k")
            >>> streamscope.get(rad.get_async("a")), streamscope.get(rad.get_async("z"))
            ({'k': 'a', 'v': 1}, None)
        """
        started = time.perf_counter()
        block = self._block_for(key)
        if block is None:
            return ObjectRef(None)
        row = self._row_in(block, key)
        self._count(block, started)
        return ObjectRef(row)

    def multiget(self, keys: list) -> list:
        """The records for ``keys``, in their order (None for a missing key); keys that fall in
        the same block are looked up together, one access of its share.

        Examples:
            >>> rad = streamscope.range(10).to_random_access_dataset("id")
            >>> rad.multiget([9, 0, -1])
            [{'id': 9}, {'id': 0}, None]
        """
        by_block: dict[Optional[int], list[int]] = collections.defaultdict(list)
        for position, key in enumerate(keys):
            by_block[self._block_for(key)].append(position)
        out: list = [None] * len(keys)
        for block, positions in by_block.items():
            if block is None:
                continue
            started = time.perf_counter()
            for position in positions:
                out[position] = self._row_in(block, keys[position])
            self._count(block, started)
        return out

    def stats(self) -> str:
        """Build time, shares ("workers") and their blocks and accesses, mean access time, in Ray
        Data's layout.

        Examples:
            >>> rad = streamscope.range(10).to_random_access_dataset("id", num_workers=2)
            >>> print(rad.stats().splitlines()[2])
            - Num workers: 2
        """
        blocks = [0] * self._num_workers
        for i in range(len(self._blocks)):
            blocks[i % self._num_workers] += 1
        n = self._num_workers
        lines = [
            "RandomAccessDataset:",
            f"- Build time: {round(self._build_s, 2)}s",
            f"- Num workers: {n}",
            f"- Blocks per worker: {min(blocks)} min, {max(blocks)} max, {int(sum(blocks) / n)} mean",
            f"- Accesses per worker: {min(self._accesses)} min, {max(self._accesses)} max, "
            f"{int(sum(self._accesses) / n)} mean",
            f"- Mean access time: {int(sum(self._access_s) / (1 + sum(self._accesses)) * 1e6)}us",
        ]
        return "\n".join(lines) + "\n"


class RandomAccessMixin:
    """``to_random_access_dataset`` of :class:`~streamscope.Dataset`."""

    def to_random_access_dataset(self, key: str, num_workers: Optional[int] = None) -> RandomAccessDataset:
        """Sort this dataset by the ``key`` column and return a :class:`RandomAccessDataset` that
        finds records by key with binary search (Ray Data's, experimental). ``num_workers``
        (default 4, Ray's four per node on one machine) is how many shares the sorted blocks are
        divided into for ``stats()``; lookups run in the driver (Ray runs them on that many
        actors). Keys should be unique and not null.

        Examples:
            >>> rad = streamscope.from_items([{"id": i, "sq": i * i} for i in range(8)]).to_random_access_dataset("id")
            >>> streamscope.get(rad.get_async(3))
            {'id': 3, 'sq': 9}
        """
        return RandomAccessDataset(self, key, 4 if num_workers is None else num_workers)
