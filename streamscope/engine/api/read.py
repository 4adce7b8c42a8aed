"""Module-level creation functions that read data: ``range``, ``read_parquet``, ``read_csv``...

Each builds a Datasource and wraps it in a Dataset with a single Read operator; nothing is read
until the dataset is consumed. Ray-cluster-only arguments (``ray_remote_args``, scheduling) are
accepted and ignored so Ray Data code runs unchanged.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.api.dataset import Dataset
from streamscope.engine.io.range_datasource import RangeDatasource
from streamscope.engine.logical.operators import Read
from streamscope.engine.logical.plan import LogicalPlan

# The file datasources are imported inside their read_* function on purpose: every one of them
# imports fsspec (through io/paths.py), about 0.25 s that ``import streamscope`` must not pay.
# They import nothing from api/, so these lazy imports are in no cycle.


def read_datasource(datasource: Any, *, parallelism: int = -1, num_cpus: Optional[float] = None,
                    num_gpus: Optional[float] = None, memory: Optional[float] = None,
                    concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None, **_: Any):
    blocks = override_num_blocks if override_num_blocks else parallelism
    resources = None
    if num_cpus is not None or num_gpus is not None or memory is not None:
        resources = _Resources(num_cpus, num_gpus, memory)
    return Dataset(LogicalPlan(Read(datasource, parallelism=blocks, resources=resources, concurrency=concurrency)))


class _Resources:
    def __init__(self, num_cpus, num_gpus, memory):
        self.num_cpus, self.num_gpus, self.memory = num_cpus, num_gpus, memory


def range(n: int, *, parallelism: int = -1, concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None):  # noqa: A001
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"range() expects a non-negative int, got {n!r}")
    return read_datasource(RangeDatasource(n), parallelism=parallelism, concurrency=concurrency, override_num_blocks=override_num_blocks)


def range_tensor(n: int, *, shape: tuple = (1,), parallelism: int = -1, concurrency: Optional[int] = None,
                 override_num_blocks: Optional[int] = None):
    return read_datasource(RangeDatasource(n, block_format="tensor", tensor_shape=tuple(shape)), parallelism=parallelism,
                           concurrency=concurrency, override_num_blocks=override_num_blocks)


def _read(cls: Any, paths: Any, kwargs: dict, extra: dict):
    engine_args = {k: kwargs.pop(k) for k in ("parallelism", "num_cpus", "num_gpus", "memory", "concurrency", "override_num_blocks") if k in kwargs}
    for ignored in ("ray_remote_args", "arrow_open_stream_args", "arrow_open_file_args", "partition_filter",
                    "partitioning", "meta_provider", "label_selector", "fallback_strategy", "catalog"):
        kwargs.pop(ignored, None)
    datasource = cls(paths, **extra, **kwargs)
    return read_datasource(datasource, **engine_args)


def read_parquet(paths: Any, *, columns: Optional[list[str]] = None, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.parquet_datasource import ParquetDatasource

    return _read(ParquetDatasource, paths, kwargs,
                 {"columns": columns, "filesystem": filesystem})


def read_csv(paths: Any, *, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.csv_datasource import CSVDatasource

    return _read(CSVDatasource, paths, kwargs, {"filesystem": filesystem})


def read_json(paths: Any, *, lines: bool = False, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.json_datasource import JSONDatasource

    return _read(JSONDatasource, paths, kwargs, {"lines": lines, "filesystem": filesystem})


def read_text(paths: Any, *, encoding: str = "utf-8", drop_empty_lines: bool = True, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.text_datasource import TextDatasource

    return _read(TextDatasource, paths, kwargs,
                 {"encoding": encoding, "drop_empty_lines": drop_empty_lines, "filesystem": filesystem})


def read_images(paths: Any, *, size: Optional[tuple] = None, mode: Optional[str] = None, include_paths: bool = False,
                filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.image_datasource import ImageDatasource

    return _read(ImageDatasource, paths, kwargs,
                 {"size": size, "mode": mode, "include_paths": include_paths, "filesystem": filesystem})


def read_binary_files(paths: Any, *, include_paths: bool = False, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.binary_datasource import BinaryDatasource

    return _read(BinaryDatasource, paths, kwargs,
                 {"include_paths": include_paths, "filesystem": filesystem})


def read_numpy(paths: Any, *, filesystem: Any = None, **kwargs: Any):
    from streamscope.engine.io.numpy_datasource import NumpyDatasource

    return _read(NumpyDatasource, paths, kwargs, {"filesystem": filesystem})

