"""Column-profiling aggregations of Ray Data 2.60: CountDistinct, AsList, ValueCounter,
MissingValuePercentage and ZeroPercentage, with Ray Data's default output names
(``count_distinct(x)``, ``list(x)``, ``value_counter(x)``, ``missing_pct(x)``, ``zero_pct(x)``).

Why they look different inside: CountDistinct and AsList keep a list state that the exchange
concatenates (``list_state``), MissingValuePercentage and ZeroPercentage keep two counters that
pyarrow's hash aggregates sum; only ValueCounter keeps a Python accumulator (a {value: count}
table per group, merged pairwise), since pyarrow has no hash aggregate producing one. All of them
combine partial states across tasks, so they stream and spill as the built-ins do.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.aggregate import _ALL, _SKIP, _VALID, AggregateFnV2, _ListState, _Vectorized, distinct_values_specs


def _require_on(cls_name: str, on: Any) -> str:
    if not isinstance(on, str):
        raise TypeError(f"{cls_name}: on must be a column name (str), got {on!r}")
    return on


class CountDistinct(_ListState):
    """The number of distinct values of ``on`` (``count_distinct(on)``), like SQL's
    ``COUNT(DISTINCT on)``: nulls are not counted unless ``ignore_nulls=False`` (then null counts
    as one value); NaN counts once.

    Examples:
        >>> from streamscope.aggregate import CountDistinct
        >>> ds = streamscope.from_items([{"c": "A"}, {"c": "B"}, {"c": "A"}, {"c": None}])
        >>> ds.aggregate(CountDistinct("c"), CountDistinct("c", ignore_nulls=False, alias_name="with_null"))
        {'count_distinct(c)': 2, 'with_null': 3}
    """

    _label = "count_distinct"

    def __init__(self, on: str, ignore_nulls: bool = True, alias_name: Optional[str] = None):
        super().__init__(_require_on("CountDistinct", on), ignore_nulls, alias_name)

    def _map_specs(self, table, p):
        return distinct_values_specs(self._input(table), self._ignore_nulls, p)

    def _combine_specs(self, p):
        return (lambda t: {}), []

    def _finalize(self, combined, p):
        mode = "only_valid" if self._ignore_nulls else "all"
        lists = combined.column(p + "vals").combine_chunks()
        out = [pc.count_distinct(lists[i].values, mode=mode).as_py() if lists[i].is_valid else 0
               for i in range(len(lists))]
        return pa.array(out, pa.int64())


class AsList(_ListState):
    """All values of ``on`` in the group as one list (``list(on)``), nulls included unless
    ``ignore_nulls=True``. The order inside a list follows the order in which partial states
    reach the reduce task, as in Ray Data (no order is promised).

    Examples:
        >>> from streamscope.aggregate import AsList
        >>> ds = streamscope.from_items([{"k": 1, "v": 1}, {"k": 2, "v": 2}, {"k": 1, "v": None}])
        >>> rows = ds.groupby("k").aggregate(AsList("v", ignore_nulls=True)).sort("k").take()
        >>> [(r["k"], sorted(r["list(v)"])) for r in rows]
        [(1, [1]), (2, [2])]
    """

    _label = "list"

    def __init__(self, on: str, alias_name: Optional[str] = None, ignore_nulls: bool = False):
        super().__init__(_require_on("AsList", on), ignore_nulls, alias_name)

    def _map_specs(self, table, p):
        return {p + "in": self._input(table)}, [(p + "in", "list", None, p + "vals")]

    def _combine_specs(self, p):
        return (lambda t: {}), []

    def _finalize(self, combined, p):
        lists = combined.column(p + "vals").combine_chunks()
        if not self._ignore_nulls:
            return lists
        values = lists.flatten()
        keep = np.asarray(values.is_valid(), dtype=bool)
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        offsets = np.asarray(lists.offsets, dtype=np.int64)
        return pa.ListArray.from_arrays(pa.array(kept_before[offsets - offsets[0]], pa.int32()), values.filter(pa.array(keep)))


class MissingValuePercentage(_Vectorized):
    """The percentage (0 to 100) of ``on``'s values that are missing, null or NaN
    (``missing_pct(on)``).

    Examples:
        >>> from streamscope.aggregate import MissingValuePercentage
        >>> ds = streamscope.from_items([{"v": 1.0}, {"v": None}, {"v": float("nan")}, {"v": 4.0}])
        >>> ds.aggregate(MissingValuePercentage("v"))
        {'missing_pct(v)': 50.0}
    """

    _label = "missing_pct"

    def __init__(self, on: str, alias_name: Optional[str] = None):
        super().__init__(_require_on("MissingValuePercentage", on), False, alias_name)

    def _map_specs(self, table, p):
        column = self._input(table)
        nan_aware = pa.types.is_floating(column.type)
        missing = pc.cast(pc.is_null(column, nan_is_null=nan_aware), pa.int64())
        return {p + "miss": missing}, [(p + "miss", "sum", None, p + "miss"), (p + "miss", "count", _ALL, p + "n")]

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "miss", "sum", None, p + "miss"), (p + "n", "sum", None, p + "n")]

    def _finalize(self, combined, p):
        n = pc.cast(combined.column(p + "n"), pa.float64())
        pct = pc.multiply(pc.divide(pc.cast(combined.column(p + "miss"), pa.float64()), n), 100.0)
        return pc.if_else(pc.equal(n, 0.0), pa.scalar(None, pa.float64()), pct)


class ZeroPercentage(_Vectorized):
    """The percentage (0 to 100) of ``on``'s values equal to zero (``zero_pct(on)``). Nulls are
    left out of the denominator with ``ignore_nulls=True`` (the default) and counted in it (as
    non-zeros) with ``ignore_nulls=False``; a group with no value gives null.

    Examples:
        >>> from streamscope.aggregate import ZeroPercentage
        >>> ds = streamscope.from_items([{"v": 0}, {"v": None}, {"v": 0}, {"v": 3}])
        >>> ds.aggregate(ZeroPercentage("v"), ZeroPercentage("v", ignore_nulls=False, alias_name="all_rows"))
        {'zero_pct(v)': 66.66666666666666, 'all_rows': 50.0}
    """

    _label = "zero_pct"

    def __init__(self, on: str, ignore_nulls: bool = True, alias_name: Optional[str] = None):
        super().__init__(_require_on("ZeroPercentage", on), ignore_nulls, alias_name)

    def _map_specs(self, table, p):
        column = self._input(table)
        try:
            zero = pc.cast(pc.equal(column, pa.scalar(0, column.type)), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise TypeError(f"{self.name}: column {self._target_col_name!r} must be numeric, got {column.type}") from e
        count = (p + "in", "count", _VALID if self._ignore_nulls else _ALL, p + "n")
        return {p + "zero": zero, p + "in": column}, [(p + "zero", "sum", _SKIP, p + "zero"), count]

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "zero", "sum", _SKIP, p + "zero"), (p + "n", "sum", None, p + "n")]

    def _finalize(self, combined, p):
        n = pc.cast(combined.column(p + "n"), pa.float64())
        zeros = pc.fill_null(pc.cast(combined.column(p + "zero"), pa.float64()), 0.0)
        pct = pc.multiply(pc.divide(zeros, n), 100.0)
        return pc.if_else(pc.equal(n, 0.0), pa.scalar(None, pa.float64()), pct)


class ValueCounter(AggregateFnV2):
    """How often each value of ``on`` occurs (``value_counter(on)``): a dict
    ``{"values": [...], "counts": [...]}`` in order of first appearance, null counted as a value,
    like pandas' ``value_counts(dropna=False)`` unsorted.

    Examples:
        >>> from streamscope.aggregate import ValueCounter
        >>> ds = streamscope.from_items(["A", "B", "A", "C", "A", "B"])
        >>> ds.aggregate(ValueCounter("item"))
        {'value_counter(item)': {'values': ['A', 'B', 'C'], 'counts': [3, 2, 1]}}
    """

    def __init__(self, on: str, alias_name: Optional[str] = None):
        on = _require_on("ValueCounter", on)
        super().__init__(alias_name or f"value_counter({on})", zero_factory=lambda: {"values": [], "counts": []},
                         on=on, ignore_nulls=True)

    def aggregate_block(self, block: pa.Table) -> dict:
        """The value counts of one block."""
        if self._target_col_name not in block.column_names:
            raise KeyError(f"{self.name}: no column {self._target_col_name!r} (columns: {block.column_names})")
        counts = pc.value_counts(block.column(self._target_col_name))
        return {"values": counts.field("values").to_pylist(), "counts": counts.field("counts").to_pylist()}

    def combine(self, current_accumulator: dict, new: dict) -> dict:
        """Add ``new``'s counts to ``current_accumulator``'s, new values appended at the end."""
        values, counts = list(current_accumulator["values"]), list(current_accumulator["counts"])
        index = {v: i for i, v in enumerate(values)}
        for v, c in zip(new["values"], new["counts"]):
            if v in index:
                counts[index[v]] += c
            else:
                index[v] = len(values)
                values.append(v)
                counts.append(c)
        return {"values": values, "counts": counts}


__all__ = ["AsList", "CountDistinct", "MissingValuePercentage", "ValueCounter", "ZeroPercentage"]
