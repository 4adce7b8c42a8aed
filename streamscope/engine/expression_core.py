"""The expression base class: what every node of an expression tree (``col("a") + 1 > 2``) can do.

Why our own tree instead of handing strings or pyarrow expressions around: the optimizer needs to
know which columns an expression reads (projection pushdown keeps them), to print it in plans, to
compare two expressions, to tell whether it may be pushed into a scan (only parts pyarrow can
evaluate, :meth:`Expr._is_pyarrow_convertible`) and whether it may be moved (``random()`` may not,
:meth:`Expr.is_idempotent`). Ray Data 2.60's ``ray.data.expressions`` has the same shape.

Evaluation is eager and vectorized, one node at a time on a block (``Expr.evaluate``), so the
tree can hold Python UDFs, downloads and random numbers next to pyarrow kernels. Predicates made
only of pyarrow-convertible nodes also convert to one ``pyarrow.compute.Expression``
(``Expr.to_pyarrow``), which is what Parquet scans and partition pruning take.

The node classes live in the modules above this one (``expression_nodes``, ``expression_udf``,
...). The operators here build them through a registry that each node class joins by naming its
``_kind``: this module cannot import the node modules (they subclass :class:`Expr`), and every
expression object is an instance of one of them, so the registry is filled before any operator
can run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.datatype import DataType
from streamscope.engine.expression_math import ExprMathMixin
from streamscope.engine.expression_namespaces import NamespaceAccessors
from streamscope.engine.tensor import ndarray_to_arrow

__all__ = ["ColumnNotFoundError", "EvalContext", "Expr", "Operation", "UnknownType", "node_class", "to_column"]


class Operation(str, Enum):
    """The binary and unary operations of expression nodes (Ray's member names).

    A member is also its operator symbol as a string (``Operation.ADD == "+"``), the form the
    nodes' ``op`` attribute has always had; Ray's values (``"add"``) look members up too.

    Examples:
        >>> from streamscope.expressions import Operation, col
        >>> (col("a") + 1).op is Operation.ADD, Operation("add") is Operation.ADD
        (True, True)
    """

    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    MOD = "%"
    FLOORDIV = "//"
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    EQ = "=="
    NE = "!="
    AND = "and"
    OR = "or"
    NOT = "not"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
    IN = "in"
    NOT_IN = "not_in"

    @classmethod
    def _missing_(cls, value: Any) -> Optional["Operation"]:
        return cls.__members__.get(str(value).upper())  # Ray's values: "add", "floordiv", ...

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


COMPARISONS = (Operation.EQ, Operation.NE, Operation.LT, Operation.LE, Operation.GT, Operation.GE)
ARITHMETIC = (Operation.ADD, Operation.SUB, Operation.MUL, Operation.DIV, Operation.FLOORDIV, Operation.MOD)


class ColumnNotFoundError(KeyError, ValueError):
    """An expression refers to a column the data does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def missing_columns_error(names: Sequence[str], available: Iterable[str], text: str) -> ColumnNotFoundError:
    avail = list(available)
    which = ", ".join(repr(n) for n in names)
    noun = "column" if len(names) == 1 else "columns"
    return ColumnNotFoundError(f"expression {text!r} refers to missing {noun} {which}; available columns: {avail}")


class UnknownType(Exception):
    """Raised while probing an expression's output type by a node whose type cannot be known
    without running user code (a Python UDF)."""


@dataclass
class EvalContext:
    """What a node may need besides the block: the task's number within its operator and the
    execution's number (seeds of ``random()``, ids of ``monotonically_increasing_id()``), state
    kept across the blocks of one task, and whether this is a type probe on an empty table."""

    task_idx: int = 0
    execution_idx: int = 0
    state: dict = field(default_factory=dict)
    probe: bool = False

    @classmethod
    def for_task(cls, task_context: Any, execution_idx: int = 0) -> "EvalContext":
        state = getattr(task_context, "kwargs", None)
        return cls(int(getattr(task_context, "task_idx", 0) or 0), int(execution_idx),
                   state if isinstance(state, dict) else {})


_NODES: dict[str, type] = {}


def node_class(kind: str) -> type:
    """The registered node class of ``kind`` (``"compare"``, ``"pc_call"``, ...)."""
    try:
        return _NODES[kind]
    except KeyError:
        raise RuntimeError(f"expression node {kind!r} is not loaded; import streamscope.expressions") from None


def to_column(value: Any, num_rows: int, what: str) -> pa.ChunkedArray:
    """A node's value as a column of ``num_rows``: scalars are repeated, arrays checked."""
    if isinstance(value, pa.ChunkedArray):
        column = value
    elif isinstance(value, pa.Array):
        column = pa.chunked_array([value])
    elif isinstance(value, np.ndarray):
        column = pa.chunked_array([ndarray_to_arrow(value)])
    elif type(value).__name__ == "Series" and hasattr(value, "to_numpy"):
        column = pa.chunked_array([pa.Array.from_pandas(value)])
    else:
        scalar = value if isinstance(value, pa.Scalar) else pa.scalar(value)
        return pa.chunked_array([pa.repeat(scalar, num_rows)], type=scalar.type)
    if len(column) != num_rows:
        raise ValueError(f"{what} gave {len(column)} values for a block of {num_rows} rows")
    return column


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7,
         "**": 8}


class Expr(ExprMathMixin, NamespaceAccessors):
    """An expression: a tree of columns, literals, operators and function calls, evaluated
    vectorized on whole blocks. Immutable; build with ``col``, ``lit``, operators and methods.

    Examples:
        >>> from streamscope.expressions import col, lit
        >>> expr = (col("x") + lit(5)) * col("y")
        >>> str(expr), expr.columns()
        ('(x + 5) * y', ['x', 'y'])
    """

    _prec = 9
    _kind = ""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("_kind")
        if kind:
            _NODES[kind] = cls

    # ---- what it is ----------------------------------------------------------------------------
    @property
    def name(self) -> Optional[str]:
        """The output name for named expressions (a column reference, an alias), else None.

        Examples:
            >>> from streamscope.expressions import col
            >>> col("a").name, (col("a") + 1).name, (col("a") + 1).alias("b").name
            ('a', None, 'b')
        """
        return None

    @property
    def data_type(self) -> DataType:
        """The type the expression declares without looking at data (Ray's ``data_type``): a
        literal's inferred type, a UDF's ``return_dtype``; ``DataType(object)`` where it depends
        on the input (see :meth:`get_type`).

        Examples:
            >>> from streamscope.expressions import col, lit
            >>> lit(3).data_type, col("a").is_null().data_type
            (DataType(arrow:int64), DataType(arrow:bool))
        """
        return DataType(object)

    def columns(self) -> list[str]:
        """Referenced column names, in first-use order, without duplicates.

        Examples:
            >>> from streamscope.expressions import col
            >>> ((col("b") > 1) & (col("a") < col("b"))).columns()
            ['b', 'a']
        """
        out: list[str] = []
        self._collect(out)
        return list(dict.fromkeys(out))

    def validate(self, available: Iterable[str]) -> None:
        """Raise ``ColumnNotFoundError`` naming any referenced column not in ``available``.

        Examples:
            >>> from streamscope.expressions import col
            >>> col("amount").validate(["a", "b"])
            Traceback (most recent call last):
            ...
            streamscope.engine.expression_core.ColumnNotFoundError: expression 'amount' refers to missing column 'amount'; available columns: ['a', 'b']
        """
        avail = list(available)
        missing = [c for c in self.columns() if c not in avail]
        if missing:
            raise missing_columns_error(missing, avail, str(self))

    def is_idempotent(self) -> bool:
        """False when the tree holds ``random()``, ``uuid()`` or ``monotonically_increasing_id()``:
        such an expression may not be duplicated, reordered or moved by the optimizer.

        Examples:
            >>> from streamscope.expressions import col, random
            >>> (col("a") + 1).is_idempotent(), (random() > 0.5).is_idempotent()
            (True, False)
        """
        return self._idempotent_self and all(c.is_idempotent() for c in self._children())

    def _is_pyarrow_convertible(self) -> bool:
        """Whether the whole tree converts to one pyarrow compute expression (what predicate
        pushdown into scans and partition pruning need)."""
        return self._convertible_self and all(c._is_pyarrow_convertible() for c in self._children())

    def to_pyarrow(self) -> pc.Expression:
        """The equivalent ``pyarrow.compute.Expression``; a TypeError for trees holding Python
        UDFs, downloads, random numbers or other nodes pyarrow cannot evaluate.

        Examples:
            >>> from streamscope.expressions import col
            >>> (col("a") > 1).to_pyarrow()
            <pyarrow.compute.Expression (a > 1)>
        """
        if not self._is_pyarrow_convertible():
            bad = next(n for n in self._walk() if not n._convertible_self)
            raise TypeError(f"expression {str(self)!r} cannot be converted to a pyarrow expression: "
                            f"{type(bad).__name__} {str(bad)!r} is evaluated in Python")
        return self._to_pyarrow()

    def get_type(self, input_schema: pa.Schema) -> Optional[pa.DataType]:
        """The output's Arrow type for input of ``input_schema``, or None when it cannot be known
        without running user code (a UDF) or a column is missing.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> (col("a") / 2).get_type(pa.schema([("a", pa.int64())]))
            DataType(double)
        """
        try:
            value = self._eval(input_schema.empty_table(), EvalContext(probe=True))
        except (UnknownType, KeyError, TypeError, ValueError, NotImplementedError, pa.ArrowException):
            return None
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            return value.type
        try:
            return (value if isinstance(value, pa.Scalar) else pa.scalar(value)).type
        except (pa.ArrowException, TypeError, ValueError):
            return None

    def to_field(self, input_schema: pa.Schema) -> Optional[pa.Field]:
        """The output field (name and type) for input of ``input_schema``, or None when the
        expression has no name or its type is unknown.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> (col("a") * 2.5).alias("b").to_field(pa.schema([("a", pa.int64())]))
            pyarrow.Field<b: double>
        """
        arrow_type = self.get_type(input_schema)
        if arrow_type is None or self.name is None:
            return None
        return pa.field(self.name, arrow_type)

    # ---- evaluation ----------------------------------------------------------------------------
    def evaluate(self, table: pa.Table, context: Optional[EvalContext] = None) -> pa.ChunkedArray:
        """The expression's value for every row of ``table`` (a boolean mask for predicates).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> (col("a") * 10).evaluate(pa.table({"a": [1, 2]})).to_pylist()
            [10, 20]
        """
        self.validate(table.column_names)
        return to_column(self._eval(table, context or EvalContext()), table.num_rows, f"expression {str(self)!r}")

    def filter(self, table: pa.Table, context: Optional[EvalContext] = None) -> pa.Table:
        """Rows of ``table`` where the predicate is true (null counts as false, as in SQL).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("a").is_in([1, 3]).filter(pa.table({"a": [1, 2, 3]})).column("a").to_pylist()
            [1, 3]
        """
        self.validate(table.column_names)
        if self._is_pyarrow_convertible():
            try:
                return table.filter(self._to_pyarrow())
            except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
                pass  # e.g. ``+`` on strings, which only the block evaluator concatenates
        mask = self.evaluate(table, context)
        if not pa.types.is_boolean(mask.type):
            raise TypeError(f"filter expression {str(self)!r} gives {mask.type} values, not booleans")
        return table.filter(mask)

    # ---- comparison and display ----------------------------------------------------------------
    def structurally_equals(self, other: Any) -> bool:
        """Whether ``other`` is the same tree (same nodes, operators, names and values).

        Examples:
            >>> from streamscope.expressions import col
            >>> (col("a") + 1).structurally_equals(col("a") + 1), (col("a") + 1).structurally_equals(col("a") + 2)
            (True, False)
        """
        return isinstance(other, Expr) and self._key() == other._key()

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return f"Expr({self._text()!r})"

    def __hash__(self) -> int:
        return hash(self._key())

    def __bool__(self) -> bool:
        raise TypeError(f"the truth value of expression {str(self)!r} is not known until it is evaluated; combine "
                        "predicates with & | ~ (not and/or/not), and 1 < col('a') < 4 as (col('a') > 1) & (col('a') < 4)")

    # ---- operators (col("a") > 1, ...) ---------------------------------------------------------
    def __eq__(self, other: Any) -> "Expr":  # type: ignore[override]
        return _compare(Operation.EQ, self, other)

    def __ne__(self, other: Any) -> "Expr":  # type: ignore[override]
        return _compare(Operation.NE, self, other)

    def __lt__(self, other: Any) -> "Expr":
        return _compare(Operation.LT, self, other)

    def __le__(self, other: Any) -> "Expr":
        return _compare(Operation.LE, self, other)

    def __gt__(self, other: Any) -> "Expr":
        return _compare(Operation.GT, self, other)

    def __ge__(self, other: Any) -> "Expr":
        return _compare(Operation.GE, self, other)

    def __and__(self, other: Any) -> "Expr":
        return node_class("bool")(Operation.AND, (self, to_expr(other)))

    def __or__(self, other: Any) -> "Expr":
        return node_class("bool")(Operation.OR, (self, to_expr(other)))

    def __invert__(self) -> "Expr":
        return node_class("not")(self)

    def __neg__(self) -> "Expr":
        return node_class("negate")(self)

    def _arith(self, op: Any, left: Any, right: Any) -> "Expr":
        return node_class("arith")(op, to_expr(left), to_expr(right))

    def __add__(self, other: Any) -> "Expr":
        return self._arith(Operation.ADD, self, other)

    def __sub__(self, other: Any) -> "Expr":
        return self._arith(Operation.SUB, self, other)

    def __mul__(self, other: Any) -> "Expr":
        return self._arith(Operation.MUL, self, other)

    def __truediv__(self, other: Any) -> "Expr":
        return self._arith(Operation.DIV, self, other)

    def __floordiv__(self, other: Any) -> "Expr":
        return self._arith(Operation.FLOORDIV, self, other)

    def __mod__(self, other: Any) -> "Expr":
        return self._arith(Operation.MOD, self, other)

    def __pow__(self, other: Any) -> "Expr":
        return self._arith("**", self, other)

    def __radd__(self, other: Any) -> "Expr":
        return self._arith(Operation.ADD, other, self)

    def __rsub__(self, other: Any) -> "Expr":
        return self._arith(Operation.SUB, other, self)

    def __rmul__(self, other: Any) -> "Expr":
        return self._arith(Operation.MUL, other, self)

    def __rtruediv__(self, other: Any) -> "Expr":
        return self._arith(Operation.DIV, other, self)

    def __rfloordiv__(self, other: Any) -> "Expr":
        return self._arith(Operation.FLOORDIV, other, self)

    def __rmod__(self, other: Any) -> "Expr":
        return self._arith(Operation.MOD, other, self)

    def __rpow__(self, other: Any) -> "Expr":
        return self._arith("**", other, self)

    # ---- predicates and naming -----------------------------------------------------------------
    def is_null(self) -> "Expr":
        """True where the value is null.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("a").is_null().evaluate(pa.table({"a": [1, None]})).to_pylist()
            [False, True]
        """
        return node_class("isnull")(self, negated=False)

    def is_not_null(self) -> "Expr":
        """True where the value is not null.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("a").is_not_null().evaluate(pa.table({"a": [1, None]})).to_pylist()
            [True, False]
        """
        return node_class("isnull")(self, negated=True)

    def is_in(self, values: Any) -> "Expr":
        """True where the value is one of ``values`` (a list, or a ``lit`` of a list).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("a").is_in([1, 3]).evaluate(pa.table({"a": [1, 2, 3]})).to_pylist()
            [True, False, True]
        """
        return node_class("isin")(self, _value_list("is_in", values), negated=False)

    def not_in(self, values: Any) -> "Expr":
        """True where the value is none of ``values``.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("a").not_in([1, 3]).evaluate(pa.table({"a": [1, 2, 3]})).to_pylist()
            [False, True, False]
        """
        return node_class("isin")(self, _value_list("not_in", values), negated=True)

    def alias(self, name: str) -> "Expr":
        """The same expression under the output name ``name``.

        Examples:
            >>> from streamscope.expressions import col
            >>> (col("price") * col("quantity")).alias("total").name
            'total'
        """
        return node_class("alias")(self._unalias(), name)

    def _unalias(self) -> "Expr":
        return self

    # ---- calls the math methods and namespaces build -------------------------------------------
    def _pc_call(self, func: Any, return_dtype: Optional[DataType], label: str, positional: tuple = (),
                 kwargs: Optional[dict] = None) -> "Expr":
        """A call of pyarrow compute function ``func`` on this expression (pushable into scans)."""
        dtype = return_dtype if return_dtype is not None else self.data_type
        return node_class("pc_call")(func, [self], dtype, label, tuple(positional), dict(kwargs or {}))

    def _arrow_call(self, fn: Any, return_dtype: Optional[DataType], label: str) -> "Expr":
        """A call of streamscope's own arrow function ``fn`` (evaluated in Python, not pushable)."""
        dtype = return_dtype if return_dtype is not None else self.data_type
        return node_class("arrow_call")(fn, [self], dtype, label)

    # ---- what every node class provides --------------------------------------------------------
    _convertible_self = True
    _idempotent_self = True

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        raise NotImplementedError

    def _to_pyarrow(self) -> pc.Expression:
        raise NotImplementedError

    def _children(self) -> tuple["Expr", ...]:
        return ()

    def _walk(self) -> Iterable["Expr"]:
        yield self
        for child in self._children():
            yield from child._walk()

    def _collect(self, out: list[str]) -> None:
        for child in self._children():
            child._collect(out)

    def _key(self) -> tuple:
        raise NotImplementedError

    def _text(self) -> str:
        raise NotImplementedError

    def _wrap(self, child: "Expr", min_prec: int) -> str:
        text = child._text()
        return f"({text})" if child._prec < min_prec else text


def to_expr(value: Any) -> Expr:
    """An Expr as is, anything else as a literal."""
    if isinstance(value, Expr):
        return value
    return node_class("literal")(value)


def _compare(op: Operation, left: Any, right: Any) -> Expr:
    left, right = to_expr(left), to_expr(right)
    literal = node_class("literal")
    for a, b in ((left, right), (right, left)):
        if isinstance(b, literal) and b.value is None and op in (Operation.EQ, Operation.NE):
            return node_class("isnull")(a, negated=(op == Operation.NE))
    return node_class("compare")(op, left, right)


def _value_list(method: str, values: Any) -> tuple:
    if isinstance(values, Expr):
        literal = node_class("literal")
        if isinstance(values, literal) and isinstance(values.value, (list, tuple, set)):
            return tuple(values.value)
        raise TypeError(f"{method}: needs a list of values (or lit() of a list), got the expression {str(values)!r}; "
                        "to compare with another column use ==")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{method}: needs a list of values, got {type(values).__name__}")
    return tuple(values)
