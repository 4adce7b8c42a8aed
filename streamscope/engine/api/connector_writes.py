"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``, imported lazily: a connector's library is imported only when its
write is called, so ``import streamscope`` never pays for it. ``write_sql`` needs no library of
its own (the connection factory brings the driver), so its datasink is imported here directly.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.sql_datasink import SQLDatasink


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

    def write_iceberg(self, table_identifier: str, catalog_kwargs: Optional[Dict[str, Any]] = None,
                      catalog: Any = None, snapshot_properties: Optional[Dict[str, str]] = None,
                      mode: SaveMode = SaveMode.APPEND, overwrite_filter: Any = None,
                      upsert_kwargs: Optional[Dict[str, Any]] = None,
                      overwrite_kwargs: Optional[Dict[str, Any]] = None,
                      ray_remote_args: Optional[Dict[str, Any]] = None, concurrency: Optional[int] = None) -> None:
        """Write the rows into an existing Iceberg table as one new snapshot; needs
        ``pip install 'streamscope[iceberg]'``.

        The catalog is opened as ``read_iceberg`` opens it (``catalog_kwargs`` for
        ``pyiceberg.catalog.load_catalog``, or ``catalog=``). Write tasks put Parquet data files
        into the table's location; once all succeeded, one transaction commits them, with
        ``snapshot_properties`` in the snapshot's summary. If anything fails, the files written are
        deleted and the table keeps its snapshots.

        ``mode``: ``SaveMode.APPEND`` (default) adds the rows; ``SaveMode.OVERWRITE`` replaces
        the rows matching ``overwrite_filter`` (a streamscope expression such as
        ``col("day") == "mon"``, a PyIceberg expression or filter string), or all of them;
        ``SaveMode.UPSERT`` replaces the rows whose ``upsert_kwargs["join_cols"]`` (default: the
        table's identifier fields) match the data's and inserts the rest. ``overwrite_kwargs`` and
        ``upsert_kwargs`` may set ``case_sensitive`` and ``branch``. New columns of the data are
        added to the table when the dataset's schema is known before the write.

        Examples:
            >>> import tempfile, pyarrow as pa
            >>> from pyiceberg.catalog.sql import SqlCatalog
            >>> from streamscope.expressions import col
            >>> tmp = tempfile.mkdtemp()
            >>> kwargs = {"type": "sql", "uri": f"sqlite:///{tmp}/catalog.db", "warehouse": f"file://{tmp}/warehouse"}
            >>> catalog = SqlCatalog("default", **kwargs)
            >>> catalog.create_namespace("db")
            >>> table = catalog.create_table("db.scores", schema=pa.schema([("id", pa.int64()), ("score", pa.int64())]))
            >>> streamscope.from_items([{"id": 1, "score": 10}, {"id": 2, "score": 20}]).write_iceberg(
            ...     "db.scores", catalog_kwargs=kwargs)
            >>> streamscope.from_items([{"id": 2, "score": 25}, {"id": 3, "score": 30}]).write_iceberg(
            ...     "db.scores", catalog_kwargs=kwargs, mode=streamscope.SaveMode.UPSERT,
            ...     upsert_kwargs={"join_cols": ["id"]})
            >>> sorted(table.refresh().scan().to_arrow().to_pylist(), key=lambda r: r["id"])
            [{'id': 1, 'score': 10}, {'id': 2, 'score': 25}, {'id': 3, 'score': 30}]
            >>> streamscope.from_items([{"id": 9, "score": 0}]).write_iceberg(
            ...     "db.scores", catalog_kwargs=kwargs, mode="overwrite", overwrite_filter=col("id") >= 2)
            >>> sorted(row["id"] for row in table.refresh().scan().to_arrow().to_pylist())
            [1, 9]
        """
        # lazy on purpose: the connector's module, and its library, only when this write is called
        from streamscope.engine.api.connectors.iceberg_write import write_iceberg

        write_iceberg(self, table_identifier, catalog_kwargs=catalog_kwargs, catalog=catalog,
                      snapshot_properties=snapshot_properties, mode=mode, overwrite_filter=overwrite_filter,
                      upsert_kwargs=upsert_kwargs, overwrite_kwargs=overwrite_kwargs,
                      ray_remote_args=ray_remote_args, concurrency=concurrency)

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
