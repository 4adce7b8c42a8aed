"""Normalizer: scale each row of a group of columns to unit norm (Ray Data's Normalizer)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from streamscope.preprocessors.base import Preprocessor, output_columns

_NORMS = {
    "l1": lambda x: np.abs(x).sum(axis=1),
    "l2": lambda x: np.sqrt(np.square(x).sum(axis=1)),
    "max": lambda x: np.abs(x).max(axis=1),
}


class Normalizer(Preprocessor):
    """Divide each row's values of ``columns`` by the row's ``norm`` over those columns: ``"l2"``
    (Euclidean, the default), ``"l1"`` (sum of absolute values) or ``"max"`` (largest absolute
    value). Needs no fit. A row whose norm is 0 gives NaN, as in Ray Data (scikit-learn leaves
    such rows at 0).

    Examples:
        >>> from streamscope.preprocessors import Normalizer
        >>> ds = streamscope.from_items([{"a": 3.0, "b": 4.0}, {"a": 1.0, "b": 1.0}])
        >>> Normalizer(columns=["a", "b"], norm="l1").transform(ds).take()
        [{'a': 0.42857142857142855, 'b': 0.5714285714285714}, {'a': 0.5, 'b': 0.5}]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], norm: str = "l2", *, output_columns: Optional[list[str]] = None):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"Normalizer: norm must be one of {sorted(_NORMS)}, got {norm!r}")
        self.columns = list(columns)
        self.norm = norm
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _transform_pandas(self, df):
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise KeyError(f"Normalizer: no column(s) {missing} (columns: {list(df.columns)})")
        values = df[self.columns].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = values / _NORMS[self.norm](values)[:, None]
        for i, out in enumerate(self.output_columns):
            df[out] = scaled[:, i]
        return df


output_columns_fn = output_columns
