"""Filter expressions as SQL ``WHERE`` text, for table formats whose scans take SQL (Lance's
``filter=``, deltalake's ``file_pruning_predicate=``).

Why exactness first: a predicate the optimizer pushes into a read replaces the ``Filter``
operator, so the SQL must keep exactly the rows the :class:`~streamscope.engine.expressions.Expr`
keeps when pyarrow evaluates it. Where SQL and pyarrow differ the translation compensates or
gives up: ``x in [1, 2]`` is false (not null) for a null ``x`` in pyarrow, so it becomes
``(x IS NOT NULL AND x IN (1, 2))``; ``/``, ``//``, ``%`` and ``**`` (SQL's integer division and
truncated modulo differ from Python's), non-finite floats, strings with backslashes, dotted
column names (``a.b`` would mean a nested field in SQL) and literals other than bool, int, float
and str are not translated. :func:`split_sql` splits a predicate into the conjuncts that
translate and the rest, which the reader applies to the rows itself.
"""

from __future__ import annotations

import math
from typing import Optional

from streamscope.engine.expressions import (
    Arith, BoolOp, Column, Compare, Expr, IsIn, IsNull, Literal, Negate, Not,
)
from streamscope.engine.io.file_partitions import conjuncts

_SQL_CMP = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SQL_ARITH = ("+", "-", "*")


class _Untranslatable(Exception):
    pass


def to_sql(expr: Expr, quote: str = "`") -> Optional[str]:
    """``expr`` as a SQL predicate with identifiers quoted by ``quote``, or None when it has a
    part SQL would evaluate differently.

    Examples:
        >>> from streamscope.engine.expressions import parse
        >>> to_sql(parse("a > 1 and b == 'x'"))
        "(`a` > 1 AND `b` = 'x')"
        >>> to_sql(parse("a not in [1, 2]"))
        'NOT ((`a` IS NOT NULL AND `a` IN (1, 2)))'
        >>> to_sql(parse("a / 2 > 1")) is None
        True
    """
    try:
        return _sql(expr, quote)
    except _Untranslatable:
        return None


def split_sql(expr: Expr, quote: str = "`") -> tuple[list[Expr], list[Expr]]:
    """``(conjuncts that translate to SQL, conjuncts that do not)`` of ``expr``.

    Examples:
        >>> from streamscope.engine.expressions import parse
        >>> sql, rest = split_sql(parse("a > 1 and a % 2 == 0"))
        >>> [str(e) for e in sql], [str(e) for e in rest]
        (['a > 1'], ['a % 2 == 0'])
    """
    ok, rest = [], []
    for part in conjuncts(expr):
        (ok if to_sql(part, quote) is not None else rest).append(part)
    return ok, rest


def join_sql(parts: list[Expr], quote: str = "`") -> Optional[str]:
    """The conjuncts ``parts`` (each translatable) as one SQL predicate, or None if empty."""
    texts = [to_sql(p, quote) for p in parts]
    if not texts:
        return None
    if any(t is None for t in texts):
        raise ValueError(f"join_sql: {parts} has a part that does not translate to SQL")
    return texts[0] if len(texts) == 1 else " AND ".join(f"({t})" for t in texts)  # type: ignore[arg-type]


def _ident(name: str, quote: str) -> str:
    if not name or quote in name or "." in name or any(ord(ch) < 32 for ch in name):
        raise _Untranslatable(name)
    return f"{quote}{name}{quote}"


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Untranslatable(value)
        return repr(value)
    if isinstance(value, str):
        if "\\" in value or any(ord(ch) < 32 for ch in value):
            raise _Untranslatable(value)
        return "'" + value.replace("'", "''") + "'"
    raise _Untranslatable(value)  # None is handled by IsNull; dates, bytes...: not translated


def _sql(e: Expr, q: str) -> str:
    if isinstance(e, Column):
        return _ident(e.name, q)
    if isinstance(e, Literal):
        if e.value is None:
            raise _Untranslatable(e)
        return _literal(e.value)
    if isinstance(e, Compare):
        return f"{_operand(e.left, q)} {_SQL_CMP[e.op]} {_operand(e.right, q)}"
    if isinstance(e, Arith):
        if e.op not in _SQL_ARITH:
            raise _Untranslatable(e)
        return f"({_operand(e.left, q)} {e.op} {_operand(e.right, q)})"
    if isinstance(e, Negate):
        return f"(-{_operand(e.operand, q)})"
    if isinstance(e, BoolOp):
        joiner = " AND " if e.op == "and" else " OR "
        return "(" + joiner.join(_sql(o, q) for o in e.operands) + ")"
    if isinstance(e, Not):
        return f"NOT ({_sql(e.operand, q)})"
    if isinstance(e, IsNull):
        return f"{_operand(e.operand, q)} IS {'NOT ' if e.negated else ''}NULL"
    if isinstance(e, IsIn):
        return _is_in(e, q)
    raise _Untranslatable(e)  # is_nan and anything newer


def _operand(e: Expr, q: str) -> str:
    if isinstance(e, Literal) and isinstance(e.value, bool):
        raise _Untranslatable(e)  # a == True: pyarrow compares booleans, some SQL engines coerce
    return _sql(e, q)


def _is_in(e: IsIn, q: str) -> str:
    """pyarrow's ``is_in`` never yields null: a null operand is in the list only when the list
    holds a null. Written so the SQL never yields null either, and negated by NOT."""
    x = _operand(e.operand, q)
    values = [v for v in e.values if v is not None]
    has_null = len(values) < len(e.values)
    if values and len({type(v) for v in values}) > 1 and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                                 for v in values):
        raise _Untranslatable(e)  # mixed kinds: pyarrow would refuse to build the value set
    listed = ", ".join(_literal(v) for v in values)
    if has_null:
        positive = f"({x} IS NULL OR {x} IN ({listed}))" if values else f"{x} IS NULL"
    else:
        positive = f"({x} IS NOT NULL AND {x} IN ({listed}))" if values else "FALSE"
    return f"NOT ({positive})" if e.negated else positive
