"""SimpleImputer: fill missing values with the column mean, its most frequent value, or a constant."""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine import aggregate as A
from streamscope.preprocessors.base import Preprocessor, output_columns

_STRATEGIES = ("mean", "most_frequent", "constant")


class SimpleImputer(Preprocessor):
    """Fill missing values of ``columns`` with the column's mean (``strategy="mean"``), its most
    frequent value (``"most_frequent"``) or ``fill_value`` (``"constant"``, which needs no fit).

    Examples:
        >>> from streamscope.preprocessors import SimpleImputer
        >>> ds = streamscope.from_items([{"x": 1.0}, {"x": None}, {"x": 3.0}])
        >>> SimpleImputer(columns=["x"]).fit_transform(ds).take()
        [{'x': 1.0}, {'x': 2.0}, {'x': 3.0}]
        >>> SimpleImputer(columns=["x"], strategy="constant", fill_value=0.0).transform(ds).take()
        [{'x': 1.0}, {'x': 0.0}, {'x': 3.0}]
    """

    def __init__(self, columns: list[str], strategy: str = "mean", fill_value: Any = None, *,
                 output_columns: Optional[list[str]] = None):
        super().__init__()
        if strategy not in _STRATEGIES:
            raise ValueError(f"SimpleImputer: strategy must be one of {_STRATEGIES}, got {strategy!r}")
        if strategy == "constant" and fill_value is None:
            raise ValueError("SimpleImputer: strategy='constant' needs a fill_value")
        self.columns = list(columns)
        self.strategy = strategy
        self.fill_value = fill_value
        self.output_columns = output_columns_fn(self.columns, output_columns)
        self._is_fittable = strategy != "constant"

    def _fit(self, ds):
        if self.strategy == "mean":
            self.stats_ = dict(ds.aggregate(*[A.Mean(c) for c in self.columns]) or {})
            return
        stats = {}
        for c in self.columns:
            counts = ds.groupby(c).count().to_pandas()
            counts = counts[counts[c].notna()]
            if len(counts):
                top = counts.sort_values(["count()", c], ascending=[False, True]).iloc[0][c]
                stats[f"most_frequent({c})"] = top.item() if hasattr(top, "item") else top
            else:
                stats[f"most_frequent({c})"] = None
        self.stats_ = stats

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            if self.strategy == "constant":
                value = self.fill_value
            else:
                value = self.stats_[f"{self.strategy}({col})"]
            df[out] = df[col].fillna(value) if value is not None else df[col]
        return df


output_columns_fn = output_columns
