"""``Dataset.to_dask`` (``pip install 'streamscope[dask]'``): the dataset as a Dask DataFrame.

It runs the dataset once and hands its blocks to Dask, one partition per block: each partition is
a ``dask.delayed`` call that turns one block reference into a pandas DataFrame when Dask computes
it, so building the Dask DataFrame converts nothing. The references are those ``to_arrow_refs``
returns (:class:`streamscope.ObjectRef` handles in driver memory on the local runtimes,
``ray.ObjectRef``\\ s on the Ray runtime), resolved with :func:`streamscope.get`, so any Dask
scheduler can compute the partitions. Ray Data also sets Dask's scheduler to Dask-on-Ray for the
whole process; streamscope leaves the user's Dask configuration alone.

Apart from ``dask.py`` (``from_dask``) because this module must not import the Dataset: the
Dataset's ``to_dask`` (``api/dataframe_bridges.py``) imports it, lazily.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from streamscope.engine.api.refs import get
from streamscope.engine.block import block_to_pandas, empty_block
from streamscope.engine.io.optional_deps import import_optional


def dask_dataframe(fn: str):
    """``dask.dataframe``, or the error naming the extra (and ``fn``) when Dask is missing."""
    import_optional("dask", extra="dask", connector=fn)
    return import_optional("dask.dataframe", extra="dask", connector=fn)


def _partition(ref: Any):
    """One block reference as the pandas DataFrame of one Dask partition."""
    return block_to_pandas(get(ref))


def _default_meta(ds: Any, refs: list) -> Any:
    """The empty pandas frame Ray Data infers from the dataset's schema: the plan's schema when
    known, else the first block's (the blocks are in hand: no second run). Tensor and
    Python-object columns are object columns, as the partitions hold them."""
    schema = ds._plan.dag.output_schema()
    if schema is None and refs:
        schema = get(refs[0]).schema
    if schema is None:
        return block_to_pandas(pa.Table.from_arrays([], names=[]))
    schema = getattr(schema, "base_schema", schema)
    return block_to_pandas(empty_block(schema))


def to_dask(ds: Any, meta: Any = None, verify_meta: bool = True):
    """``Dataset.to_dask``: see its docstring."""
    dask_dataframe("to_dask")
    import dask
    import dask.dataframe as dd
    from dask.dataframe.utils import make_meta

    if not isinstance(verify_meta, bool):
        raise TypeError(f"to_dask: verify_meta must be a bool, got {type(verify_meta).__name__}")
    refs = ds.to_arrow_refs()
    if meta is None:
        meta = _default_meta(ds, refs)
    if not refs:
        # Dask refuses a frame of no partitions: an empty dataset is one empty partition
        return dd.from_pandas(make_meta(meta), npartitions=1)
    # pure=False: keys are fresh names, so Dask never hashes a block to name its task
    parts = [dask.delayed(_partition, pure=False)(ref) for ref in refs]
    # Object columns hold tensors (ndarrays) or Python objects, never text (text columns are
    # pandas string columns): Dask's conversion of object columns to Arrow strings would turn
    # each array into its repr, so it is off for this frame
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(parts, meta=meta, verify_meta=verify_meta)
