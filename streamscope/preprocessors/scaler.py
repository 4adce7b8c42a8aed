"""Scalers: StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler (Ray Data's stats_ keys and
semantics: a zero spread divides by 1 instead of producing inf/nan)."""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine import aggregate as A
from streamscope.preprocessors.base import Preprocessor, output_columns


def _nonzero(x: Any) -> Any:
    return 1 if x is None or x == 0 else x


class StandardScaler(Preprocessor):
    """``(x - mean) / std`` per column (population std, as Ray Data; a zero std divides by 1).

    Examples:
        >>> from streamscope.preprocessors import StandardScaler
        >>> ds = streamscope.from_items([{"x": 1.0}, {"x": 3.0}])
        >>> scaler = StandardScaler(columns=["x"]).fit(ds)
        >>> scaler.stats_
        {'mean(x)': 2.0, 'std(x)': 1.0}
        >>> scaler.transform(ds).take()
        [{'x': -1.0}, {'x': 1.0}]
    """

    def __init__(self, columns: list[str], output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        aggs = [a for c in self.columns for a in (A.Mean(c), A.Std(c, ddof=0))]
        self.stats_ = dict(ds.aggregate(*aggs) or {})

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            mean, std = self.stats_[f"mean({col})"], self.stats_[f"std({col})"]
            df[out] = (df[col] - mean) / _nonzero(std)
        return df


class MinMaxScaler(Preprocessor):
    """``(x - min) / (max - min)`` per column, so fitted values land in [0, 1] (a zero range
    divides by 1).

    Examples:
        >>> from streamscope.preprocessors import MinMaxScaler
        >>> ds = streamscope.from_items([{"x": 0}, {"x": 5}, {"x": 10}])
        >>> MinMaxScaler(columns=["x"]).fit_transform(ds).take()
        [{'x': 0.0}, {'x': 0.5}, {'x': 1.0}]
    """

    def __init__(self, columns: list[str], output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        aggs = [a for c in self.columns for a in (A.Min(c), A.Max(c))]
        self.stats_ = dict(ds.aggregate(*aggs) or {})

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            lo, hi = self.stats_[f"min({col})"], self.stats_[f"max({col})"]
            df[out] = (df[col] - lo) / _nonzero(hi - lo)
        return df


class MaxAbsScaler(Preprocessor):
    """``x / max(|x|)`` per column, so fitted values land in [-1, 1] and zeros stay zeros.

    Examples:
        >>> from streamscope.preprocessors import MaxAbsScaler
        >>> ds = streamscope.from_items([{"x": -4}, {"x": 2}])
        >>> MaxAbsScaler(columns=["x"]).fit_transform(ds).take()
        [{'x': -1.0}, {'x': 0.5}]
    """

    def __init__(self, columns: list[str], output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        self.stats_ = dict(ds.aggregate(*[A.AbsMax(c) for c in self.columns]) or {})

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            df[out] = df[col] / _nonzero(self.stats_[f"abs_max({col})"])
        return df


class RobustScaler(Preprocessor):
    """``(x - median) / (high quantile - low quantile)`` per column, quantiles (``quantile_range``,
    default the quartiles) computed exactly: outliers barely move the scale.

    Examples:
        >>> from streamscope.preprocessors import RobustScaler
        >>> ds = streamscope.from_items([{"x": v} for v in [1, 2, 3, 4, 5]])
        >>> RobustScaler(columns=["x"]).fit_transform(ds).take()
        [{'x': -1.0}, {'x': -0.5}, {'x': 0.0}, {'x': 0.5}, {'x': 1.0}]
    """

    def __init__(self, columns: list[str], quantile_range: tuple = (0.25, 0.75), output_columns: Optional[list[str]] = None,
                 quantile_precision: int = 800):
        super().__init__()
        self.columns = list(columns)
        self.quantile_range = tuple(quantile_range)
        self.output_columns = output_columns_fn(self.columns, output_columns)
        self.quantile_precision = quantile_precision

    def _fit(self, ds):
        lo, hi = self.quantile_range
        aggs = []
        for c in self.columns:
            aggs += [A.Quantile(c, q=lo, alias_name=f"low_quantile({c})"), A.Quantile(c, q=0.5, alias_name=f"median({c})"),
                     A.Quantile(c, q=hi, alias_name=f"high_quantile({c})")]
        self.stats_ = dict(ds.aggregate(*aggs) or {})

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            s = self.stats_
            spread = s[f"high_quantile({col})"] - s[f"low_quantile({col})"]
            df[out] = (df[col] - s[f"median({col})"]) / _nonzero(spread)
        return df


output_columns_fn = output_columns
