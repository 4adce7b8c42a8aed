"""GroupedData: what ``Dataset.groupby(key)`` returns; each method builds a hash-aggregate (or
map_groups) exchange over the dataset's plan. Output column names are Ray Data's: ``count()``,
``sum(x)``, ``mean(x)``...; nothing runs until the result is consumed."""

from __future__ import annotations

from typing import Any, Optional, Union

from streamscope.engine import aggregate as A
from streamscope.engine.api.derive import aggregate_dataset, exchange
from streamscope.engine.api.expression_columns import check_expression_items
from streamscope.engine.api.map_args import refuse_map_args
from streamscope.engine.block import BATCH_FORMATS
from streamscope.engine.expressions import Expr
from streamscope.engine.physical.exchange.shuffle import MapGroupsSpec
from streamscope.engine.transforms.expression_transforms import WithColumnsTransform
from streamscope.engine.transforms.udf import UserFunction, describe


class GroupedData:
    """What ``Dataset.groupby(key)`` returns: each method builds one hash-aggregate (or
    ``map_groups``) exchange over the dataset and returns a Dataset with one row per group.

    Output column names are Ray Data's: the keys, then ``count()``, ``sum(x)``, ``mean(x)``...
    Map tasks pre-aggregate each block, so only one row per group and block crosses the
    exchange. Nothing runs until the result is consumed; results are not sorted by key, so
    sort them when order matters.

    Examples:
        >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
        >>> ds.groupby("k").mean("v").sort("k").take()
        [{'k': 'a', 'mean(v)': 2.0}, {'k': 'b', 'mean(v)': 2.0}]
    """

    def __init__(self, dataset: Any, key: Union[str, list[str], None], num_partitions: Optional[int] = None):
        if key is None:
            keys: list[str] = []
        elif isinstance(key, str):
            keys = [key]
        elif isinstance(key, (list, tuple)) and all(isinstance(k, str) for k in key):
            keys = list(key)
        else:
            raise TypeError(f"groupby: key must be a column name or a list of column names, got {key!r}")
        if num_partitions is not None and (not isinstance(num_partitions, int) or num_partitions <= 0):
            raise ValueError(f"groupby: num_partitions must be a positive int, got {num_partitions!r}")
        self._dataset = dataset
        self._keys = keys
        self._num_partitions = num_partitions

    def __repr__(self) -> str:
        return f"GroupedData(dataset={self._dataset!r}, key={self._keys!r})"

    def aggregate(self, *aggs: A.AggregateFnV2):
        """One row per group with every aggregation in ``aggs`` (``streamscope.aggregate`` objects);
        give clashing outputs an ``alias_name``.

        Examples:
            >>> from streamscope.aggregate import Count, Max
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> ds.groupby("k").aggregate(Count(), Max("v", alias_name="top")).sort("k").take()
            [{'k': 'a', 'count()': 2, 'top': 3}, {'k': 'b', 'count()': 1, 'top': 2}]
        """
        if not aggs:
            raise ValueError("aggregate() needs at least one aggregation")
        for agg in aggs:
            if not isinstance(agg, A.AggregateFnV2):
                raise TypeError(f"aggregate() takes AggregateFn objects, got {type(agg).__name__}")
        names = [a.name for a in aggs]
        clash = sorted({n for n in names if names.count(n) > 1 or n in self._keys})
        if clash:
            raise ValueError(f"aggregate: output column names {clash} collide; give one of them an alias_name")
        return aggregate_dataset(self._dataset, self._keys, list(aggs), self._num_partitions)

    def count(self):
        """Rows per group, in column ``count()``.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a"}, {"k": "b"}, {"k": "a"}])
            >>> ds.groupby("k").count().sort("k").take()
            [{'k': 'a', 'count()': 2}, {'k': 'b', 'count()': 1}]
        """
        return self.aggregate(A.Count())

    def _each(self, cls, on, **kw):
        cols = self._columns(on)
        return self.aggregate(*[cls(c, **kw) for c in cols])

    def _columns(self, on) -> list[str]:
        if on is None:
            cols = self._dataset.columns() or []
            return [c for c in cols if c not in self._keys]
        return [on] if isinstance(on, str) else list(on)

    def sum(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The sum of ``on`` per group (every non-key column when ``on`` is None).

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> ds.groupby("k").sum("v").sort("k").take()
            [{'k': 'a', 'sum(v)': 4}, {'k': 'b', 'sum(v)': 2}]
        """
        return self._each(A.Sum, on, ignore_nulls=ignore_nulls)

    def min(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The smallest value of ``on`` per group.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> ds.groupby("k").min("v").sort("k").take()
            [{'k': 'a', 'min(v)': 1}, {'k': 'b', 'min(v)': 2}]
        """
        return self._each(A.Min, on, ignore_nulls=ignore_nulls)

    def max(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The largest value of ``on`` per group.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> ds.groupby("k").max("v").sort("k").take()
            [{'k': 'a', 'max(v)': 3}, {'k': 'b', 'max(v)': 2}]
        """
        return self._each(A.Max, on, ignore_nulls=ignore_nulls)

    def mean(self, on: Union[str, list[str], None] = None, ignore_nulls: bool = True):
        """The mean of ``on`` per group.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 4}])
            >>> ds.groupby("k").mean("v").sort("k").take()
            [{'k': 'a', 'mean(v)': 2.5}, {'k': 'b', 'mean(v)': 2.0}]
        """
        return self._each(A.Mean, on, ignore_nulls=ignore_nulls)

    def std(self, on: Union[str, list[str], None] = None, ddof: int = 1, ignore_nulls: bool = True):
        """The standard deviation of ``on`` per group (sample, ``ddof=1``, by default; NaN for a
        group of one row).

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "a", "v": 3}, {"k": "b", "v": 2}])
            >>> ds.groupby("k").std("v", ddof=0).sort("k").take()
            [{'k': 'a', 'std(v)': 1.0}, {'k': 'b', 'std(v)': 0.0}]
        """
        return self._each(A.Std, on, ddof=ddof, ignore_nulls=ignore_nulls)

    def map_groups(self, fn, *, zero_copy_batch: bool = True, compute=None, batch_format: Optional[str] = "default",
                   fn_args=None, fn_kwargs=None, fn_constructor_args=None, fn_constructor_kwargs=None, num_cpus=None,
                   num_gpus=None, memory=None, concurrency=None, **ray_remote_args):
        """Apply ``fn`` to each group as one batch (all of a group's rows together, a dict of numpy
        arrays by default); it returns a batch of any number of rows.

        Examples:
            >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
            >>> def spread(group):
            ...     return {"k": group["k"][:1], "spread": [group["v"].max() - group["v"].min()]}
            >>> ds.groupby("k").map_groups(spread).sort("k").take()
            [{'k': 'a', 'spread': 2}, {'k': 'b', 'spread': 0}]
        """
        if not self._keys:
            raise ValueError("map_groups needs a groupby key")
        if (batch_format or "default") not in BATCH_FORMATS:
            raise ValueError(f"map_groups: batch_format must be one of {BATCH_FORMATS}, got {batch_format!r}")
        name = f"MapGroups({describe(fn)})"
        refuse_map_args(name, "in streamscope map_groups runs inside the shuffle's reduce tasks, which are sized "
                        "by the exchange, not per map", compute=compute, num_cpus=num_cpus, num_gpus=num_gpus,
                        memory=memory, concurrency=concurrency, **ray_remote_args)
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        spec = MapGroupsSpec(self._keys, udf, batch_format or "default", self._num_partitions, zero_copy_batch)
        return exchange(self._dataset, name, spec, "MapGroups")

    def with_column(self, column_name: str, expr: Expr, **ray_remote_args) -> Any:
        """Add column ``column_name`` computed by expression ``expr`` on each group as a whole
        (rows and other columns kept, a group's rows together), as Ray Data's
        ``GroupedData.with_column``: row-wise expressions give what ``Dataset.with_column`` gives,
        and per-block state (``monotonically_increasing_id()``, ``random(seed=...)``) runs per
        group.

        Examples:
            >>> from streamscope.expressions import col
            >>> ds = streamscope.from_items([{"group": 1, "value": 1}, {"group": 1, "value": 2}])
            >>> ds.groupby("group").with_column("value_twice", col("value") * 2).sort(["group", "value"]).take_all()
            [{'group': 1, 'value': 1, 'value_twice': 2}, {'group': 1, 'value': 2, 'value_twice': 4}]
        """
        if not isinstance(column_name, str) or not column_name:
            raise ValueError(f"column_name must be a non-empty string, got: {column_name!r}")
        if not isinstance(expr, Expr):
            raise TypeError("expr must be a streamscope expression created via the expression API "
                            "(streamscope.expressions.col/lit/udf...).")
        if not self._keys:
            raise ValueError("with_column needs a groupby key; use Dataset.with_column for the whole dataset")
        transform = WithColumnsTransform(check_expression_items(
            "GroupedData.with_column", [(column_name, expr)], self._dataset._plan.dag.output_schema()))
        name = f"MapGroups({transform.name})"
        refuse_map_args(name, "in streamscope a grouped with_column runs inside the shuffle's reduce tasks, which are "
                        "sized by the exchange, not per map", **ray_remote_args)
        spec = MapGroupsSpec(self._keys, transform, "pyarrow", self._num_partitions)
        return exchange(self._dataset, name, spec, "MapGroups")

