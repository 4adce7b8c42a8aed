"""Concatenator (columns -> one ndarray column) and Chain (preprocessors in sequence)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from streamscope.preprocessors.base import Preprocessor


class Concatenator(Preprocessor):
    """Replace ``columns`` by one column whose rows are 1-D arrays of their values."""

    _is_fittable = False

    def __init__(self, columns: list[str], output_column_name: str = "concat_out", dtype: Optional[Any] = None,
                 raise_if_missing: bool = False, flatten: bool = False):
        super().__init__()
        self.columns = list(columns)
        self.output_column_name = output_column_name
        self.dtype = dtype
        self.raise_if_missing = raise_if_missing
        self.flatten = flatten

    def _transform_pandas(self, df):
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            if self.raise_if_missing:
                raise ValueError(f"Concatenator: missing columns {missing}")
            cols = [c for c in self.columns if c in df.columns]
        else:
            cols = self.columns
        if self.flatten:
            rows = [np.concatenate([np.ravel(np.asarray(v)) for v in row]) for row in df[cols].itertuples(index=False)]
            values = np.stack(rows) if rows else np.zeros((0, 0))
        else:
            values = df[cols].to_numpy()
        if self.dtype is not None:
            values = values.astype(self.dtype)
        out = df.drop(columns=cols)
        out[self.output_column_name] = list(values)
        return out


class Chain(Preprocessor):
    """Fit each preprocessor on the output of the ones before it; transform applies them in order."""

    def __init__(self, *preprocessors: Preprocessor):
        super().__init__()
        self.preprocessors = list(preprocessors)
        self._is_fittable = any(p._is_fittable for p in self.preprocessors)

    def fit_status(self) -> str:
        if not self._is_fittable:
            return "NOT_FITTABLE"
        return "FITTED" if all(p.fit_status() != "NOT_FITTED" for p in self.preprocessors) else "NOT_FITTED"

    def fit(self, ds: Any) -> "Chain":
        for i, p in enumerate(self.preprocessors):
            if i < len(self.preprocessors) - 1:
                ds = p.fit_transform(ds)
            else:
                p.fit(ds)
        self.stats_ = {}
        return self

    def _check_fitted(self) -> None:
        for p in self.preprocessors:
            p._check_fitted()

    def transform(self, ds: Any, **kwargs: Any) -> Any:
        for p in self.preprocessors:
            ds = p.transform(ds, **kwargs)
        return ds

    def transform_batch(self, data: Any) -> Any:
        for p in self.preprocessors:
            data = p.transform_batch(data)
        return data

    def _transform_pandas(self, df):
        for p in self.preprocessors:
            df = p._transform_pandas(df)
        return df
