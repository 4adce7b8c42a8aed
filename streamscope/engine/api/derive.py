"""How an API module below ``dataset.py`` builds a result Dataset: through the parent's own
``_derive`` (the one constructor of derived Datasets).

Why a leaf: ``grouped_data.py`` and ``all_to_all.py`` both build exchanges, and ``dataset.py``
imports them (their mixin and functions). If they imported the Dataset class back, the API would
be a knot of cycles; instead they hold a Dataset *instance* and ask it for the next Dataset, so
imports inside ``api/`` point one way: ``dataset.py`` -> ``all_to_all.py`` -> ``grouped_data.py``
-> ``derive.py``. A Dataset made from nothing (``from_items``, ``read_parquet``) is built by the
modules above ``dataset.py`` (``from_memory.py``, ``read.py``), which import the class.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.logical import operators as L
from streamscope.engine.physical.exchange.hash_aggregate import HashAggregateSpec


def exchange(ds: Any, name: str, spec: Any, kind: str, others: tuple = ()) -> Any:
    """A Dataset with one ``Exchange`` operator over ``ds`` (and ``others``, for joins and zips)."""
    return ds._derive(L.Exchange(name, [ds._plan.dag] + [o._plan.dag for o in others], spec, kind=kind))


def aggregate_dataset(ds: Any, keys: list[str], aggs: list, num_partitions: Optional[int] = None) -> Any:
    """A Dataset with one row per distinct ``keys`` value (one row in all without keys) holding
    the ``aggs`` results, computed by a hash-aggregate exchange."""
    label = ", ".join(a.name for a in aggs)
    name = f"Aggregate[keys={keys}, {label}]" if keys else f"Aggregate[{label}]"
    return exchange(ds, name, HashAggregateSpec(keys, aggs, num_partitions), "HashAggregate")
