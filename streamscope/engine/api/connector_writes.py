"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``, imported lazily: a connector's library is imported only when its
write is called, so ``import streamscope`` never pays for it. ``write_sql`` needs no library of
its own (the connection factory brings the driver), so its datasink is imported here directly.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from streamscope.engine.io.sql_datasink import SQLDatasink


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

    def write_sql(self, sql: str, connection_factory: Callable[[], Any], ray_remote_args: Optional[Dict[str, Any]] = None,
                  concurrency: Optional[int] = None) -> None:
        """Insert every row with ``sql``, an ``INSERT`` statement with one parameter per column
        (in column order, the driver's placeholder style: ``?`` for sqlite3, ``%s`` for
        psycopg), run with ``executemany`` through connections that ``connection_factory()``
        opens in each write task.

        A plain ``INSERT INTO <table> [(<columns>)] VALUES (...)`` is all or nothing: the tasks
        insert into a staging table created next to the target, and once every task succeeded
        one transaction moves the rows into the table and drops the stage; a failed write drops
        the stage and leaves the table as it was. Any other statement (``ON CONFLICT``,
        ``RETURNING``...) commits once per task, as Ray Data does. ``concurrency`` caps the
        write tasks running at once; ``ray_remote_args`` as for ``write_datasink``.

        Examples:
            >>> import functools, os, sqlite3, tempfile
            >>> path = os.path.join(tempfile.mkdtemp(), "scores.db")
            >>> with sqlite3.connect(path) as conn:
            ...     _ = conn.execute("CREATE TABLE score(id INTEGER, name TEXT)")
            >>> ds = streamscope.from_items([{"id": 1, "name": "ada"}, {"id": 2, "name": "alan"}])
            >>> ds.write_sql("INSERT INTO score VALUES (?, ?)", functools.partial(sqlite3.connect, path))
            >>> sqlite3.connect(path).execute("SELECT * FROM score ORDER BY id").fetchall()
            [(1, 'ada'), (2, 'alan')]
        """
        self.write_datasink(SQLDatasink(sql, connection_factory), ray_remote_args=ray_remote_args,
                            concurrency=concurrency)
