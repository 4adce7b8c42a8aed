"""``read_orc`` and the ``Dataset.write_orc`` implementation: ORC files through ``pyarrow.orc``
(part of pyarrow, no extra to install).

The reading and writing live in ``io/orc_datasource.py`` and ``io/orc_datasink.py``; this module
checks the arguments in the driver and wires them to ``read_datasource`` / ``write_datasink``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.partitioning import Partitioning


def read_orc(paths: Union[str, List[str]], *, filesystem: Any = None, parallelism: int = -1,
             num_cpus: Optional[float] = None, num_gpus: Optional[float] = None, memory: Optional[float] = None,
             partition_filter: Any = None, partitioning: Partitioning = None, include_paths: bool = False,
             ignore_missing_paths: bool = False, shuffle: Any = None,
             file_extensions: Optional[List[str]] = ["orc"], concurrency: Optional[int] = None,  # noqa: B006
             override_num_blocks: Optional[int] = None, label_selector: Optional[Dict[str, str]] = None,
             fallback_strategy: Optional[List[Dict[str, Any]]] = None, max_calls: Optional[int] = None,
             resources: Optional[Dict[str, float]] = None, accelerator_type: Optional[str] = None,
             runtime_env: Optional[Dict[str, Any]] = None, ray_remote_args: Optional[Dict[str, Any]] = None):
    """A dataset read from ORC files (a file, a directory, a list, local or any fsspec URL), with
    the types pyarrow reads. Schema and row count come from the footers; files are read one
    stripe at a time, and with fewer files than read tasks a file's stripes are spread over
    several tasks; a projection later in the plan decodes only the columns kept.

    Examples:
        >>> import os, tempfile
        >>> import pyarrow as pa, pyarrow.orc as orc
        >>> tmp = tempfile.TemporaryDirectory()
        >>> orc.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), os.path.join(tmp.name, "t.orc"))
        >>> ds = streamscope.read_orc(tmp.name)
        >>> ds.count(), ds.select_columns(["b"]).take(2)
        (3, [{'b': 'x'}, {'b': 'y'}])
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.orc_datasource import ORCDatasource

    datasource = ORCDatasource(paths, filesystem=filesystem, partition_filter=partition_filter,
                               partitioning=partitioning, include_paths=include_paths,
                               ignore_missing_paths=ignore_missing_paths, shuffle=shuffle,
                               file_extensions=file_extensions)
    return read_datasource(datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
                           concurrency=concurrency, override_num_blocks=override_num_blocks,
                           label_selector=label_selector, fallback_strategy=fallback_strategy, max_calls=max_calls,
                           resources=resources, accelerator_type=accelerator_type, runtime_env=runtime_env,
                           ray_remote_args=ray_remote_args)
