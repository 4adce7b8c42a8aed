"""``Dataset.write_delta``'s implementation, apart from ``delta.py`` so the Dataset method can
import it lazily: this module imports only ``engine/io`` (``delta.py`` builds Datasets through
``read_datasource`` and so sits above ``dataset.py``)."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from streamscope.engine.io.delta_datasink import DeltaDatasink
from streamscope.engine.io.optional_deps import import_optional
from streamscope.engine.io.save_mode import SaveMode


def write_delta(ds: Any, path: str, *, catalog: Any = None, mode: Any = SaveMode.APPEND,
                partition_by: Optional[List[str]] = None, storage_options: Optional[Dict[str, str]] = None,
                schema_mode: str = "merge", filesystem: Any = None, name: Optional[str] = None,
                description: Optional[str] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                concurrency: Optional[int] = None) -> None:
    """``Dataset.write_delta``: check the arguments, then a two-phase write through
    :class:`DeltaDatasink` (Parquet files by the tasks, one commit by the driver)."""
    import_optional("deltalake", extra="delta", connector="write_delta")
    if hasattr(path, "__fspath__"):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"write_delta: path must be a str, got {type(path).__name__}")
    if catalog is not None:
        raise ValueError("write_delta: catalog= is not supported by streamscope; pass the table's storage path "
                         "(and storage_options= with its credentials) instead")
    check_storage_options("write_delta", storage_options)
    sink = DeltaDatasink(path, mode=mode, partition_by=partition_by, storage_options=storage_options,
                         schema_mode=schema_mode, filesystem=filesystem, name=name, description=description)
    ds.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)


def check_storage_options(fn: str, storage_options: Any) -> None:
    if storage_options is not None and not isinstance(storage_options, dict):
        raise TypeError(f"{fn}: storage_options must be a dict of str to str, got {type(storage_options).__name__}")
