"""``col("x").list`` / ``.struct`` / ``.map`` / ``.dt`` / ``.arr``: the nested-type and datetime
methods of expressions, as Ray Data 2.60's namespaces (``_ListNamespace``, ...), plus the mixin
that gives every expression its ``.str``, ``.list``, ... properties.

A method that is one pyarrow kernel (``list_value_length``, ``struct_field``, ``year``) builds a
pyarrow compute call (pushable into scans); the few that need more than one kernel (sorting and
flattening lists, map keys, negative list indices) are streamscope functions on Arrow arrays,
evaluated per block.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, Optional, Union

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.datatype import DataType
from streamscope.engine.expression_array_functions import (
    fixed_to_list,
    is_list_type,
    list_flatten,
    list_get,
    list_sort,
    map_component,
    map_result_type,
)
from streamscope.engine.expression_str_namespace import _StringNamespace

TemporalUnit = Literal["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond",
                       "microsecond", "nanosecond"]


def _arrow_type(expr: Any) -> Optional[pa.DataType]:
    dtype = expr.data_type
    return dtype.to_arrow_dtype() if dtype.is_arrow_type() else None


class _ListNamespace:
    """List operations on an expression (``col("items").list.len()``, ``.list[0]``, ``.list[1:3]``).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col
        >>> col("items").list[0].evaluate(pa.table({"items": [[1, 2, 3], [4]]})).to_pylist()
        [1, 4]
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def len(self) -> Any:
        """Number of items in each list (int32).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list.len().evaluate(pa.table({"l": [[1, 2], []]})).to_pylist()
            [2, 0]
        """
        return self._expr._pc_call(pc.list_value_length, DataType.int32(), "list.len()")

    def __getitem__(self, key: Union[int, slice]) -> Any:
        if isinstance(key, slice):
            return self.slice(key.start, key.stop, key.step)
        if isinstance(key, int) and not isinstance(key, bool):
            return self.get(key)
        raise TypeError(f"List indices must be integers or slices, not {type(key).__name__}")

    def get(self, index: int) -> Any:
        """Item ``index`` of each list (negative counts from the end; past either end raises).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list.get(-1).evaluate(pa.table({"l": [[1, 2], [3]]})).to_pylist()
            [2, 3]
        """
        arrow = _arrow_type(self._expr)
        dtype = DataType.from_arrow(arrow.value_type) if arrow is not None and is_list_type(arrow) else DataType(object)
        if index >= 0:
            return self._expr._pc_call(pc.list_element, dtype, f"list[{index}]", (index,))
        return self._expr._arrow_call(functools.partial(list_get, index=index), dtype, f"list[{index}]")

    def slice(self, start: Optional[int] = None, stop: Optional[int] = None, step: Optional[int] = None) -> Any:
        """Items ``start`` (default 0) to ``stop`` (default the end) by ``step`` of each list.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list[1:3].evaluate(pa.table({"l": [[1, 2, 3, 4], [5]]})).to_pylist()
            [[2, 3], []]
        """
        kwargs = {"start": 0 if start is None else start, "stop": stop, "step": 1 if step is None else step}
        label = f"list[{'' if start is None else start}:{'' if stop is None else stop}" + \
            (f":{step}]" if step is not None else "]")
        return self._expr._pc_call(pc.list_slice, self._expr.data_type, label, (), kwargs)

    def sort(self, order: Literal["ascending", "descending"] = "ascending",
             null_placement: Literal["at_start", "at_end"] = "at_end") -> Any:
        """Each list's items sorted.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list.sort("descending").evaluate(pa.table({"l": [[3, 1, 2], None]})).to_pylist()
            [[3, 2, 1], None]
        """
        if order not in ("ascending", "descending"):
            raise ValueError(f"order must be either 'ascending' or 'descending', got {order!r}")
        if null_placement not in ("at_start", "at_end"):
            raise ValueError(f"null_placement must be 'at_start' or 'at_end', got {null_placement!r}")
        fn = functools.partial(list_sort, order=order, null_placement=null_placement)
        return self._expr._arrow_call(fn, self._expr.data_type, f"list.sort({order!r}, {null_placement!r})")

    def flatten(self) -> Any:
        """Each list of lists joined into one list.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list.flatten().evaluate(pa.table({"l": [[[1, 2], [3]], [[4], None], None]})).to_pylist()
            [[1, 2, 3], [4], None]
        """
        arrow = _arrow_type(self._expr)
        dtype = DataType(object)
        if arrow is not None and is_list_type(arrow) and is_list_type(arrow.value_type):
            make = pa.large_list if pa.types.is_large_list(arrow) else pa.list_
            dtype = DataType.from_arrow(make(arrow.value_type.value_type))
        return self._expr._arrow_call(list_flatten, dtype, "list.flatten()")


class _StructNamespace:
    """Struct field access on an expression (``col("user").struct["age"]``).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col
        >>> col("u").struct["age"].evaluate(pa.table({"u": [{"name": "a", "age": 3}]})).to_pylist()
        [3]
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def __getitem__(self, key: Union[str, int]) -> Any:
        if isinstance(key, str):
            return self.field(key)
        if isinstance(key, int) and not isinstance(key, bool):
            return self.field_by_index(key)
        raise TypeError(f"Struct indices must be strings or integers, not {type(key).__name__}")

    def _field_type(self, key: Union[str, int]) -> DataType:
        arrow = _arrow_type(self._expr)
        if arrow is not None and pa.types.is_struct(arrow):
            try:
                return DataType.from_arrow(arrow.field(key).type)
            except (KeyError, IndexError):
                pass
        return DataType(object)

    def field(self, field_name: str) -> Any:
        """The field named ``field_name`` of each struct.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("u").struct.field("name").evaluate(pa.table({"u": [{"name": "a"}]})).to_pylist()
            ['a']
        """
        return self._expr._pc_call(pc.struct_field, self._field_type(field_name), f"struct[{field_name!r}]",
                                   (field_name,))

    def field_by_index(self, index: int) -> Any:
        """The field at position ``index`` of each struct.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("u").struct.field_by_index(1).evaluate(pa.table({"u": [{"a": 1, "b": 2}]})).to_pylist()
            [2]
        """
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"Struct field index must be an integer, not {type(index).__name__}")
        if index < 0:
            raise ValueError(f"Struct field index must be non-negative, got {index}")
        return self._expr._pc_call(pc.struct_field, self._field_type(index), f"struct[{index}]", (index,))


class _MapNamespace:
    """Keys and values of map columns (Arrow maps, or lists of key/value structs).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col
        >>> table = pa.table({"h": pa.array([[("a", 1), ("b", 2)]], pa.map_(pa.string(), pa.int64()))})
        >>> col("h").map.keys().evaluate(table).to_pylist()
        [['a', 'b']]
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def _component(self, which: str) -> Any:
        arrow = _arrow_type(self._expr)
        dtype = DataType.from_arrow(map_result_type(arrow, which)) if arrow is not None else DataType(object)
        return self._expr._arrow_call(functools.partial(map_component, which=which), dtype, f"map.{which}()")

    def keys(self) -> Any:
        """The keys of each map, as a list.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> table = pa.table({"h": pa.array([[("a", 1)], None], pa.map_(pa.string(), pa.int64()))})
            >>> col("h").map.keys().evaluate(table).to_pylist()
            [['a'], None]
        """
        return self._component("keys")

    def values(self) -> Any:
        """The values of each map, as a list.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> table = pa.table({"h": pa.array([[("a", 1), ("b", 2)]], pa.map_(pa.string(), pa.int64()))})
            >>> col("h").map.values().evaluate(table).to_pylist()
            [[1, 2]]
        """
        return self._component("values")


class _DatetimeNamespace:
    """Parts, formatting and rounding of timestamps (``col("ts").dt.year()``).

    Examples:
        >>> import datetime, pyarrow as pa
        >>> from streamscope.expressions import col
        >>> col("ts").dt.year().evaluate(pa.table({"ts": [datetime.datetime(2024, 5, 1)]})).to_pylist()
        [2024]
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def _part(self, func: Any, name: str) -> Any:
        return self._expr._pc_call(func, DataType.int32(), f"dt.{name}()")

    def year(self) -> Any:
        """The year.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.year().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1)]})).to_pylist()
            [2024]
        """
        return self._part(pc.year, "year")

    def month(self) -> Any:
        """The month (1-12).

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.month().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1)]})).to_pylist()
            [5]
        """
        return self._part(pc.month, "month")

    def day(self) -> Any:
        """The day of the month.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.day().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 7)]})).to_pylist()
            [7]
        """
        return self._part(pc.day, "day")

    def hour(self) -> Any:
        """The hour.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.hour().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 13)]})).to_pylist()
            [13]
        """
        return self._part(pc.hour, "hour")

    def minute(self) -> Any:
        """The minute.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.minute().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 13, 45)]})).to_pylist()
            [45]
        """
        return self._part(pc.minute, "minute")

    def second(self) -> Any:
        """The second.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.second().evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 1, 2, 3)]})).to_pylist()
            [3]
        """
        return self._part(pc.second, "second")

    def strftime(self, fmt: str) -> Any:
        """The timestamp formatted with ``fmt`` (strftime codes).

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.strftime("%Y-%m").evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1)]})).to_pylist()
            ['2024-05']
        """
        return self._expr._pc_call(pc.strftime, DataType.string(), f"dt.strftime({fmt!r})", (), {"format": fmt})

    def _rounded(self, func: Any, name: str, unit: str) -> Any:
        return self._expr._pc_call(func, self._expr.data_type, f"dt.{name}({unit!r})", (), {"multiple": 1, "unit": unit})

    def ceil(self, unit: TemporalUnit) -> Any:
        """Rounded up to a whole ``unit``.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.ceil("hour").evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 1, 2)]})).to_pylist()
            [datetime.datetime(2024, 5, 1, 2, 0)]
        """
        return self._rounded(pc.ceil_temporal, "ceil", unit)

    def floor(self, unit: TemporalUnit) -> Any:
        """Rounded down to a whole ``unit``.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.floor("day").evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 13)]})).to_pylist()
            [datetime.datetime(2024, 5, 1, 0, 0)]
        """
        return self._rounded(pc.floor_temporal, "floor", unit)

    def round(self, unit: TemporalUnit) -> Any:
        """Rounded to the nearest whole ``unit``.

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.round("hour").evaluate(pa.table({"t": [datetime.datetime(2024, 5, 1, 1, 40)]})).to_pylist()
            [datetime.datetime(2024, 5, 1, 2, 0)]
        """
        return self._rounded(pc.round_temporal, "round", unit)


class _ArrayNamespace:
    """Array (fixed-size list) operations on an expression.

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col
        >>> table = pa.table({"f": pa.array([[1, 2]], pa.list_(pa.int64(), 2))})
        >>> col("f").arr.to_list().evaluate(table).type
        ListType(list<item: int64>)
    """

    def __init__(self, expr: Any):
        self._expr = expr

    def to_list(self) -> Any:
        """Fixed-size lists as variable-length lists.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> table = pa.table({"f": pa.array([[1, 2]], pa.list_(pa.int64(), 2))})
            >>> col("f").arr.to_list().evaluate(table).to_pylist()
            [[1, 2]]
        """
        arrow = _arrow_type(self._expr)
        dtype = DataType(object)
        if arrow is not None and is_list_type(arrow):
            dtype = DataType.from_arrow(pa.list_(arrow.value_type)) if pa.types.is_fixed_size_list(arrow) \
                else self._expr.data_type
        return self._expr._arrow_call(fixed_to_list, dtype, "arr.to_list()")


class NamespaceAccessors:
    """The ``.str``, ``.list``, ``.struct``, ``.map``, ``.dt`` and ``.arr`` properties of expressions."""

    @property
    def str(self) -> _StringNamespace:
        """String operations (``col("s").str.upper()``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("s").str.len().evaluate(pa.table({"s": ["ab", "c"]})).to_pylist()
            [2, 1]
        """
        return _StringNamespace(self)

    @property
    def list(self) -> _ListNamespace:
        """List operations (``col("l").list.len()``, ``.list[0]``, ``.list[1:3]``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("l").list.len().evaluate(pa.table({"l": [[1, 2], [3]]})).to_pylist()
            [2, 1]
        """
        return _ListNamespace(self)

    @property
    def struct(self) -> _StructNamespace:
        """Struct field access (``col("u").struct["age"]``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("u").struct[0].evaluate(pa.table({"u": [{"a": 1}]})).to_pylist()
            [1]
        """
        return _StructNamespace(self)

    @property
    def map(self) -> _MapNamespace:
        """Map keys and values (``col("m").map.keys()``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> table = pa.table({"m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))})
            >>> col("m").map.values().evaluate(table).to_pylist()
            [[1]]
        """
        return _MapNamespace(self)

    @property
    def dt(self) -> _DatetimeNamespace:
        """Datetime parts, formatting and rounding (``col("t").dt.year()``).

        Examples:
            >>> import datetime, pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("t").dt.month().evaluate(pa.table({"t": [datetime.datetime(2024, 2, 1)]})).to_pylist()
            [2]
        """
        return _DatetimeNamespace(self)

    @property
    def arr(self) -> _ArrayNamespace:
        """Array (fixed-size list) operations (``col("f").arr.to_list()``).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> table = pa.table({"f": pa.array([[1, 2]], pa.list_(pa.int64(), 2))})
            >>> col("f").arr.to_list().evaluate(table).to_pylist()
            [[1, 2]]
        """
        return _ArrayNamespace(self)
