"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``. Those modules sit above ``dataset.py`` (their ``read_*`` functions
build Datasets), so this module does not import them: each registers its write functions here
when it is imported (``register_connector_write``), which ``import streamscope`` does. A
connector's library is imported only when its write is called, so ``import streamscope`` never
pays for it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from streamscope.engine.io.save_mode import SaveMode

_CONNECTOR_WRITES: Dict[str, Callable[..., None]] = {}


def register_connector_write(name: str, fn: Callable[..., None]) -> None:
    """Make ``fn(dataset, *args, **kwargs)`` the implementation of ``Dataset.<name>``."""
    _CONNECTOR_WRITES[name] = fn


def _connector_write(name: str) -> Callable[..., None]:
    try:
        return _CONNECTOR_WRITES[name]
    except KeyError:
        raise RuntimeError(f"Dataset.{name}: its connector module was not imported; import streamscope first") from None


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

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
        _connector_write("write_delta")(self, path, catalog=catalog, mode=mode, partition_by=partition_by,
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
        _connector_write("write_lance")(self, path, schema=schema, mode=mode, min_rows_per_file=min_rows_per_file,
                                        max_rows_per_file=max_rows_per_file, data_storage_version=data_storage_version,
                                        storage_options=storage_options, table_id=table_id,
                                        namespace_impl=namespace_impl, namespace_properties=namespace_properties,
                                        ray_remote_args=ray_remote_args, concurrency=concurrency)
