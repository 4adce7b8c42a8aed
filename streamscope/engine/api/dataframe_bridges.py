"""Dataset methods that hand the data to another dataframe library (``to_dask``, ``to_daft``),
kept apart from ``consume.py`` so each library's bridge is a module in ``api/connectors/``.

Each method has Ray Data 2.60's signature and hands its arguments to the bridge's module,
imported lazily: the library is imported only when its method is called, so ``import
streamscope`` never pays for it, and a missing library raises an ImportError naming the extra.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple, Union


class DataFrameBridgeMixin:
    """Dataset methods that convert the dataset into a Dask or Daft DataFrame."""

    def to_dask(self, meta: Union["pandas.DataFrame", "pandas.Series", Dict[str, Any], Iterable[Any],  # noqa: F821
                                  Tuple[Any], None] = None,
                verify_meta: bool = True) -> "dask.dataframe.DataFrame":  # noqa: F821
        """Run the dataset and return a Dask DataFrame of its rows, one partition per block (each
        block becomes a pandas DataFrame when Dask computes its partition); needs
        ``pip install 'streamscope[dask]'``.

        ``meta`` is the empty pandas DataFrame (or ``{name: dtype}`` dict, iterable of
        ``(name, dtype)`` pairs, empty Series or ``(name, dtype)`` tuple) Dask takes as the
        frame's columns and dtypes; by default it is made from the dataset's schema. With
        ``verify_meta`` (the default) Dask checks each partition against ``meta`` when it
        computes it and raises ``ValueError`` ("Metadata mismatch found in ``from_delayed``")
        otherwise (Dask counts all numeric dtypes as one). Tensor and Python-object columns
        are object columns of ndarrays / the objects (Dask's conversion of object columns to
        Arrow strings is off for this frame). Unlike Ray Data, the Dask
        scheduler configured in the process is left as it is: any scheduler computes the
        partitions. An empty dataset becomes a frame of one empty partition.

        Examples:
            >>> ds = streamscope.from_items([{"a": i, "b": str(i)} for i in range(4)], override_num_blocks=2)
            >>> ddf = ds.to_dask()
            >>> ddf.npartitions, ddf["a"].sum().compute()
            (2, np.int64(6))
            >>> try:
            ...     ds.to_dask(meta={"a": "int64", "c": "str"}).compute()
            ... except ValueError as err:
            ...     print(str(err).splitlines()[0])
            Metadata mismatch found in `from_delayed`.
        """
        # lazy on purpose: the bridge's module, and Dask, only when this method is called
        from streamscope.engine.api.connectors.dask_export import to_dask

        return to_dask(self, meta=meta, verify_meta=verify_meta)

    def to_daft(self) -> "daft.DataFrame":  # noqa: F821
        """Run the dataset and return a Daft DataFrame of its rows, one Daft partition per block
        (the blocks' Arrow tables, taken without copying; tensor columns become Daft tensors);
        needs ``pip install 'streamscope[daft]'``. Unlike Ray Data, Daft's Ray runner is not
        needed: any Daft runner takes the frame. An empty dataset becomes a frame of no rows with
        the dataset's columns.

        Examples:
            >>> ds = streamscope.from_items([{"a": i, "b": str(i)} for i in range(4)], override_num_blocks=2)
            >>> df = ds.to_daft()
            >>> df.count_rows(), df.to_pydict()["a"]
            (4, [0, 1, 2, 3])
        """
        # lazy on purpose: the bridge's module, and Daft, only when this method is called
        from streamscope.engine.api.connectors.daft_export import to_daft

        return to_daft(self)


__all__ = ["DataFrameBridgeMixin"]
