"""``write_sql``: rows inserted with the user's ``INSERT`` statement through DB API 2 connections,
all or nothing when the statement allows it.

Ray Data 2.60 runs the statement with ``executemany`` in each write task and commits per task, so
a write that fails halfway leaves the rows of the tasks that finished. streamscope keeps Ray's
statement and ``executemany`` and makes the write two-phase when it can:

* **Staged (all or nothing)**, when the statement is a plain ``INSERT INTO <table> [(<columns>)]
  VALUES (...)`` (nothing after the ``VALUES`` list): ``on_write_start`` (driver) creates an empty
  staging table shaped like the target, ``CREATE TABLE <stage> AS SELECT * FROM <table> WHERE
  1 = 0``, next to it (same schema). Each task runs the user's statement against the stage in one
  transaction. ``on_write_complete`` then moves the rows in one transaction, ``INSERT INTO <table>
  [(<columns>)] SELECT <columns or *> FROM <stage>``, and drops the stage in the same transaction;
  constraints and defaults of the target apply at that moment. ``on_write_failed`` (a failed or
  cancelled run, or a failed move) drops the stage: the target never sees a row of a failed write.
* **Per task**, when the statement is anything else (``ON CONFLICT`` upserts, ``RETURNING``,
  several ``VALUES`` rows, other verbs) or the user may not create tables: each task's inserts are
  one transaction (rolled back when the task fails, so a retried task inserts its rows once), but
  tasks that finished before a failure stay committed, as in Ray.

A task that committed its stage rows and then died before reporting success would be re-run and
insert its rows into the stage again; the stage, not the target, takes that risk.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasink import Datasink, WriteResult
from streamscope.engine.io.sql_dialect import check_factory, connection, describe_server, shown_sql

logger = logging.getLogger(__name__)

_WHO = "write_sql"
ROWS_PER_EXECUTEMANY = 1000

_IDENT = r'(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}"
_HEAD = re.compile(rf"^\s*INSERT\s+INTO\s+(?P<table>{_NAME})", re.I | re.S)
_VALUES = re.compile(r"\s*VALUES\s*\(", re.I)


def _closing_paren(text: str, start: int) -> Optional[int]:
    """Index of the ``)`` matching the ``(`` at ``start``, skipping quoted text; None if none."""
    depth, i, quote = 0, start, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 1  # a doubled quote inside the literal
                else:
                    quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


class PlainInsert:
    """A statement of the shape ``INSERT INTO <table> [(<columns>)] VALUES (...)``, or None.

    Examples:
        >>> p = PlainInsert.parse("INSERT INTO app.users (id, name) VALUES (?, lower(?))")
        >>> p.table, p.columns, p.stage_statement("app.s1")
        ('app.users', 'id, name', 'INSERT INTO app.s1 (id, name) VALUES (?, lower(?))')
        >>> PlainInsert.parse("INSERT INTO t VALUES (%s) ON CONFLICT DO NOTHING") is None
        True
    """

    def __init__(self, sql: str, table: str, table_span: tuple[int, int], columns: Optional[str]):
        self.sql, self.table, self._span, self.columns = sql, table, table_span, columns

    @classmethod
    def parse(cls, sql: str) -> Optional["PlainInsert"]:
        head = _HEAD.match(sql)
        if head is None:
            return None
        rest_at = head.end("table")
        rest = sql[rest_at:]
        pos = len(rest) - len(rest.lstrip())
        columns = None
        if rest[pos:pos + 1] == "(":
            end = _closing_paren(rest, pos)
            if end is None:
                return None
            columns = rest[pos + 1:end].strip()
            pos = end + 1
        values = _VALUES.match(rest, pos)
        if values is None:
            return None
        end = _closing_paren(rest, values.end() - 1)
        if end is None or rest[end + 1:].strip() not in ("", ";"):
            return None
        return cls(sql, head.group("table"), (head.start("table"), rest_at), columns)

    def stage_name(self) -> str:
        """A fresh staging table name in the target's schema (no quoting needed anywhere)."""
        parts = re.findall(_IDENT, self.table)
        prefix = ".".join(parts[:-1])
        name = f"streamscope_stage_{uuid.uuid4().hex[:16]}"
        return f"{prefix}.{name}" if prefix else name

    def stage_statement(self, stage: str) -> str:
        """The user's statement with the stage in place of the target table."""
        return self.sql[: self._span[0]] + stage + self.sql[self._span[1]:]

    def move_statement(self, stage: str) -> str:
        if self.columns:
            return f"INSERT INTO {self.table} ({self.columns}) SELECT {self.columns} FROM {stage}"
        return f"INSERT INTO {self.table} SELECT * FROM {stage}"


class SQLDatasink(Datasink[int]):
    """Inserts every row with ``sql`` (an ``INSERT`` with one parameter per column, in the
    driver's placeholder style); each task returns the rows it inserted.

    Examples:
        >>> import sqlite3, tempfile, os, functools
        >>> path = os.path.join(tempfile.mkdtemp(), "a.db")
        >>> with sqlite3.connect(path) as conn:
        ...     _ = conn.execute("CREATE TABLE t(x INTEGER)")
        >>> streamscope.range(3).write_datasink(SQLDatasink("INSERT INTO t VALUES (?)", functools.partial(sqlite3.connect, path)))
        >>> sqlite3.connect(path).execute("SELECT x FROM t ORDER BY x").fetchall()
        [(0,), (1,), (2,)]
    """

    def __init__(self, sql: str, connection_factory: Callable[[], Any]):
        if not isinstance(sql, str) or not sql.strip():
            raise TypeError(f"{_WHO}: sql must be a non-empty INSERT statement string, got {sql!r}")
        check_factory(connection_factory, _WHO)
        self.sql = sql
        self.connection_factory = connection_factory
        self._plain = PlainInsert.parse(sql)
        self._stage: Optional[str] = None

    def get_name(self) -> str:
        return "WriteSQL"

    @property
    def staged(self) -> bool:
        """Whether this write goes through a staging table (all or nothing)."""
        return self._stage is not None

    # ---- driver: before the run ------------------------------------------------------------------
    def on_write_start(self, schema: Optional[pa.Schema] = None) -> None:
        if self._plain is None:
            logger.info("%s: the statement is not a plain INSERT INTO <table> ... VALUES (...): each task commits "
                        "its own rows; a failed write may leave the rows of tasks that finished", _WHO)
            return
        table = self._plain.table
        stage = self._plain.stage_name()
        with connection(self.connection_factory, _WHO) as conn:
            try:
                conn.cursor().execute(f"CREATE TABLE {stage} AS SELECT * FROM {table} WHERE 1 = 0")
            except Exception as exc:
                _rollback(conn)
                try:
                    conn.cursor().execute(f"SELECT * FROM {table} WHERE 1 = 0")
                except Exception as own:
                    _rollback(conn)
                    raise DataSourceError(f"{_WHO}: cannot write into table {table} on {describe_server(conn)}: "
                                          f"{type(own).__name__}: {str(own).strip()}; statement: "
                                          f"{shown_sql(self.sql)}") from own
                logger.warning("%s: cannot create a staging table next to %s (%s: %s); each task commits its own "
                               "rows, so a failed write may leave the rows of tasks that finished", _WHO, table,
                               type(exc).__name__, str(exc).strip())
                return
        self._stage = stage

    # ---- workers ----------------------------------------------------------------------------------
    def write(self, blocks: Iterable[pa.Table], ctx: Any) -> int:
        sql = self._plain.stage_statement(self._stage) if self._stage and self._plain else self.sql
        written = 0
        with connection(self.connection_factory, _WHO) as conn:  # one transaction per task
            cursor = conn.cursor()
            for block in blocks:
                for batch in block.to_batches(max_chunksize=ROWS_PER_EXECUTEMANY):
                    rows = list(zip(*(column.to_pylist() for column in batch.columns)))
                    if not rows:
                        continue
                    try:
                        cursor.executemany(sql, rows)
                    except Exception as exc:
                        raise DataSourceError(f"{_WHO}: executing {shown_sql(self.sql)!r} failed on "
                                              f"{describe_server(conn)}: {type(exc).__name__}: "
                                              f"{str(exc).strip()}") from exc
                    written += len(rows)
        return written

    # ---- driver: after the run --------------------------------------------------------------------
    def on_write_complete(self, write_result: WriteResult[int]) -> None:
        if self._stage is None or self._plain is None:
            return
        stage = self._stage
        with connection(self.connection_factory, _WHO) as conn:
            try:
                cursor = conn.cursor()
                cursor.execute(self._plain.move_statement(stage))
                cursor.execute(f"DROP TABLE {stage}")
            except Exception as exc:
                raise DataSourceError(f"{_WHO}: moving the written rows into {self._plain.table} failed on "
                                      f"{describe_server(conn)} ({type(exc).__name__}: {str(exc).strip()}); "
                                      "the table is unchanged") from exc
        self._stage = None

    def on_write_failed(self, error: BaseException) -> None:
        stage, self._stage = self._stage, None
        if stage is None:
            return
        try:
            with connection(self.connection_factory, _WHO) as conn:
                conn.cursor().execute(f"DROP TABLE IF EXISTS {stage}")
        except Exception as exc:  # never hide the write's own error behind the cleanup's
            logger.warning("%s: could not drop the staging table %s after the failed write (%s: %s); drop it "
                           "by hand", _WHO, stage, type(exc).__name__, exc)


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:
        pass
