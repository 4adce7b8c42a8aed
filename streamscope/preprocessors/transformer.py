"""PowerTransformer: a fixed Yeo-Johnson or Box-Cox power transform (Ray Data's PowerTransformer)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from streamscope.preprocessors.base import Preprocessor, output_columns

_METHODS = ("yeo-johnson", "box-cox")


def yeo_johnson(x: np.ndarray, power: float) -> np.ndarray:
    """The Yeo-Johnson transform of ``x`` with parameter ``power`` (NaN stays NaN)."""
    out = np.full(x.shape, np.nan)
    pos = x >= 0
    neg = x < 0
    out[pos] = np.log1p(x[pos]) if power == 0 else (np.power(x[pos] + 1, power) - 1) / power
    out[neg] = -np.log1p(-x[neg]) if power == 2 else -(np.power(1 - x[neg], 2 - power) - 1) / (2 - power)
    return out


def box_cox(x: np.ndarray, power: float) -> np.ndarray:
    """The Box-Cox transform of ``x`` (defined for positive values; others give NaN or -inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) if power == 0 else (np.power(x, power) - 1) / power


class PowerTransformer(Preprocessor):
    """Apply a power transform with the given ``power`` (lambda) to each of ``columns``, making
    skewed data more Gaussian: ``"yeo-johnson"`` (any real value) or ``"box-cox"`` (positive
    values). Needs no fit: unlike scikit-learn, the power is given, not estimated.

    Examples:
        >>> from streamscope.preprocessors import PowerTransformer
        >>> ds = streamscope.from_items([{"x": 0.0}, {"x": 3.0}, {"x": -1.0}])
        >>> PowerTransformer(columns=["x"], power=0.5).transform(ds).take()
        [{'x': 0.0}, {'x': 2.0}, {'x': -1.2189514164974602}]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], power: float, method: str = "yeo-johnson", *,
                 output_columns: Optional[list[str]] = None):
        super().__init__()
        if method not in _METHODS:
            raise ValueError(f"PowerTransformer: method must be one of {_METHODS}, got {method!r}")
        self.columns = list(columns)
        self.power = power
        self.method = method
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _transform_pandas(self, df):
        fn = yeo_johnson if self.method == "yeo-johnson" else box_cox
        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"PowerTransformer: no column {col!r} (columns: {list(df.columns)})")
            df[out] = fn(df[col].to_numpy(dtype=np.float64, na_value=np.nan), self.power)
        return df


output_columns_fn = output_columns
