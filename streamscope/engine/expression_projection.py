"""Projection markers: ``star()`` (all input columns) and ``unnest(expr)`` (one column per field
of a struct), as Ray Data 2.60 has them.

Neither has a single value to evaluate. ``unnest`` is given to ``Dataset.with_columns``
positionally and expands there, when the plan is built, into one column per struct field (so the
struct's type must be known then: a UDF's declared ``return_dtype``, or a struct column of a
dataset whose schema is known). ``star`` only has a meaning inside Ray's internal projection
lists, which no public streamscope method takes: evaluating it raises.
"""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.expression_core import EvalContext, Expr

__all__ = ["StarExpr", "UnnestExpr", "star", "unnest"]


class StarExpr(Expr):
    """All columns of the input (what :func:`star` builds).

    Examples:
        >>> from streamscope.expressions import StarExpr, star
        >>> isinstance(star(), StarExpr), str(star())
        (True, 'star()')
    """

    _kind = "star"
    _convertible_self = False

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        raise TypeError("star() stands for all input columns of a projection; it has no single value, so it cannot be "
                        "used as a column's expression or inside another expression")

    def _key(self) -> tuple:
        return ("star",)

    def _text(self) -> str:
        return "star()"


class UnnestExpr(Expr):
    """A struct-typed expression to expand into one column per field (what :func:`unnest` builds).

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import col, unnest
        >>> schema = pa.schema([("p", pa.struct([("x", pa.int64()), ("y", pa.int64())]))])
        >>> [(name, str(e)) for name, e in unnest(col("p")).expand(schema)]
        [('x', 'p.struct[0]'), ('y', 'p.struct[1]')]
    """

    _kind = "unnest"
    _convertible_self = False

    def __init__(self, expr: Expr):
        self.expr = expr

    def alias(self, name: str) -> Expr:
        """Refused: an unnest makes one column per field, named after the fields.

        Examples:
            >>> from streamscope.expressions import col, unnest
            >>> unnest(col("p")).alias("q")
            Traceback (most recent call last):
            ...
            TypeError: unnest() cannot be aliased: it produces one output column per struct field, named after the fields themselves. Pass it positionally to with_columns(), e.g. ds.with_columns(unnest(expr)).
        """
        raise TypeError("unnest() cannot be aliased: it produces one output column per struct field, named after the "
                        "fields themselves. Pass it positionally to with_columns(), e.g. ds.with_columns(unnest(expr)).")

    def struct_type(self, input_schema: Optional[pa.Schema]) -> pa.StructType:
        """The wrapped expression's struct type: its declared type, else resolved on the input.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col, unnest
            >>> unnest(col("p")).struct_type(pa.schema([("p", pa.struct([("x", pa.int8())]))]))
            StructType(struct<x: int8>)
        """
        declared = self.expr.data_type
        resolved = declared.to_arrow_dtype() if declared.is_arrow_type() else None
        if resolved is None and input_schema is not None:
            resolved = self.expr.get_type(input_schema)
        if resolved is None:
            raise ValueError("unnest() requires the struct type of the wrapped expression to be known when the plan is "
                             "built, but it could not be resolved. Either wrap an expression with a declared struct "
                             "return_dtype (e.g. @udf(return_dtype=DataType.struct(...))), or ensure the input "
                             "dataset's schema is known (upstream map/map_batches calls make it unavailable).")
        if not pa.types.is_struct(resolved):
            raise TypeError(f"unnest() requires a struct-typed expression, but the wrapped expression resolves to "
                            f"{resolved}.")
        names = [resolved.field(i).name for i in range(resolved.num_fields)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"unnest() cannot expand a struct with duplicate field names {duplicates}: the expanded "
                             "columns would overwrite each other.")
        return resolved

    def expand(self, input_schema: Optional[pa.Schema]) -> list[tuple[str, Expr]]:
        """``(field name, expression for that field)`` per struct field, in field order.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col, unnest
            >>> unnest(col("a")).expand(pa.schema([("a", pa.int64())]))
            Traceback (most recent call last):
            ...
            TypeError: unnest() requires a struct-typed expression, but the wrapped expression resolves to int64.
        """
        struct = self.struct_type(input_schema)
        return [(struct.field(i).name, self.expr.struct.field_by_index(i)) for i in range(struct.num_fields)]

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        raise TypeError("unnest() expands to multiple columns, so it has no single value to evaluate. Pass it directly "
                        "to `with_columns`; it cannot be composed into another expression.")

    def _children(self) -> tuple[Expr, ...]:
        return (self.expr,)

    def _key(self) -> tuple:
        return ("unnest", self.expr._key())

    def _text(self) -> str:
        return f"unnest({self.expr._text()})"


def star() -> StarExpr:
    """All input columns, as a projection marker (Ray's internal projection lists use it; no
    streamscope method takes one, and evaluating it raises).

    Examples:
        >>> from streamscope.expressions import star
        >>> star().columns()
        []
    """
    return StarExpr()


def unnest(expr: Expr) -> UnnestExpr:
    """Expand a struct-typed expression into one output column per field, given to
    ``Dataset.with_columns`` positionally; the wrapped expression is evaluated once per block.

    Examples:
        >>> import pyarrow as pa
        >>> import pyarrow.compute as pc
        >>> from streamscope.datatype import DataType
        >>> from streamscope.expressions import col, udf, unnest
        >>> @udf(return_dtype=DataType.struct([("sum_ab", DataType.int64()), ("product_ab", DataType.int64())]))
        ... def make_features(a, b):
        ...     return pa.StructArray.from_arrays([pc.add(a, b).combine_chunks(), pc.multiply(a, b).combine_chunks()],
        ...                                       names=["sum_ab", "product_ab"])
        >>> ds = streamscope.from_items([{"a": 2, "b": 10}, {"a": 3, "b": 20}])
        >>> ds.with_columns(unnest(make_features(col("a"), col("b")))).take(1)
        [{'a': 2, 'b': 10, 'sum_ab': 12, 'product_ab': 20}]
    """
    if isinstance(expr, UnnestExpr):
        raise TypeError("unnest() cannot be nested inside another unnest().")
    if not isinstance(expr, Expr):
        raise TypeError(f"unnest() expects an expression, got {type(expr).__name__}.")
    return UnnestExpr(expr)
