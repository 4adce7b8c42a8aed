"""Encoders of list and categorical columns (Ray Data's): MultiHotEncoder (a count vector over
the elements of list values) and Categorizer (pandas Categorical dtypes)."""

from __future__ import annotations

import collections
from typing import Any, Optional

import numpy as np

from streamscope.engine import aggregate as A
from streamscope.preprocessors.base import Preprocessor, output_columns
from streamscope.preprocessors.value_counts import CounterAggregate, counts_of


def _elements(value: Any) -> list:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _ElementCounts(CounterAggregate):
    """How often each element of a column's list values (or each scalar value) occurs."""

    def __init__(self, on: str):
        super().__init__(f"element_counts({on})", on, "MultiHotEncoder")

    def values_of(self, value: Any) -> list:
        return [e for e in _elements(value) if e is not None]


def _sorted(values: list) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


class MultiHotEncoder(Preprocessor):
    """Each list value of ``columns`` becomes a vector of counts over the column's categories (the
    sorted distinct elements ``fit`` found, ``stats_["unique_values(col)"]``: {element: index});
    a scalar counts as a one-element list, unseen elements are ignored. ``max_categories={col: n}``
    keeps the n most frequent elements.

    Examples:
        >>> from streamscope.preprocessors import MultiHotEncoder
        >>> ds = streamscope.from_items([{"genre": ["comedy", "action"]}, {"genre": ["drama", "comedy", "comedy"]}])
        >>> encoder = MultiHotEncoder(columns=["genre"]).fit(ds)
        >>> encoder.stats_
        {'unique_values(genre)': {'action': 0, 'comedy': 1, 'drama': 2}}
        >>> [r["genre"] for r in encoder.transform(ds).take()]
        [[1, 1, 0], [0, 2, 1]]
    """

    def __init__(self, columns: list[str], *, max_categories: Optional[dict] = None, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.max_categories = dict(max_categories or {})
        unknown = [c for c in self.max_categories if c not in self.columns]
        if unknown:
            raise ValueError(f"MultiHotEncoder: max_categories names column(s) {unknown} that are not in columns")
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        result = ds.aggregate(*[_ElementCounts(c) for c in self.columns]) or {}
        for c in self.columns:
            counts = counts_of(result, f"element_counts({c})")
            values = list(counts)
            if c in self.max_categories:
                ranked = sorted(counts.items(), key=lambda kv: -kv[1])
                values = [v for v, _ in ranked[: self.max_categories[c]]]
            self.stats_[f"unique_values({c})"] = {v: i for i, v in enumerate(_sorted(values))}

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"MultiHotEncoder: no column {col!r} (columns: {list(df.columns)})")
            categories = list(self.stats_[f"unique_values({col})"])

            def encode(value: Any) -> list:
                counts = collections.Counter(_elements(value)) if value is not None else collections.Counter()
                return [counts.get(x, 0) for x in categories]

            df[out] = [encode(v) for v in df[col].tolist()]
        return df


class Categorizer(Preprocessor):
    """Give ``columns`` pandas' Categorical dtype: the categories are the sorted distinct
    non-null values ``fit`` found, unless ``dtypes={col: pd.CategoricalDtype(...)}`` gives them.
    ``stats_`` maps each column to its dtype. Useful before a model that reads categories
    (LightGBM, XGBoost); in a Dataset the column is Arrow's dictionary type.

    Examples:
        >>> from streamscope.preprocessors import Categorizer
        >>> ds = streamscope.from_items([{"s": "b"}, {"s": "a"}, {"s": "b"}])
        >>> cat = Categorizer(columns=["s"]).fit(ds)
        >>> list(cat.stats_["s"].categories)
        ['a', 'b']
        >>> cat.transform_batch(ds.to_pandas())["s"].cat.codes.tolist()
        [1, 0, 1]
    """

    def __init__(self, columns: list[str], dtypes: Optional[dict] = None, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.dtypes = dict(dtypes or {})
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        import pandas as pd

        self.stats_.update(self.dtypes)
        todo = [c for c in self.columns if c not in self.dtypes]
        if todo:
            result = ds.aggregate(*[A.Unique(c, ignore_nulls=True) for c in todo]) or {}
            for c in todo:
                values = [v for v in (result.get(f"unique({c})") or []) if v is not None and v == v]
                self.stats_[c] = pd.CategoricalDtype(values)

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"Categorizer: no column {col!r} (columns: {list(df.columns)})")
            df[out] = df[col].astype(self.stats_[col])
        return df


output_columns_fn = output_columns
