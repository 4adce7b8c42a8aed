"""Encoders: OneHotEncoder, OrdinalEncoder, LabelEncoder. Categories are the sorted distinct
values found by ``fit`` (one Unique aggregation pass over all columns), stored in ``stats_`` as
``unique_values(col)`` -> {value: index}, as Ray Data names them."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from streamscope.engine import aggregate as A
from streamscope.preprocessors.base import Preprocessor, output_columns


def _fit_uniques(ds: Any, columns: list[str], max_categories: Optional[dict] = None) -> dict:
    stats = {}
    max_categories = max_categories or {}
    plain = [c for c in columns if c not in max_categories]
    if plain:
        result = ds.aggregate(*[A.Unique(c, ignore_nulls=True) for c in plain]) or {}
        for c in plain:
            values = result.get(f"unique({c})") or []
            stats[f"unique_values({c})"] = {v: i for i, v in enumerate(values)}
    for c in max_categories:
        counts = ds.groupby(c).count().to_pandas()
        counts = counts[counts[c].notna()].sort_values(["count()", c], ascending=[False, True])
        top = sorted(counts[c].head(max_categories[c]).tolist())
        stats[f"unique_values({c})"] = {v: i for i, v in enumerate(top)}
    return stats


class OneHotEncoder(Preprocessor):
    """Each of ``columns`` becomes a 0/1 vector over its categories (the sorted distinct values
    ``fit`` found; nulls and unseen values: all 0). ``max_categories={col: n}`` keeps only the
    n most frequent.

    Examples:
        >>> from streamscope.preprocessors import OneHotEncoder
        >>> ds = streamscope.from_items([{"color": "red"}, {"color": "blue"}, {"color": "red"}])
        >>> OneHotEncoder(columns=["color"]).fit_transform(ds).take()
        [{'color': array([0, 1])}, {'color': array([1, 0])}, {'color': array([0, 1])}]
    """

    def __init__(self, columns: list[str], *, max_categories: Optional[dict] = None, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.max_categories = dict(max_categories or {})
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        self.stats_ = _fit_uniques(ds, self.columns, self.max_categories)

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            mapping = self.stats_[f"unique_values({col})"]
            codes = df[col].map(mapping)
            valid = codes.notna().to_numpy()
            onehot = np.zeros((len(df), len(mapping)), dtype=np.int64)
            onehot[np.nonzero(valid)[0], codes[valid].astype(np.int64).to_numpy()] = 1
            df[out] = list(onehot)
        return df


class OrdinalEncoder(Preprocessor):
    """Each value of ``columns`` becomes its category index (categories sorted; unseen values and
    nulls: null).

    Examples:
        >>> from streamscope.preprocessors import OrdinalEncoder
        >>> encoder = OrdinalEncoder(columns=["size"]).fit(streamscope.from_items([{"size": "M"}, {"size": "L"}]))
        >>> encoder.stats_
        {'unique_values(size)': {'L': 0, 'M': 1}}
        >>> encoder.transform(streamscope.from_items([{"size": "M"}, {"size": "XL"}])).take()
        [{'size': 1}, {'size': None}]
    """

    def __init__(self, columns: list[str], *, encode_lists: bool = True, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.encode_lists = encode_lists
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        self.stats_ = _fit_uniques(ds, self.columns)

    def _transform_pandas(self, df):
        import pandas as pd

        for col, out in zip(self.columns, self.output_columns):
            mapping = self.stats_[f"unique_values({col})"]
            df[out] = df[col].map(mapping).astype(pd.Int64Dtype())
        return df


class LabelEncoder(Preprocessor):
    """The label column's values become their category index (categories sorted), the integer
    class ids a classifier wants; ``inverse_transform`` maps them back.

    Examples:
        >>> from streamscope.preprocessors import LabelEncoder
        >>> ds = streamscope.from_items([{"animal": "dog"}, {"animal": "cat"}, {"animal": "dog"}])
        >>> LabelEncoder(label_column="animal").fit_transform(ds).take()
        [{'animal': 1}, {'animal': 0}, {'animal': 1}]
    """

    def __init__(self, label_column: str, *, output_column: Optional[str] = None):
        super().__init__()
        self.label_column = label_column
        self.output_column = output_column or label_column

    def _fit(self, ds):
        self.stats_ = _fit_uniques(ds, [self.label_column])

    def _transform_pandas(self, df):
        import pandas as pd

        mapping = self.stats_[f"unique_values({self.label_column})"]
        df[self.output_column] = df[self.label_column].map(mapping).astype(pd.Int64Dtype())
        return df

    def inverse_transform(self, ds: Any) -> Any:
        """A Dataset with the class ids mapped back to the original labels.

        Examples:
            >>> from streamscope.preprocessors import LabelEncoder
            >>> ds = streamscope.from_items([{"animal": "dog"}, {"animal": "cat"}])
            >>> encoder = LabelEncoder(label_column="animal")
            >>> encoded = encoder.fit_transform(ds)
            >>> encoder.inverse_transform(encoded).take()
            [{'animal': 'dog'}, {'animal': 'cat'}]
        """
        inverse = {i: v for v, i in self.stats_[f"unique_values({self.label_column})"].items()}
        col = self.output_column

        def invert(df):
            df[self.label_column] = df[col].map(inverse)
            return df

        return ds.map_batches(invert, batch_format="pandas")


output_columns_fn = output_columns
