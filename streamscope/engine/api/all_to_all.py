"""All-to-all methods of Dataset (groupby, aggregates, sort, shuffles, join, zip, splits).

Each builds one ``Exchange`` logical operator whose spec (``streamscope.engine.physical.exchange``)
says what its map and reduce tasks compute; the physical ``ExchangeOperator`` runs them on the
worker pool. Methods that answer with Python values (``sum``, ``unique``, ``aggregate``) run the
exchange and read its one small result; the splits return materialized datasets whose blocks
stay in the store, built the way ``materialize`` builds its one (``Dataset._materialize_run``).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import Any, Optional, Union

import numpy as np
import pyarrow as pa

from streamscope.engine import aggregate as A
from streamscope.engine.api.derive import exchange
from streamscope.engine.api.grouped_data import GroupedData
from streamscope.engine.api.map_args import refuse_map_args
from streamscope.engine.api.train_test_splits import split_by_class, split_while_streaming
from streamscope.engine.physical.exchange.join import JoinSpec, check_join_key_types
from streamscope.engine.physical.exchange.positional import SliceSpec, ZipSpec
from streamscope.engine.physical.exchange.shuffle import HashRepartitionSpec, RandomShuffleSpec
from streamscope.engine.physical.exchange.sort import SortSpec
from streamscope.engine.remote_args import validate_remote_args


def shuffle_repartition(ds: Any, num_blocks: Optional[int], keys=None, sort: bool = False) -> Any:
    """``repartition(n, shuffle=True)`` (random rows per block) or ``repartition(n, keys=...)``
    (rows with equal keys in one block, sorted by key when ``sort``)."""
    if num_blocks is not None and num_blocks <= 0:
        raise ValueError(f"num_blocks must be positive, got {num_blocks}")
    if keys:
        keys = [keys] if isinstance(keys, str) else list(keys)
        return exchange(ds, f"Repartition[keys={keys}]", HashRepartitionSpec(keys, num_blocks, sort), "HashShuffle")
    return exchange(ds, f"Repartition[num_blocks={num_blocks}, shuffle]", RandomShuffleSpec(None, num_blocks), "RandomShuffle")


def _seed(seed: Any) -> Optional[int]:
    if seed is None or isinstance(seed, numbers.Integral):
        return seed
    value = getattr(seed, "seed", None)  # Ray's RandomSeedConfig
    if value is None or isinstance(value, numbers.Integral):
        return value
    raise TypeError(f"seed must be an int or None, got {seed!r}")


class _Sampler:
    """``random_sample``: keep each row with probability ``fraction`` (vectorized mask)."""

    def __init__(self, fraction: float, seed: Optional[int]):
        self.fraction, self.seed, self.calls = fraction, seed, 0

    def __call__(self, batch: pa.Table) -> pa.Table:
        self.calls += 1
        rng = np.random.default_rng(None if self.seed is None else [self.seed, batch.num_rows, self.calls])
        return batch.filter(pa.array(rng.random(batch.num_rows) < self.fraction))


class AllToAllMixin:
    # ---- grouping and aggregation -----------------------------------------------------------
    """Dataset methods whose output rows depend on many input blocks: grouping, aggregates,
    sorts, shuffles, joins, zips and splits, each one ``Exchange`` of map and reduce tasks.
    """

    def groupby(self, key: Union[str, list[str], None], num_partitions: Optional[int] = None):
        """Group rows by ``key`` (a column or a list of columns) for :class:`GroupedData`'s
        aggregations and ``map_groups``; ``num_partitions`` sets how many reduce tasks share the
        groups.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> ds.groupby("k").sum("v").sort("k").take()
            [{'k': 'a', 'sum(v)': 4}, {'k': 'b', 'sum(v)': 2}]
        """
        return GroupedData(self, key, num_partitions)

    def aggregate(self, *aggs: A.AggregateFnV2) -> Optional[dict]:
        """Aggregate the whole dataset: a dict from Ray Data's column names (``count()``,
        ``mean(x)``...) to values; None when the dataset is empty.

        Examples:
            >>> from streamscope.aggregate import Count, Mean
            >>> streamscope.range(10).aggregate(Count(), Mean("id"))
            {'count()': 10, 'mean(id)': 4.5}
        """
        table = self.groupby(None).aggregate(*aggs).to_arrow()
        if table.num_rows == 0:
            return None
        return table.to_pylist()[0]

    def _global(self, cls, on, default_cols: bool = True, **kw):
        cols = [on] if isinstance(on, str) else (list(on) if on is not None else None)
        if cols is None:
            schema = self.schema()
            cols = [f.name for f in (schema.base_schema if schema is not None else [])
                    if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)]
        result = self.aggregate(*[cls(c, **kw) for c in cols])
        if result is None:
            return None
        if isinstance(on, str):
            return result[f"{cls._label}({on})"]
        return result

    def sum(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The sum of column ``on`` (a number), or a dict of sums for a list of columns (all numeric
        columns when ``on`` is None). Nulls are skipped unless ``ignore_nulls=False``.

        Examples:
            >>> streamscope.range(10).sum("id")
            45
            >>> streamscope.from_items([{"a": 1, "b": 2}, {"a": 3, "b": 4}]).sum(["a", "b"])
            {'sum(a)': 4, 'sum(b)': 6}
        """
        return self._global(A.Sum, on, ignore_nulls=ignore_nulls)

    def min(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The smallest value of column ``on`` (a dict for a list of columns).

        Examples:
            >>> streamscope.from_items([3, 1, 2]).min("item")
            1
        """
        return self._global(A.Min, on, ignore_nulls=ignore_nulls)

    def max(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The largest value of column ``on`` (a dict for a list of columns).

        Examples:
            >>> streamscope.from_items([3, 1, 2]).max("item")
            3
        """
        return self._global(A.Max, on, ignore_nulls=ignore_nulls)

    def mean(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The mean of column ``on`` (a dict for a list of columns).

        Examples:
            >>> streamscope.range(10).mean("id")
            4.5
        """
        return self._global(A.Mean, on, ignore_nulls=ignore_nulls)

    def std(self, on: Union[str, list[str], None] = None, ddof: int = 1, ignore_nulls: bool = True):
        """The standard deviation of column ``on``: the sample one by default (``ddof=1``), the
        population one with ``ddof=0``. Partial results merge with the parallel-variance formula, so
        it stays accurate across many blocks.

        Examples:
            >>> round(streamscope.range(10).std("id"), 4)
            3.0277
            >>> round(streamscope.range(10).std("id", ddof=0), 4)
            2.8723
        """
        return self._global(A.Std, on, ddof=ddof, ignore_nulls=ignore_nulls)

    def unique(self, column: str, ignore_nulls: bool = False) -> list:
        """The distinct values of ``column`` (None first when present, the rest sorted).

        Examples:
            >>> streamscope.from_items([3, 1, 3, 2]).unique("item")
            [1, 2, 3]
        """
        result = self.aggregate(A.Unique(column, ignore_nulls=ignore_nulls))
        return [] if result is None else list(result[f"unique({column})"])

    # ---- ordering and shuffles --------------------------------------------------------------
    def sort(self, key: Union[str, list[str]], descending: Union[bool, list[bool]] = False, boundaries: Optional[list] = None):
        """Rows ordered by ``key`` (a column or a list), ascending unless ``descending`` (one bool, or
        one per key). A sample of the keys picks range boundaries, so each reduce task sorts one
        range and the ranges come out in order.

        Examples:
            >>> ds = streamscope.from_items([{"a": 2, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "a"}])
            >>> ds.sort("a").take(1)
            [{'a': 1, 'b': 'y'}]
            >>> ds.sort(["a", "b"], descending=[True, False]).take()
            [{'a': 2, 'b': 'a'}, {'a': 2, 'b': 'x'}, {'a': 1, 'b': 'y'}]
        """
        keys = [key] if isinstance(key, str) else list(key)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"sort: key must be a column name or a non-empty list of names, got {key!r}")
        desc = [bool(descending)] * len(keys) if isinstance(descending, bool) else list(descending)
        if len(desc) != len(keys):
            raise ValueError(f"sort: descending has {len(desc)} entries for {len(keys)} keys")
        return exchange(self, f"Sort[keys={keys}, descending={desc}]", SortSpec(keys, desc, boundaries), "Sort")

    def random_shuffle(self, *, seed: Any = None, num_blocks: Optional[int] = None, **ray_remote_args):
        """Rows in random order (a full shuffle through an exchange; ``seed`` makes it repeatable).
        For a cheaper shuffle per epoch see ``randomize_block_order`` and the local shuffle buffer
        of ``iter_batches``.

        Examples:
            >>> ds = streamscope.range(5).random_shuffle(seed=42)
            >>> sorted(row["id"] for row in ds.take_all())  # the same rows, in another order
            [0, 1, 2, 3, 4]
        """
        if ray_remote_args:
            validate_remote_args("random_shuffle", ray_remote_args)  # unknown keys: TypeError, closest name
            refuse_map_args("random_shuffle", "the shuffle's map and reduce tasks are sized by the exchange, not "
                            "per call", **ray_remote_args)
        seed = _seed(seed)
        return exchange(self, f"RandomShuffle[seed={seed}]", RandomShuffleSpec(seed, num_blocks), "RandomShuffle")

    def random_sample(self, fraction: float, *, seed: Any = None):
        """Each row kept with probability ``fraction`` (so about ``fraction`` of the rows, not an
        exact count); vectorized, no exchange.

        Examples:
            >>> n = streamscope.range(1000).random_sample(0.1, seed=7).count()
            >>> 50 < n < 150
            True
        """
        if not 0 <= fraction <= 1:
            raise ValueError(f"random_sample: fraction must be in [0, 1], got {fraction}")
        return self.map_batches(_Sampler(fraction, _seed(seed)), batch_format="pyarrow")

    # ---- combining datasets -----------------------------------------------------------------
    def join(self, ds: Any, join_type: str, num_partitions: Optional[int] = None, on: tuple = ("id",),
             right_on: Optional[tuple] = None, left_suffix: Optional[str] = None, right_suffix: Optional[str] = None,
             *, partition_size_hint: Optional[int] = None, aggregator_ray_remote_args: Optional[dict] = None,
             validate_schemas: bool = False):
        """Join with ``ds`` on key columns ``on`` (``right_on`` when the right side names them
        differently): ``join_type`` is ``"inner"``, ``"left_outer"``, ``"right_outer"`` or
        ``"full_outer"``. Both sides are hash-partitioned by key, and each reduce task joins one
        partition with pyarrow.

        Examples:
            >>> left = streamscope.from_items([{"id": 1, "a": "x"}, {"id": 2, "a": "y"}])
            >>> right = streamscope.from_items([{"id": 2, "b": True}, {"id": 3, "b": False}])
            >>> left.join(right, "inner", on=("id",)).take_all()
            [{'id': 2, 'a': 'y', 'b': True}]
            >>> left.join(right, "left_outer", on=("id",)).sort("id").take()
            [{'id': 1, 'a': 'x', 'b': None}, {'id': 2, 'a': 'y', 'b': True}]
        """
        on = [on] if isinstance(on, str) else list(on)
        right_on = [right_on] if isinstance(right_on, str) else (list(right_on) if right_on else None)
        if partition_size_hint is not None:
            warnings.warn("join: partition_size_hint is deprecated and ignored (as in Ray Data 2.60): reduce tasks "
                          "are sized from the partitions' observed sizes", DeprecationWarning, stacklevel=2)
        if aggregator_ray_remote_args:
            raise ValueError("join: aggregator_ray_remote_args= is not supported by streamscope: the join's reduce "
                             "side runs as tasks of the exchange, not as aggregator actors; cap it with "
                             "DataContext.execution_options.resource_limits or num_partitions=")
        if validate_schemas:
            check_join_key_types(self.schema(), ds.schema(), on, right_on or on)
        spec = JoinSpec(join_type, num_partitions, on, right_on, left_suffix, right_suffix)
        return exchange(self, f"Join[{join_type}, on={on}]", spec, "Join", (ds,))

    def zip(self, *other: Any):
        """Columns of every dataset side by side, row by row (duplicate names get ``_1``...); the
        datasets must have the same number of rows.

        Examples:
            >>> squares = streamscope.range(3).map(lambda row: {"square": row["id"] ** 2})
            >>> streamscope.range(3).zip(squares).take()
            [{'id': 0, 'square': 0}, {'id': 1, 'square': 1}, {'id': 2, 'square': 4}]
        """
        if not other:
            raise ValueError("zip() needs at least one other dataset")
        return exchange(self, "Zip", ZipSpec(1 + len(other)), "Zip", tuple(other))

    # ---- splits -------------------------------------------------------------------------------
    def split_at_indices(self, indices: list[int]) -> list:
        """MaterializedDatasets cut at the row ``indices`` (sorted): ``[2, 5]`` gives rows
        ``[0, 2)``, ``[2, 5)`` and ``[5, end)``. One run computes every part.

        Examples:
            >>> parts = streamscope.range(10).split_at_indices([2, 5])
            >>> [part.count() for part in parts]
            [2, 3, 5]
            >>> parts[1].take()
            [{'id': 2}, {'id': 3}, {'id': 4}]
        """
        if not indices:
            raise ValueError("split_at_indices: indices must not be empty")
        if any(i < 0 for i in indices):
            raise ValueError(f"split_at_indices: indices must be non-negative, got {indices}")
        if sorted(indices) != list(indices):
            raise ValueError(f"split_at_indices: indices must be sorted, got {indices}")
        n = self.count()
        cuts = [0] + [min(i, n) for i in indices] + [n]
        return _slice_into(self, list(zip(cuts[:-1], cuts[1:])))

    def split(self, n: int, *, equal: bool = False, locality_hints: Optional[list] = None) -> list:
        """``n`` MaterializedDatasets of consecutive rows, as equal in size as the row count allows;
        with ``equal=True`` exactly equal, dropping the leftover rows.

        Examples:
            >>> [part.count() for part in streamscope.range(10).split(3)]
            [3, 3, 4]
            >>> [part.count() for part in streamscope.range(10).split(3, equal=True)]
            [3, 3, 3]
        """
        if n <= 0:
            raise ValueError(f"split: n must be positive, got {n}")
        total = self.count()
        if equal:
            per = total // n
            bounds = [(i * per, (i + 1) * per) for i in range(n)]
        else:
            cuts = [total * i // n for i in range(n + 1)]
            bounds = list(zip(cuts[:-1], cuts[1:]))
        return _slice_into(self, bounds)

    def split_proportionately(self, proportions: list[float]) -> list:
        """MaterializedDatasets holding the given fractions of the rows, plus one more with the
        rest (so ``proportions`` must sum to less than 1).

        Examples:
            >>> [part.count() for part in streamscope.range(10).split_proportionately([0.2, 0.5])]
            [2, 5, 3]
        """
        if not proportions or any(p <= 0 for p in proportions) or sum(proportions) >= 1:
            raise ValueError("split_proportionately: proportions must be positive and sum to less than 1, "
                             f"got {proportions}")
        total = self.count()
        indices, acc = [], 0.0
        for p in proportions:
            acc += p
            indices.append(int(total * acc))
        return self.split_at_indices(indices)

    def train_test_split(self, test_size: Union[int, float], *, shuffle: bool = False, seed: Optional[int] = None,
                         stratify: Optional[str] = None) -> tuple:
        """``(train, test)`` MaterializedDatasets: ``test_size`` is a fraction of the rows or a row
        count, taken from the end; ``shuffle=True`` shuffles first (``seed`` makes it repeatable).
        ``stratify="col"`` keeps each class's share: the last ``int(n * fraction)`` rows of each
        class of ``col`` go to test, as Ray Data does it (a grouped pass, then two filters).

        Examples:
            >>> train, test = streamscope.range(10).train_test_split(test_size=0.2)
            >>> train.count(), test.count()
            (8, 2)
            >>> test.take()
            [{'id': 8}, {'id': 9}]
            >>> ds = streamscope.from_items([{"y": i % 2} for i in range(10)])
            >>> train, test = ds.train_test_split(test_size=0.4, stratify="y")
            >>> sorted(row["y"] for row in test.take_all())
            [0, 0, 1, 1]
        """
        if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
            raise TypeError(f"`test_size` must be int or float got {type(test_size)}.")
        if shuffle and stratify is not None:
            raise ValueError("Cannot specify both 'shuffle=True' and 'stratify' parameters. Stratified splitting "
                             "maintains class proportions and is incompatible with shuffling.")
        if stratify is not None:
            return split_by_class(self, test_size, stratify)
        ds = self.random_shuffle(seed=seed).materialize() if shuffle else self
        total = ds.count()
        if isinstance(test_size, float):
            if not 0 < test_size < 1:
                raise ValueError(f"train_test_split: a float test_size must be in (0, 1), got {test_size}")
            test_n = int(total * test_size)
        else:
            if not 0 < test_size < total:
                raise ValueError(f"train_test_split: an int test_size must be in (0, {total}), got {test_size}")
            test_n = int(test_size)
        train, test = ds.split_at_indices([total - test_n])
        return train, test

    def streaming_train_test_split(self, test_size: float, *, split_type: str = "random",
                                   hash_column: Optional[str] = None, seed: Optional[int] = None,
                                   **ray_remote_kwargs) -> tuple:
        """``(train, test)`` Datasets split row by row while streaming (nothing is materialized),
        as Ray Data's: ``split_type="hash"`` puts a row in train when the blake2b hash of its
        ``hash_column`` value falls below ``1 - test_size`` of the range; ``"random"`` draws
        per row (``seed`` changes the draw). Each row lands on exactly one side, in every
        execution of either dataset: a row's draw is derived from its values and ``seed``
        (not from task numbers or batch boundaries), so identical rows land on the same side.

        Examples:
            >>> train, test = streamscope.range(8).streaming_train_test_split(0.25, split_type="hash", hash_column="id")
            >>> sorted(r["id"] for r in train.take_all()), sorted(r["id"] for r in test.take_all())
            ([0, 2, 3, 4, 5, 6], [1, 7])
        """
        return split_while_streaming(self, test_size, split_type, hash_column, seed, ray_remote_kwargs)


def _slice_into(ds: Any, bounds: list[tuple[int, int]]) -> list:
    """Run one slicing exchange; hand each range's blocks to its own MaterializedDataset (through
    ``Dataset._materialize_run``, which frees every received block if the run fails midway)."""
    sliced = exchange(ds, f"Split[{len(bounds)}]", SliceSpec(bounds), "Split")
    return sliced._materialize_run("split", functools.partial(_group_by_bounds, bounds), label="Split")


def _group_by_bounds(bounds: list[tuple[int, int]], blocks: list) -> list[list]:
    """The slicing exchange emits each range's blocks in range order: cut the delivered blocks
    into one group per range by their row counts."""
    groups, pos = [], 0
    for lo, hi in bounds:
        want, group = max(0, hi - lo), []
        while want > 0 and pos < len(blocks):
            group.append(blocks[pos])
            want -= blocks[pos][1].num_rows
            pos += 1
        groups.append(group)
    return groups
