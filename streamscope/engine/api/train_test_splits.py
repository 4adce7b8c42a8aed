"""How ``train_test_split(stratify=...)`` and ``streaming_train_test_split`` decide which rows are
test rows, as Ray Data 2.60 does: a flag column added by a map (per class, by a key's hash, or by
a per-row draw), then two filters that drop it again.

Why the random draw is derived from each row's values: the train and the test datasets each run
the plan, so a row must land on the same side in both runs whatever the task numbering or batch
boundaries; Ray seeds per task, which holds only when tasks see the same rows every time.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Any, Optional, Union

import numpy as np
import pyarrow as pa

_SPLIT_FLAG = "__streamscope_is_train"


def _train_flags_by_hash(keys: Any, test_size: float) -> pa.Array:
    """Ray Data's hash split: a key goes to train when its 64-bit blake2b hash falls below
    ``(1 - test_size) * 2**64``."""
    bound = (1 - test_size) * (1 << 64)
    return pa.array([int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big") < bound
                     for key in keys], type=pa.bool_())


def _train_flags_at_random(batch: pa.Table, test_size: float, seed: Optional[int]) -> pa.Array:
    """A draw per row that gives the same answer in every execution (the train and the test
    datasets each run the plan) whatever the batch boundaries or task numbering: each row's
    uniform number is a SplitMix64 mix of its pandas row hash and ``seed``."""
    import pandas as pd

    with np.errstate(over="ignore"):
        z = pd.util.hash_pandas_object(_hashable(batch), index=False).to_numpy().astype(np.uint64)
        z = z + np.uint64((0 if seed is None else int(seed)) * 0x9E3779B97F4A7C15 % (1 << 64))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return pa.array(uniform < (1 - test_size), type=pa.bool_())


def _hashable(batch: pa.Table) -> Any:
    """The batch as a DataFrame pandas can hash (tensor and object cells as their repr)."""
    import pandas as pd

    data = {}
    for name in batch.column_names:
        column = batch.column(name)
        if pa.types.is_primitive(column.type) or pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            data[name] = column.to_pandas()
        else:
            data[name] = pd.Series([repr(v) for v in column.to_pylist()], dtype=object)
    return pd.DataFrame(data)


def split_while_streaming(ds: Any, test_size: float, split_type: str, hash_column: Optional[str],
                          seed: Optional[int], remote_kwargs: dict) -> tuple:
    """``(train, test)`` of ``Dataset.streaming_train_test_split``, nothing materialized."""
    if not isinstance(test_size, numbers.Real) or isinstance(test_size, bool) or not 0 < test_size < 1:
        raise ValueError("test_size must be between 0 and 1.")
    if seed is not None and split_type == "hash":
        raise ValueError("seed is not supported for hash split")
    if hash_column is not None and split_type == "random":
        raise ValueError("hash_column is not supported for random split")
    if split_type == "hash":
        if hash_column is None:
            raise ValueError("hash_column is required for hash split")

        def flag(batch: pa.Table) -> pa.Table:
            if hash_column not in batch.column_names:
                raise ValueError(f"Key column {hash_column} not found in batch")
            keys = batch.column(hash_column).to_pylist()
            return batch.append_column(_SPLIT_FLAG, _train_flags_by_hash(keys, test_size))
    elif split_type == "random":
        def flag(batch: pa.Table) -> pa.Table:
            return batch.append_column(_SPLIT_FLAG, _train_flags_at_random(batch, test_size, seed))
    else:
        raise ValueError(f"Invalid split type: {split_type}")
    flagged = ds.map_batches(flag, batch_format="pyarrow", **remote_kwargs)
    train = flagged.filter(expr=f"{_SPLIT_FLAG} == True").drop_columns([_SPLIT_FLAG])
    test = flagged.filter(expr=f"{_SPLIT_FLAG} == False").drop_columns([_SPLIT_FLAG])
    return train, test


def split_by_class(ds: Any, test_size: Union[int, float], column: str) -> tuple:
    """Ray Data's stratified split: within each class of ``column`` the last ``int(n * fraction)``
    rows are test rows (a row-count ``test_size`` becomes that fraction of the whole)."""
    if isinstance(test_size, int):
        total = ds.count()
        if not 0 < test_size < total:
            raise ValueError("If `test_size` is an int, it must be bigger than 0 and smaller than the size of the "
                             f"dataset ({total}). Got {test_size}.")
        fraction = test_size / total
    else:
        if not 0 < test_size < 1:
            raise ValueError("If `test_size` is a float, it must be bigger than 0 and smaller than 1. "
                             f"Got {test_size}.")
        fraction = test_size
    names = ds.columns()
    if names is not None and column not in names:
        raise KeyError(f"train_test_split(stratify={column!r}): no such column; the dataset has {names}")

    def flag(group: pa.Table) -> pa.Table:
        test = int(group.num_rows * fraction)
        return group.append_column(_SPLIT_FLAG, pa.array([True] * (group.num_rows - test) + [False] * test))

    flagged = ds.groupby(column).map_groups(flag, batch_format="pyarrow").materialize()
    train = flagged.filter(expr=f"{_SPLIT_FLAG} == True").drop_columns([_SPLIT_FLAG]).materialize()
    test = flagged.filter(expr=f"{_SPLIT_FLAG} == False").drop_columns([_SPLIT_FLAG]).materialize()
    return train, test
