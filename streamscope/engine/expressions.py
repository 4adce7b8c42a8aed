"""Row-filter expressions: parse ``"a >= 1 and (b == 'x' or c is null)"`` into an :class:`Expr`.

Why our own small tree instead of handing strings to pyarrow: the optimizer needs to know which
columns a predicate reads (projection pushdown must keep them), to print it in plans, to compare
two predicates, and to push it into a Parquet scan. An :class:`Expr` answers all of that and
converts to a ``pyarrow.compute.Expression`` for vectorized evaluation.

Parsing uses Python's :mod:`ast` with a whitelist of node types and never evaluates anything.
The accepted syntax is a superset of what Ray Data 2.60's ``filter(expr=...)`` takes:

* comparisons ``== != < <= > >=`` (chains such as ``1 < a < 4`` mean ``1 < a and a < 4``),
  ``in`` / ``not in`` with a list or tuple of literals;
* ``and``, ``or``, ``not`` (also ``&``, ``|``, ``~``; keywords are case-insensitive, so SQL-style
  ``AND`` / ``IS NULL`` work);
* ``x is null`` / ``x is not null`` (also ``None``), ``== None`` / ``!= None`` mean the same;
* Ray's functions ``is_null(x)``, ``is_valid(x)`` / ``is_not_null(x)``, ``is_nan(x)``,
  ``is_in(x, [..])``;
* arithmetic ``+ - * / // % **`` and unary minus; ``/`` is true division as in Python;
* literals: numbers, strings, ``true``/``false``, ``null``; a dotted name ``a.b`` refers to the
  column named ``"a.b"`` (as in Ray Data).
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Expr", "ColumnNotFoundError", "as_expr", "col", "lit", "parse", "to_expr"]


class ColumnNotFoundError(KeyError, ValueError):
    """An expression refers to a column the data does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _missing(names: Sequence[str], available: Iterable[str], text: str) -> ColumnNotFoundError:
    avail = list(available)
    which = ", ".join(repr(n) for n in names)
    noun = "column" if len(names) == 1 else "columns"
    return ColumnNotFoundError(f"expression {text!r} refers to missing {noun} {which}; available columns: {avail}")


# precedence for printing (higher binds tighter)
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7, "**": 8}
_CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")


class Expr:
    """Base class of expression nodes. Immutable; build with :func:`parse`, :func:`col`, :func:`lit`."""

    _prec = 9

    # ---- public interface --------------------------------------------------------------------
    def to_pyarrow(self) -> pc.Expression:
        raise NotImplementedError

    def columns(self) -> list[str]:
        """Referenced column names, in first-use order, without duplicates."""
        out: list[str] = []
        self._collect(out)
        return list(dict.fromkeys(out))

    def validate(self, available: Iterable[str]) -> None:
        """Raise :class:`ColumnNotFoundError` naming any referenced column not in ``available``."""
        avail = list(available)
        missing = [c for c in self.columns() if c not in avail]
        if missing:
            raise _missing(missing, avail, str(self))

    def evaluate(self, table: pa.Table) -> pa.ChunkedArray:
        """The expression's value for every row of ``table`` (a boolean mask for predicates)."""
        self.validate(table.column_names)
        import pyarrow.dataset as pads

        return pads.dataset(table).to_table(columns={"__value__": self.to_pyarrow()}).column(0)

    def filter(self, table: pa.Table) -> pa.Table:
        """Rows of ``table`` where the predicate is true (null counts as false, as in SQL)."""
        self.validate(table.column_names)
        return table.filter(self.to_pyarrow())

    def structurally_equals(self, other: Any) -> bool:
        return isinstance(other, Expr) and self._key() == other._key()

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return f"Expr({self._text()!r})"

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self):
        # pickles as its text: small, stable across versions, and re-validated on load
        return (parse, (self._text(),))

    # ---- operator overloads (col("a") > 1, ...) ------------------------------------------------
    def __eq__(self, other: Any) -> "Expr":  # type: ignore[override]
        return _compare("==", self, other)

    def __ne__(self, other: Any) -> "Expr":  # type: ignore[override]
        return _compare("!=", self, other)

    def __lt__(self, other: Any) -> "Expr":
        return _compare("<", self, other)

    def __le__(self, other: Any) -> "Expr":
        return _compare("<=", self, other)

    def __gt__(self, other: Any) -> "Expr":
        return _compare(">", self, other)

    def __ge__(self, other: Any) -> "Expr":
        return _compare(">=", self, other)

    def __and__(self, other: Any) -> "Expr":
        return BoolOp("and", (self, to_expr(other)))

    def __or__(self, other: Any) -> "Expr":
        return BoolOp("or", (self, to_expr(other)))

    def __invert__(self) -> "Expr":
        return Not(self)

    def __add__(self, other: Any) -> "Expr":
        return Arith("+", self, to_expr(other))

    def __sub__(self, other: Any) -> "Expr":
        return Arith("-", self, to_expr(other))

    def __mul__(self, other: Any) -> "Expr":
        return Arith("*", self, to_expr(other))

    def __truediv__(self, other: Any) -> "Expr":
        return Arith("/", self, to_expr(other))

    def __floordiv__(self, other: Any) -> "Expr":
        return Arith("//", self, to_expr(other))

    def __mod__(self, other: Any) -> "Expr":
        return Arith("%", self, to_expr(other))

    def __pow__(self, other: Any) -> "Expr":
        return Arith("**", self, to_expr(other))

    # reflected: ``2 * col("a")``, ``1 - col("a")``
    def __radd__(self, other: Any) -> "Expr":
        return Arith("+", to_expr(other), self)

    def __rsub__(self, other: Any) -> "Expr":
        return Arith("-", to_expr(other), self)

    def __rmul__(self, other: Any) -> "Expr":
        return Arith("*", to_expr(other), self)

    def __rtruediv__(self, other: Any) -> "Expr":
        return Arith("/", to_expr(other), self)

    def __neg__(self) -> "Expr":
        return Negate(self)

    def is_null(self) -> "Expr":
        return IsNull(self, negated=False)

    def is_not_null(self) -> "Expr":
        return IsNull(self, negated=True)

    def is_in(self, values: Iterable[Any]) -> "Expr":
        return IsIn(self, tuple(values), negated=False)

    # ---- internals -----------------------------------------------------------------------------
    def _collect(self, out: list[str]) -> None:
        for child in self._children():
            child._collect(out)

    def _children(self) -> tuple["Expr", ...]:
        return ()

    def _key(self) -> tuple:
        raise NotImplementedError

    def _text(self) -> str:
        raise NotImplementedError

    def _wrap(self, child: "Expr", min_prec: int) -> str:
        text = child._text()
        return f"({text})" if child._prec < min_prec else text


class Column(Expr):
    def __init__(self, name: str):
        self.name = name

    def to_pyarrow(self) -> pc.Expression:
        return pc.field(self.name)

    def _collect(self, out: list[str]) -> None:
        out.append(self.name)

    def _key(self) -> tuple:
        return ("col", self.name)

    def _text(self) -> str:
        if self.name.replace(".", "_").isidentifier() and self.name.lower() not in _KEYWORD_NAMES:
            return self.name
        return f"col({self.name!r})"


class Literal(Expr):
    def __init__(self, value: Any):
        self.value = value

    def to_pyarrow(self) -> pc.Expression:
        return pc.scalar(self.value)

    def _key(self) -> tuple:
        return ("lit", type(self.value).__name__, self.value)

    def _text(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return repr(self.value)


class Compare(Expr):
    _prec = _PREC["cmp"]

    def __init__(self, op: str, left: Expr, right: Expr):
        self.op, self.left, self.right = op, left, right

    def to_pyarrow(self) -> pc.Expression:
        name = {"==": "equal", "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}[self.op]
        return pc.Expression._call(name, [self.left.to_pyarrow(), self.right.to_pyarrow()])

    def _children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _key(self) -> tuple:
        return ("cmp", self.op, self.left._key(), self.right._key())

    def _text(self) -> str:
        return f"{self._wrap(self.left, self._prec + 1)} {self.op} {self._wrap(self.right, self._prec + 1)}"


class Arith(Expr):
    _FUNCS = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked", "**": "power_checked"}

    def __init__(self, op: str, left: Expr, right: Expr):
        self.op, self.left, self.right = op, left, right
        self._prec = _PREC[op]

    def to_pyarrow(self) -> pc.Expression:
        a, b = self.left.to_pyarrow(), self.right.to_pyarrow()
        if self.op in self._FUNCS:
            return pc.Expression._call(self._FUNCS[self.op], [a, b])
        fa, fb = a.cast(pa.float64()), b.cast(pa.float64())
        quotient = pc.Expression._call("divide", [fa, fb])
        if self.op == "/":
            return quotient
        floored = pc.Expression._call("floor", [quotient])
        if self.op == "//":
            return floored
        # Python's modulo: a - b * floor(a / b), same sign as b
        return pc.Expression._call("subtract", [fa, pc.Expression._call("multiply", [fb, floored])])

    def _children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def _key(self) -> tuple:
        return ("arith", self.op, self.left._key(), self.right._key())

    def _text(self) -> str:
        if self.op == "**":  # right-associative
            return f"{self._wrap(self.left, self._prec + 1)} ** {self._wrap(self.right, self._prec)}"
        return f"{self._wrap(self.left, self._prec)} {self.op} {self._wrap(self.right, self._prec + 1)}"


class Negate(Expr):
    _prec = _PREC["neg"]

    def __init__(self, operand: Expr):
        self.operand = operand

    def to_pyarrow(self) -> pc.Expression:
        return pc.Expression._call("negate_checked", [self.operand.to_pyarrow()])

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("neg", self.operand._key())

    def _text(self) -> str:
        return f"-{self._wrap(self.operand, self._prec + 1)}"


class Not(Expr):
    _prec = _PREC["not"]

    def __init__(self, operand: Expr):
        self.operand = operand

    def to_pyarrow(self) -> pc.Expression:
        return ~self.operand.to_pyarrow()

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("not", self.operand._key())

    def _text(self) -> str:
        return f"not {self._wrap(self.operand, self._prec)}"


class BoolOp(Expr):
    def __init__(self, op: str, operands: Sequence[Expr]):
        flat: list[Expr] = []
        for o in operands:  # a and (b and c) == a and b and c: keep one flat, comparable shape
            flat.extend(o.operands if isinstance(o, BoolOp) and o.op == op else [o])
        self.op, self.operands = op, tuple(flat)
        self._prec = _PREC[op]

    def to_pyarrow(self) -> pc.Expression:
        exprs = [o.to_pyarrow() for o in self.operands]
        out = exprs[0]
        for e in exprs[1:]:
            out = (out & e) if self.op == "and" else (out | e)  # Kleene logic, as SQL
        return out

    def _children(self) -> tuple[Expr, ...]:
        return self.operands

    def _key(self) -> tuple:
        return ("bool", self.op, tuple(o._key() for o in self.operands))

    def _text(self) -> str:
        return f" {self.op} ".join(self._wrap(o, self._prec + 1) for o in self.operands)


class IsNull(Expr):
    _prec = _PREC["cmp"]

    def __init__(self, operand: Expr, negated: bool):
        self.operand, self.negated = operand, negated

    def to_pyarrow(self) -> pc.Expression:
        e = self.operand.to_pyarrow()
        return e.is_valid() if self.negated else e.is_null()

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isnull", self.negated, self.operand._key())

    def _text(self) -> str:
        return f"{self._wrap(self.operand, self._prec + 1)} is {'not ' if self.negated else ''}null"


class IsIn(Expr):
    _prec = _PREC["cmp"]

    def __init__(self, operand: Expr, values: tuple, negated: bool):
        self.operand, self.values, self.negated = operand, tuple(values), negated

    def to_pyarrow(self) -> pc.Expression:
        e = self.operand.to_pyarrow().isin(pa.array(list(self.values)) if self.values else pa.array([], pa.null()))
        return ~e if self.negated else e

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isin", self.negated, self.operand._key(), tuple((type(v).__name__, v) for v in self.values))

    def _text(self) -> str:
        vals = ", ".join(Literal(v)._text() for v in self.values)
        return f"{self._wrap(self.operand, self._prec + 1)} {'not in' if self.negated else 'in'} [{vals}]"


class IsNan(Expr):
    def __init__(self, operand: Expr):
        self.operand = operand

    def to_pyarrow(self) -> pc.Expression:
        return pc.Expression._call("is_nan", [self.operand.to_pyarrow()])

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def _key(self) -> tuple:
        return ("isnan", self.operand._key())

    def _text(self) -> str:
        return f"is_nan({self.operand._text()})"


# ---- construction helpers ----------------------------------------------------------------------
def col(name: str) -> Expr:
    """A reference to the column ``name`` (as ``ray.data.expressions.col``)."""
    return Column(name)


def lit(value: Any) -> Expr:
    """A literal value (as ``ray.data.expressions.lit``)."""
    return Literal(value)


def to_expr(value: Any) -> Expr:
    """An Expr as is, a string parsed, anything else as a literal."""
    if isinstance(value, Expr):
        return value
    return Literal(value)


def _compare(op: str, left: Any, right: Any) -> Expr:
    left, right = to_expr(left), to_expr(right)
    for a, b in ((left, right), (right, left)):
        if isinstance(b, Literal) and b.value is None and op in ("==", "!="):
            return IsNull(a, negated=(op == "!="))
    return Compare(op, left, right)


# ---- parsing -------------------------------------------------------------------------------------
_KEYWORD_NAMES = {"and", "or", "not", "is", "in", "null", "none", "true", "false"}
_CONSTANT_NAMES = {"null": None, "none": None, "true": True, "false": False}


def _normalize_keywords(text: str) -> str:
    """Lower-case SQL-style keywords (AND, IS NULL, TRUE) outside string literals."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    changed = False
    out = []
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string.lower() in _KEYWORD_NAMES and tok.string != tok.string.lower():
            tok = tok._replace(string=tok.string.lower())
            changed = True
        out.append(tok)
    return tokenize.untokenize(out) if changed else text


def parse(text: str) -> Expr:
    """Parse a filter string. Raises ValueError naming what is not supported."""
    if not isinstance(text, str):
        raise TypeError(f"expected an expression string, got {type(text).__name__}")
    source = _normalize_keywords(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"invalid expression {text!r}: {exc.msg}") from None
    return _Converter(text).convert(tree.body)


_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class _Converter:
    def __init__(self, text: str):
        self.text = text

    def fail(self, what: str) -> ValueError:
        return ValueError(f"unsupported syntax in expression {self.text!r}: {what}")

    def convert(self, node: ast.AST) -> Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(f"{type(node).__name__} nodes are not allowed")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Expr:
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return Literal(node.value)
        raise self.fail(f"literal {node.value!r}")

    def _Name(self, node: ast.Name) -> Expr:
        if node.id.lower() in _CONSTANT_NAMES:
            return Literal(_CONSTANT_NAMES[node.id.lower()])
        return Column(node.id)

    def _Attribute(self, node: ast.Attribute) -> Expr:
        parts = [node.attr]
        value = node.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name):
            raise self.fail("attribute access on a non-name")
        parts.append(value.id)
        return Column(".".join(reversed(parts)))

    def _literal_value(self, node: ast.AST) -> Any:
        expr = self.convert(node)
        if isinstance(expr, Negate) and isinstance(expr.operand, Literal):
            return -expr.operand.value
        if not isinstance(expr, Literal):
            raise self.fail("lists may hold literals only")
        return expr.value

    def _values(self, node: ast.AST) -> tuple:
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return tuple(self._literal_value(e) for e in node.elts)
        raise self.fail("'in' needs a list of literals, e.g. x in [1, 2]")

    def _List(self, node: ast.List) -> Expr:
        raise self.fail("a list is only allowed after 'in'")

    _Tuple = _Set = _List

    def _UnaryOp(self, node: ast.UnaryOp) -> Expr:
        operand = self.convert(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return Not(operand)
        if isinstance(node.op, ast.USub):
            if isinstance(operand, Literal) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                return Literal(-operand.value)
            return Negate(operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(type(node.op).__name__)

    def _BinOp(self, node: ast.BinOp) -> Expr:
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            return BoolOp("and" if isinstance(node.op, ast.BitAnd) else "or", (self.convert(node.left), self.convert(node.right)))
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail(f"operator {type(node.op).__name__}")
        return Arith(op, self.convert(node.left), self.convert(node.right))

    def _BoolOp(self, node: ast.BoolOp) -> Expr:
        return BoolOp("and" if isinstance(node.op, ast.And) else "or", [self.convert(v) for v in node.values])

    def _Compare(self, node: ast.Compare) -> Expr:
        parts: list[Expr] = []
        left_node = node.left
        for op, right_node in zip(node.ops, node.comparators):
            parts.append(self._one_compare(left_node, op, right_node))
            left_node = right_node
        return parts[0] if len(parts) == 1 else BoolOp("and", parts)

    def _one_compare(self, left_node: ast.AST, op: ast.cmpop, right_node: ast.AST) -> Expr:
        if isinstance(op, (ast.In, ast.NotIn)):
            return IsIn(self.convert(left_node), self._values(right_node), negated=isinstance(op, ast.NotIn))
        if isinstance(op, (ast.Is, ast.IsNot)):
            right = self.convert(right_node)
            if not (isinstance(right, Literal) and right.value is None):
                raise self.fail("'is' / 'is not' must be followed by null")
            return IsNull(self.convert(left_node), negated=isinstance(op, ast.IsNot))
        return _compare(_CMP[type(op)], self.convert(left_node), self.convert(right_node))

    def _Call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise self.fail("only is_null(x), is_valid(x), is_not_null(x), is_nan(x), is_in(x, [..]), col('name') calls")
        name = node.func.id
        args = node.args
        if name == "col" and len(args) == 1 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            return Column(args[0].value)
        if name == "is_in" and len(args) == 2:
            return IsIn(self.convert(args[0]), self._values(args[1]), negated=False)
        if len(args) != 1:
            raise self.fail(f"{name}() takes exactly one argument")
        operand = self.convert(args[0])
        if name == "is_null":
            return IsNull(operand, negated=False)
        if name in ("is_valid", "is_not_null"):
            return IsNull(operand, negated=True)
        if name == "is_nan":
            return IsNan(operand)
        raise self.fail(f"function {name}()")


def as_expr(value: Any) -> Expr:
    """A filter given as a string or an Expr, as ``Dataset.filter(expr=...)`` accepts."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"expected an expression string or Expr, got {type(value).__name__}")
