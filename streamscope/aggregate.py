"""Public aggregations, mirroring ``ray.data.aggregate``: ``from streamscope.aggregate import Sum``.

``ArrowAggSpec``, ``BlockAccessor`` and ``BlockColumnAccessor`` (re-exported by Ray's module from
its internals) are not here: ``aggregate_block`` receives a plain ``pyarrow.Table``, so pyarrow's
own API takes their place.
"""

from streamscope.engine.aggregate import (
    AbsMax,
    AggregateFn,
    AggregateFnV2,
    Count,
    Max,
    Mean,
    Min,
    Quantile,
    Std,
    Sum,
    Unique,
    VectorizedAggregateFnV2,
)
from streamscope.engine.aggregate_sketches import ApproximateQuantile, ApproximateTopK
from streamscope.engine.aggregate_stats import AsList, CountDistinct, MissingValuePercentage, ValueCounter, ZeroPercentage

__all__ = [
    "AbsMax", "AggregateFn", "AggregateFnV2", "ApproximateQuantile", "ApproximateTopK", "AsList", "Count",
    "CountDistinct", "Max", "Mean", "Min", "MissingValuePercentage", "Quantile", "Std", "Sum", "Unique",
    "ValueCounter", "VectorizedAggregateFnV2", "ZeroPercentage",
]
