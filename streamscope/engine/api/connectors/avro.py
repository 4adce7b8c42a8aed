"""``read_avro``: Avro object container files (``pip install 'streamscope[avro]'``, fastavro).

Why a connector of its own: fastavro is optional, so it is imported here, in the driver, when
``read_avro`` is called (a missing library is an ImportError naming the extra before any work);
the reading itself is ``io/avro_datasource.py``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from streamscope.engine.api.read import read_datasource
from streamscope.engine.io.optional_deps import import_optional
from streamscope.engine.io.partitioning import Partitioning


def read_avro(paths: Union[str, List[str]], *, filesystem: Any = None, parallelism: int = -1,
              num_cpus: Optional[float] = None, num_gpus: Optional[float] = None, memory: Optional[float] = None,
              arrow_open_stream_args: Optional[Dict[str, Any]] = None, partition_filter: Any = None,
              partitioning: Partitioning = None, include_paths: bool = False, ignore_missing_paths: bool = False,
              shuffle: Any = None, file_extensions: Optional[List[str]] = None, concurrency: Optional[int] = None,
              override_num_blocks: Optional[int] = None, label_selector: Optional[Dict[str, str]] = None,
              fallback_strategy: Optional[List[Dict[str, Any]]] = None, max_calls: Optional[int] = None,
              resources: Optional[Dict[str, float]] = None, accelerator_type: Optional[str] = None,
              runtime_env: Optional[Dict[str, Any]] = None, ray_remote_args: Optional[Dict[str, Any]] = None):
    """A dataset of the records of Avro files (a file, a directory, a list, local or any fsspec
    URL), one column per field of the record schema. Types come from each file's schema
    (``int``/``long`` -> int64, nullable unions -> nullable columns, records -> structs, arrays ->
    lists, maps -> Arrow maps, timestamps -> naive UTC timestamps, decimals -> decimal128; mixed
    unions -> Python objects); files are read as streams, a few MiB per block, and a projection
    later in the plan makes fastavro skip the other fields. Each file is one unit of parallelism.

    Examples:
        >>> import os, tempfile
        >>> import fastavro
        >>> tmp = tempfile.TemporaryDirectory()
        >>> schema = {"type": "record", "name": "User", "fields": [
        ...     {"name": "name", "type": "string"}, {"name": "age", "type": ["null", "int"]}]}
        >>> with open(os.path.join(tmp.name, "users.avro"), "wb") as f:
        ...     fastavro.writer(f, schema, [{"name": "ada", "age": 36}, {"name": "alan", "age": None}])
        >>> ds = streamscope.read_avro(tmp.name)
        >>> ds.take()
        [{'name': 'ada', 'age': 36}, {'name': 'alan', 'age': None}]
        >>> ds.schema().types
        [DataType(string), DataType(int64)]
        >>> tmp.cleanup()
    """
    import_optional("fastavro", extra="avro", connector="read_avro")
    if arrow_open_stream_args:
        raise ValueError("read_avro(arrow_open_stream_args=...): open options are not passed to the filesystem "
                         "yet; configure an fsspec filesystem with them and pass it as filesystem=")
    from streamscope.engine.io.avro_datasource import AvroDatasource

    datasource = AvroDatasource(paths, filesystem=filesystem, partition_filter=partition_filter,
                                partitioning=partitioning, include_paths=include_paths,
                                ignore_missing_paths=ignore_missing_paths, shuffle=shuffle,
                                file_extensions=file_extensions)
    return read_datasource(datasource, parallelism=parallelism, num_cpus=num_cpus, num_gpus=num_gpus, memory=memory,
                           concurrency=concurrency, override_num_blocks=override_num_blocks,
                           label_selector=label_selector, fallback_strategy=fallback_strategy, max_calls=max_calls,
                           resources=resources, accelerator_type=accelerator_type, runtime_env=runtime_env,
                           ray_remote_args=ray_remote_args)
