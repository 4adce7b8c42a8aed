"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``, imported lazily: a connector's library is imported only when its
write is called, so ``import streamscope`` never pays for it. ``write_sql`` needs no library of
its own (the connection factory brings the driver), so its datasink is imported here directly.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Union

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

    def write_delta(self, path: str, *, catalog: Any = None, mode: SaveMode = SaveMode.APPEND,
                    partition_by: Optional[List[str]] = None, storage_options: Optional[Dict[str, str]] = None,
                    schema_mode: str = "merge", filesystem: Any = None, name: Optional[str] = None,
                    description: Optional[str] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                    concurrency: Optional[int] = None) -> None:
        """Write the rows to the Delta Lake table at ``path`` (created if missing): each task writes
        Parquet data files into the table's directory, then one Delta transaction commits them all,
        so readers see all the new rows or none; a failed write leaves the table's version as it
        was and removes its files.

        ``mode``: ``"append"`` (default), ``"overwrite"`` (replaces the table's rows and schema;
        older versions stay readable with ``read_delta(path, version=...)``), ``"error"`` /
        ``"create"`` (refuse an existing table) or ``"ignore"`` (skip the write if one exists).
        ``partition_by`` writes Hive ``col=value/`` directories (an existing table's partitioning
        is kept). ``schema_mode="merge"`` adds columns the table lacks on append; ``"error"``
        refuses them. ``name`` and ``description`` go into a new table's metadata;
        ``storage_options`` to deltalake (credentials). Needs ``pip install 'streamscope[delta]'``.

        Examples:
            >>> import tempfile
            >>> from deltalake import DeltaTable
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range(5).write_delta(tmp.name)
            >>> streamscope.range(2).write_delta(tmp.name, mode="overwrite")
            >>> sorted(DeltaTable(tmp.name).to_pyarrow_table().column("id").to_pylist())
            [0, 1]
            >>> streamscope.read_delta(tmp.name, version=0).count()
            5
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module, and its library, only when this write is called
        from streamscope.engine.api.connectors.delta_write import write_delta

        write_delta(self, path, catalog=catalog, mode=mode, partition_by=partition_by,
                    storage_options=storage_options, schema_mode=schema_mode,
                    filesystem=filesystem, name=name, description=description,
                    ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_lance(self, path: str, *, schema: Any = None, mode: SaveMode = SaveMode.CREATE,
                    min_rows_per_file: int = 1024 * 1024, max_rows_per_file: int = 64 * 1024 * 1024,
                    data_storage_version: Optional[str] = None, storage_options: Optional[Dict[str, Any]] = None,
                    table_id: Optional[List[str]] = None, namespace_impl: Optional[str] = None,
                    namespace_properties: Optional[Dict[str, str]] = None, ray_remote_args: Dict[str, Any] = None,
                    concurrency: Optional[int] = None) -> None:
        """Write the rows as a Lance dataset at ``path``: tasks write fragments (each task gets at
        least ``min_rows_per_file`` rows; files hold at most ``max_rows_per_file``), then one commit
        makes them the dataset's next version, so readers see all the new rows or none; a failed
        write leaves the dataset's version as it was and removes its files.

        ``mode``: ``"create"`` (default; refuses an existing dataset; ``"error"`` is the same),
        ``"append"`` (adds to an existing dataset; columns the data lacks become nulls),
        ``"overwrite"`` (creates or replaces; older versions stay readable with
        ``read_lance(path, version=...)``) or ``"ignore"`` (skips the write if the dataset
        exists). ``schema`` casts the data to a pyarrow schema; ``data_storage_version`` picks
        Lance's file format (``"stable"``, ``"2.0"``, ``"legacy"``...). Needs
        ``pip install 'streamscope[lance]'``.

        Examples:
            >>> import os, tempfile, lance
            >>> tmp = tempfile.TemporaryDirectory()
            >>> uri = os.path.join(tmp.name, "ids.lance")
            >>> streamscope.range(6).write_lance(uri)
            >>> streamscope.range(2).write_lance(uri, mode="append")
            >>> sorted(lance.dataset(uri).to_table().column("id").to_pylist())
            [0, 0, 1, 1, 2, 3, 4, 5]
            >>> streamscope.read_lance(uri, version=1).count()
            6
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module, and its library, only when this write is called
        from streamscope.engine.api.connectors.lance_write import write_lance

        write_lance(self, path, schema=schema, mode=mode, min_rows_per_file=min_rows_per_file,
                    max_rows_per_file=max_rows_per_file, data_storage_version=data_storage_version,
                    storage_options=storage_options, table_id=table_id,
                    namespace_impl=namespace_impl, namespace_properties=namespace_properties,
                    ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_orc(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                  arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                  arrow_orc_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                  min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                  concurrency: Optional[int] = None, mode: SaveMode = SaveMode.APPEND, **arrow_orc_args: Any) -> None:
        """Write the rows as ORC files into the directory ``path`` (local or any fsspec URL), one
        file per block unless ``min_rows_per_file`` gathers more; the files appear under their
        final names only when every task has succeeded. ``mode`` as in :meth:`write_parquet`;
        ``**arrow_orc_args`` (and what ``arrow_orc_args_fn`` returns) go to
        ``pyarrow.orc.write_table`` (``compression=``, ``stripe_size=``...), checked before the run.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).write_orc(tmp.name, min_rows_per_file=2)
            >>> streamscope.read_orc(tmp.name).take()
            [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module (and fsspec, through the sink) only when called
        from streamscope.engine.api.connectors.orc_write import write_orc

        write_orc(self, path, filesystem=filesystem, try_create_dir=try_create_dir,
                  arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                  arrow_orc_args_fn=arrow_orc_args_fn, min_rows_per_file=min_rows_per_file,
                  ray_remote_args=ray_remote_args, concurrency=concurrency, mode=mode,
                  **arrow_orc_args)

    def write_webdataset(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                         arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                         min_rows_per_file: Optional[int] = None, ray_remote_args: Dict[str, Any] = None,
                         encoder: Union[bool, str, Callable[[Dict[str, Any]], Dict[str, Any]],
                                        List[Union[bool, str, Callable[[Dict[str, Any]], Dict[str, Any]]]],
                                        None] = True,
                         concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                         mode: SaveMode = SaveMode.APPEND) -> None:
        """Write the rows as WebDataset tar shards into the directory ``path``: each row is one
        sample, each column one member named ``{__key__}.{column}`` (a random key when the row has
        no ``__key__``; columns starting with ``__`` and ``None`` values are left out). The files
        appear under their final names only when every task has succeeded.

        ``encoder`` (default True) encodes by the column name's extension: ``txt`` (str),
        ``cls`` (int), ``json`` (any JSON value), ``npy`` (array), ``jpg``/``png``/... (uint8
        array or PIL image, through Pillow); str values are written as UTF-8, bytes as they are.
        A callable (or a list of specs, applied in order) takes and returns the sample dict;
        ``None`` writes the values as they are (each must be bytes or str). ``mode``,
        ``min_rows_per_file`` and ``concurrency`` as in :meth:`write_parquet`.

        Examples:
            >>> import tempfile
            >>> import numpy as np
            >>> tmp = tempfile.TemporaryDirectory()
            >>> rows = [{"__key__": f"s{i}", "cls": i, "npy": np.full(2, i)} for i in range(3)]
            >>> streamscope.from_items(rows).write_webdataset(tmp.name, min_rows_per_file=3)
            >>> [(r["__key__"], r["cls"], r["npy"].tolist()) for r in streamscope.read_webdataset(tmp.name).take_all()]
            [('s0', 0, [0, 0]), ('s1', 1, [1, 1]), ('s2', 2, [2, 2])]
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module (and fsspec, through its datasink) only when called
        from streamscope.engine.api.connectors.webdataset_write import write_webdataset

        write_webdataset(self, path, filesystem=filesystem, try_create_dir=try_create_dir,
                         arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                         min_rows_per_file=min_rows_per_file, ray_remote_args=ray_remote_args, encoder=encoder,
                         concurrency=concurrency, num_rows_per_file=num_rows_per_file, mode=mode)

    def write_tfrecords(self, path: str, *, tf_schema: Any = None, filesystem: Any = None,
                        try_create_dir: bool = True, arrow_open_stream_args: Optional[Dict[str, Any]] = None,
                        filename_provider: Any = None, min_rows_per_file: Optional[int] = None,
                        ray_remote_args: Dict[str, Any] = None, concurrency: Optional[int] = None,
                        num_rows_per_file: Optional[int] = None, mode: SaveMode = SaveMode.APPEND) -> None:
        """Write the rows as TFRecord files of ``tf.train.Example`` records (one per row) into the
        directory ``path``, without TensorFlow. The files appear under their final names only when
        every task has succeeded.

        As in Ray Data: integer columns become ``int64_list`` features, floats ``float_list``
        (float32), binary and string columns ``bytes_list`` (strings as UTF-8); a scalar is a
        one-value list, a null an empty one; list columns give their values; tensor columns one
        ``tf.io.serialize_tensor`` value per row. Other types (bool, structs, nested lists) and
        all-null columns are refused naming the column. ``tf_schema`` (a ``tensorflow_metadata``
        ``schema_pb2.Schema``) sets each feature's type and refuses columns it lacks. ``mode``,
        ``min_rows_per_file`` and ``concurrency`` as in :meth:`write_parquet`.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"id": 7, "tags": ["a", "b"]}]).write_tfrecords(tmp.name)
            >>> streamscope.read_tfrecords(tmp.name).take_all()
            [{'id': 7, 'tags': [b'a', b'b']}]
            >>> tmp.cleanup()
        """
        # lazy on purpose: the connector's module (and fsspec, through its datasink) only when called
        from streamscope.engine.api.connectors.tfrecords_write import write_tfrecords

        write_tfrecords(self, path, tf_schema=tf_schema, filesystem=filesystem, try_create_dir=try_create_dir,
                        arrow_open_stream_args=arrow_open_stream_args, filename_provider=filename_provider,
                        min_rows_per_file=min_rows_per_file, ray_remote_args=ray_remote_args,
                        concurrency=concurrency, num_rows_per_file=num_rows_per_file, mode=mode)
