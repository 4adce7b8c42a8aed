"""FeatureHasher (Ray Data's): numeric columns folded into a fixed-length vector by hashing their
names, and the hash both hashing preprocessors use."""

from __future__ import annotations

import hashlib

import numpy as np

from streamscope.preprocessors.base import Preprocessor


def simple_hash(value: object, num_features: int) -> int:
    """Ray Data's feature hash: SHA-256 of ``str(value)`` as an integer, modulo ``num_features``
    (stable across processes and runs, unlike Python's ``hash``; not scikit-learn's MurmurHash3,
    so indices differ from sklearn's).

    Examples:
        >>> from streamscope.preprocessors.hasher import simple_hash
        >>> simple_hash("apple", 8)
        3
    """
    return int(hashlib.sha256(str(value).encode()).hexdigest(), 16) % num_features


class FeatureHasher(Preprocessor):
    """Sum the values of ``columns`` into a vector of ``num_features`` slots, column ``c`` going
    to slot ``simple_hash(c, num_features)`` (columns whose names collide add up); the vector is
    ``output_column``, the input columns stay. Meant for many sparse count columns (e.g. the
    output of a vectorizer spread over columns). Needs no fit.

    Examples:
        >>> from streamscope.preprocessors import FeatureHasher
        >>> ds = streamscope.from_items([{"apple": 1, "banana": 2}, {"apple": 0, "banana": 5}])
        >>> rows = FeatureHasher(["apple", "banana"], num_features=8, output_column="hashed").transform(ds).take()
        >>> [r["hashed"].tolist() for r in rows]
        [[0, 0, 0, 1, 0, 0, 2, 0], [0, 0, 0, 0, 0, 0, 5, 0]]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], num_features: int, output_column: str):
        super().__init__()
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"FeatureHasher: num_features must be a positive int, got {num_features!r}")
        self.columns = list(columns)
        self.num_features = num_features
        self.output_column = output_column

    def _transform_pandas(self, df):
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise KeyError(f"FeatureHasher: no column(s) {missing} (columns: {list(df.columns)})")
        values = [df[c].to_numpy() for c in self.columns]
        dtype = np.result_type(*[v.dtype for v in values]) if values else np.int64
        if df[self.columns].isna().to_numpy().any():
            dtype = np.result_type(dtype, np.float64)
        out = np.zeros((len(df), self.num_features), dtype=dtype)
        for c, v in zip(self.columns, values):
            out[:, simple_hash(c, self.num_features)] += v.astype(dtype) if v.dtype != object else v.astype(np.float64)
        df[self.output_column] = list(out)
        return df
