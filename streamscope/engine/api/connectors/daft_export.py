"""``Dataset.to_daft`` (``pip install 'streamscope[daft]'``): the dataset as a Daft DataFrame.

It runs the dataset once and hands Daft its blocks as Arrow tables, one Daft partition per block
(``daft.from_arrow``, which takes the Arrow buffers without copying them). The blocks are those
``to_arrow_refs`` returns, resolved with :func:`streamscope.get`: copies in driver memory on the
local runtimes (never store pages a finished run frees), fetched from Ray's object store on the
Ray runtime. Ray Data calls ``daft.from_ray_dataset``, which needs Daft's Ray runner; this works
with any Daft runner, Daft's default native one included.

Apart from ``daft.py`` (``from_daft``) because this module must not import the Dataset: the
Dataset's ``to_daft`` (``api/dataframe_bridges.py``) imports it, lazily.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from streamscope.engine.api.refs import get
from streamscope.engine.block import empty_block
from streamscope.engine.io.optional_deps import import_optional


def import_daft(fn: str):
    """``daft``, or the error naming the extra (and ``fn``) when Daft is missing."""
    return import_optional("daft", extra="daft", connector=fn)


def to_daft(ds: Any):
    """``Dataset.to_daft``: see its docstring."""
    daft = import_daft("to_daft")
    tables = get(ds.to_arrow_refs())
    if not tables:
        # Daft refuses a frame of no tables: an empty dataset is one empty table of its schema
        schema = ds._plan.dag.output_schema()
        schema = getattr(schema, "base_schema", schema)
        tables = [empty_block(schema) if schema is not None else pa.Table.from_arrays([], names=[])]
    return daft.from_arrow(tables)
