"""A Counter as an aggregation's partial state: what the fitted preprocessors that count values
(CountVectorizer's tokens, MultiHotEncoder's elements) share.

Why pickled at the end: tokens and elements may be of any type, so the finished Counter leaves
the exchange as one binary value, and :func:`counts_of` turns it back into a Counter.
"""

from __future__ import annotations

import collections
import pickle
from typing import Iterable

import pyarrow as pa

from streamscope.engine.aggregate import AggregateFnV2


class CounterAggregate(AggregateFnV2):
    """Counts what :meth:`values_of` yields for each non-null value of column ``on``; partial
    Counters are merged across tasks. ``owner`` names the preprocessor in errors.

    Examples:
        >>> class Letters(CounterAggregate):
        ...     def values_of(self, value):
        ...         return list(value)
        >>> ds = streamscope.from_items([{"w": "ab"}, {"w": "b"}])
        >>> counts_of(ds.aggregate(Letters("letters(w)", "w", "Example")), "letters(w)")
        Counter({'b': 2, 'a': 1})
    """

    def __init__(self, name: str, on: str, owner: str):
        super().__init__(name, zero_factory=collections.Counter, on=on, ignore_nulls=True)
        self._owner = owner

    def values_of(self, value) -> Iterable:
        """What one non-null cell contributes to the counts."""
        raise NotImplementedError

    def aggregate_block(self, block: pa.Table) -> collections.Counter:
        if self._target_col_name not in block.column_names:
            raise KeyError(f"{self._owner}: no column {self._target_col_name!r} (columns: {block.column_names})")
        counts: collections.Counter = collections.Counter()
        for value in block.column(self._target_col_name).to_pylist():
            if value is not None:
                counts.update(self.values_of(value))
        return counts

    def combine(self, current_accumulator: collections.Counter, new: collections.Counter) -> collections.Counter:
        merged = collections.Counter(current_accumulator)
        merged.update(new)
        return merged

    def finalize(self, accumulator: collections.Counter) -> bytes:
        return pickle.dumps(accumulator)


def counts_of(result: dict, name: str) -> collections.Counter:
    """The Counter a :class:`CounterAggregate` named ``name`` produced in an aggregate result.

    Examples:
        >>> counts_of({}, "letters(w)")
        Counter()
    """
    data = result.get(name)
    return pickle.loads(data) if data is not None else collections.Counter()
