"""``from_daft`` (``pip install 'streamscope[daft]'``): a Daft DataFrame as a dataset.

The Daft query runs on Daft's configured runner when ``from_daft`` is called (as Ray Data's
``from_daft``, ``df.to_ray_dataset()``, runs it), and each partition Daft produces becomes one
block: its Arrow table, taken without copying. Columns of Daft's ``Python`` type hold arbitrary
objects that Daft exports to Arrow only as pickled bytes (and its variable-shape tensors, images
and the like as Arrow extension types of its own); such columns are taken as Python values
instead and become columns by the batch-column rules (``docs/batch-conversion.md``): ndarrays of
one shape a fixed-shape tensor column, of several shapes a variable-shape one. The other direction,
``Dataset.to_daft``, is in ``daft_export.py``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from streamscope.engine import batch_conversion
from streamscope.engine.api.connectors.daft_export import import_daft
from streamscope.engine.api.dataset import MaterializedDataset
from streamscope.engine.block import empty_block, to_block
from streamscope.engine.logical.operators import InputData
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.python_objects import object_array


def from_daft(df: "daft.DataFrame"):
    """A :class:`MaterializedDataset` of a Daft DataFrame's rows: the query runs now, on Daft's
    runner, and each partition it yields becomes one block (its Arrow table, not copied); needs
    ``pip install 'streamscope[daft]'``. Columns of Daft's ``Python`` and ``Tensor`` types become
    columns of the Python objects or tensors, as ``from_items`` makes them.

    Examples:
        >>> import daft
        >>> df = daft.from_pydict({"a": [1, 2, 3], "b": ["x", "y", "z"]})
        >>> streamscope.from_daft(df.where(daft.col("a") > 1)).take_all()
        [{'a': 2, 'b': 'y'}, {'a': 3, 'b': 'z'}]
    """
    daft = import_daft("from_daft")
    if not isinstance(df, daft.DataFrame):
        raise TypeError(f"from_daft expects a daft.DataFrame, got {type(df).__module__}.{type(df).__name__}")
    tables = [_block(partition) for partition in df.iter_partitions()]
    if not tables:  # a query of no partitions: one empty block of the frame's columns
        tables = [empty_block(df.schema().to_pyarrow_schema())]
    return MaterializedDataset(LogicalPlan(InputData(tables=tables, name="FromDaft")))


def _block(partition: Any) -> pa.Table:
    table = partition.to_arrow()
    # Daft's own Arrow extensions (Python objects as pickles, variable-shape tensors as structs,
    # images...) mean nothing outside Daft: such columns are taken as Python values
    foreign = [f.name for f in table.schema
               if isinstance(f.type, pa.BaseExtensionType) and f.type.extension_name.startswith("daft.")]
    if foreign:
        values = partition.to_pydict()
        for name in foreign:
            column = batch_conversion.column_to_arrow(name, object_array(values[name]))
            table = table.set_column(table.schema.get_field_index(name), name, column)
    return to_block(table)
