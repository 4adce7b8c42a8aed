"""``from_dask`` (``pip install 'streamscope[dask]'``): a Dask DataFrame as a dataset.

It computes every partition in one ``dask.compute`` call (the user's Dask scheduler, so work the
partitions share upstream runs once) and makes one block of each, as Ray Data's ``from_dask``
returns a :class:`MaterializedDataset` of the persisted partitions. The other direction,
``Dataset.to_dask``, is in ``dask_export.py``.

Why here and not in ``from_memory``: ``dask`` is optional; it is imported in the driver when a
bridge is called (``io/optional_deps.py``), so the error that names the extra comes before any
work starts and ``import streamscope`` never imports Dask.
"""

from __future__ import annotations

from streamscope.engine.api.connectors.dask_export import dask_dataframe
from streamscope.engine.api.dataset import MaterializedDataset
from streamscope.engine.block import pandas_to_block
from streamscope.engine.logical.operators import InputData
from streamscope.engine.logical.plan import LogicalPlan


def from_dask(df: "dask.dataframe.DataFrame"):
    """A :class:`MaterializedDataset` from a Dask DataFrame, one block per partition, in order
    (as :func:`streamscope.from_pandas` makes blocks: the index is not kept). All partitions are computed in
    one ``dask.compute`` call on the Dask scheduler you configured; needs
    ``pip install 'streamscope[dask]'``.

    Examples:
        >>> import dask.dataframe as dd, pandas as pd
        >>> ddf = dd.from_pandas(pd.DataFrame({"a": [1, 2, 3, 4], "b": list("wxyz")}), npartitions=2)
        >>> ds = streamscope.from_dask(ddf)
        >>> ds.num_blocks(), ds.take(2)
        (2, [{'a': 1, 'b': 'w'}, {'a': 2, 'b': 'x'}])
    """
    dd = dask_dataframe("from_dask")
    import dask
    import pandas as pd

    if not isinstance(df, dd.DataFrame):
        raise TypeError(f"from_dask expects a dask.dataframe.DataFrame, got {type(df).__module__}."
                        f"{type(df).__name__}; for a Series, call .to_frame() first")
    frames = dask.compute(*df.to_delayed())
    for frame in frames:
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"from_dask: a partition computed to a {type(frame).__name__}; expected a pandas "
                             "DataFrame (a Dask DataFrame of another backend, such as cudf, is not supported)")
    return MaterializedDataset(LogicalPlan(InputData(tables=[pandas_to_block(f) for f in frames], name="FromDask")))
