"""``read_sql``: rows of a query over any Python DB API 2 connection, streamed in blocks.

Why this shape (Ray Data 2.60's, with its gaps closed):

* The ``connection_factory`` is called in each read task (it is pickled with the task), so a task
  opens its own connection; the driver connects only to plan a sharded read.
* Without ``shard_keys`` the query runs as one task. With them, the read splits into N tasks, task
  i reading ``SELECT * FROM (<sql>) AS t WHERE MOD(ABS(<shard_hash_fn>(<keys>)), N) = i`` (several
  keys are joined with ``CONCAT``), N being the requested parallelism but at most one task per 50
  rows. Before splitting, one query counts the rows and evaluates the hash on all of them; a
  database that cannot (SQLite has no ``MD5``, PostgreSQL's ``md5`` returns text) falls back to
  one task with a warning, as Ray falls back, or fails naming the cause when
  ``override_num_blocks`` > 1 asked for shards. A row whose hash is NULL (a NULL key) goes to
  shard 0; Ray's query reads it in no shard.
* A task executes once and fetches with ``fetchmany`` in chunks sized so a block holds about
  4 MiB (never more than ``DataContext.target_max_block_size``); a psycopg/psycopg2 connection gets
  a server-side cursor, so the rows stay on the server until fetched. Each block is built as Ray
  builds its one block: names from ``cursor.description``, types inferred by pyarrow from the
  driver's Python values.
* Pushdowns wrap the user's query: ``SELECT <columns> FROM (<sql>) AS t WHERE <predicate>``, the
  predicate's literals as bound parameters in the driver's style (``sql_dialect.py``); conjuncts
  SQL would evaluate differently from pyarrow are applied to each block instead. A limit is handed
  to each task (Ray's ``per_task_row_limit``), which stops fetching once it has the rows.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from streamscope.engine.context import DataContext
from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.expressions import ColumnNotFoundError, Expr
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_partitions import conjuncts, join_and
from streamscope.engine.io.sql_dialect import (
    Dialect, Params, check_factory, connection, describe_server, execute, predicate_sql, shown_sql, translatable,
)

logger = logging.getLogger(__name__)

MIN_ROWS_PER_READ_TASK = 50
"""Ray's floor: a sharded read has at most one task per this many rows."""
STREAM_BLOCK_BYTES = 4 << 20
"""About this many bytes per block a read task yields (as the Parquet reader)."""
FIRST_FETCH_ROWS = 1024
"""Rows of the first ``fetchmany``; later fetches are sized from the bytes per row seen so far."""
MIN_FETCH_ROWS, MAX_FETCH_ROWS = 64, 262_144

_WHO = "read_sql"


def _read_shard(datasource: "SQLDatasource", shard: Optional[tuple[int, int]], limit: Optional[int]) -> Iterator[pa.Table]:
    return datasource._read(shard, limit)


class SQLDatasource(Datasource):
    """The rows of ``sql`` run through connections from ``connection_factory``.

    Examples:
        >>> import sqlite3, tempfile, os, functools
        >>> path = os.path.join(tempfile.mkdtemp(), "a.db")
        >>> with sqlite3.connect(path) as conn:
        ...     _ = conn.execute("CREATE TABLE t(x)"); _ = conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        >>> source = SQLDatasource("SELECT x FROM t", functools.partial(sqlite3.connect, path))
        >>> [block.to_pylist() for task in source.get_read_tasks(1) for block in task()]
        [[{'x': 1}, {'x': 2}]]
    """

    def __init__(self, sql: str, connection_factory: Callable[[], Any], shard_hash_fn: str = "MD5",
                 shard_keys: Optional[list[str]] = None, sql_params: Optional[Any] = None):
        if not isinstance(sql, str) or not sql.strip():
            raise TypeError(f"{_WHO}: sql must be a non-empty SQL query string, got {sql!r}")
        check_factory(connection_factory, _WHO)
        if shard_keys is not None:
            if isinstance(shard_keys, str) or not all(isinstance(k, str) and k.strip() for k in shard_keys):
                raise TypeError(f"{_WHO}: shard_keys must be a list of column names, got {shard_keys!r}")
            shard_keys = list(shard_keys) or None
        if not isinstance(shard_hash_fn, str) or not shard_hash_fn.strip():
            raise TypeError(f"{_WHO}: shard_hash_fn must be the name of a SQL hash function, got {shard_hash_fn!r}")
        self.sql = sql
        self.connection_factory = connection_factory
        self.shard_hash_fn = shard_hash_fn
        self.shard_keys = shard_keys
        self.sql_params = sql_params
        self._columns: Optional[list[str]] = None
        self._predicate: Optional[Expr] = None  # goes into the SQL
        self._row_predicate: Optional[Expr] = None  # applied to each block
        self._require_shards = False  # override_num_blocks > 1 asked for shards: no silent fallback

    def get_name(self) -> str:
        return "ReadSQL"

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return None  # unknown without running the query (as Ray)

    def __repr__(self) -> str:
        return f"SQLDatasource(sql={shown_sql(self.sql)!r})"

    # ---- SQL text ----------------------------------------------------------------------------------
    def _base_sql(self) -> str:
        return self.sql.strip().rstrip(";").rstrip()

    def _hash_sql(self, n: Any) -> str:
        keys = self.shard_keys or []
        key = f"CONCAT({','.join(keys)})" if len(keys) > 1 else keys[0]
        return f"COALESCE(MOD(ABS({self.shard_hash_fn}({key})), {n}), 0)"

    def _fetch_columns(self) -> Optional[list[str]]:
        """Columns the SQL selects: the projection plus what the block filter reads."""
        if self._columns is None:
            return None
        extra = self._row_predicate.columns() if self._row_predicate is not None else []
        return list(dict.fromkeys(list(self._columns) + extra))

    def _wrapped(self, dialect: Dialect, select: Optional[str] = None, shard: Optional[tuple[int, int]] = None,
                 extra_where: Optional[str] = None, use_predicate: bool = True) -> tuple[str, Any]:
        """``(sql, params)`` of the user's query wrapped with the projection, the pushed predicate
        and a shard condition; the user's query itself when none applies (as Ray runs it)."""
        params = Params(dialect.paramstyle, self.sql_params)
        where = []
        if use_predicate and self._predicate is not None:
            where.append(predicate_sql(self._predicate, dialect, params))
        if select is None:
            columns = self._fetch_columns()
            if columns is None:
                select = "*"
            else:
                select = ", ".join(dialect.quote(c) for c in columns) if columns else "1"
        if select == "*" and not where and shard is None and extra_where is None:
            return self.sql, self.sql_params
        if shard is not None:
            where.append(f"{params.escape(self._hash_sql(shard[1]))} = {shard[0]}")
        if extra_where is not None:
            where.append(extra_where)
        sql = f"SELECT {select} FROM (\n{params.escape(self._base_sql())}\n) AS t"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params.values()

    # ---- planning ----------------------------------------------------------------------------------
    def require_shards(self) -> None:
        """``override_num_blocks`` > 1 was given: a database that cannot shard is an error."""
        self._require_shards = True

    def _own_query_error(self, conn: Any, dialect: Dialect) -> Optional[DataSourceError]:
        """After a planning query failed: the error of the user's query itself when it fails alone
        (bad SQL, a missing table), else None (the shard expression is what failed)."""
        _rollback(conn)
        probe, params = self._wrapped(dialect, select="*", extra_where="1 = 0", use_predicate=False)
        try:
            execute(conn.cursor(), probe, params)
        except Exception as own:
            _rollback(conn)
            return DataSourceError(f"{_WHO}: the query failed on {describe_server(conn)}: {type(own).__name__}: "
                                   f"{str(own).strip()}; query: {shown_sql(self.sql)}")
        return None

    def check_sharding(self, n: int) -> None:
        """Driver side, when read_sql is called with ``override_num_blocks=n`` > 1: the database
        must evaluate the shard expression on this query (a cheap ``WHERE 1 = 0`` query)."""
        with connection(self.connection_factory, _WHO) as conn:
            dialect = Dialect(conn)
            sql, params = self._wrapped(dialect, select=self._hash_sql(n), extra_where="1 = 0", use_predicate=False)
            try:
                execute(conn.cursor(), sql, params)
            except Exception as exc:
                own = self._own_query_error(conn, dialect)
                if own is not None:
                    raise own from exc
                raise ValueError(self._no_sharding(n, exc)) from exc

    def _no_sharding(self, n: int, exc: Exception) -> str:
        return (f"{_WHO}: Database does not support sharding. Please set override_num_blocks to 1. The database "
                f"cannot evaluate {self._hash_sql(n)} on this query ({type(exc).__name__}: {str(exc).strip()}); "
                "pass a shard_hash_fn it has (PostgreSQL: 'hashtext' with text keys, 'hashint8' with one "
                "integer key; MySQL: 'MD5' or 'CRC32'; SQLite: a function registered with "
                "Connection.create_function in the connection_factory)")

    def _count_for_shards(self, n: int) -> tuple[Optional[int], Optional[Exception]]:
        """``(rows, None)``, or ``(None, error)`` when the database cannot evaluate the shard
        expression on every row. One query: the count and the largest shard number."""
        with connection(self.connection_factory, _WHO) as conn:
            dialect = Dialect(conn)
            sql, params = self._wrapped(dialect, select=f"COUNT(*), MAX({self._hash_sql(n)})")
            try:
                cursor = conn.cursor()
                execute(cursor, sql, params)
                return int(cursor.fetchone()[0]), None
            except Exception as exc:
                own = self._own_query_error(conn, dialect)
                if own is not None:
                    raise own from exc
                return None, exc

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Optional[DataContext] = None) -> list[ReadTask]:
        parallelism = int(parallelism)
        if parallelism <= 1 or not self.shard_keys:
            return [self._task(None, per_task_row_limit)]
        total, problem = self._count_for_shards(parallelism)
        if problem is not None:
            if self._require_shards:
                raise ValueError(self._no_sharding(parallelism, problem))
            logger.warning("%s: reading in one task: %s", _WHO, self._no_sharding(parallelism, problem).split(". ", 2)[-1])
            return [self._task(None, per_task_row_limit)]
        n = min(parallelism, math.ceil((total or 0) / MIN_ROWS_PER_READ_TASK))
        if n <= 1:
            return [self._task(None, per_task_row_limit)]
        return [self._task((i, n), per_task_row_limit) for i in range(n)]

    def _task(self, shard: Optional[tuple[int, int]], limit: Optional[int]) -> ReadTask:
        return ReadTask(functools.partial(_read_shard, self, shard, limit), per_task_row_limit=limit)

    # ---- reading (worker side) -----------------------------------------------------------------------
    def _read(self, shard: Optional[tuple[int, int]], limit: Optional[int]) -> Iterator[pa.Table]:
        with connection(self.connection_factory, _WHO) as conn:
            dialect = Dialect(conn)
            sql, params = self._wrapped(dialect, shard=shard)
            cursor = _execute_streaming(conn, dialect, sql, params)
            try:
                # with a block filter, fetched rows are not output rows: ReadTask applies the limit
                fetch_limit = limit if self._row_predicate is None else None
                yield from self._blocks(conn, cursor, fetch_limit)
            finally:
                try:
                    cursor.close()
                except Exception:
                    pass

    def _blocks(self, conn: Any, cursor: Any, limit: Optional[int]) -> Iterator[pa.Table]:
        max_bytes = min(STREAM_BLOCK_BYTES, DataContext.get_current().target_max_block_size or (128 << 20))
        fetch, remaining = FIRST_FETCH_ROWS, limit
        names: Optional[list[str]] = None
        schema: Optional[pa.Schema] = None
        while remaining is None or remaining > 0:
            size = fetch if remaining is None else max(1, min(fetch, remaining))
            try:
                rows = cursor.fetchmany(size)
            except Exception as exc:
                raise DataSourceError(f"{_WHO}: fetching rows failed on {describe_server(conn)}: "
                                      f"{type(exc).__name__}: {str(exc).strip()}") from exc
            if names is None:
                names = _column_names(cursor)
            if not rows:
                break
            table, schema = _conform(_rows_to_table(names, rows), schema)
            yield self._finish(table)
            if remaining is not None:
                remaining -= len(rows)
            per_row = max(1.0, table.nbytes / max(1, table.num_rows))
            fetch = int(min(MAX_FETCH_ROWS, max(MIN_FETCH_ROWS, max_bytes / per_row)))
        if schema is None and names is not None:
            # no rows at all: one empty block with the columns, typed null (pyarrow's type of no values)
            yield self._finish(_rows_to_table(names, []))

    def _finish(self, table: pa.Table) -> pa.Table:
        if self._row_predicate is not None:
            table = self._row_predicate.filter(table)
        if self._columns is not None and table.column_names != self._columns:
            table = table.select(self._columns)
        return table

    # ---- pushdowns ---------------------------------------------------------------------------------
    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "SQLDatasource":
        if self._columns is not None:
            missing = [c for c in columns if c not in self._columns]
            if missing:
                raise ColumnNotFoundError(f"{_WHO}: columns {missing} are not among the read columns {self._columns}")
        new = copy.copy(self)
        new._columns = list(columns)
        return new

    def supports_predicate_pushdown(self) -> bool:
        return True

    def apply_predicate(self, expr: Any) -> "SQLDatasource":
        if self._columns is not None:
            expr.validate(self._columns)  # as the Filter would fail on the projected rows
        in_sql = [p for p in conjuncts(expr) if translatable(p)]
        rest = [p for p in conjuncts(expr) if not translatable(p)]
        new = copy.copy(self)
        if in_sql:
            new._predicate = join_and(([self._predicate] if self._predicate is not None else []) + in_sql)
        if rest:
            new._row_predicate = join_and(([self._row_predicate] if self._row_predicate is not None else []) + rest)
        return new

    def pushdown_summary(self) -> list[str]:
        out = []
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._predicate is not None:
            out.append(f"filter={self._predicate} (SQL WHERE, bound parameters)")
        if self._row_predicate is not None:
            out.append(f"row filter={self._row_predicate}")
        if self.shard_keys:
            out.append(f"shards: task i of N reads {self._hash_sql('N')} = i")
        return out


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()  # PostgreSQL refuses further statements in a failed transaction
    except Exception:
        pass


def _is_query(sql: str) -> bool:
    head = sql.lstrip().lstrip("(").lstrip()[:6].lower()
    return head.startswith(("select", "with", "values", "table"))


def _execute_streaming(conn: Any, dialect: Dialect, sql: str, params: Any) -> Any:
    """A cursor that has executed ``sql``: server-side for psycopg/psycopg2 (rows stay on the
    server until fetched; DECLARE needs a transaction, or WITH HOLD under autocommit), else the
    driver's own cursor (sqlite3 steps through the result as rows are fetched)."""
    if dialect.server_cursors and _is_query(sql):
        cursor = None
        try:
            cursor = conn.cursor(name="streamscope_read_sql", withhold=bool(getattr(conn, "autocommit", False)))
            execute(cursor, sql, params)
            return cursor
        except Exception:
            # not every statement can be DECLAREd (a data-modifying WITH); run it plainly below
            if cursor is not None:
                try:
                    cursor.close()
                except Exception:
                    pass
            _rollback(conn)
    cursor = conn.cursor()
    try:
        execute(cursor, sql, params)
    except Exception as exc:
        raise DataSourceError(f"{_WHO}: the query failed on {describe_server(conn)}: {type(exc).__name__}: "
                              f"{str(exc).strip()}; query: {shown_sql(sql)}") from exc
    return cursor


def _column_names(cursor: Any) -> list[str]:
    description = cursor.description
    if description is None:
        raise DataSourceError(f"{_WHO}: the statement returned no result set (cursor.description is None); "
                              "read_sql needs a query that returns rows, such as SELECT")
    return [str(d[0]) for d in description]


def _rows_to_table(names: list[str], rows: list) -> pa.Table:
    """Rows as Ray Data builds its block: a dict of columns (a repeated name keeps its last
    column), each typed by pyarrow from the values."""
    if rows and isinstance(rows[0], Mapping):  # a dict row factory (psycopg's dict_row)
        rows = [tuple(row.values()) for row in rows]
    columns: dict[str, list] = {}
    values = list(zip(*rows)) if rows else [()] * len(names)
    for i, name in enumerate(names):
        columns[name] = list(values[i])
    arrays = []
    for name, column in columns.items():
        try:
            arrays.append(pa.array(column))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            kinds = sorted({type(v).__name__ for v in column if v is not None})
            raise DataSourceError(f"{_WHO}: column {name!r} has values pyarrow cannot hold in one column "
                                  f"({', '.join(kinds)}): {exc}; cast it in the query (e.g. CAST(... AS TEXT))") from exc
    return pa.Table.from_arrays(arrays, names=list(columns))


def _conform(table: pa.Table, schema: Optional[pa.Schema]) -> tuple[pa.Table, pa.Schema]:
    """A chunk whose column is all NULL gets the type earlier chunks gave it, so one task's
    blocks agree where they can; a type first seen later is kept for the chunks after it."""
    if schema is None or table.schema.equals(schema):
        return table, table.schema if schema is None else schema
    fields = list(schema)
    for i, field in enumerate(table.schema):
        if i >= len(fields):
            break
        if pa.types.is_null(field.type) and not pa.types.is_null(fields[i].type):
            table = table.set_column(i, field.name, pa.nulls(table.num_rows, fields[i].type))
        elif pa.types.is_null(fields[i].type):
            fields[i] = field
    return table, pa.schema(fields)
