"""``Dataset.write_lance``'s implementation, apart from ``lance.py`` so the Dataset method can
import it lazily: this module imports only ``engine/io`` (``lance.py`` builds Datasets through
``read_datasource`` and so sits above ``dataset.py``)."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from streamscope.engine.io.lance_datasink import LanceDatasink
from streamscope.engine.io.optional_deps import import_optional
from streamscope.engine.io.save_mode import SaveMode

NAMESPACE_WHY = ("Lance namespaces (table_id=, namespace_impl=, namespace_properties=) are not supported by "
                 "streamscope; write to the dataset's URI (path=) with storage_options= instead")


def write_lance(ds: Any, path: str, *, schema: Any = None, mode: Any = SaveMode.CREATE,
                min_rows_per_file: int = 1024 * 1024, max_rows_per_file: int = 64 * 1024 * 1024,
                data_storage_version: Optional[str] = None, storage_options: Optional[Dict[str, Any]] = None,
                table_id: Optional[List[str]] = None, namespace_impl: Optional[str] = None,
                namespace_properties: Optional[Dict[str, str]] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                concurrency: Optional[int] = None) -> None:
    """``Dataset.write_lance``: check the arguments, then a two-phase write through
    :class:`LanceDatasink` (fragments by the tasks, one commit by the driver)."""
    import_optional("lance", extra="lance", connector="write_lance")
    for label, value in (("table_id", table_id), ("namespace_impl", namespace_impl),
                         ("namespace_properties", namespace_properties)):
        if value is not None:
            raise ValueError(f"write_lance: {label}= is not supported: {NAMESPACE_WHY}")
    if hasattr(path, "__fspath__"):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"write_lance: path must be a str, got {type(path).__name__}")
    sink = LanceDatasink(path, schema=schema, mode=mode, min_rows_per_file=min_rows_per_file,
                         max_rows_per_file=max_rows_per_file, data_storage_version=data_storage_version,
                         storage_options=storage_options)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)
