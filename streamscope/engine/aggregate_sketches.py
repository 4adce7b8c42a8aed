"""Approximate aggregations of Ray Data 2.60 on Apache DataSketches (the optional ``datasketches``
package: ``pip install 'streamscope[sketches]'``).

Why sketches: an exact quantile gathers every value of a group into one task; a KLL sketch keeps
a few thousand values whatever the input size, and two sketches merge into one with the same
error bound, so partial sketches travel through the exchange (serialized to bytes) like any other
partial state and the group's values never meet in memory.

Accuracy (what the tests check):
- ``ApproximateQuantile`` (KLL sketch of 32-bit floats, as Ray Data uses): the returned value's
  rank is within the sketch's normalized rank error of the requested one, with 99% confidence:
  about 1.33% for ``quantile_precision=200`` and 0.35% for the default 800 (values are rounded to
  float32 on the way in).
- ``ApproximateTopK`` (frequent-items sketch of up to ``2**log_capacity`` entries): counts are
  exact while the column has fewer distinct values than that; beyond it, an item whose true count
  exceeds ``N / 2**log_capacity`` is never missed and reported counts are within that error.
"""

from __future__ import annotations

import collections
import pickle
from typing import Any, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.aggregate import AggregateFnV2


def datasketches() -> Any:
    """The ``datasketches`` module, or an ImportError naming the extra that brings it."""
    try:
        import datasketches as module
    except ImportError as e:
        raise ImportError("ApproximateQuantile and ApproximateTopK need the datasketches package: "
                          "pip install 'streamscope[sketches]' (or pip install datasketches)") from e
    return module


def _column(agg: AggregateFnV2, block: pa.Table) -> pa.ChunkedArray:
    on = agg.get_target_column()
    if on not in block.column_names:
        raise KeyError(f"{agg.name}: no column {on!r} (columns: {block.column_names})")
    return block.column(on)


class ApproximateQuantile(AggregateFnV2):
    """Approximate ``quantiles`` of numeric column ``on`` (``approx_quantile(on)``, a list of
    floats in the order asked) from a mergeable KLL sketch; ``quantile_precision`` is the
    sketch's K (more: smaller error, bigger sketch). Nulls are skipped. See the module docstring
    for the error bound.

    Examples:
        >>> from streamscope.aggregate import ApproximateQuantile
        >>> ds = streamscope.from_items([{"v": v} for v in [20.0, 40.0, 60.0, 80.0, 100.0]])
        >>> ds.aggregate(ApproximateQuantile("v", quantiles=[0.1, 0.5, 0.9]))
        {'approx_quantile(v)': [20.0, 60.0, 100.0]}
    """

    def __init__(self, on: str, quantiles: List[float], quantile_precision: int = 800, alias_name: Optional[str] = None):
        if not isinstance(on, str):
            raise TypeError(f"ApproximateQuantile: on must be a column name (str), got {on!r}")
        qs = [float(q) for q in quantiles]
        if not qs or any(not 0.0 <= q <= 1.0 for q in qs):
            raise ValueError(f"ApproximateQuantile: quantiles must be a non-empty list of numbers in [0, 1], got {quantiles!r}")
        if not isinstance(quantile_precision, int) or quantile_precision < 8:
            raise ValueError(f"ApproximateQuantile: quantile_precision must be an int >= 8, got {quantile_precision!r}")
        datasketches()  # fail at plan time, not in a task
        self._quantiles = qs
        self._quantile_precision = quantile_precision
        super().__init__(alias_name or f"approx_quantile({on})", zero_factory=self._empty, on=on, ignore_nulls=True)

    def _sketch(self) -> Any:
        return datasketches().kll_floats_sketch(k=self._quantile_precision)

    def _empty(self) -> bytes:
        return self._sketch().serialize()

    def aggregate_block(self, block: pa.Table) -> bytes:
        """A serialized sketch of the block's valid values."""
        column = _column(self, block)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type)
                or pa.types.is_null(column.type)):
            raise TypeError(f"{self.name}: column {self._target_col_name!r} must be numeric, got {column.type}")
        values = np.asarray(pc.drop_null(column).cast(pa.float64()), dtype=np.float64).astype(np.float32)
        sketch = self._sketch()
        if len(values):
            sketch.update(values)
        return sketch.serialize()

    def combine(self, current_accumulator: bytes, new: bytes) -> bytes:
        """Merge two serialized sketches."""
        cls = datasketches().kll_floats_sketch
        merged = cls.deserialize(current_accumulator)
        merged.merge(cls.deserialize(new))
        return merged.serialize()

    def finalize(self, accumulator: bytes) -> Optional[List[float]]:
        """The asked quantiles, or None for a group with no valid value."""
        sketch = datasketches().kll_floats_sketch.deserialize(accumulator)
        if sketch.is_empty():
            return None
        return [float(v) for v in sketch.get_quantiles(self._quantiles)]


class ApproximateTopK(AggregateFnV2):
    """The ``k`` most frequent values of ``on`` (``approx_topk(on)``): a list of
    ``{on: value, "count": n}``, most frequent first, from a mergeable frequent-items sketch of
    ``2**log_capacity`` entries. ``encode_lists=True`` counts the elements of list values instead
    of whole lists. Nulls are skipped. Values travel pickled (any picklable value works).

    Examples:
        >>> from streamscope.aggregate import ApproximateTopK
        >>> ds = streamscope.from_items([{"w": w} for w in ["apple", "banana", "apple", "cherry", "apple", "banana"]])
        >>> ds.aggregate(ApproximateTopK("w", k=2))
        {'approx_topk(w)': [{'w': 'apple', 'count': 3}, {'w': 'banana', 'count': 2}]}
    """

    def __init__(self, on: str, k: int, log_capacity: int = 15, alias_name: Optional[str] = None, encode_lists: bool = False):
        if not isinstance(on, str):
            raise TypeError(f"ApproximateTopK: on must be a column name (str), got {on!r}")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"ApproximateTopK: k must be a positive int, got {k!r}")
        if not isinstance(log_capacity, int) or not 3 <= log_capacity <= 26:
            raise ValueError(f"ApproximateTopK: log_capacity must be an int in [3, 26], got {log_capacity!r}")
        datasketches()
        self.k = k
        self._log_capacity = log_capacity
        self._encode_lists = bool(encode_lists)
        super().__init__(alias_name or f"approx_topk({on})", zero_factory=self._empty, on=on, ignore_nulls=True)

    def _sketch(self) -> Any:
        return datasketches().frequent_strings_sketch(lg_max_k=self._log_capacity)

    def _empty(self) -> bytes:
        return self._sketch().serialize()

    def aggregate_block(self, block: pa.Table) -> bytes:
        """A serialized sketch of the block's values (each counted once per row)."""
        column = _column(self, block)
        if self._encode_lists and (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
            column = pc.list_flatten(column)
        column = pc.drop_null(column)
        sketch = self._sketch()
        try:
            counts = pc.value_counts(column)
            pairs = zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())
        except pa.ArrowNotImplementedError:  # lists, structs: count them in Python
            pairs = collections.Counter(pickle.dumps(v) for v in column.to_pylist()).items()
            pairs = ((pickle.loads(k), c) for k, c in pairs)
        for value, count in pairs:
            sketch.update(pickle.dumps(value).hex(), count)
        return sketch.serialize()

    def combine(self, current_accumulator: bytes, new: bytes) -> bytes:
        """Merge two serialized sketches."""
        cls = datasketches().frequent_strings_sketch
        merged = cls.deserialize(current_accumulator)
        merged.merge(cls.deserialize(new))
        return merged.serialize()

    def finalize(self, accumulator: bytes) -> list:
        """The top ``k`` items with their estimated counts."""
        ds = datasketches()
        items = ds.frequent_strings_sketch.deserialize(accumulator).get_frequent_items(
            ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        on = self.get_target_column()
        return [{on: pickle.loads(bytes.fromhex(item[0])), "count": int(item[1])} for item in items[: self.k]]


__all__ = ["ApproximateQuantile", "ApproximateTopK"]
