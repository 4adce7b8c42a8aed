"""K-bins discretizers (Ray Data's): each value becomes the index (or label) of its bin, with
``pandas.cut`` semantics. UniformKBinsDiscretizer fits equal-width bins from each column's
min and max (one aggregation pass); CustomKBinsDiscretizer takes the bin edges."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from streamscope.engine import aggregate as A
from streamscope.preprocessors.base import Preprocessor, output_columns

_DUPLICATES = ("raise", "drop")


def uniform_edges(lo: float, hi: float, bins: int, right: bool) -> np.ndarray:
    """``bins + 1`` equal-width edges spanning [lo, hi], widened by 0.1% of the range on the open
    side (as ``pandas.cut`` does with an integer ``bins``) so lo and hi both fall inside a bin."""
    lo, hi = float(lo), float(hi)
    if np.isinf(lo) or np.isinf(hi):
        raise ValueError("UniformKBinsDiscretizer: integer bins cannot span a column that contains infinity")
    if lo == hi:
        lo -= 0.001 * abs(lo) if lo != 0 else 0.001
        hi += 0.001 * abs(hi) if hi != 0 else 0.001
        return np.linspace(lo, hi, bins + 1)
    edges = np.linspace(lo, hi, bins + 1)
    if right:
        edges[0] -= (hi - lo) * 0.001
    else:
        edges[-1] += (hi - lo) * 0.001
    return edges


class _KBins(Preprocessor):
    def _init_common(self, columns, right, include_lowest, duplicates, dtypes, out_columns):
        if duplicates not in _DUPLICATES:
            raise ValueError(f"{type(self).__name__}: duplicates must be one of {_DUPLICATES}, got {duplicates!r}")
        self.columns = list(columns)
        self.right = right
        self.include_lowest = include_lowest
        self.duplicates = duplicates
        self.dtypes = dtypes
        self.output_columns = output_columns(self.columns, out_columns)

    def _check_bins_dict(self) -> None:
        if isinstance(self.bins, dict):
            missing = [c for c in self.columns if c not in self.bins]
            if missing:
                raise ValueError(f"{type(self).__name__}: bins is a dict but has no entry for column(s) {missing}")

    def _edges(self, col: str) -> Any:
        raise NotImplementedError

    def _transform_pandas(self, df):
        import pandas as pd

        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"{type(self).__name__}: no column {col!r} (columns: {list(df.columns)})")
            labels: Any = False
            ordered = True
            dtype = (self.dtypes or {}).get(col)
            if isinstance(dtype, pd.CategoricalDtype):
                labels, ordered = list(dtype.categories), dtype.ordered
            df[out] = pd.cut(df[col], self._edges(col), right=self.right, labels=labels, ordered=ordered,
                             include_lowest=self.include_lowest, duplicates=self.duplicates)
        return df


class CustomKBinsDiscretizer(_KBins):
    """Bin ``columns`` by the given edges (``bins``: a list of edges, a ``pandas.IntervalIndex``,
    or a dict of either per column). Output: the bin index (values outside every bin: null),
    or a category label when ``dtypes={col: pd.CategoricalDtype(labels)}``. ``right``,
    ``include_lowest`` and ``duplicates`` are ``pandas.cut``'s. Needs no fit.

    Examples:
        >>> from streamscope.preprocessors import CustomKBinsDiscretizer
        >>> ds = streamscope.from_items([{"x": 0.5}, {"x": 1.5}, {"x": 9.0}])
        >>> CustomKBinsDiscretizer(columns=["x"], bins=[0, 1, 2, 10]).transform(ds).take()
        [{'x': 0}, {'x': 1}, {'x': 2}]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], bins: Any, *, right: bool = True, include_lowest: bool = False,
                 duplicates: str = "raise", dtypes: Optional[dict] = None, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.bins = bins
        self._init_common(columns, right, include_lowest, duplicates, dtypes, output_columns)
        self._check_bins_dict()

    def _edges(self, col):
        return self.bins[col] if isinstance(self.bins, dict) else self.bins


class UniformKBinsDiscretizer(_KBins):
    """Bin ``columns`` into ``bins`` equal-width bins (an int, or a dict per column) between the
    minimum and maximum that ``fit`` finds, as ``pandas.cut(x, bins)`` with an integer would
    over the whole column. ``stats_`` holds each column's edges under the column's name.

    Examples:
        >>> from streamscope.preprocessors import UniformKBinsDiscretizer
        >>> ds = streamscope.from_items([{"x": v} for v in [0.0, 2.5, 5.0, 7.5, 10.0]])
        >>> UniformKBinsDiscretizer(columns=["x"], bins=4).fit_transform(ds).take()
        [{'x': 0}, {'x': 0}, {'x': 1}, {'x': 2}, {'x': 3}]
    """

    def __init__(self, columns: list[str], bins: Union[int, dict], *, right: bool = True, include_lowest: bool = False,
                 duplicates: str = "raise", dtypes: Optional[dict] = None, output_columns: Optional[list[str]] = None):
        super().__init__()
        self.bins = bins
        self._init_common(columns, right, include_lowest, duplicates, dtypes, output_columns)

    def _fit(self, ds):
        self._check_bins_dict()
        columns = list(self.bins) if isinstance(self.bins, dict) else self.columns
        for c in columns:
            n = self.bins[c] if isinstance(self.bins, dict) else self.bins
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise TypeError(f"UniformKBinsDiscretizer: bins must be a positive int or a dict of them, got {n!r} for {c!r}")
        result = ds.aggregate(*[a for c in columns for a in (A.Min(c), A.Max(c))]) or {}
        for c in columns:
            lo, hi = result.get(f"min({c})"), result.get(f"max({c})")
            if lo is None or hi is None:
                raise ValueError(f"UniformKBinsDiscretizer: column {c!r} has no values to bin")
            n = self.bins[c] if isinstance(self.bins, dict) else self.bins
            self.stats_[c] = uniform_edges(lo, hi, n, self.right)

    def _edges(self, col):
        return self.stats_[col]
