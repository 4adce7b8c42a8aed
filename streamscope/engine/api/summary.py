"""``Dataset.summary()``: per-column statistics chosen by column type, computed in one
aggregation pass, as Ray Data 2.60 computes and lays them out (:class:`DatasetSummary`).

Why two tables, as Ray: a statistic whose type is the column's own (``min``/``max`` of an int
column) keeps that type; the others (``count``, ``mean``, percentages, sketches) get their own,
so each Arrow column stays one type. ``to_pandas()`` joins them, a row per statistic.

Statistics by type (Ray's defaults): numbers and bools get count, mean, min, max, std (ddof=0),
the approximate median, missing% and zero%; dates and times count, min, max, missing%; strings,
binaries and everything else count, missing% and the approximate top 10 values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import pyarrow as pa

from streamscope.engine import aggregate as A
from streamscope.engine.aggregate_sketches import ApproximateQuantile, ApproximateTopK
from streamscope.engine.aggregate_stats import MissingValuePercentage, ZeroPercentage
from streamscope.engine.batch_conversion import column_to_arrow
from streamscope.engine.block import block_to_pandas
from streamscope.engine.datatype import DataType, TypeCategory

STATISTIC_COLUMN = "statistic"


def _numerical(column: str) -> list:
    return [A.Count(on=column, ignore_nulls=False), A.Mean(on=column, ignore_nulls=True),
            A.Min(on=column, ignore_nulls=True), A.Max(on=column, ignore_nulls=True),
            A.Std(on=column, ignore_nulls=True, ddof=0), ApproximateQuantile(on=column, quantiles=[0.5]),
            MissingValuePercentage(on=column), ZeroPercentage(on=column, ignore_nulls=True)]


def _temporal(column: str) -> list:
    return [A.Count(on=column, ignore_nulls=False), A.Min(on=column, ignore_nulls=True),
            A.Max(on=column, ignore_nulls=True), MissingValuePercentage(on=column)]


def _basic(column: str) -> list:
    return [A.Count(on=column, ignore_nulls=False), MissingValuePercentage(on=column),
            ApproximateTopK(on=column, k=10)]


def default_aggregators(column: str, arrow_type: pa.DataType) -> list:
    """Ray's default statistics for a column of ``arrow_type``."""
    if pa.types.is_null(arrow_type):
        return [A.Count(on=column, ignore_nulls=False)]
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type) \
            or pa.types.is_decimal(arrow_type):
        return _numerical(column)
    if pa.types.is_temporal(arrow_type):
        return _temporal(column)
    return _basic(column)


@dataclass
class DatasetSummary:
    """The statistics of :meth:`Dataset.summary`: ``to_pandas()`` (a row per statistic, a column
    per dataset column), ``get_column_stats(col)``, and the dataset's ``dataset_schema`` and
    ``columns``. In a notebook it renders as that table.

    Examples:
        >>> ds = streamscope.from_items([{"age": 25}, {"age": 30}, {"age": 0}])
        >>> df = ds.summary().to_pandas().set_index("statistic")
        >>> df.loc["count", "age"], df.loc["max", "age"], round(df.loc["zero_pct", "age"], 1)
        (3.0, 30.0, 33.3)
    """

    _stats_matching_column_dtype: pa.Table
    _stats_mismatching_column_dtype: pa.Table
    dataset_schema: pa.Schema
    columns: list

    STATISTIC_COLUMN = STATISTIC_COLUMN

    def _frames(self) -> list:
        frames = []
        for table in (self._stats_matching_column_dtype, self._stats_mismatching_column_dtype):
            if STATISTIC_COLUMN in table.column_names:
                frames.append(block_to_pandas(table).set_index(STATISTIC_COLUMN))
        return frames

    def to_pandas(self) -> Any:
        """Every statistic as one DataFrame, sorted by statistic name (matching-type values first).

        Examples:
            >>> list(streamscope.from_items([{"s": "a"}, {"s": "a"}]).summary().to_pandas()["statistic"])
            ['approx_topk[0]', 'count', 'missing_pct']
        """
        import pandas as pd

        frames = self._frames()
        if not frames:
            return pd.DataFrame(columns=[STATISTIC_COLUMN])
        result = frames[0]
        for frame in frames[1:]:
            result = result.combine_first(frame)
        return result.reset_index().sort_values(STATISTIC_COLUMN).reset_index(drop=True)

    def get_column_stats(self, column: str) -> Any:
        """The statistics of one column: a DataFrame of ``statistic`` and ``value``.

        Examples:
            >>> stats = streamscope.from_items([{"x": 1}, {"x": 3}]).summary().get_column_stats("x")
            >>> dict(zip(stats["statistic"], stats["value"]))["mean"]
            2.0
        """
        import pandas as pd

        parts = [frame[[column]].rename(columns={column: "value"}) for frame in self._frames() if column in frame]
        if not parts:
            raise ValueError(f"Column '{column}' not found in summary tables")
        combined = pd.concat(parts)
        values = combined.groupby(level=0, sort=False)["value"].apply(
            lambda s: s.dropna().iloc[0] if s.notna().any() else None)
        return values.rename_axis(STATISTIC_COLUMN).reset_index().sort_values(STATISTIC_COLUMN).reset_index(drop=True)

    def _repr_html_(self) -> str:
        return self.to_pandas().to_html(index=False, na_rep="")

    def __repr__(self) -> str:
        return self.to_pandas().to_string(index=False)


def _override_for(mapping: dict, arrow_type: pa.DataType) -> Optional[Callable[[str], list]]:
    """The first factory whose key matches a column of ``arrow_type``, as Ray matches: a
    DataType equal to the column's (Arrow-backed) one, a pyarrow type equal to it, or a
    TypeCategory the type belongs to."""
    dtype = DataType.from_arrow(arrow_type)
    for key, factory in mapping.items():
        if isinstance(key, DataType) and key == dtype:
            return factory
        if isinstance(key, pa.DataType) and key == arrow_type:
            return factory
        if isinstance(key, (TypeCategory, str)) and not isinstance(key, pa.DataType) and dtype.is_of(key):
            return factory
    return None


def summarize(ds: Any, columns: Optional[list] = None,
              override_dtype_agg_mapping: Optional[dict[Any, Callable[[str], list]]] = None) -> DatasetSummary:
    """Compute ``ds``'s summary (see the module docstring); ``override_dtype_agg_mapping`` maps a
    ``DataType`` (or a pyarrow type, or a ``TypeCategory``) to a function of a column name
    returning that column's aggregations."""
    mapping = dict(override_dtype_agg_mapping or {})
    categories = {c.value for c in TypeCategory}
    bad = [key for key in mapping if not (isinstance(key, (pa.DataType, DataType, TypeCategory))
                                          or (isinstance(key, str) and key in categories))]
    if bad:
        raise TypeError(f"summary(override_dtype_agg_mapping=...): keys must be DataTypes such as DataType.int64() "
                        f"(streamscope.datatype; pyarrow types work too) or TypeCategory values {sorted(categories)}, got {bad!r}")
    schema = ds.schema()
    if schema is None:
        raise ValueError("summary() needs the dataset's schema, and this dataset has none (it is empty)")
    arrow_schema: pa.Schema = getattr(schema, "base_schema", schema)
    names = list(arrow_schema.names) if columns is None else list(columns)
    missing = [c for c in names if c not in arrow_schema.names]
    if missing:
        raise ValueError(f"summary(columns=...): columns {missing} not found; the dataset has {arrow_schema.names}")
    aggregators = []
    for name in names:
        arrow_type = arrow_schema.field(name).type
        factory = _override_for(mapping, arrow_type)
        aggregators.extend(factory(name) if factory is not None else default_aggregators(name, arrow_type))
    if not aggregators:
        raise ValueError("summary() requires at least one column; got none")
    result = ds.aggregate(*aggregators)
    matching: dict = {}
    changing: dict = {}
    for agg in aggregators:
        column = agg.get_target_column()
        original = arrow_schema.field(column).type
        stat = agg.name.split("(", 1)[0]
        value = result.get(agg.name)
        for stat_name, stat_value, stat_type in _expand(stat, value, agg, original):
            target = matching if stat_type == original else changing
            target.setdefault(stat_name, {})[column] = (stat_value, stat_type)
    return DatasetSummary(_table(matching, names, arrow_schema, True), _table(changing, names, arrow_schema, False),
                          arrow_schema, names)


def _expand(stat: str, value: Any, agg: Any, original: pa.DataType) -> list:
    """One ``(name, value, arrow type)`` per statistic; a list result becomes ``stat[0]``, ``stat[1]``..."""
    if isinstance(value, list):
        return [(f"{stat}[{i}]", item, _type_of(item)) for i, item in enumerate(value)]
    if isinstance(agg, (A.Min, A.Max)):
        return [(stat, value, original)]  # a min or max is one of the column's own values
    return [(stat, value, _type_of(value))]


def _type_of(value: Any) -> pa.DataType:
    return pa.array([value]).type


def _table(stats: dict, columns: list, schema: pa.Schema, preserve_types: bool) -> pa.Table:
    if not stats:
        return pa.table({})
    stat_names = sorted(stats)
    data: dict = {STATISTIC_COLUMN: stat_names}
    for column in sorted({c for per in stats.values() for c in per}):
        values = [stats[s][column][0] if column in stats[s] else None for s in stat_names]
        first = next((stats[s][column][1] for s in stat_names if column in stats[s]), None)
        arrow_type = schema.field(column).type if preserve_types else first
        try:
            data[column] = pa.array(values, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds (a count next to top values):
            data[column] = column_to_arrow(column, values)  # as Ray, a column of Python objects
    return pa.table(data)
