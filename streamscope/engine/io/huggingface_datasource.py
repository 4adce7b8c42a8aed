"""Hugging Face ``datasets``: the Arrow table behind a ``datasets.Dataset``, and a streaming
datasource over the shards of a ``datasets.IterableDataset`` (Ray Data's ``from_huggingface``).

Why two shapes: a ``datasets.Dataset`` already is an Arrow table (memory-mapped from its cache
files, or in memory), so it becomes blocks by slicing that table, never through Python rows; a
``select``/``shuffle``/``filter`` leaves an indices mapping on top of the table, which is applied
with an Arrow ``take`` (what ``dataset.with_format("arrow")[:]`` does). The dataset's format
(``with_format("torch")``, ``"numpy"``, its ``columns``) only shapes what ``datasets`` returns
when indexed, so, as in Ray Data, every column comes back in its Arrow type.

A ``datasets.IterableDataset`` is lazy and may be larger than memory: it is read in tasks, each
iterating its share of the dataset's shards (``dataset.shard(n, i)``, contiguous, so the rows
keep their order), in Arrow batches, in workers. Ray Data 2.60 reads one in a single task.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Iterator, Optional

import cloudpickle
import pyarrow as pa

from streamscope.engine.block import to_block
from streamscope.engine.io.datasource import Datasource, ReadTask

BATCH_SIZE = 4096
"""Rows per batch asked of ``IterableDataset.iter`` (Ray's ``HuggingFaceDatasource`` default)."""


def dataset_arrow_table(dataset: Any) -> pa.Table:
    """The rows of a ``datasets.Dataset`` as one Arrow table, its indices mapping applied.

    Examples:
        >>> import datasets
        >>> hf = datasets.Dataset.from_dict({"a": [1, 2, 3]}).select([2, 0])
        >>> dataset_arrow_table(hf).column("a").to_pylist()
        [3, 1]
    """
    table = dataset.with_format("arrow")[:]
    if not isinstance(table, pa.Table):  # older datasets versions return their Table wrapper
        table = getattr(table, "table", table)
    return table


def _read_shard(shard_bytes: bytes, columns: Optional[list[str]], batch_size: int,
                limit: Optional[int]) -> Iterator[pa.Table]:
    """Worker side: Arrow batches of one share of the shards, projected, up to ``limit`` rows.

    The shard travels cloudpickled: a generator defined in a notebook (``__main__``) must go by
    value, which the standard pickler (the first one a task payload is tried with) would not do."""
    shard = cloudpickle.loads(shard_bytes)
    remaining = limit
    for batch in shard.with_format("arrow").iter(batch_size=batch_size):
        table = _as_table(batch)
        if columns is not None:
            missing = [c for c in columns if c not in table.column_names]
            if missing:
                raise KeyError(f"from_huggingface: columns {missing} not found; available columns: "
                               f"{table.column_names}")
            table = table.select(columns)
        if remaining is not None:
            table = table.slice(0, remaining)
            remaining -= table.num_rows
        yield table
        if remaining is not None and remaining <= 0:
            return


class HuggingFaceDatasource(Datasource):
    """Read tasks over the shards of a ``datasets.IterableDataset`` (a ``datasets.Dataset`` is
    read the same way, but ``from_huggingface`` slices its table instead)."""

    def __init__(self, dataset: Any, batch_size: int = BATCH_SIZE):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"HuggingFaceDatasource: batch_size must be a positive int, got {batch_size!r}")
        self._dataset = dataset
        self._batch_size = batch_size
        self._columns: Optional[list[str]] = None

    def get_name(self) -> str:
        return "ReadHuggingFace"

    def estimate_inmemory_data_size(self) -> Optional[int]:
        size = getattr(getattr(self._dataset, "info", None), "dataset_size", None)
        return int(size) if size else None

    def _num_shards(self) -> int:
        return int(getattr(self._dataset, "num_shards", None) or getattr(self._dataset, "n_shards", 1) or 1)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> list[ReadTask]:
        shards = self._num_shards() if shardable(self._dataset) else 1
        n = max(1, min(int(parallelism) if parallelism and parallelism > 0 else 1, shards))
        dataset = self._projected()
        parts = [dataset] if n == 1 else [dataset.shard(num_shards=n, index=i, contiguous=True) for i in range(n)]
        return [ReadTask(functools.partial(_read_shard, cloudpickle.dumps(part), self._columns, self._batch_size,
                                           per_task_row_limit), num_rows=None, size_bytes=None) for part in parts]

    def _projected(self) -> Any:
        """The dataset with only the projected columns, when ``datasets`` can drop them before
        building its Arrow batches (else they are dropped from each batch)."""
        if self._columns is None:
            return self._dataset
        try:
            return self._dataset.select_columns(list(self._columns))
        except Exception:
            return self._dataset

    # ---- pushdowns ---------------------------------------------------------------------------------
    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "HuggingFaceDatasource":
        new = copy.copy(self)
        new._columns = list(columns)
        return new

    def pushdown_summary(self) -> list[str]:
        out = [f"{self._num_shards()} shards" if shardable(self._dataset) else "one stream (unshardable pipeline)"]
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        return out

    def __repr__(self) -> str:
        return f"HuggingFaceDatasource({type(self._dataset).__name__}, {self._num_shards()} shards)"


SHARD_SAFE = frozenset({
    "ExamplesIterable", "ArrowExamplesIterable", "ShuffledDataSourcesExamplesIterable",
    "ShuffledDataSourcesArrowExamplesIterable", "MappedExamplesIterable", "FilteredExamplesIterable",
    "FormattedExamplesIterable", "TypedExamplesIterable", "RebatchedArrowExamplesIterable",
    "SelectColumnsIterable", "BufferShuffledExamplesIterable",
})
"""The steps of an IterableDataset's pipeline whose rows are the same read shard by shard
(sources, row-wise maps and filters, column selection, formatting, shuffles). ``take``, ``skip``,
``repeat``, concatenations and interleavings count rows or order sources across shards, so a
pipeline with any of them is read as one stream, in one task (as Ray Data reads every one)."""


def shardable(dataset: Any) -> bool:
    """Whether reading ``dataset`` shard by shard (``dataset.shard(n, i)``, in order) gives the
    rows of reading it whole."""
    if getattr(dataset, "_distributed", None) is not None:
        return False  # already split by node (split_dataset_by_node)
    pending = [getattr(dataset, "_ex_iterable", None)]
    while pending:
        node = pending.pop()
        if node is None or type(node).__name__ not in SHARD_SAFE:
            return False
        inner = getattr(node, "ex_iterable", None)
        if inner is not None:
            pending.append(inner)
        if getattr(node, "ex_iterables", None):
            return False
    return True


def _as_table(batch: Any) -> pa.Table:
    """An Arrow table from what ``iter`` gave: datasets may ignore ``with_format`` for some
    iterable datasets and give its default batch type (as Ray Data notes), so dicts, pandas
    frames and arrays are converted too."""
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, dict):
        return to_block(batch)
    if type(batch).__module__.startswith("pandas"):
        return pa.Table.from_pandas(batch, preserve_index=False)
    import numpy as np

    if isinstance(batch, np.ndarray):
        return to_block({"item": batch})
    raise ValueError(f"from_huggingface: batch format {type(batch).__name__} is not supported; the dataset must "
                     "give Arrow tables, dicts, pandas DataFrames or numpy arrays")
