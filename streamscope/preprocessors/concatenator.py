"""Concatenator (columns -> one ndarray column) and Chain (preprocessors in sequence)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from streamscope.preprocessors.base import Preprocessor


class Concatenator(Preprocessor):
    """Replace ``columns`` by one column (``output_column_name``) whose rows are 1-D arrays of
    their values, the shape a model's feature tensor wants; needs no fitting.

    Examples:
        >>> from streamscope.preprocessors import Concatenator
        >>> ds = streamscope.from_items([{"a": 1.0, "b": 2.0, "label": 0}])
        >>> Concatenator(columns=["a", "b"], output_column_name="features").transform(ds).take()
        [{'label': 0, 'features': array([1., 2.])}]
    """

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
    """Preprocessors in sequence: ``fit`` fits each one on the output of the ones before it;
    ``transform`` applies them in order.

    Examples:
        >>> from streamscope.preprocessors import Chain, MinMaxScaler, SimpleImputer
        >>> ds = streamscope.from_items([{"x": 0.0}, {"x": None}, {"x": 10.0}])
        >>> chain = Chain(SimpleImputer(columns=["x"]), MinMaxScaler(columns=["x"]))
        >>> chain.fit_transform(ds).take()
        [{'x': 0.0}, {'x': 0.5}, {'x': 1.0}]
    """

    def __init__(self, *preprocessors: Preprocessor):
        super().__init__()
        self.preprocessors = list(preprocessors)
        self._is_fittable = any(p._is_fittable for p in self.preprocessors)

    def fit_status(self) -> str:
        """``"FITTED"`` once every fittable member is fitted; ``"NOT_FITTABLE"`` when none needs it.

        Examples:
            >>> from streamscope.preprocessors import Chain, Concatenator, MinMaxScaler
            >>> Chain(Concatenator(columns=["x"])).fit_status()
            'NOT_FITTABLE'
            >>> chain = Chain(MinMaxScaler(columns=["x"]))
            >>> chain.fit_status(), chain.fit(streamscope.from_items([{"x": 1}])).fit_status()
            ('NOT_FITTED', 'FITTED')
        """
        if not self._is_fittable:
            return "NOT_FITTABLE"
        return "FITTED" if all(p.fit_status() != "NOT_FITTED" for p in self.preprocessors) else "NOT_FITTED"

    def fit(self, ds: Any) -> "Chain":
        """Fit each preprocessor on ``ds`` as transformed by the ones before it.

        Examples:
            >>> from streamscope.preprocessors import Chain, MinMaxScaler, SimpleImputer
            >>> ds = streamscope.from_items([{"x": 2.0}, {"x": None}, {"x": 4.0}])
            >>> chain = Chain(SimpleImputer(columns=["x"]), MinMaxScaler(columns=["x"])).fit(ds)
            >>> [p.stats_ for p in chain.preprocessors]
            [{'mean(x)': 3.0}, {'min(x)': 2.0, 'max(x)': 4.0}]
        """
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

    def transform(self, ds: Any, *, batch_size: Optional[int] = None, num_cpus: Optional[float] = None,
                  memory: Optional[float] = None, concurrency: Optional[int] = None) -> Any:
        """Apply every preprocessor in order (each appends its ``map_batches``; they fuse into one task).

        Examples:
            >>> from streamscope.preprocessors import Chain, MaxAbsScaler, MinMaxScaler
            >>> ds = streamscope.from_items([{"x": -2}, {"x": 2}])
            >>> chain = Chain(MinMaxScaler(columns=["x"]), MaxAbsScaler(columns=["x"])).fit(ds)
            >>> chain.transform(ds).take()
            [{'x': 0.0}, {'x': 1.0}]
        """
        for p in self.preprocessors:
            ds = p.transform(ds, batch_size=batch_size, num_cpus=num_cpus, memory=memory, concurrency=concurrency)
        return ds

    def transform_batch(self, data: Any) -> Any:
        """Apply every preprocessor in order to one batch.

        Examples:
            >>> import numpy as np
            >>> from streamscope.preprocessors import Chain, MinMaxScaler, SimpleImputer
            >>> ds = streamscope.from_items([{"x": 0.0}, {"x": 10.0}])
            >>> chain = Chain(SimpleImputer(columns=["x"]), MinMaxScaler(columns=["x"])).fit(ds)
            >>> chain.transform_batch({"x": np.array([np.nan, 2.5])})
            {'x': array([0.5 , 0.25])}
        """
        for p in self.preprocessors:
            data = p.transform_batch(data)
        return data

    def _transform_pandas(self, df):
        for p in self.preprocessors:
            df = p._transform_pandas(df)
        return df
