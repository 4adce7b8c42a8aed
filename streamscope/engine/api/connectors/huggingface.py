"""``from_huggingface``: a Hugging Face ``datasets.Dataset`` or ``IterableDataset`` as a dataset
(``pip install 'streamscope[hf]'``).

Why no Hub download: Ray Data 2.60 first asks the Hugging Face Hub whether the dataset's
unmodified Parquet files are published there and, if so, reads them over HTTP. streamscope reads
the data the ``datasets`` object already holds (its Arrow table, or its shards for an iterable
dataset): the same rows, without network calls, so it also works offline and for datasets built
locally. ``datasets`` is imported here, in the driver, when ``from_huggingface`` is called.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from streamscope.engine.api.from_memory import from_arrow
from streamscope.engine.api.read import read_datasource
from streamscope.engine.context import DataContext
from streamscope.engine.io.huggingface_datasource import HuggingFaceDatasource, dataset_arrow_table
from streamscope.engine.io.optional_deps import import_optional


def from_huggingface(dataset: Any, parallelism: int = -1, concurrency: Optional[int] = None,
                     override_num_blocks: Optional[int] = None):
    """A dataset from a Hugging Face ``datasets.Dataset`` (a :class:`MaterializedDataset` of its
    Arrow table: zero-copy slices, any ``select``/``shuffle``/``filter`` applied, every column in
    its Arrow type whatever ``with_format`` says) or a ``datasets.IterableDataset`` (a lazy
    dataset read in tasks over its shards, never gathered in the driver).

    ``override_num_blocks`` (or the deprecated ``parallelism``) sets the number of blocks of a
    ``Dataset`` (default: one per ``DataContext.target_max_block_size`` of data) and of read tasks
    of an ``IterableDataset`` (at most its ``n_shards``); ``concurrency`` caps the read tasks of
    an ``IterableDataset`` running at once. A ``DatasetDict`` is refused, as in Ray: pick a split.

    Examples:
        >>> import datasets
        >>> hf = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 0]})
        >>> streamscope.from_huggingface(hf.select([2, 0])).take()
        [{'text': 'c', 'label': 0}, {'text': 'a', 'label': 0}]
        >>> stream = hf.to_iterable_dataset(num_shards=3)
        >>> stream.n_shards, streamscope.from_huggingface(stream).count()
        (3, 3)
    """
    datasets = import_optional("datasets", extra="hf", connector="from_huggingface")
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        splits = list(dataset.keys())
        first = splits[0] if splits else "train"
        raise DeprecationWarning(
            "You provided a Hugging Face DatasetDict or IterableDatasetDict, which contains multiple datasets, "
            "but `from_huggingface` now only accepts a single Hugging Face Dataset. To convert just a single "
            "Hugging Face Dataset to a streamscope Dataset, specify a split. For example, "
            f"`streamscope.from_huggingface(my_dataset_dictionary['{first}'])`. Available splits are {splits}."
        )
    blocks = _num_blocks(override_num_blocks, parallelism)
    if isinstance(dataset, datasets.IterableDataset):
        return read_datasource(HuggingFaceDatasource(dataset), parallelism=parallelism, concurrency=concurrency,
                               override_num_blocks=override_num_blocks)
    if isinstance(dataset, datasets.Dataset):
        table = dataset_arrow_table(dataset)
        if blocks is None:
            limit = DataContext.get_current().target_max_block_size or (128 << 20)
            blocks = max(1, math.ceil(table.nbytes / limit))
        return from_arrow(table, override_num_blocks=blocks)
    raise TypeError(f"`dataset` must be a `datasets.Dataset`, but got {type(dataset)}")


def _num_blocks(override_num_blocks: Optional[int], parallelism: int) -> Optional[int]:
    for name, value in (("override_num_blocks", override_num_blocks), ("parallelism", parallelism)):
        if value is None or value == -1:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"from_huggingface: {name} must be a positive int, got {value!r}")
        return value
    return None
