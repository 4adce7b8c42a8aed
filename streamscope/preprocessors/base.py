"""Preprocessor: fit statistics over a Dataset, then transform it with a fused ``map_batches``.

Mirrors ``ray.data.preprocessors.Preprocessor``: ``fit`` computes ``stats_`` with the aggregation
machinery (one exchange over the data), ``transform`` appends one pandas ``map_batches`` to the
plan (so it fuses with neighbouring maps into the same tasks), ``transform_batch`` applies the
same function to a single in-memory batch.
"""

from __future__ import annotations

import base64
from typing import Any, Optional, Union

import cloudpickle

from streamscope.engine.block import block_to_batch, block_to_pandas, columns_to_block, pandas_to_block


class PreprocessorNotFittedException(RuntimeError):
    """``transform`` was called on a fittable preprocessor before ``fit``.

    Examples:
        >>> from streamscope.preprocessors import StandardScaler
        >>> StandardScaler(columns=["x"]).transform(streamscope.from_items([{"x": 1.0}]))
        Traceback (most recent call last):
        ...
        streamscope.preprocessors.base.PreprocessorNotFittedException: StandardScaler must be fitted before transform; call fit(ds) first
    """


class Preprocessor:
    """Base of the preprocessors, as ``ray.data.preprocessors.Preprocessor``: ``fit`` computes
    ``stats_`` over a Dataset with the aggregation machinery (one exchange over the data),
    ``transform`` appends one pandas ``map_batches`` to the plan (so it fuses with neighbouring
    maps into the same tasks), ``transform_batch`` applies the same function to one in-memory
    batch (at serving time). A custom one implements ``_fit(ds)`` (setting ``stats_``) and
    ``_transform_pandas(df)``; one without statistics sets ``_is_fittable = False``.

    Examples:
        >>> from streamscope.preprocessors import Preprocessor
        >>> class Doubler(Preprocessor):
        ...     _is_fittable = False
        ...     def _transform_pandas(self, df):
        ...         return df * 2
        >>> Doubler().transform(streamscope.range(3)).take()
        [{'id': 0}, {'id': 2}, {'id': 4}]
    """

    _is_fittable = True
    _batch_format = "pandas"
    """``"pandas"``: the transformation is ``_transform_pandas(df)``; ``"numpy"``: it is
    ``_transform_numpy(batch)`` on a dict of ndarrays (tensors, images)."""

    _SERIAL_MAGIC = b"streamscope-preprocessor:1:"

    def __init__(self) -> None:
        self.stats_: Optional[dict] = None

    # ---- what subclasses implement -------------------------------------------------------------
    def _fit(self, ds: Any) -> None:
        raise NotImplementedError

    def _transform_pandas(self, df: Any) -> Any:
        raise NotImplementedError

    def _transform_numpy(self, batch: dict) -> dict:
        raise NotImplementedError

    # ---- public API ----------------------------------------------------------------------------
    def fit_status(self) -> str:
        """``"NOT_FITTED"``, ``"FITTED"``, or ``"NOT_FITTABLE"`` for one that needs no statistics.

        Examples:
            >>> from streamscope.preprocessors import Concatenator, MinMaxScaler
            >>> scaler = MinMaxScaler(columns=["x"])
            >>> scaler.fit_status()
            'NOT_FITTED'
            >>> scaler.fit(streamscope.from_items([{"x": 1}])).fit_status()
            'FITTED'
            >>> Concatenator(columns=["x"]).fit_status()
            'NOT_FITTABLE'
        """
        if not self._is_fittable:
            return "NOT_FITTABLE"
        return "FITTED" if self.stats_ is not None else "NOT_FITTED"

    def has_stats(self) -> bool:
        """Whether ``fit`` left any statistics (``stats_`` is non-empty).

        Examples:
            >>> from streamscope.preprocessors import MinMaxScaler
            >>> scaler = MinMaxScaler(columns=["x"])
            >>> scaler.has_stats(), scaler.fit(streamscope.from_items([{"x": 1}])).has_stats()
            (False, True)
        """
        return bool(self.stats_)

    def get_input_columns(self) -> list:
        """The columns this preprocessor reads (``columns``, or ``label_column`` for LabelEncoder).

        Examples:
            >>> from streamscope.preprocessors import Normalizer
            >>> Normalizer(columns=["a", "b"]).get_input_columns()
            ['a', 'b']
        """
        if hasattr(self, "columns"):
            return list(self.columns)
        return [self.label_column] if hasattr(self, "label_column") else []

    def get_output_columns(self) -> list:
        """The columns this preprocessor writes (``output_columns``, ``output_column`` or
        ``output_column_name``).

        Examples:
            >>> from streamscope.preprocessors import FeatureHasher
            >>> FeatureHasher(columns=["a", "b"], num_features=4, output_column="h").get_output_columns()
            ['h']
        """
        if hasattr(self, "output_columns"):
            return list(self.output_columns)
        for name in ("output_column", "output_column_name"):
            if hasattr(self, name):
                return [getattr(self, name)]
        return self.get_input_columns()

    def fit(self, ds: Any) -> "Preprocessor":
        """Compute the statistics (``stats_``) over ``ds``; returns the preprocessor itself.

        Examples:
            >>> from streamscope.preprocessors import MinMaxScaler
            >>> scaler = MinMaxScaler(columns=["x"]).fit(streamscope.from_items([{"x": 2}, {"x": 8}]))
            >>> scaler.stats_
            {'min(x)': 2, 'max(x)': 8}
        """
        if self._is_fittable:
            self.stats_ = {}
            self._fit(ds)
        return self

    def fit_transform(self, ds: Any, *, transform_num_cpus: Optional[float] = None,
                      transform_memory: Optional[float] = None, transform_batch_size: Optional[int] = None,
                      transform_concurrency: Optional[int] = None) -> Any:
        """``fit(ds)`` then ``transform(ds)``; the ``transform_*`` arguments are ``transform``'s
        ``num_cpus``, ``memory``, ``batch_size`` and ``concurrency`` (Ray Data's names).

        Examples:
            >>> from streamscope.preprocessors import MinMaxScaler
            >>> ds = streamscope.from_items([{"x": 0}, {"x": 5}, {"x": 10}])
            >>> MinMaxScaler(columns=["x"]).fit_transform(ds).take()
            [{'x': 0.0}, {'x': 0.5}, {'x': 1.0}]
        """
        return self.fit(ds).transform(ds, batch_size=transform_batch_size, num_cpus=transform_num_cpus,
                                      memory=transform_memory, concurrency=transform_concurrency)

    def _check_fitted(self) -> None:
        if self._is_fittable and self.stats_ is None:
            raise PreprocessorNotFittedException(f"{type(self).__name__} must be fitted before transform; call fit(ds) first")

    def transform(self, ds: Any, *, batch_size: Optional[int] = None, num_cpus: Optional[float] = None,
                  memory: Optional[float] = None, concurrency: Optional[int] = None) -> Any:
        """A Dataset with the transformation appended as one pandas ``map_batches`` (lazy; it fuses
        with the maps around it).

        Examples:
            >>> from streamscope.preprocessors import MinMaxScaler
            >>> scaler = MinMaxScaler(columns=["x"]).fit(streamscope.from_items([{"x": 0}, {"x": 10}]))
            >>> scaler.transform(streamscope.from_items([{"x": 5}, {"x": 20}])).take()
            [{'x': 0.5}, {'x': 2.0}]
        """
        self._check_fitted()
        return ds.map_batches(_BatchFn(self), batch_format=self._batch_format, batch_size=batch_size, num_cpus=num_cpus,
                              memory=memory, concurrency=concurrency)

    def transform_batch(self, data: Any) -> Any:
        """Transform one batch: a pandas DataFrame, a dict of ndarrays or a pyarrow Table; the
        result has the same format (for serving a model on single requests).

        Examples:
            >>> import numpy as np
            >>> from streamscope.preprocessors import MinMaxScaler
            >>> scaler = MinMaxScaler(columns=["x"]).fit(streamscope.from_items([{"x": 0}, {"x": 10}]))
            >>> scaler.transform_batch({"x": np.array([5])})
            {'x': array([0.5])}
        """
        import pandas as pd
        import pyarrow as pa

        self._check_fitted()
        if self._batch_format == "numpy":
            if isinstance(data, pd.DataFrame):
                return block_to_pandas(columns_to_block(self._transform_numpy(block_to_batch(pandas_to_block(data), "numpy"))))
            if isinstance(data, pa.Table):
                return columns_to_block(self._transform_numpy(block_to_batch(data, "numpy")))
            if isinstance(data, dict):
                return self._transform_numpy(dict(data))
        elif isinstance(data, pd.DataFrame):
            return self._transform_pandas(data.copy())
        if isinstance(data, pa.Table):
            return pandas_to_block(self._transform_pandas(block_to_pandas(data)))
        if isinstance(data, dict):
            df = block_to_pandas(columns_to_block(data))
            return block_to_batch(pandas_to_block(self._transform_pandas(df)), "numpy")
        raise TypeError(f"transform_batch expects a pandas DataFrame, dict of ndarrays or pyarrow Table, got {type(data).__name__}")

    def serialize(self) -> bytes:
        """The preprocessor, fitted statistics included, as bytes (cloudpickle, so functions such
        as a ``tokenization_fn`` travel too); :meth:`deserialize` reads them back. Like Ray Data's
        format it is not meant to outlive the library version that wrote it.

        Examples:
            >>> from streamscope.preprocessors import MinMaxScaler, Preprocessor
            >>> scaler = MinMaxScaler(columns=["x"]).fit(streamscope.from_items([{"x": 0}, {"x": 4}]))
            >>> Preprocessor.deserialize(scaler.serialize()).stats_
            {'min(x)': 0, 'max(x)': 4}
        """
        return self._SERIAL_MAGIC + cloudpickle.dumps(self)

    @staticmethod
    def deserialize(serialized: Union[bytes, str]) -> "Preprocessor":
        """The preprocessor that :meth:`serialize` wrote (bytes, or their base64 text).

        Examples:
            >>> from streamscope.preprocessors import Normalizer, Preprocessor
            >>> Preprocessor.deserialize(Normalizer(columns=["a", "b"]).serialize())
            Normalizer(columns=['a', 'b'], norm='l2', output_columns=['a', 'b'])
        """
        data = base64.b64decode(serialized) if isinstance(serialized, str) else bytes(serialized)
        magic = Preprocessor._SERIAL_MAGIC
        if not data.startswith(magic):
            raise ValueError("Preprocessor.deserialize: these bytes were not written by Preprocessor.serialize()")
        obj = cloudpickle.loads(data[len(magic):])
        if not isinstance(obj, Preprocessor):
            raise ValueError(f"Preprocessor.deserialize: got a {type(obj).__name__}, not a Preprocessor")
        return obj

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "stats_")
        return f"{type(self).__name__}({fields})"


class _BatchFn:
    """Picklable batch function holding a fitted preprocessor (stats travel with it)."""

    def __init__(self, preprocessor: Preprocessor):
        self.preprocessor = preprocessor
        # shown in plans and live views as MapBatches(StandardScaler.transform)
        self.__name__ = f"{type(preprocessor).__name__}.transform"

    def __call__(self, batch: Any) -> Any:
        if self.preprocessor._batch_format == "numpy":
            return self.preprocessor._transform_numpy(batch)
        return self.preprocessor._transform_pandas(batch)


def output_columns(columns: list[str], output_columns: Optional[list[str]]) -> list[str]:
    if output_columns is None:
        return list(columns)
    if len(output_columns) != len(columns):
        raise ValueError(f"output_columns ({len(output_columns)}) must match columns ({len(columns)}) in length")
    return list(output_columns)
