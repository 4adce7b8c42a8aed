"""The collate-function classes of ``ray.data.collate_fn``: a ``collate_fn`` subclasses one of
them to say which batch format it takes (a ``pyarrow.Table``, a dict of numpy arrays, or a pandas
DataFrame), so the iterator formats each batch that way before calling it.

Why classes and not a ``batch_format=`` argument: that is Ray Data's contract for
``iter_jax_batches(collate_fn=...)``, and code written for Ray subclasses these by name.
"""

from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

DataBatchType = TypeVar("DataBatchType")


class CollateFn(Generic[DataBatchType]):
    """The interface of a collate function: ``__call__(batch)`` turns one batch into what the
    training step takes. Subclass one of the three below rather than this one: they name the batch
    format.

    Examples:
        >>> issubclass(streamscope.collate_fn.NumpyBatchCollateFn, streamscope.collate_fn.CollateFn)
        True
    """

    @abc.abstractmethod
    def __call__(self, batch: DataBatchType) -> Any:
        ...


class ArrowBatchCollateFn(CollateFn[Any]):
    """A collate function that receives each batch as a ``pyarrow.Table``.

    Examples:
        >>> import pyarrow as pa
        >>> class Rows(streamscope.collate_fn.ArrowBatchCollateFn):
        ...     def __call__(self, batch):
        ...         return batch.num_rows
        >>> Rows()(pa.table({"a": [1, 2]}))
        2
    """


class NumpyBatchCollateFn(CollateFn[Any]):
    """A collate function that receives each batch as a dict of numpy arrays.

    Examples:
        >>> import numpy as np
        >>> class Double(streamscope.collate_fn.NumpyBatchCollateFn):
        ...     def __call__(self, batch):
        ...         return {k: v * 2 for k, v in batch.items()}
        >>> Double()({"x": np.array([1, 2])})["x"].tolist()
        [2, 4]
    """


class PandasBatchCollateFn(CollateFn[Any]):
    """A collate function that receives each batch as a pandas DataFrame.

    Examples:
        >>> import pandas as pd
        >>> class Total(streamscope.collate_fn.PandasBatchCollateFn):
        ...     def __call__(self, batch):
        ...         return int(batch["x"].sum())
        >>> Total()(pd.DataFrame({"x": [1, 2, 3]}))
        6
    """


def collate_batch_format(collate_fn: Any, method: str) -> str:
    """The batch format ``collate_fn`` takes: ``numpy`` when there is none; a function that is not
    one of the three classes is refused (Ray Data refuses it too), saying which to subclass."""
    if collate_fn is None or isinstance(collate_fn, NumpyBatchCollateFn):
        return "numpy"
    if isinstance(collate_fn, ArrowBatchCollateFn):
        return "pyarrow"
    if isinstance(collate_fn, PandasBatchCollateFn):
        return "pandas"
    raise ValueError(
        f"{method}: unsupported collate_fn {type(collate_fn).__name__}: make it a callable class that "
        "subclasses streamscope.collate_fn.NumpyBatchCollateFn (dict of numpy arrays), ArrowBatchCollateFn "
        "(pyarrow.Table) or PandasBatchCollateFn (pandas.DataFrame)"
    )
