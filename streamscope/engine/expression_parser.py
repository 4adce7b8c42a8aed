"""Filter strings: parse ``"a >= 1 and (b == 'x' or c is null)"`` into an expression tree
(:mod:`streamscope.engine.expression_nodes`), what ``Dataset.filter(expr="...")`` and the
``filter=`` of reads take.

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
from typing import Any

from streamscope.engine.expression_core import Expr, _compare
from streamscope.engine.expression_nodes import (
    KEYWORD_NAMES,
    Arith,
    BoolOp,
    Column,
    IsIn,
    IsNan,
    IsNull,
    Literal,
    Negate,
    Not,
)

__all__ = ["as_expr", "parse"]


# ---- parsing -------------------------------------------------------------------------------------
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
        if tok.type == tokenize.NAME and tok.string.lower() in KEYWORD_NAMES and tok.string != tok.string.lower():
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
