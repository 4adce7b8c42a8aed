"""The plain nodes of expression trees: column references, literals, comparisons, arithmetic,
boolean logic, null and membership tests, aliases; and ``col`` / ``lit`` that start a tree.

Ray Data 2.60 names these ``ColumnExpr``, ``LiteralExpr``, ``BinaryExpr`` (any operator with two
operands), ``UnaryExpr`` (``~``, ``is_null``, ``is_not_null``) and ``AliasExpr``. Streamscope keeps
one class per kind of operator (:class:`Compare`, :class:`Arith`, :class:`BoolOp`, :class:`IsIn`,
:class:`Not`, :class:`IsNull`) because pushdown translators (Parquet, SQL, Iceberg) dispatch on
them; they are subclasses of Ray's ``BinaryExpr`` / ``UnaryExpr``, whose constructors
(``BinaryExpr(Operation.ADD, col("x"), lit(5))``) build the matching one.

Arithmetic follows Python: ``/`` is true division, ``//`` floors and ``%`` takes the sign of the
divisor (both give floats), integer ``+ - * **`` raise on overflow; ``+`` on strings concatenates.
"""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.datatype import DataType
from streamscope.engine.expression_core import (
    ARITHMETIC,
    COMPARISONS,
    EvalContext,
    Expr,
    Operation,
    _PREC,
    missing_columns_error,
)

__all__ = ["AliasExpr", "Arith", "BinaryExpr", "BoolOp", "Column", "ColumnExpr", "Compare", "IsIn", "IsNan", "IsNull",
           "KEYWORD_NAMES", "Literal", "LiteralExpr", "Negate", "Not", "UnaryExpr", "col", "lit"]

KEYWORD_NAMES = {"and", "or", "not", "is", "in", "null", "none", "true", "false"}
"""Names the filter-string parser reads as keywords: a column named so prints as ``col('...')``."""


def _arrowish(value: Any) -> Any:
    return value if isinstance(value, (pa.Array, pa.ChunkedArray, pa.Scalar)) else pa.scalar(value)


class _Dispatching(type):
    """``BinaryExpr(op, left, right)`` / ``UnaryExpr(op, operand)`` called directly build the
    node class of that operation; their subclasses construct as usual."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        build = cls.__dict__.get("_build")
        if build is not None:
            return build.__func__(*args, **kwargs)
        return super().__call__(*args, **kwargs)


class ColumnExpr(Expr):
    """A reference to a column by name (``col("age")``).

    Examples:
        >>> from streamscope.expressions import ColumnExpr, col
        >>> isinstance(col("age"), ColumnExpr), col("age").name
        (True, 'age')
    """

    _kind = "column"

    def __init__(self, name: str):
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        if self._name not in table.column_names:
            raise missing_columns_error([self._name], table.column_names, self._text())
        return table.column(self._name)

    def _to_pyarrow(self) -> pc.Expression:
        return pc.field(self._name)

    def _collect(self, out: list[str]) -> None:
        out.append(self._name)

    def _key(self) -> tuple:
        return ("col", self._name)

    def _text(self) -> str:
        if self._name.replace(".", "_").isidentifier() and self._name.lower() not in KEYWORD_NAMES:
            return self._name
        return f"col({self._name!r})"


def _literal_key(value: Any) -> tuple:
    try:
        hash(value)
        return (type(value).__name__, value)
    except TypeError:
        return (type(value).__name__, repr(value))


class LiteralExpr(Expr):
    """A constant, the same for every row (``lit(5)``, ``lit("x")``).

    Examples:
        >>> from streamscope.expressions import lit
        >>> lit(5).value, lit("John").data_type
        (5, DataType(arrow:string))
    """

    _kind = "literal"

    def __init__(self, value: Any):
        self.value = value

    @property
    def data_type(self) -> DataType:
        return DataType.infer_dtype(self.value)

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return self.value

    def _to_pyarrow(self) -> pc.Expression:
        return pc.scalar(self.value)

    def _key(self) -> tuple:
        return ("lit",) + _literal_key(self.value)

    def _text(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return repr(self.value)


Column, Literal = ColumnExpr, LiteralExpr  # the names streamscope's translators have always used


class BinaryExpr(Expr, metaclass=_Dispatching):
    """An operation with two operands: arithmetic, a comparison, ``&`` / ``|``, ``is_in``.

    Examples:
        >>> from streamscope.expressions import BinaryExpr, Operation, col, lit
        >>> expr = BinaryExpr(Operation.ADD, col("x"), lit(5))
        >>> expr.structurally_equals(col("x") + 5), isinstance(col("x") > 1, BinaryExpr)
        (True, True)
    """

    @staticmethod
    def _build(op: Any, left: Expr, right: Expr) -> "BinaryExpr":
        op = Operation(op) if op != "**" else op
        if op in COMPARISONS:
            return Compare(op, left, right)
        if op in ARITHMETIC or op == "**":
            return Arith(op, left, right)
        if op in (Operation.AND, Operation.OR):
            return BoolOp(op, (left, right))
        if op in (Operation.IN, Operation.NOT_IN):
            values = right.value if isinstance(right, LiteralExpr) else right
            return left.is_in(values) if op == Operation.IN else left.not_in(values)  # type: ignore[return-value]
        raise ValueError(f"{op!r} is not a binary operation")

    op: Any
    left: Expr
    right: Expr


class Compare(BinaryExpr):
    _kind = "compare"
    _prec = _PREC["cmp"]
    _FUNCS = {Operation.EQ: pc.equal, Operation.NE: pc.not_equal, Operation.LT: pc.less,
              Operation.LE: pc.less_equal, Operation.GT: pc.greater, Operation.GE: pc.greater_equal}

    def __init__(self, op: Any, left: Expr, right: Expr):
        self.op, self.left, self.right = Operation(op), left, right

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return self._FUNCS[self.op](self.left._eval(table, ctx), self.right._eval(table, ctx))

    def _to_pyarrow(self) -> pc.Expression:
        return self._FUNCS[self.op](self.left._to_pyarrow(), self.right._to_pyarrow())

    def _children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _key(self) -> tuple:
        return ("cmp", self.op.value, self.left._key(), self.right._key())

    def _text(self) -> str:
        return f"{self._wrap(self.left, self._prec + 1)} {self.op} {self._wrap(self.right, self._prec + 1)}"


def _is_string(value: Any) -> bool:
    if isinstance(value, str):
        return True
    t = getattr(value, "type", None)
    if t is not None and pa.types.is_dictionary(t):
        t = t.value_type
    return t is not None and (pa.types.is_string(t) or pa.types.is_large_string(t))


def _strings(value: Any) -> Any:
    t = getattr(value, "type", None)
    if t is not None and pa.types.is_dictionary(t):
        return pc.cast(value, t.value_type)
    return value


def _as_float(value: Any) -> Any:
    if isinstance(value, (pa.Array, pa.ChunkedArray, pa.Scalar)):
        return pc.cast(value, pa.float64())
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class Arith(BinaryExpr):
    _kind = "arith"
    _CHECKED = {Operation.ADD: pc.add_checked, Operation.SUB: pc.subtract_checked, Operation.MUL: pc.multiply_checked,
                "**": pc.power_checked}

    def __init__(self, op: Any, left: Expr, right: Expr):
        self.op = op if op == "**" else Operation(op)
        self.left, self.right = left, right
        self._prec = _PREC[str(self.op.value if isinstance(self.op, Operation) else self.op)]

    def _apply(self, a: Any, b: Any, expression: bool) -> Any:
        if self.op == Operation.ADD and not expression and (_is_string(a) or _is_string(b)):
            return pc.binary_join_element_wise(_strings(_arrowish(a)), _strings(_arrowish(b)), "")
        if self.op in self._CHECKED:
            return self._CHECKED[self.op](a, b)
        fa, fb = (a.cast(pa.float64()), b.cast(pa.float64())) if expression else (_as_float(a), _as_float(b))
        quotient = pc.divide(fa, fb)
        if self.op == Operation.DIV:
            return quotient
        floored = pc.floor(quotient)
        if self.op == Operation.FLOORDIV:
            return floored
        return pc.subtract(fa, pc.multiply(fb, floored))  # Python's modulo: a - b * floor(a / b)

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return self._apply(self.left._eval(table, ctx), self.right._eval(table, ctx), expression=False)

    def _to_pyarrow(self) -> pc.Expression:
        return self._apply(self.left._to_pyarrow(), self.right._to_pyarrow(), expression=True)

    def _children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _key(self) -> tuple:
        return ("arith", str(getattr(self.op, "value", self.op)), self.left._key(), self.right._key())

    def _text(self) -> str:
        if self.op == "**":  # right-associative
            return f"{self._wrap(self.left, self._prec + 1)} ** {self._wrap(self.right, self._prec)}"
        return f"{self._wrap(self.left, self._prec)} {self.op} {self._wrap(self.right, self._prec + 1)}"


class BoolOp(BinaryExpr):
    """``a & b & c`` (or ``|``), kept as one flat list of operands so equal predicates compare equal."""

    _kind = "bool"

    def __init__(self, op: Any, operands: Sequence[Expr]):
        op = Operation(op)
        flat: list[Expr] = []
        for o in operands:
            flat.extend(o.operands if isinstance(o, BoolOp) and o.op == op else [o])
        self.op, self.operands = op, tuple(flat)
        self._prec = _PREC[op.value]

    @property
    def left(self) -> Expr:  # type: ignore[override]
        return self.operands[0] if len(self.operands) == 2 else BoolOp(self.op, self.operands[:-1])

    @property
    def right(self) -> Expr:  # type: ignore[override]
        return self.operands[-1]

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        func = pc.and_kleene if self.op == Operation.AND else pc.or_kleene  # Kleene logic, as SQL
        out = _arrowish(self.operands[0]._eval(table, ctx))
        for operand in self.operands[1:]:
            out = func(out, _arrowish(operand._eval(table, ctx)))
        return out

    def _to_pyarrow(self) -> pc.Expression:
        exprs = [o._to_pyarrow() for o in self.operands]
        out = exprs[0]
        for e in exprs[1:]:
            out = (out & e) if self.op == Operation.AND else (out | e)
        return out

    def _children(self) -> tuple[Expr, ...]:
        return self.operands

    def _key(self) -> tuple:
        return ("bool", self.op.value, tuple(o._key() for o in self.operands))

    def _text(self) -> str:
        return f" {self.op} ".join(self._wrap(o, self._prec + 1) for o in self.operands)


class IsIn(BinaryExpr):
    _kind = "isin"
    _prec = _PREC["cmp"]

    def __init__(self, operand: Expr, values: Sequence[Any], negated: bool):
        self.operand, self.values, self.negated = operand, tuple(values), bool(negated)

    @property
    def op(self) -> Operation:  # type: ignore[override]
        return Operation.NOT_IN if self.negated else Operation.IN

    @property
    def left(self) -> Expr:  # type: ignore[override]
        return self.operand

    @property
    def right(self) -> Expr:  # type: ignore[override]
        return LiteralExpr(list(self.values))

    def _value_set(self) -> pa.Array:
        return pa.array(list(self.values)) if self.values else pa.array([], pa.null())

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        out = pc.is_in(_arrowish(self.operand._eval(table, ctx)), value_set=self._value_set())
        return pc.invert(out) if self.negated else out

    def _to_pyarrow(self) -> pc.Expression:
        e = self.operand._to_pyarrow().isin(self._value_set())
        return ~e if self.negated else e

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isin", self.negated, self.operand._key(), tuple(_literal_key(v) for v in self.values))

    def _text(self) -> str:
        vals = ", ".join(LiteralExpr(v)._text() for v in self.values)
        return f"{self._wrap(self.operand, self._prec + 1)} {'not in' if self.negated else 'in'} [{vals}]"


class UnaryExpr(Expr, metaclass=_Dispatching):
    """An operation with one operand: ``~x``, ``x.is_null()``, ``x.is_not_null()``.

    Examples:
        >>> from streamscope.expressions import Operation, UnaryExpr, col
        >>> UnaryExpr(Operation.IS_NULL, col("age")).structurally_equals(col("age").is_null())
        True
    """

    @staticmethod
    def _build(op: Any, operand: Expr) -> "UnaryExpr":
        op = Operation(op)
        if op == Operation.NOT:
            return Not(operand)
        if op in (Operation.IS_NULL, Operation.IS_NOT_NULL):
            return IsNull(operand, negated=op == Operation.IS_NOT_NULL)
        raise ValueError(f"{op!r} is not a unary operation")

    op: Any
    operand: Expr

    @property
    def data_type(self) -> DataType:
        return DataType.bool()


class Not(UnaryExpr):
    _kind = "not"
    _prec = _PREC["not"]
    op = Operation.NOT

    def __init__(self, operand: Expr):
        self.operand = operand

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return pc.invert(_arrowish(self.operand._eval(table, ctx)))

    def _to_pyarrow(self) -> pc.Expression:
        return ~self.operand._to_pyarrow()

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("not", self.operand._key())

    def _text(self) -> str:
        return f"not {self._wrap(self.operand, self._prec)}"


class IsNull(UnaryExpr):
    _kind = "isnull"
    _prec = _PREC["cmp"]

    def __init__(self, operand: Expr, negated: bool):
        self.operand, self.negated = operand, bool(negated)

    @property
    def op(self) -> Operation:  # type: ignore[override]
        return Operation.IS_NOT_NULL if self.negated else Operation.IS_NULL

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        value = _arrowish(self.operand._eval(table, ctx))
        return pc.is_valid(value) if self.negated else pc.is_null(value)

    def _to_pyarrow(self) -> pc.Expression:
        e = self.operand._to_pyarrow()
        return e.is_valid() if self.negated else e.is_null()

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isnull", self.negated, self.operand._key())

    def _text(self) -> str:
        return f"{self._wrap(self.operand, self._prec + 1)} is {'not ' if self.negated else ''}null"


class Negate(Expr):
    """``-x`` (overflow raises)."""

    _kind = "negate"
    _prec = _PREC["neg"]

    def __init__(self, operand: Expr):
        self.operand = operand

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return pc.negate_checked(self.operand._eval(table, ctx))

    def _to_pyarrow(self) -> pc.Expression:
        return pc.negate_checked(self.operand._to_pyarrow())

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("neg", self.operand._key())

    def _text(self) -> str:
        return f"-{self._wrap(self.operand, self._prec + 1)}"


class IsNan(Expr):
    """``is_nan(x)`` of filter strings: true where a float is NaN."""

    _kind = "isnan"

    def __init__(self, operand: Expr):
        self.operand = operand

    @property
    def data_type(self) -> DataType:
        return DataType.bool()

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return pc.is_nan(_arrowish(self.operand._eval(table, ctx)))

    def _to_pyarrow(self) -> pc.Expression:
        return pc.is_nan(self.operand._to_pyarrow())

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isnan", self.operand._key())

    def _text(self) -> str:
        return f"is_nan({self.operand._text()})"


class AliasExpr(Expr):
    """An expression under an output name (``(col("a") * 2).alias("twice")``).

    Examples:
        >>> from streamscope.expressions import AliasExpr, col
        >>> expr = (col("a") * 2).alias("twice")
        >>> isinstance(expr, AliasExpr), expr.name, str(expr)
        (True, 'twice', "(a * 2).alias('twice')")
    """

    _kind = "alias"

    def __init__(self, expr: Any, name: Any, *ray_fields: Any):
        if isinstance(expr, DataType):  # Ray's field order: AliasExpr(data_type, expr, _name, _is_rename)
            expr, name = name, ray_fields[0] if ray_fields else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"alias: the name must be a non-empty string, got {name!r}")
        self.expr, self._name = expr, name

    @property
    def name(self) -> str:
        return self._name

    @property
    def data_type(self) -> DataType:
        return self.expr.data_type

    def _unalias(self) -> Expr:
        return self.expr

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return self.expr._eval(table, ctx)

    def _to_pyarrow(self) -> pc.Expression:
        return self.expr._to_pyarrow()

    def _children(self) -> tuple[Expr, ...]:
        return (self.expr,)

    def _key(self) -> tuple:
        return ("alias", self._name, self.expr._key())

    def _text(self) -> str:
        return f"{self._wrap(self.expr, 9)}.alias({self._name!r})"


def col(name: str) -> ColumnExpr:
    """A reference to the column ``name``, the start of most expressions.

    Examples:
        >>> from streamscope.expressions import col
        >>> ds = streamscope.from_items([{"price": 10, "quantity": 2}])
        >>> ds.with_column("total", col("price") * col("quantity")).take()
        [{'price': 10, 'quantity': 2, 'total': 20}]
    """
    if not isinstance(name, str):
        raise TypeError(f"col: the column name must be a str, got {type(name).__name__}")
    return ColumnExpr(name)


def lit(value: Any) -> LiteralExpr:
    """A constant value, the same for every row.

    Examples:
        >>> from streamscope.expressions import col, lit
        >>> streamscope.from_items([{"age": 25}]).with_column("next", col("age") + lit(1)).take()
        [{'age': 25, 'next': 26}]
    """
    return LiteralExpr(value)
