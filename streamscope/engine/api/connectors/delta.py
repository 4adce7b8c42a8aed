"""Delta Lake: ``read_delta`` (the write is in ``delta_write.py``).

Why through ``deltalake``: a Delta table is Parquet files plus a transaction log, and only the
log says which files (and which rows of them) make up a version. ``deltalake`` reads and commits
the log; streamscope's tasks read and write the Parquet files themselves, so the work is split
like any file read and a write commits once, from the driver, after every task succeeded.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Literal, Optional, Union

from streamscope.engine.api.connectors.delta_write import check_storage_options as _check_options
from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.delta_datasource import DeltaDatasource
from streamscope.engine.io.optional_deps import import_optional


def read_delta(path: Union[str, List[str]], version: Optional[int] = None, *,
               storage_options: Optional[Dict[str, Any]] = None, filesystem: Any = None, catalog: Any = None,
               columns: Optional[List[str]] = None, parallelism: int = -1, num_cpus: Optional[float] = None,
               num_gpus: Optional[float] = None, memory: Optional[float] = None,
               shuffle: Union[Literal["files"], None] = None, include_paths: bool = False,
               concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None,
               label_selector: Optional[Dict[str, str]] = None, fallback_strategy: Optional[List[Dict[str, Any]]] = None,
               max_calls: Optional[int] = None, resources: Optional[Dict[str, float]] = None,
               accelerator_type: Optional[str] = None, runtime_env: Optional[Dict[str, Any]] = None,
               ray_remote_args: Optional[Dict[str, Any]] = None, **arrow_parquet_args: Any):
    """A dataset of one version of a Delta Lake table (the latest, or ``version=`` to time
    travel): the Parquet files its transaction log lists, one read task per file or group of small
    files, partition values and deletion vectors applied as the log records them.

    ``columns`` reads only those columns; filters later in the plan are pushed into the read:
    conjuncts over partition columns drop whole files, the others skip files whose log statistics
    (min/max) rule them out and filter each file's scan (see ``explain()``). ``storage_options``
    go to ``deltalake`` (cloud credentials); ``filesystem`` is a pyarrow filesystem rooted at the
    table's directory, as deltalake takes it. ``include_paths=True`` adds a ``path`` column;
    ``shuffle="files"`` reads the files in a random order. ``**arrow_parquet_args`` are pyarrow
    scan options (``batch_size=``, ...). Needs ``pip install 'streamscope[delta]'``.

    Examples:
        >>> import tempfile, pyarrow as pa
        >>> from deltalake import write_deltalake
        >>> tmp = tempfile.TemporaryDirectory()
        >>> write_deltalake(tmp.name, pa.table({"id": [1, 2, 3], "part": ["a", "b", "a"]}), partition_by=["part"])
        >>> write_deltalake(tmp.name, pa.table({"id": [4], "part": ["b"]}), mode="append")
        >>> ds = streamscope.read_delta(tmp.name)
        >>> ds.count(), sorted(r["id"] for r in ds.filter(expr="part == 'a'").take_all())
        (4, [1, 3])
        >>> streamscope.read_delta(tmp.name, version=0).count()
        3
        >>> tmp.cleanup()
    """
    import_optional("deltalake", extra="delta", connector="read_delta")
    if isinstance(path, (list, tuple)):
        raise ValueError("read_delta: only a single Delta Lake table path is supported; read each table and "
                         "union() the datasets")
    if hasattr(path, "__fspath__"):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"read_delta: path must be a str, got {type(path).__name__}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise TypeError(f"read_delta: version must be a non-negative int (a table version) or None, got {version!r}")
    if catalog is not None:
        raise ValueError("read_delta: catalog= is not supported by streamscope; pass the table's storage path "
                         "(and storage_options= with its credentials) instead")
    _check_options("read_delta", storage_options)
    if columns is not None and include_paths and "path" not in columns:
        columns = list(columns) + ["path"]  # as Ray: include_paths keeps its column in a projection
    datasource = DeltaDatasource(path, version, storage_options=storage_options, filesystem=filesystem,
                                 columns=columns, shuffle=shuffle, include_paths=include_paths,
                                 scan_args=arrow_parquet_args)
    return read_datasource(datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
                           concurrency=concurrency, override_num_blocks=override_num_blocks,
                           label_selector=label_selector, fallback_strategy=fallback_strategy, max_calls=max_calls,
                           resources=resources, accelerator_type=accelerator_type, runtime_env=runtime_env,
                           ray_remote_args=ray_remote_args)
