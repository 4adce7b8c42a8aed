"""Aggregations with Ray Data's names and semantics: Count, Sum, Min, Max, Mean, Std, AbsMax,
Quantile, Unique, and AggregateFn / AggregateFnV2 for custom ones.

How they run: every aggregation keeps its running state in a few *state columns*. A map task turns
a block into one row of state per group with a single vectorized ``Table.group_by().aggregate``
call (partial aggregation, so far fewer rows cross the exchange); a reduce task re-aggregates the
state rows of its partition (``_combine``) and turns them into the output column (``_finalize``).
Custom Python aggregations keep a pickled accumulator per group in a binary state column and run
the user's functions per group; the built-ins never loop over rows in Python.

Null semantics follow Ray Data: with ``ignore_nulls=True`` nulls are skipped and a group with no
valid value gives null; with ``ignore_nulls=False`` any null makes the result null. ``Count()``
counts rows; ``Count(on, ignore_nulls=True)`` counts valid values.
"""

from __future__ import annotations

import enum
import pickle
from typing import Any, Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_VALID = pc.CountOptions(mode="only_valid")
_NULLS = pc.CountOptions(mode="only_null")
_ALL = pc.CountOptions(mode="all")
_SKIP = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
_VAR0 = pc.VarianceOptions(ddof=0, skip_nulls=True, min_count=1)


class AggregateFnV2:
    """Base of every aggregation. Subclass it with ``aggregate_block`` (a block to a partial
    result), ``combine`` (two partials to one) and ``finalize`` for a custom aggregation, as in
    Ray Data; it runs per group in Python, partials travel pickled.

    Examples:
        >>> import pyarrow.compute as pc
        >>> from streamscope.aggregate import AggregateFnV2
        >>> class SumOfSquares(AggregateFnV2):
        ...     def __init__(self, on):
        ...         super().__init__(f"sum_sq({on})", zero_factory=lambda: 0, on=on)
        ...     def aggregate_block(self, block):
        ...         values = block[self.get_target_column()]
        ...         return pc.sum(pc.multiply(values, values)).as_py() or 0
        ...     def combine(self, current_accumulator, new):
        ...         return current_accumulator + new
        >>> streamscope.range(4).aggregate(SumOfSquares("id"))
        {'sum_sq(id)': 14}
    """

    vectorized = False

    def __init__(self, name: str, zero_factory: Callable[[], Any] = lambda: None, *, on: Optional[str] = None,
                 ignore_nulls: bool = True):
        if not name or not isinstance(name, str):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string (the output column), got {name!r}")
        self.name = name
        self._zero_factory = zero_factory
        self._target_col_name = on
        self._ignore_nulls = ignore_nulls

    def get_target_column(self) -> Optional[str]:
        return self._target_col_name

    # ---- the Python protocol (custom aggregations) ----------------------------------------------
    def aggregate_block(self, block: pa.Table) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement aggregate_block")

    def combine(self, current_accumulator: Any, new: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement combine")

    def finalize(self, accumulator: Any) -> Any:
        return accumulator

    def _init_for_key(self, key: Any) -> Any:
        return self._zero_factory()

    def _accumulate(self, acc: Any, block: pa.Table) -> Any:
        return self.combine(acc, self.aggregate_block(block))

    # ---- the state-column protocol used by the exchange -----------------------------------------
    def _map_specs(self, table: pa.Table, p: str) -> tuple[dict, list]:
        """Extra input columns and ``(column, function, options, state_name)`` group_by specs."""
        return {}, []

    def _combine_specs(self, p: str) -> tuple[Callable, list]:
        """(prepare(table) -> extra columns, specs) re-aggregating state rows of many partials."""
        return (lambda t: {}), []

    def _post_combine(self, combined: pa.Table, p: str) -> dict:
        return {}

    def _finalize(self, combined: pa.Table, p: str) -> pa.Array:
        raise NotImplementedError


class AggregateFn(AggregateFnV2):
    """Ray Data's custom aggregation from functions: ``init(key)`` makes an accumulator,
    ``accumulate_row(acc, row)`` (or ``accumulate_block(acc, block)``) folds rows in,
    ``merge(a, b)`` joins two accumulators, ``finalize(acc)`` gives the value.

    Examples:
        >>> from streamscope.aggregate import AggregateFn
        >>> longest = AggregateFn(init=lambda key: "",
        ...                       accumulate_row=lambda acc, row: max(acc, row["item"], key=len),
        ...                       merge=lambda a, b: max(a, b, key=len), name="longest")
        >>> streamscope.from_items(["ab", "abcd", "abc"]).aggregate(longest)
        {'longest': 'abcd'}
    """

    def __init__(self, init: Callable, merge: Callable, name: str, accumulate_row: Optional[Callable] = None,
                 accumulate_block: Optional[Callable] = None, finalize: Optional[Callable] = None):
        if (accumulate_row is None) == (accumulate_block is None):
            raise ValueError("AggregateFn needs exactly one of accumulate_row or accumulate_block")
        super().__init__(name)
        self._init_fn = init
        self._merge_fn = merge
        self._acc_row = accumulate_row
        self._acc_block = accumulate_block
        self._finalize_fn = finalize

    def _init_for_key(self, key: Any) -> Any:
        return self._init_fn(key)

    def _accumulate(self, acc: Any, block: pa.Table) -> Any:
        if self._acc_block is not None:
            return self._acc_block(acc, block)
        for row in block.to_pylist():
            acc = self._acc_row(acc, row)
        return acc

    def combine(self, current_accumulator: Any, new: Any) -> Any:
        return self._merge_fn(current_accumulator, new)

    def finalize(self, accumulator: Any) -> Any:
        return accumulator if self._finalize_fn is None else self._finalize_fn(accumulator)


class VectorizedAggregateFnV2(AggregateFnV2):
    """Ray Data's base for custom aggregations whose partials merge a whole column at a time:
    implement ``aggregate_block`` and ``_combine_column(accumulator_col)`` (a pyarrow Array of
    partial accumulators, or a pandas object Series when they do not fit an Arrow type, to one
    accumulator). streamscope merges partials two at a time, calling ``_combine_column`` on a
    column of two.

    Examples:
        >>> import pyarrow.compute as pc
        >>> from streamscope.aggregate import VectorizedAggregateFnV2
        >>> class Total(VectorizedAggregateFnV2):
        ...     def __init__(self, on):
        ...         super().__init__(f"total({on})", zero_factory=lambda: 0, on=on, ignore_nulls=True)
        ...     def aggregate_block(self, block):
        ...         return pc.sum(block[self.get_target_column()]).as_py() or 0
        ...     def _combine_column(self, accumulator_col):
        ...         return pc.sum(accumulator_col).as_py()
        >>> streamscope.range(5).aggregate(Total("id"))
        {'total(id)': 10}
    """

    def _combine_column(self, accumulator_col: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _combine_column")

    def combine(self, current_accumulator: Any, new: Any) -> Any:
        """Merge two partials through ``_combine_column`` (as a column of two)."""
        try:
            column: Any = pa.array([current_accumulator, new])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            import pandas as pd

            column = pd.Series([current_accumulator, new], dtype=object)
        return self._combine_column(column)


class _Vectorized(AggregateFnV2):
    """Built-ins: state columns computed with pyarrow hash aggregates."""

    vectorized = True
    _label = ""

    def __init__(self, on: Optional[str] = None, ignore_nulls: bool = True, alias_name: Optional[str] = None):
        if on is not None and not isinstance(on, str):
            raise TypeError(f"{type(self).__name__}: on must be a column name (str), got {on!r}")
        name = alias_name or f"{self._label}({on or ''})"
        super().__init__(name, on=on, ignore_nulls=ignore_nulls)

    def _input(self, table: pa.Table) -> pa.ChunkedArray:
        if self._target_col_name not in table.column_names:
            raise KeyError(f"{self.name}: no column {self._target_col_name!r} (columns: {table.column_names})")
        return table.column(self._target_col_name)

    def _null_spec(self, p: str) -> list:
        return [] if self._ignore_nulls else [(p + "in", "count", _NULLS, p + "nulls")]

    def _nulls_combine(self, p: str) -> list:
        return [] if self._ignore_nulls else [(p + "nulls", "sum", None, p + "nulls")]

    def _mask_nulls(self, combined: pa.Table, values: pa.Array, p: str) -> pa.Array:
        if self._ignore_nulls:
            return values
        bad = pc.greater(combined.column(p + "nulls"), 0)
        return pc.if_else(bad, pa.scalar(None, values.type), values)


class Count(_Vectorized):
    """Rows per group (column ``count()``); ``Count(on, ignore_nulls=True)`` counts the valid
    values of ``on`` instead.

    Examples:
        >>> from streamscope.aggregate import Count
        >>> ds = streamscope.from_items([{"v": 1}, {"v": None}, {"v": 3}])
        >>> ds.aggregate(Count(), Count("v", ignore_nulls=True, alias_name="valid"))
        {'count()': 3, 'valid': 2}
    """

    _label = "count"

    def __init__(self, on: Optional[str] = None, ignore_nulls: bool = False, alias_name: Optional[str] = None):
        super().__init__(on, ignore_nulls, alias_name)

    def _map_specs(self, table, p):
        if self._target_col_name is None or not self._ignore_nulls:
            return {p + "in": pa.nulls(table.num_rows, pa.int8())}, [(p + "in", "count", _ALL, p + "n")]
        return {p + "in": self._input(table)}, [(p + "in", "count", _VALID, p + "n")]

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "n", "sum", None, p + "n")]

    def _finalize(self, combined, p):
        return pc.cast(combined.column(p + "n"), pa.int64())


class Sum(_Vectorized):
    """The sum of column ``on`` (``sum(on)``); nulls skipped unless ``ignore_nulls=False``.

    Examples:
        >>> from streamscope.aggregate import Sum
        >>> ds = streamscope.from_items([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}])
        >>> ds.groupby("k").aggregate(Sum("v")).sort("k").take()
        [{'k': 'a', 'sum(v)': 4}, {'k': 'b', 'sum(v)': 2}]
    """

    _label = "sum"

    def _map_specs(self, table, p):
        return {p + "in": self._input(table)}, [(p + "in", "sum", _SKIP, p + "s")] + self._null_spec(p)

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "s", "sum", _SKIP, p + "s")] + self._nulls_combine(p)

    def _finalize(self, combined, p):
        return self._mask_nulls(combined, combined.column(p + "s"), p)


class Min(_Vectorized):
    """The smallest value of column ``on`` (``min(on)``).

    Examples:
        >>> from streamscope.aggregate import Min
        >>> streamscope.from_items([3, 1, 2]).aggregate(Min("item"))
        {'min(item)': 1}
    """

    _label = "min"
    _fn = "min"

    def __init__(self, on: Optional[str] = None, ignore_nulls: bool = True, alias_name: Optional[str] = None,
                 zero_factory: Any = None):
        if zero_factory is not None:
            raise ValueError(f"{type(self).__name__}: zero_factory= is not supported by streamscope: the {self._label} "
                             "is computed by pyarrow over the column's values, with no initial accumulator (Ray "
                             "Data's vectorized path does the same); leave it unset")
        super().__init__(on, ignore_nulls, alias_name)

    def _map_specs(self, table, p):
        return {p + "in": self._input(table)}, [(p + "in", self._fn, _SKIP, p + "v")] + self._null_spec(p)

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "v", self._fn, _SKIP, p + "v")] + self._nulls_combine(p)

    def _finalize(self, combined, p):
        return self._mask_nulls(combined, combined.column(p + "v"), p)


class Max(Min):
    """The largest value of column ``on`` (``max(on)``).

    Examples:
        >>> from streamscope.aggregate import Max
        >>> streamscope.from_items([3, 1, 2]).aggregate(Max("item"))
        {'max(item)': 3}
    """

    _label = "max"
    _fn = "max"


class AbsMax(Min):
    """The largest absolute value of column ``on`` (``abs_max(on)``; Ray Data returns it as a
    non-negative number).

    Examples:
        >>> from streamscope.aggregate import AbsMax
        >>> streamscope.from_items([-7, 3]).aggregate(AbsMax("item"))
        {'abs_max(item)': 7}
    """

    _label = "abs_max"

    def _map_specs(self, table, p):
        return {p + "in": pc.abs(self._input(table))}, [(p + "in", "max", _SKIP, p + "v")] + self._null_spec(p)

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "v", "max", _SKIP, p + "v")] + self._nulls_combine(p)


class Mean(_Vectorized):
    """The mean of column ``on`` (``mean(on)``, a float).

    Examples:
        >>> from streamscope.aggregate import Mean
        >>> streamscope.range(10).aggregate(Mean("id"))
        {'mean(id)': 4.5}
    """

    _label = "mean"

    def _map_specs(self, table, p):
        values = pc.cast(self._input(table), pa.float64())
        return {p + "in": values}, [(p + "in", "sum", _SKIP, p + "s"), (p + "in", "count", _VALID, p + "n")] + self._null_spec(p)

    def _combine_specs(self, p):
        return (lambda t: {}), [(p + "s", "sum", _SKIP, p + "s"), (p + "n", "sum", None, p + "n")] + self._nulls_combine(p)

    def _finalize(self, combined, p):
        n = combined.column(p + "n")
        mean = pc.divide(pc.cast(combined.column(p + "s"), pa.float64()), pc.cast(n, pa.float64()))
        mean = pc.if_else(pc.equal(n, 0), pa.scalar(None, pa.float64()), mean)
        return self._mask_nulls(combined, mean, p)


class Std(_Vectorized):
    """Standard deviation of column ``on`` (``std(on)``): sample (``ddof=1``) by default. Partials
    carry (count, sum, M2) and merge with the parallel-variance formula, so each block's M2
    stays numerically stable.

    Examples:
        >>> from streamscope.aggregate import Std
        >>> result = streamscope.range(10).aggregate(Std("id"), Std("id", ddof=0, alias_name="pop"))
        >>> round(result["std(id)"], 4), round(result["pop"], 4)
        (3.0277, 2.8723)
    """

    _label = "std"

    def __init__(self, on: Optional[str] = None, ddof: int = 1, ignore_nulls: bool = True, alias_name: Optional[str] = None):
        super().__init__(on, ignore_nulls, alias_name)
        self._ddof = ddof

    def _map_specs(self, table, p):
        values = pc.cast(self._input(table), pa.float64())
        return {p + "in": values}, [(p + "in", "count", _VALID, p + "n"), (p + "in", "sum", _SKIP, p + "s"),
                                    (p + "in", "variance", _VAR0, p + "var")] + self._null_spec(p)

    def _combine_specs(self, p):
        def prepare(t: pa.Table) -> dict:
            n = pc.cast(t.column(p + "n"), pa.float64())
            s = pc.fill_null(t.column(p + "s"), 0.0)
            m2 = pc.multiply(pc.fill_null(t.column(p + "var"), 0.0), n) if (p + "var") in t.column_names else t.column(p + "m2")
            sq = pc.if_else(pc.equal(n, 0.0), 0.0, pc.divide(pc.multiply(s, s), n))
            return {p + "m2in": m2, p + "sq": sq, p + "sin": s}

        return prepare, [(p + "n", "sum", None, p + "n"), (p + "sin", "sum", None, p + "s"), (p + "m2in", "sum", None, p + "m2"),
                         (p + "sq", "sum", None, p + "sq")] + self._nulls_combine(p)

    def _post_combine(self, combined, p):
        n = pc.cast(combined.column(p + "n"), pa.float64())
        s = combined.column(p + "s")
        between = pc.subtract(combined.column(p + "sq"), pc.if_else(pc.equal(n, 0.0), 0.0, pc.divide(pc.multiply(s, s), n)))
        m2 = pc.max_element_wise(pc.add(combined.column(p + "m2"), between), 0.0)
        return {p + "m2": m2}

    def _finalize(self, combined, p):
        n = pc.cast(combined.column(p + "n"), pa.float64())
        m2 = np.asarray(pc.fill_null(combined.column(p + "m2"), 0.0), dtype=np.float64)
        nn = np.asarray(n, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.sqrt(m2 / (nn - self._ddof))
        std = np.where(nn - self._ddof <= 0, np.nan, std)
        out = pa.array(std, mask=nn == 0)
        return self._mask_nulls(combined, out, p)


class _ListState(_Vectorized):
    """State is the list of (distinct, for Unique) values of the group."""

    _map_fn = "list"

    def _map_specs(self, table, p):
        return {p + "in": self._input(table)}, [(p + "in", self._map_fn, None, p + "vals")] + self._null_spec(p)

    list_state = True
    """The exchange concatenates the lists of a group's partial rows (pyarrow has no hash
    aggregate over list columns)."""

    def _combine_specs(self, p):
        return (lambda t: {}), self._nulls_combine(p)


class Quantile(_ListState):
    """The ``q`` quantile of column ``on`` (``quantile(on)``) with linear interpolation (numpy's
    default, as Ray Data computes it); exact, so the group's values are gathered.

    Examples:
        >>> from streamscope.aggregate import Quantile
        >>> streamscope.range(11).aggregate(Quantile("id", q=0.5), Quantile("id", q=0.25, alias_name="q1"))
        {'quantile(id)': 5.0, 'q1': 2.5}
    """

    _label = "quantile"

    def __init__(self, on: Optional[str] = None, q: float = 0.5, ignore_nulls: bool = True, alias_name: Optional[str] = None):
        super().__init__(on, ignore_nulls, alias_name)
        self._q = q

    def _finalize(self, combined, p):
        out = []
        for values in combined.column(p + "vals").to_pylist():
            vals = [v for v in values if v is not None]
            out.append(float(np.quantile(np.asarray(vals, dtype=np.float64), self._q)) if vals else None)
        return self._mask_nulls(combined, pa.array(out, pa.float64()), p)


class Unique(_ListState):
    """The group's distinct values of ``on`` as a list (``unique(on)``), nulls included unless
    ``ignore_nulls=True``. For a list column, ``encode_lists=True`` (or
    ``Unique.ListEncodingMode.FLATTEN``) gives the distinct elements of the lists.

    Examples:
        >>> from streamscope.aggregate import Unique
        >>> streamscope.from_items(["b", "a", "b"]).aggregate(Unique("item"))
        {'unique(item)': ['a', 'b']}
        >>> streamscope.from_items([{"t": [1, 2]}, {"t": [2, 3]}]).aggregate(Unique("t", encode_lists=True))
        {'unique(t)': [1, 2, 3]}
    """

    _label = "unique"
    _map_fn = "distinct"

    class ListEncodingMode(str, enum.Enum):
        """How ``Unique`` treats a list column: ``FLATTEN`` gives the distinct elements of the
        lists (as ``encode_lists=True``). Ray Data's ``HASH`` (distinct hashes of the lists, with
        polars' row hash) is refused: the hash values would not match Ray's."""

        FLATTEN = "FLATTEN"
        HASH = "HASH"

    def __init__(self, on: Optional[str] = None, ignore_nulls: bool = False, alias_name: Optional[str] = None,
                 encode_lists: Any = None):
        super().__init__(on, ignore_nulls, alias_name)
        if encode_lists == Unique.ListEncodingMode.HASH:
            raise ValueError("Unique: encode_lists=ListEncodingMode.HASH is not supported (its values are polars "
                             "row hashes); use encode_lists=True for the distinct elements, or the default for whole lists")
        if encode_lists is not None and not isinstance(encode_lists, (bool, Unique.ListEncodingMode)):
            raise TypeError(f"Unique: encode_lists must be a bool, Unique.ListEncodingMode or None, got {encode_lists!r}")
        self._flatten = bool(encode_lists)  # True or FLATTEN
        if self._flatten:
            # the elements of a group's lists are gathered in Python: pyarrow's hash aggregates
            # cannot group by row and flatten at once
            self.vectorized = False
            self.list_state = False
            self._zero_factory = set

    def aggregate_block(self, block: pa.Table) -> set:
        """(``encode_lists=True``) the block's distinct list elements."""
        column = self._input(block)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type) or pa.types.is_fixed_size_list(column.type):
            column = pc.list_flatten(column)
        values = pc.unique(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column).to_pylist()
        return {v for v in values if not (self._ignore_nulls and v is None)}

    def combine(self, current_accumulator: set, new: set) -> set:
        """(``encode_lists=True``) the union of two partial sets."""
        return set(current_accumulator) | set(new)

    def finalize(self, accumulator: set) -> list:
        """(``encode_lists=True``) the distinct elements, None first, the rest sorted."""
        return sorted_unique(list(accumulator))

    def _map_specs(self, table, p):
        return distinct_values_specs(self._input(table), self._ignore_nulls, p)

    def _combine_specs(self, p):
        return (lambda t: {}), []

    def _finalize(self, combined, p):
        out = [sorted_unique(values) for values in combined.column(p + "vals").to_pylist()]
        typ = combined.schema.field(p + "vals").type
        return pa.array(out, typ)


def distinct_values_specs(column, ignore_nulls: bool, p: str) -> tuple:
    """The map-side state of aggregations over a group's distinct values (``Unique``,
    ``CountDistinct``): pyarrow's ``distinct`` hash aggregate into column ``p + "vals"``."""
    mode = "only_valid" if ignore_nulls else "all"
    return {p + "in": column}, [(p + "in", "distinct", pc.CountOptions(mode=mode), p + "vals")]


def sorted_unique(values: list) -> list:
    """Distinct values, None first, the rest sorted when they are comparable."""
    seen = []
    has_null = False
    for v in values:
        if v is None:
            has_null = True
        else:
            seen.append(v)
    try:
        distinct = sorted(set(seen))
    except TypeError:
        distinct = list(dict.fromkeys(seen))
    return ([None] if has_null else []) + distinct


def is_python(agg: AggregateFnV2) -> bool:
    return not getattr(agg, "vectorized", False)


def dumps(acc: Any) -> bytes:
    return pickle.dumps(acc, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    return pickle.loads(data)


__all__ = ["AggregateFn", "AggregateFnV2", "VectorizedAggregateFnV2", "Count", "Sum", "Min", "Max", "Mean", "Std", "AbsMax", "Quantile", "Unique"]
