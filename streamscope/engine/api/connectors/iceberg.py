"""``read_iceberg``: a dataset read from an Apache Iceberg table through PyIceberg.

The write side (``Dataset.write_iceberg``) lives in ``iceberg_write.py``: the Dataset's write
method imports it, and a module that imports ``read_datasource`` (hence ``Dataset``) would close
an import cycle.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Tuple

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.iceberg_datasource import IcebergDatasource


def read_iceberg(*, table_identifier: str, row_filter: Any = None, parallelism: int = -1,
                 selected_fields: Tuple[str, ...] = ("*",), snapshot_id: Optional[int] = None,
                 scan_kwargs: Optional[Dict[str, str]] = None, catalog_kwargs: Optional[Dict[str, str]] = None,
                 catalog: Any = None, num_cpus: Optional[float] = None, num_gpus: Optional[float] = None,
                 memory: Optional[float] = None, override_num_blocks: Optional[int] = None,
                 label_selector: Optional[Dict[str, str]] = None,
                 fallback_strategy: Optional[List[Dict[str, Any]]] = None, max_calls: Optional[int] = None,
                 resources: Optional[Dict[str, float]] = None, accelerator_type: Optional[str] = None,
                 runtime_env: Optional[Dict[str, Any]] = None, ray_remote_args: Optional[Dict[str, Any]] = None):
    """A dataset of the rows of an Iceberg table (one snapshot of it: the current one, or
    ``snapshot_id``'s), read with PyIceberg; needs ``pip install 'streamscope[iceberg]'``.

    The catalog is opened as Ray Data does, with ``pyiceberg.catalog.load_catalog(name,
    **catalog_kwargs)`` (``name`` taken from ``catalog_kwargs``, ``"default"`` when absent), or
    given as ``catalog=``: a pyiceberg ``Catalog`` object, or a Ray Data ``Catalog`` that resolves
    the table. The scan is planned in the driver from the table's metadata (schema and, when
    nothing is left to filter or delete, the row count known without reading); each read task
    reads a group of data files with PyIceberg's reader, so delete files are honoured.

    ``Dataset.filter(expr=...)`` and ``select_columns`` right after the read are pushed into the
    scan: a filter becomes part of the Iceberg ``row_filter``, which prunes data files by the
    manifests' partition values and column bounds (fewer read tasks), and the columns become
    ``selected_fields``. ``row_filter`` (a string in PyIceberg's syntax or a PyIceberg
    expression) and ``selected_fields`` still work and are deprecated, as in Ray.
    ``scan_kwargs`` may hold ``case_sensitive``, ``options`` and ``limit`` (the most rows read).

    Examples:
        >>> import tempfile, pyarrow as pa
        >>> from pyiceberg.catalog.sql import SqlCatalog
        >>> tmp = tempfile.mkdtemp()
        >>> kwargs = {"type": "sql", "uri": f"sqlite:///{tmp}/catalog.db", "warehouse": f"file://{tmp}/warehouse"}
        >>> catalog = SqlCatalog("default", **kwargs)
        >>> catalog.create_namespace("db")
        >>> table = catalog.create_table("db.events", schema=pa.schema([("id", pa.int64()), ("kind", pa.string())]))
        >>> table.append(pa.table({"id": [1, 2, 3], "kind": ["a", "b", "a"]}))
        >>> ds = streamscope.read_iceberg(table_identifier="db.events", catalog_kwargs=kwargs)
        >>> ds.count()
        3
        >>> ds.filter(expr="kind == 'a'").select_columns(["id"]).take_all()
        [{'id': 1}, {'id': 3}]
    """
    if row_filter is not None:
        warnings.warn("read_iceberg: row_filter is deprecated (as in Ray Data); use Dataset.filter(expr=...), "
                      "which is pushed into the Iceberg scan", DeprecationWarning, stacklevel=2)
    if selected_fields is not None and tuple(selected_fields) != ("*",):
        warnings.warn("read_iceberg: selected_fields is deprecated (as in Ray Data); use "
                      "Dataset.select_columns([...]), which is pushed into the Iceberg scan",
                      DeprecationWarning, stacklevel=2)
    scan = dict(scan_kwargs) if isinstance(scan_kwargs, dict) else scan_kwargs
    limit = scan.pop("limit", None) if isinstance(scan, dict) else None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ValueError(f"read_iceberg: scan_kwargs['limit'] must be a non-negative int, got {limit!r}")
    datasource = IcebergDatasource(table_identifier, row_filter=row_filter, selected_fields=selected_fields,
                                   snapshot_id=snapshot_id, scan_kwargs=scan, catalog_kwargs=catalog_kwargs,
                                   catalog=catalog)
    ds = read_datasource(datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
                         override_num_blocks=override_num_blocks, label_selector=label_selector,
                         fallback_strategy=fallback_strategy, max_calls=max_calls, resources=resources,
                         accelerator_type=accelerator_type, runtime_env=runtime_env, ray_remote_args=ray_remote_args)
    return ds.limit(limit) if limit is not None else ds
