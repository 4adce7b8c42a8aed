"""Public aggregations, mirroring ``ray.data.aggregate``: ``from streamscope.aggregate import Sum``."""

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
)

__all__ = ["AbsMax", "AggregateFn", "AggregateFnV2", "Count", "Max", "Mean", "Min", "Quantile", "Std", "Sum", "Unique"]
