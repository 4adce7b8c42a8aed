"""What ``read_sql`` and ``write_sql`` need to know about a DB-API 2 connection: opening and
closing it with clear errors, how its driver quotes names and marks parameters, and filter
expressions as SQL with bound parameters.

Why learn this from the connection: ``read_sql`` takes any DB-API 2 ``connection_factory``
(sqlite3, psycopg, a MySQL driver...), called in the worker, so the SQL text a pushdown adds is
rendered there, once the connection says which driver it is: its module's ``paramstyle``
(``qmark`` ``?`` for sqlite3, ``pyformat`` ``%s`` for psycopg) and its identifier quote (backticks
for MySQL drivers, double quotes elsewhere). Literal values always travel as bound parameters,
never inside the SQL text.

Why exactness first: a pushed predicate replaces the ``Filter`` operator, so the SQL must keep the
rows the :class:`~streamscope.engine.expressions.Expr` keeps when pyarrow evaluates it. Where SQL
differs the translation compensates or gives up: ``x in [1, 2]`` is false (not null) for a null
``x`` in pyarrow, so it becomes ``(x IS NOT NULL AND x IN (?, ?))``; ``/``, ``//``, ``%``, ``**``
(integer division and truncated modulo in SQL) and ``is_nan`` are not translated, and the reader
applies such conjuncts to the rows itself. String comparisons follow the database's collation.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import cloudpickle

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import Arith, BoolOp, Column, Compare, Expr, IsIn, IsNull, Literal, Negate, Not

_SQL_CMP = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SQL_ARITH = ("+", "-", "*")
_MAX_SQL_SHOWN = 600


def shown_sql(sql: str) -> str:
    """``sql`` shortened for an error message."""
    text = " ".join(sql.split())
    return text if len(text) <= _MAX_SQL_SHOWN else text[:_MAX_SQL_SHOWN] + " ..."


def _driver_module(conn: Any) -> str:
    """The top-level module of the class (or a base class) that made ``conn``: ``sqlite3``,
    ``psycopg``, ``psycopg2``, ``pymysql``... (a subclass defined elsewhere still counts)."""
    for cls in type(conn).__mro__:
        top = (cls.__module__ or "").split(".")[0]
        if top and top not in ("builtins", "abc", "typing"):
            if top in ("sqlite3", "psycopg", "psycopg2") or "mysql" in top.lower():
                return top
    return (type(conn).__module__ or "").split(".")[0]


class Dialect:
    """How one connection's driver wants SQL written.

    Examples:
        >>> import sqlite3
        >>> d = Dialect(sqlite3.connect(":memory:"))
        >>> d.driver, d.paramstyle, d.quote("COUNT(*)")
        ('sqlite3', 'qmark', '"COUNT(*)"')
    """

    def __init__(self, conn: Any):
        self.driver = _driver_module(conn)
        module = sys.modules.get(self.driver)
        self.paramstyle = getattr(module, "paramstyle", "qmark")
        self.quote_char = "`" if "mysql" in self.driver.lower() else '"'
        self.server_cursors = self.driver in ("psycopg", "psycopg2")

    def quote(self, name: str) -> str:
        q = self.quote_char
        return q + name.replace(q, q + q) + q


class Params:
    """Bound parameters of one statement: the user's ``sql_params`` first, then each value a
    pushdown adds, with placeholders in the style the driver and the user's params use.

    Examples:
        >>> p = Params("qmark", (3,))
        >>> p.add("x"), p.values()
        ('?', [3, 'x'])
        >>> p = Params("pyformat", {"lo": 1})
        >>> p.add(5), p.values()
        ('%(__streamscope_p0)s', {'lo': 1, '__streamscope_p0': 5})
    """

    def __init__(self, paramstyle: str, user_params: Any):
        self.user = user_params
        self.named = isinstance(user_params, Mapping) or (user_params is None and paramstyle == "named")
        self.style = paramstyle
        self.added: list[Any] = []

    @property
    def percent_style(self) -> bool:
        return self.style in ("format", "pyformat")

    def add(self, value: Any) -> str:
        n = len(self.added)
        self.added.append(value)
        if self.named:
            name = f"__streamscope_p{n}"
            return f"%({name})s" if self.percent_style else f":{name}"
        if self.style == "numeric":
            return f":{len(self.user or ()) + n + 1}"
        return "%s" if self.percent_style else "?"

    def escape(self, sql: str) -> str:
        """The user's SQL text as the driver must see it once parameters are passed: a ``%``
        written for a call without parameters becomes ``%%`` for format-style drivers."""
        if self.added and self.user is None and self.percent_style:
            return sql.replace("%", "%%")
        return sql

    def values(self) -> Any:
        """What to pass to ``execute`` (None: no parameters, as the user gave none)."""
        if not self.added:
            return self.user
        if self.named:
            out = dict(self.user or {})
            out.update({f"__streamscope_p{i}": v for i, v in enumerate(self.added)})
            return out
        return list(self.user or ()) + self.added


class _Untranslatable(Exception):
    pass


def predicate_sql(expr: Expr, dialect: Dialect, params: Params) -> str:
    """``expr`` as SQL; literals go into ``params``. Raises ValueError for a part that does not
    translate (check with :func:`translatable` first)."""
    try:
        return _sql(expr, dialect, params)
    except _Untranslatable as exc:
        raise ValueError(f"{expr} does not translate to SQL: {exc}") from None


def translatable(expr: Expr) -> bool:
    """Whether :func:`predicate_sql` keeps exactly the rows pyarrow's evaluation keeps.

    Examples:
        >>> from streamscope.engine.expressions import parse
        >>> translatable(parse("a > 1 and b == 'x'")), translatable(parse("a % 2 == 0"))
        (True, False)
    """
    probe = Params("qmark", None)
    try:
        _sql(expr, _PROBE, probe)
    except _Untranslatable:
        return False
    return True


class _ProbeDialect(Dialect):
    def __init__(self):  # noqa: D401 - no connection needed to check translatability
        self.driver, self.paramstyle, self.quote_char, self.server_cursors = "", "qmark", '"', False


_PROBE = _ProbeDialect()


def _literal(value: Any, params: Params) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float) and value != value:
        raise _Untranslatable("NaN literal")
    if not isinstance(value, (bool, int, float, str)):
        raise _Untranslatable(f"literal of type {type(value).__name__}")
    return params.add(value)


def _sql(expr: Expr, d: Dialect, p: Params) -> str:
    if isinstance(expr, Column):
        return d.quote(expr.name)
    if isinstance(expr, Literal):
        return _literal(expr.value, p)
    if isinstance(expr, Compare):
        return f"({_sql(expr.left, d, p)} {_SQL_CMP[expr.op]} {_sql(expr.right, d, p)})"
    if isinstance(expr, Arith):
        if expr.op not in _SQL_ARITH:
            raise _Untranslatable(f"operator {expr.op}")
        return f"({_sql(expr.left, d, p)} {expr.op} {_sql(expr.right, d, p)})"
    if isinstance(expr, Negate):
        return f"(-{_sql(expr.operand, d, p)})"
    if isinstance(expr, Not):
        return f"(NOT {_sql(expr.operand, d, p)})"
    if isinstance(expr, BoolOp):
        joiner = " AND " if expr.op == "and" else " OR "
        return "(" + joiner.join(_sql(o, d, p) for o in expr.operands) + ")"
    if isinstance(expr, IsNull):
        return f"({_sql(expr.operand, d, p)} IS {'NOT ' if expr.negated else ''}NULL)"
    if isinstance(expr, IsIn):
        return _is_in(expr, d, p)
    raise _Untranslatable(type(expr).__name__)


def _is_in(expr: IsIn, d: Dialect, p: Params) -> str:
    # pyarrow's is_in is never null: null -> (null in the list), a value -> membership
    operand = _sql(expr.operand, d, p)
    values = [v for v in expr.values if v is not None]
    has_null = len(values) != len(expr.values)
    if values:
        marks = ", ".join(_literal(v, p) for v in values)
        member = f"({operand} IS NOT NULL AND {operand} IN ({marks}))"
    else:
        member = "(1 = 0)"
    text = f"({operand} IS NULL OR {member})" if has_null else member
    return f"(NOT {text})" if expr.negated else text


# ---- connections ----------------------------------------------------------------------------------
def describe_server(conn: Any) -> str:
    """Where ``conn`` points, for error messages: ``PostgreSQL server 127.0.0.1:5432 (database
    'app')``, ``SQLite database '/tmp/a.db'``, else the driver's name."""
    info = getattr(conn, "info", None)
    host, port = getattr(info, "host", None), getattr(info, "port", None)
    if host is not None and port is not None:
        dbname = getattr(info, "dbname", None)
        return f"PostgreSQL server {host}:{port}" + (f" (database {dbname!r})" if dbname else "")
    if _driver_module(conn) == "sqlite3":
        try:
            rows = conn.execute("PRAGMA database_list").fetchall()
            path = next((r[2] for r in rows if r[1] == "main"), "")
            return f"SQLite database {path or ':memory:'!r}"
        except Exception:
            return "SQLite database"
    return f"the {_driver_module(conn)} connection"


def _check_dbapi(conn: Any, who: str) -> None:
    for attr in ("close", "commit", "cursor"):
        if not callable(getattr(conn, attr, None)):
            raise ValueError(f"{who}: connection_factory returned a {type(conn).__name__} without a {attr}() method; "
                             "it must return a Python DB API 2 connection (https://peps.python.org/pep-0249/)")


def check_factory(factory: Any, who: str) -> None:
    """``factory`` must be callable and picklable: each task calls its own copy."""
    if not callable(factory):
        raise TypeError(f"{who}: connection_factory must be a function taking no arguments that returns a "
                        f"DB API 2 connection, got {type(factory).__name__}")
    try:
        cloudpickle.dumps(factory)
    except Exception as exc:
        raise TypeError(f"{who}: connection_factory cannot be pickled ({type(exc).__name__}: {exc}); it is called "
                        "in each task, so it must open a new connection itself (e.g. "
                        "functools.partial(sqlite3.connect, path)), not hold an open one") from exc


def open_connection(factory: Callable[[], Any], who: str) -> Any:
    """``factory()``, with a failure (refused, wrong password, unknown host) raised as a
    DataSourceError naming ``who`` and the driver's message (which names the server)."""
    try:
        conn = factory()
    except Exception as exc:
        raise DataSourceError(f"{who}: connection_factory() could not connect: {type(exc).__name__}: "
                              f"{str(exc).strip()}") from exc
    _check_dbapi(conn, who)
    return conn


@contextmanager
def connection(factory: Callable[[], Any], who: str) -> Iterator[Any]:
    """A connection committed when the block ends normally, rolled back when it raises (or a
    generator using it is closed early), and always closed."""
    conn = open_connection(factory, who)
    try:
        yield conn
        conn.commit()
    except BaseException:
        try:
            conn.rollback()
        except Exception:
            pass  # rollback is optional in DB-API 2; the error that got us here matters
        raise
    finally:
        try:
            conn.close()
        except Exception:
            pass


def execute(cursor: Any, sql: str, params: Any) -> None:
    """``cursor.execute`` with parameters only when there are some (as Ray Data does, so a
    ``%`` in a parameterless psycopg query stays a ``%``)."""
    if params is None:
        cursor.execute(sql)
    else:
        cursor.execute(sql, params)
