"""Bag-of-words vectorizers (Ray Data's): CountVectorizer (a fitted vocabulary) and
HashingVectorizer (hashed tokens, no fit). Each string column becomes a list of counts."""

from __future__ import annotations

import collections
from typing import Any, Callable, Optional


from streamscope.preprocessors.base import Preprocessor, output_columns
from streamscope.preprocessors.hasher import simple_hash
from streamscope.preprocessors.tokenizer import simple_split_tokenizer, tokenize
from streamscope.preprocessors.value_counts import CounterAggregate, counts_of


class _TokenCounts(CounterAggregate):
    """Token frequencies of one column (a Counter per partial, merged across tasks)."""

    def __init__(self, on: str, tokenization_fn: Callable[[str], list]):
        super().__init__(f"token_counts({on})", on, "CountVectorizer")
        self._fn = tokenization_fn

    def values_of(self, value: Any) -> list:
        return self._fn(value)


def _null_where_missing(rows: list, source: Any) -> list:
    missing = source.isna().to_numpy()
    return [None if m else r for r, m in zip(rows, missing)]


class CountVectorizer(Preprocessor):
    """Count the tokens of each string of ``columns``: ``fit`` learns the vocabulary
    (``stats_["token_counts(col)"]``, a Counter, the ``max_features`` most frequent tokens when
    given), ``transform`` turns each string into a list of counts over that vocabulary, most
    frequent token first. Nulls stay null. Ties in frequency keep the order in which partial
    counts were merged (Ray Data's order is first appearance in its batches).

    Examples:
        >>> from streamscope.preprocessors import CountVectorizer
        >>> ds = streamscope.from_items([{"t": "a b b"}, {"t": "b c"}])
        >>> vec = CountVectorizer(columns=["t"]).fit(ds)
        >>> vec.stats_["token_counts(t)"].most_common(1)
        [('b', 3)]
        >>> [r["t"][0] for r in vec.transform(ds).take()]
        [2, 1]
    """

    def __init__(self, columns: list[str], tokenization_fn: Optional[Callable[[str], list]] = None,
                 max_features: Optional[int] = None, *, output_columns: Optional[list[str]] = None):
        super().__init__()
        if max_features is not None and (not isinstance(max_features, int) or max_features < 1):
            raise ValueError(f"CountVectorizer: max_features must be a positive int or None, got {max_features!r}")
        self.columns = list(columns)
        self.tokenization_fn = tokenization_fn or simple_split_tokenizer
        self.max_features = max_features
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _fit(self, ds):
        result = ds.aggregate(*[_TokenCounts(c, self.tokenization_fn) for c in self.columns]) or {}
        for c in self.columns:
            counts = counts_of(result, f"token_counts({c})")
            self.stats_[f"token_counts({c})"] = collections.Counter(dict(counts.most_common(self.max_features)))

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            vocabulary = [token for token, _ in self.stats_[f"token_counts({col})"].most_common()]
            counters = tokenize(df[col], self.tokenization_fn).map(collections.Counter, na_action="ignore")
            rows = [None if not isinstance(c, collections.Counter) else [c[t] for t in vocabulary] for c in counters]
            df[out] = _null_where_missing(rows, df[col])
        return df


class HashingVectorizer(Preprocessor):
    """Count the tokens of each string of ``columns`` into ``num_features`` slots, token ``t``
    counting in slot ``simple_hash(t, num_features)``: a bag of words with no vocabulary to fit
    (and so no memory of it), at the price of collisions. Nulls stay null.

    Examples:
        >>> from streamscope.preprocessors import HashingVectorizer
        >>> ds = streamscope.from_items([{"t": "apple apple pear"}])
        >>> HashingVectorizer(columns=["t"], num_features=8).transform(ds).take()[0]["t"]
        [0, 0, 0, 2, 0, 0, 1, 0]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], num_features: int, tokenization_fn: Optional[Callable[[str], list]] = None, *,
                 output_columns: Optional[list[str]] = None):
        super().__init__()
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"HashingVectorizer: num_features must be a positive int, got {num_features!r}")
        self.columns = list(columns)
        self.num_features = num_features
        self.tokenization_fn = tokenization_fn or simple_split_tokenizer
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _transform_pandas(self, df):
        n = self.num_features

        def vector(tokens: list) -> list:
            row = [0] * n
            for t in tokens:
                row[simple_hash(t, n)] += 1
            return row

        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"HashingVectorizer: no column {col!r} (columns: {list(df.columns)})")
            rows = tokenize(df[col], self.tokenization_fn).map(vector, na_action="ignore").tolist()
            df[out] = _null_where_missing(rows, df[col])
        return df


output_columns_fn = output_columns
