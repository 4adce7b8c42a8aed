"""The implementation of ``Dataset.write_iceberg`` (the method, in ``api/connector_writes.py``,
hands its arguments here): build the Iceberg datasink and run the two-phase write.

Kept apart from ``iceberg.py`` (``read_iceberg``): that module imports ``read_datasource`` and so
the Dataset class, whose write method imports this one; together they would close an import cycle.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from streamscope.engine.io.iceberg_datasink import IcebergDatasink
from streamscope.engine.io.save_mode import SaveMode


def write_iceberg(ds: Any, table_identifier: str, catalog_kwargs: Optional[Dict[str, Any]] = None,
                  catalog: Any = None, snapshot_properties: Optional[Dict[str, str]] = None,
                  mode: SaveMode = SaveMode.APPEND, overwrite_filter: Any = None,
                  upsert_kwargs: Optional[Dict[str, Any]] = None, overwrite_kwargs: Optional[Dict[str, Any]] = None,
                  ray_remote_args: Optional[Dict[str, Any]] = None, concurrency: Optional[int] = None) -> None:
    """Write ``ds`` into the Iceberg table ``table_identifier`` as one snapshot (see
    :meth:`Dataset.write_iceberg <streamscope.Dataset.write_iceberg>`); every argument is checked
    before any task runs.

    Examples:
        >>> import tempfile, pyarrow as pa
        >>> from pyiceberg.catalog.sql import SqlCatalog
        >>> tmp = tempfile.mkdtemp()
        >>> catalog = SqlCatalog("default", uri=f"sqlite:///{tmp}/catalog.db", warehouse=f"file://{tmp}/warehouse")
        >>> catalog.create_namespace("db")
        >>> table = catalog.create_table("db.numbers", schema=pa.schema([("id", pa.int64())]))
        >>> write_iceberg(streamscope.range(5), "db.numbers", catalog=catalog)
        >>> table.refresh().scan().to_arrow().num_rows
        5
    """
    sink = IcebergDatasink(table_identifier, catalog_kwargs=catalog_kwargs, catalog=catalog,
                           snapshot_properties=snapshot_properties, mode=mode, overwrite_filter=overwrite_filter,
                           upsert_kwargs=upsert_kwargs, overwrite_kwargs=overwrite_kwargs)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)
