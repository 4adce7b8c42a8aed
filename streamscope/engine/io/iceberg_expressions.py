"""streamscope filter expressions as PyIceberg expressions, for ``read_iceberg`` and ``write_iceberg``.

Why translate instead of filtering rows after the read: a PyIceberg ``row_filter`` is what the
table's manifests are pruned with (partition values and per-file column bounds), so data files
that cannot hold a matching row are never opened, and PyIceberg's Arrow reader applies the same
filter to the rows it decodes. A streamscope :class:`~streamscope.engine.expressions.Expr` that
compares columns with literals (``==``, ``!=``, ``<``..., ``in``, ``is null``, ``is_nan``, joined
by ``and``/``or``/``not``) translates; one that computes (``a + 1 > b``) or compares two columns
does not, and the read applies that part to its blocks instead (:func:`split_for_iceberg`).

PyIceberg is imported inside the functions: ``import streamscope`` never imports it.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.expressions import BoolOp, Column, Compare, Expr, IsIn, IsNan, IsNull, Literal, Not
from streamscope.engine.io.file_partitions import conjuncts, join_and

_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class NotTranslatable(ValueError):
    """The expression has no PyIceberg equivalent (arithmetic, two columns compared, ...)."""


def to_iceberg(expr: Expr, same_rows: bool = True) -> Any:
    """The PyIceberg ``BooleanExpression`` meaning ``expr``, or :class:`NotTranslatable`.

    ``same_rows=True`` (a read's pushed filter) keeps exactly the rows streamscope's own filter
    keeps: ``x not in [...]`` also keeps rows where ``x`` is null (Iceberg's ``NotIn`` drops
    them), and ``not`` is only pushed over ``is null``, ``in`` and ``is_nan`` (Iceberg rewrites
    ``not (x > 0)`` as ``x <= 0``, which drops NaN rows that streamscope keeps); the rest stays
    behind as a row filter. ``same_rows=False`` translates operator by operator, as Ray Data
    translates an ``overwrite_filter``.

    Examples:
        >>> from streamscope.engine.expressions import parse
        >>> iceberg_text(to_iceberg(parse("id >= 3 and name == 'a'")))
        "(id >= 3 and name == 'a')"
        >>> iceberg_text(to_iceberg(parse("name not in ['a', 'b']")))
        "(name not in ['a', 'b'] or name is null)"
    """
    import pyiceberg.expressions as ie

    if isinstance(expr, BoolOp):
        parts = [to_iceberg(o, same_rows) for o in expr.operands]
        out = parts[0]
        for part in parts[1:]:
            out = ie.And(out, part) if expr.op == "and" else ie.Or(out, part)
        return out
    if isinstance(expr, Not):
        inner = expr.operand
        if isinstance(inner, IsIn):
            return to_iceberg(IsIn(inner.operand, inner.values, not inner.negated), same_rows)
        if isinstance(inner, IsNull):
            return to_iceberg(IsNull(inner.operand, not inner.negated), same_rows)
        if same_rows and not isinstance(inner, IsNan):
            raise NotTranslatable(f"{expr}: Iceberg's not of a comparison treats NaN unlike streamscope's filter")
        return ie.Not(to_iceberg(inner, same_rows))
    if isinstance(expr, IsNull):
        name = _column(expr.operand, expr)
        return ie.NotNull(name) if expr.negated else ie.IsNull(name)
    if isinstance(expr, IsNan):
        return ie.IsNaN(_column(expr.operand, expr))
    if isinstance(expr, IsIn):
        name = _column(expr.operand, expr)
        values = list(expr.values)
        if not values or any(v is None or isinstance(v, (list, dict)) or v != v for v in values):
            raise NotTranslatable(f"{expr}: Iceberg's in takes non-null scalar values")
        if not expr.negated:
            return ie.In(name, values)
        return ie.Or(ie.NotIn(name, values), ie.IsNull(name)) if same_rows else ie.NotIn(name, values)
    if isinstance(expr, Compare):
        left, right, op = expr.left, expr.right, expr.op
        if isinstance(left, Literal) and isinstance(right, Column):
            left, right, op = right, left, _FLIPPED[op]
        if not (isinstance(left, Column) and isinstance(right, Literal)):
            raise NotTranslatable(f"{expr}: Iceberg filters compare a column with a literal")
        value = right.value
        if value is None or isinstance(value, (list, dict)) or value != value:
            raise NotTranslatable(f"{expr}: no Iceberg comparison with {value!r}")
        cls = {"==": ie.EqualTo, "!=": ie.NotEqualTo, "<": ie.LessThan, "<=": ie.LessThanOrEqual,
               ">": ie.GreaterThan, ">=": ie.GreaterThanOrEqual}[op]
        try:
            return cls(left.name, value)
        except (TypeError, ValueError) as exc:
            raise NotTranslatable(f"{expr}: {exc}") from None
    raise NotTranslatable(f"{expr}: {type(expr).__name__} has no Iceberg equivalent")


def _column(operand: Expr, whole: Expr) -> str:
    if not isinstance(operand, Column):
        raise NotTranslatable(f"{whole}: Iceberg filters test a column, not {operand}")
    return operand.name


def split_for_iceberg(expr: Expr) -> tuple[Optional[Expr], Optional[Any], Optional[Expr]]:
    """``(the conjuncts of expr that translate, their PyIceberg expression, the rest)``.

    Examples:
        >>> from streamscope.engine.expressions import parse
        >>> pushed, _, rest = split_for_iceberg(parse("id > 1 and id + 1 < score"))
        >>> str(pushed), str(rest)
        ('id > 1', 'id + 1 < score')
    """
    import pyiceberg.expressions as ie

    pushed: list[Expr] = []
    translated: list[Any] = []
    rest: list[Expr] = []
    for part in conjuncts(expr):
        try:
            translated.append(to_iceberg(part))
            pushed.append(part)
        except NotTranslatable:
            rest.append(part)
    iceberg = None
    for part in translated:
        iceberg = part if iceberg is None else ie.And(iceberg, part)
    return join_and(pushed), iceberg, join_and(rest)


def and_iceberg(left: Any, right: Any) -> Any:
    """``left AND right`` for PyIceberg expressions, ``AlwaysTrue`` dropped."""
    import pyiceberg.expressions as ie

    if right is None or isinstance(right, ie.AlwaysTrue):
        return left
    if left is None or isinstance(left, ie.AlwaysTrue):
        return right
    return ie.And(left, right)


def as_iceberg_filter(value: Any, connector: str, what: str, table: str) -> Any:
    """A ``row_filter``/``overwrite_filter`` as a PyIceberg expression: a PyIceberg
    ``BooleanExpression`` as is, a string in PyIceberg's filter syntax (``"id >= 3 and name = 'a'"``),
    or a streamscope ``Expr`` (``col("id") >= 3``, what Ray's ``overwrite_filter`` takes), which
    must translate entirely. Anything else, or a string PyIceberg cannot parse, is a ValueError
    naming ``connector``, ``what`` and ``table``."""
    import pyiceberg.expressions as ie

    if value is None:
        return ie.AlwaysTrue()
    if isinstance(value, ie.BooleanExpression):
        return value
    if isinstance(value, Expr):
        try:
            return to_iceberg(value, same_rows=False)  # operator by operator, as Ray translates it
        except NotTranslatable as exc:
            raise ValueError(f"{connector}: {what}={value} for table {table!r} has no Iceberg equivalent ({exc}); "
                             "use comparisons of a column with a literal joined by and/or/not") from None
    if isinstance(value, str):
        from pyiceberg.expressions.parser import parse

        try:
            return parse(value)
        except Exception as exc:  # pyparsing's ParseException and friends
            first = str(exc).splitlines()[0][:200]
            raise ValueError(f"{connector}: cannot parse {what}={value!r} for table {table!r}: {first}; "
                             "write it in PyIceberg's filter syntax, e.g. \"id >= 3 and name = 'a'\"") from None
    raise TypeError(f"{connector}: {what} must be a string, a pyiceberg BooleanExpression or a streamscope "
                    f"expression, got {type(value).__name__}")


def bind_check(schema: Any, expression: Any, case_sensitive: bool, connector: str, what: str, table: str) -> None:
    """Bind ``expression`` to the table's ``schema`` now, so an unknown column or a literal of
    the wrong type fails in the driver, naming the table, not inside a read task."""
    from pyiceberg.expressions.visitors import bind

    try:
        bind(schema, expression, case_sensitive=case_sensitive)
    except Exception as exc:
        raise ValueError(f"{connector}: {what} {expression} does not fit table {table!r}: {exc}") from None


_SYMBOLS = {"EqualTo": "==", "NotEqualTo": "!=", "LessThan": "<", "LessThanOrEqual": "<=", "GreaterThan": ">",
            "GreaterThanOrEqual": ">=", "StartsWith": "startswith", "NotStartsWith": "not startswith"}


def iceberg_text(expr: Any) -> str:
    """A short text of a PyIceberg expression for plans (``id >= 3 and name == 'a'``).

    Examples:
        >>> import pyiceberg.expressions as ie
        >>> iceberg_text(ie.And(ie.GreaterThanOrEqual("id", 3), ie.Not(ie.IsNull("name"))))
        '(id >= 3 and not (name is null))'
    """
    import pyiceberg.expressions as ie

    kind = type(expr).__name__
    if isinstance(expr, (ie.And, ie.Or)):
        word = "and" if isinstance(expr, ie.And) else "or"
        return f"({iceberg_text(expr.left)} {word} {iceberg_text(expr.right)})"
    if isinstance(expr, ie.Not):
        return f"not ({iceberg_text(expr.child)})"
    if isinstance(expr, ie.AlwaysTrue):
        return "true"
    if isinstance(expr, ie.AlwaysFalse):
        return "false"
    term = getattr(getattr(expr, "term", None), "name", None)
    if term is None:
        return str(expr)
    if kind in _SYMBOLS:
        return f"{term} {_SYMBOLS[kind]} {getattr(expr.literal, 'value', expr.literal)!r}"
    if kind in ("In", "NotIn"):
        values = sorted((getattr(v, "value", v) for v in expr.literals), key=repr)
        return f"{term} {'in' if kind == 'In' else 'not in'} {values!r}"
    unary = {"IsNull": "is null", "NotNull": "is not null", "IsNaN": "is nan", "NotNaN": "is not nan"}
    if kind in unary:
        return f"{term} {unary[kind]}"
    return str(expr)
