"""Tokenizer: split strings into token lists (Ray Data's Tokenizer), and the default tokenizer the
vectorizers share."""

from __future__ import annotations

from typing import Any, Callable, Optional

from streamscope.preprocessors.base import Preprocessor, output_columns


def simple_split_tokenizer(value: str) -> list[str]:
    """Ray Data's default tokenizer: split on single spaces.

    Examples:
        >>> from streamscope.preprocessors.tokenizer import simple_split_tokenizer
        >>> simple_split_tokenizer("hello big  world")
        ['hello', 'big', '', 'world']
    """
    return value.split(" ")


def tokenize(series: Any, fn: Callable[[str], list]) -> Any:
    """``fn`` over a pandas Series of strings; a missing document stays missing (``fn`` never
    sees a null) as ``None``, whatever pandas used for it (pandas 3's string dtype has NaN), so
    the output column is a list column with nulls, not lists mixed with floats."""
    tokens = series.map(fn, na_action="ignore").astype(object)
    return tokens.where(series.notna(), None)


class Tokenizer(Preprocessor):
    """Replace each string of ``columns`` with its list of tokens (``tokenization_fn``, by default
    a split on spaces). Needs no fit; nulls stay null.

    Examples:
        >>> from streamscope.preprocessors import Tokenizer
        >>> ds = streamscope.from_items([{"text": "I like Python"}, {"text": "ok"}])
        >>> Tokenizer(columns=["text"]).transform(ds).take()
        [{'text': ['I', 'like', 'Python']}, {'text': ['ok']}]
    """

    _is_fittable = False

    def __init__(self, columns: list[str], tokenization_fn: Optional[Callable[[str], list]] = None,
                 output_columns: Optional[list[str]] = None):
        super().__init__()
        self.columns = list(columns)
        self.tokenization_fn = tokenization_fn or simple_split_tokenizer
        self.output_columns = output_columns_fn(self.columns, output_columns)

    def _transform_pandas(self, df):
        for col, out in zip(self.columns, self.output_columns):
            if col not in df.columns:
                raise KeyError(f"Tokenizer: no column {col!r} (columns: {list(df.columns)})")
            df[out] = tokenize(df[col], self.tokenization_fn)
        return df

    def __repr__(self) -> str:
        name = getattr(self.tokenization_fn, "__name__", self.tokenization_fn)
        return f"Tokenizer(columns={self.columns!r}, tokenization_fn={name}, output_columns={self.output_columns!r})"


output_columns_fn = output_columns
