"""Module-level creation functions that read data: ``range``, ``read_parquet``, ``read_csv``...

Each builds a Datasource and wraps it in a Dataset with a single Read operator; nothing is read
until the dataset is consumed. The file readers take Ray Data's file arguments with Ray's
defaults: ``partitioning`` (Hive by default for Parquet, CSV and JSON, as in Ray),
``partition_filter``, ``include_paths``, ``ignore_missing_paths``, ``file_extensions`` and
``shuffle``. Ray Data arguments the engine does not act on (open args, ``meta_provider``, row
hashes) are refused by name before anything runs, never dropped; ``ray_remote_args`` and Ray's
named task options (``resources``, ``runtime_env``, ``label_selector``...) follow the maps' rules
(:mod:`streamscope.engine.remote_args`): passed to Ray on the Ray runtime, honoured or refused by
name on the local one.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.api.dataset import Dataset
from streamscope.engine.io.partitioning import Partitioning
from streamscope.engine.compute import TaskPoolStrategy
from streamscope.engine.io.range_datasource import RangeDatasource
from streamscope.engine.logical.operators import Read
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.remote_args import TASKS, split_resources, validate_remote_args

# The file datasources are imported inside their read_* function on purpose: every one of them
# imports fsspec (through io/paths.py), about 0.25 s that ``import streamscope`` must not pay.
# They import nothing from api/, so these lazy imports are in no cycle.


def read_datasource(datasource: Any, *, parallelism: int = -1, num_cpus: Optional[float] = None,
                    num_gpus: Optional[float] = None, memory: Optional[float] = None,
                    concurrency: Optional[int] = None, compute: Any = None, override_num_blocks: Optional[int] = None,
                    label_selector: Optional[dict] = None, fallback_strategy: Optional[list] = None,
                    max_calls: Optional[int] = None, resources: Optional[dict] = None,
                    accelerator_type: Optional[str] = None, runtime_env: Optional[dict] = None,
                    ray_remote_args: Optional[dict] = None, **read_args: Any):
    """A dataset read by ``datasource`` (a :class:`Datasource` subclass, Ray Data 2.60's
    interface): planning asks it for read tasks and their metadata, never for rows; each
    :class:`ReadTask` runs in a worker and yields blocks. ``count()`` answers from the tasks'
    ``metadata.num_rows`` when every task knows it.

    ``override_num_blocks`` (or the deprecated ``parallelism``) is the ``parallelism`` passed to
    ``get_read_tasks``; ``num_cpus``/``num_gpus``/``memory`` (also inside ``ray_remote_args``)
    size each read task; ``concurrency`` or ``compute=TaskPoolStrategy(size=n)`` caps the read
    tasks running at once. ``ray_remote_args`` and Ray's named task options (``resources``,
    ``runtime_env``, ``label_selector``...) follow the maps' rules
    (:mod:`streamscope.engine.remote_args`): custom ``resources`` are counted, Ray-only options
    are passed to Ray on the Ray runtime and refused on the local one when the run is planned.

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.block import BlockMetadata
        >>> class SquaresDatasource(streamscope.Datasource):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        ...         table = pa.table({"x": [i * i for i in range(self.n)]})
        ...         meta = BlockMetadata(num_rows=self.n, size_bytes=table.nbytes, input_files=None, exec_stats=None)
        ...         return [streamscope.ReadTask(lambda: [table], meta, schema=table.schema)]
        ...     def estimate_inmemory_data_size(self):
        ...         return 8 * self.n
        >>> ds = streamscope.read_datasource(SquaresDatasource(4))
        >>> ds.count(), ds.take()
        (4, [{'x': 0}, {'x': 1}, {'x': 4}, {'x': 9}])
    """
    if not callable(getattr(datasource, "get_read_tasks", None)) or not callable(getattr(datasource, "get_name", None)):
        raise TypeError(f"read_datasource: expected a streamscope.Datasource (with get_read_tasks), got {type(datasource).__name__}")
    name = reader_name(datasource)
    if read_args:
        raise ValueError(f"{name}: unexpected keyword arguments {sorted(read_args)}: Ray Data passes extra "
                         "arguments only to a legacy Datasource's create_reader/prepare_read, which streamscope "
                         "does not support; give them to your Datasource's constructor")
    concurrency = _read_concurrency(name, compute, concurrency)
    if ray_remote_args is not None and not isinstance(ray_remote_args, dict):
        raise TypeError(f"{name}: ray_remote_args must be a dict, got {type(ray_remote_args).__name__}")
    remote = dict(ray_remote_args or {})
    for option, value in (("label_selector", label_selector), ("fallback_strategy", fallback_strategy),
                          ("max_calls", max_calls), ("resources", resources), ("accelerator_type", accelerator_type),
                          ("runtime_env", runtime_env)):
        if value is not None:
            if option in remote and remote[option] != value:
                raise ValueError(f"{name}: {option} given twice, as {option}= and in ray_remote_args; give it once")
            remote[option] = value
    num_cpus, num_gpus, memory, remote = split_resources(name, num_cpus, num_gpus, memory, remote)
    validate_remote_args(name, remote, on=TASKS)
    blocks = override_num_blocks if override_num_blocks else parallelism
    task_resources = None
    if num_cpus is not None or num_gpus is not None or memory is not None or remote:
        task_resources = _Resources(num_cpus, num_gpus, memory, remote)
    return Dataset(LogicalPlan(Read(datasource, parallelism=blocks, resources=task_resources, concurrency=concurrency)))


def _read_concurrency(fn_name: str, compute: Any, concurrency: Optional[int]) -> Optional[int]:
    """Read tasks are plain tasks: ``compute`` may be a TaskPoolStrategy (its ``size`` caps them,
    ``concurrency`` taking precedence as in Ray); an actor pool is refused."""
    if compute is None:
        return concurrency
    if isinstance(compute, TaskPoolStrategy):
        return concurrency if concurrency is not None else compute.size
    raise ValueError(f"{fn_name}(compute={compute!r}): reads run as tasks in streamscope; pass "
                     "compute=TaskPoolStrategy(...) or leave it out, and put stateful work in a "
                     "map_batches(..., compute=ActorPoolStrategy(...)) after the read")


class _Resources:
    """What each read task asks for; ``ray_remote_args`` (the other ``ray.remote`` options) go
    with its tasks as a map's do."""

    def __init__(self, num_cpus, num_gpus, memory, ray_remote_args=None):
        self.num_cpus, self.num_gpus, self.memory = num_cpus, num_gpus, memory
        self.ray_remote_args = dict(ray_remote_args or {})


def range(n: int, *, parallelism: int = -1, concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None):  # noqa: A001
    """A dataset of the integers from 0 to ``n - 1`` in column ``id``; nothing is generated until it
    is consumed, and its row count and schema are known without running.

    Examples:
        >>> ds = streamscope.range(1000)
        >>> ds.count(), ds.take(3)
        (1000, [{'id': 0}, {'id': 1}, {'id': 2}])
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"range() expects a non-negative int, got {n!r}")
    return read_datasource(RangeDatasource(n), parallelism=parallelism, concurrency=concurrency, override_num_blocks=override_num_blocks)


def range_tensor(n: int, *, shape: tuple = (1,), parallelism: int = -1, concurrency: Optional[int] = None,
                 override_num_blocks: Optional[int] = None):
    """A dataset of ``n`` tensors of ``shape`` in column ``data``, row ``i`` filled with ``i``
    (handy to try tensor pipelines).

    Examples:
        >>> streamscope.range_tensor(3, shape=(2, 2)).take(2)[1]["data"]
        array([[1, 1],
               [1, 1]])
    """
    return read_datasource(RangeDatasource(n, block_format="tensor", tensor_shape=tuple(shape)), parallelism=parallelism,
                           concurrency=concurrency, override_num_blocks=override_num_blocks)


_ENGINE_ARGS = ("parallelism", "num_cpus", "num_gpus", "memory", "concurrency", "override_num_blocks", "ray_remote_args")
_RAY_TASK_OPTIONS = ("label_selector", "fallback_strategy", "max_calls", "resources", "accelerator_type", "runtime_env")
"""Ray's named read arguments that are ``ray.remote`` options of the read tasks."""
_OPEN_ARGS_WHY = ("open options are not passed to the filesystem yet; configure an fsspec filesystem "
                  "with them and pass it as filesystem=")
_REFUSED_READ_ARGS = {
    "arrow_open_stream_args": _OPEN_ARGS_WHY,
    "arrow_open_file_args": _OPEN_ARGS_WHY,
    "meta_provider": "streamscope reads file metadata itself; a custom meta_provider is not supported",
    "include_row_hash": ("row hashes are not supported yet; add a key column with Dataset.map_batches "
                         "(e.g. from the path column of include_paths=True and the row's position)"),
    "catalog": "catalogs are not supported by this reader; pass the table's file paths",
}


_READER_NAMES = {
    "AudioDatasource": "read_audio", "VideoDatasource": "read_videos",
    "ParquetDatasource": "read_parquet", "CSVDatasource": "read_csv", "JSONDatasource": "read_json",
    "TextDatasource": "read_text", "ImageDatasource": "read_images", "BinaryDatasource": "read_binary_files",
    "NumpyDatasource": "read_numpy", "SQLDatasource": "read_sql",
}
"""The public function behind each datasource, for error messages."""


def reader_name(datasource: Any) -> str:
    """The public read function errors should name: a connector's datasource says it with a
    ``read_function_name`` class attribute (``"read_iceberg"``), the built-in file readers are
    listed above, and any other datasource came through ``read_datasource``."""
    named = getattr(type(datasource), "read_function_name", None)
    return named if isinstance(named, str) else _READER_NAMES.get(type(datasource).__name__, "read_datasource")


def _engine_read_args(fn_name: str, kwargs: dict) -> dict:
    """Take the arguments the engine acts on out of ``kwargs`` (``read_datasource`` checks them:
    ``ray_remote_args`` and Ray's named task options follow the maps' rules); refuse, by name and
    before anything runs, the Ray Data arguments it would otherwise have to drop (never silently
    ignored)."""
    engine_args = {k: kwargs.pop(k) for k in _ENGINE_ARGS + _RAY_TASK_OPTIONS if k in kwargs}
    for name, why in _REFUSED_READ_ARGS.items():
        if name in kwargs:
            value = kwargs.pop(name)
            if not (value is None or value is False or value == {} or value == []):
                raise ValueError(f"{fn_name}({name}=...): {why}")
    return engine_args


def _read(cls: Any, paths: Any, kwargs: dict, extra: dict):
    engine_args = _engine_read_args(_READER_NAMES.get(cls.__name__, cls.__name__), kwargs)
    datasource = cls(paths, **extra, **kwargs)
    return read_datasource(datasource, **engine_args)


def _file_args(partition_filter: Any, partitioning: Any, include_paths: bool, ignore_missing_paths: bool,
               shuffle: Any, file_extensions: Any) -> dict:
    return {"partition_filter": partition_filter, "partitioning": partitioning, "include_paths": include_paths,
            "ignore_missing_paths": ignore_missing_paths, "shuffle": shuffle, "file_extensions": file_extensions}


_HIVE = Partitioning("hive")
"""Ray's default ``partitioning`` of read_parquet, read_csv and read_json."""


def read_parquet(paths: Any, *, columns: Optional[list[str]] = None, filesystem: Any = None,
                 tensor_column_schema: Optional[dict] = None, partition_filter: Any = None,
                 partitioning: Optional[Partitioning] = _HIVE, shuffle: Any = None, include_paths: bool = False,
                 file_extensions: Optional[list[str]] = ["parquet"], ignore_missing_paths: bool = False,  # noqa: B006
                 skip_paths: Any = None, **kwargs: Any):
    """A dataset read from Parquet files (a file, a directory, a list, local or any fsspec
    URL). Hive directories (``year=2023/``) add string columns, as in Ray Data; ``columns``
    reads only those columns; filters and projections later in the plan are pushed into the
    read: a filter on partition columns skips whole files, one on the files' columns skips row
    groups from their statistics. Schema and row count come from the footers without reading data.

    Examples:
        >>> import os, tempfile
        >>> import pyarrow as pa, pyarrow.parquet as pq
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), os.path.join(tmp.name, "t.parquet"))
        >>> ds = streamscope.read_parquet(tmp.name, columns=["a"])
        >>> ds.count(), ds.take()
        (3, [{'a': 1}, {'a': 2}, {'a': 3}])
        >>> os.makedirs(os.path.join(tmp.name, "year=2024"))
        >>> pq.write_table(pa.table({"a": [4]}), os.path.join(tmp.name, "year=2024", "u.parquet"))
        >>> streamscope.read_parquet(os.path.join(tmp.name, "year=2024")).take()
        [{'a': 4, 'year': '2024'}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.parquet_datasource import ParquetDatasource

    if columns is not None and include_paths and "path" not in columns:
        columns = list(columns) + ["path"]  # as Ray: include_paths keeps its column in a projection
    return _read(ParquetDatasource, paths, kwargs,
                 {"columns": columns, "filesystem": filesystem, "tensor_column_schema": tensor_column_schema,
                  "skip_paths": skip_paths,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


def read_csv(paths: Any, *, filesystem: Any = None, partition_filter: Any = None,
             partitioning: Optional[Partitioning] = _HIVE, include_paths: bool = False,
             ignore_missing_paths: bool = False, shuffle: Any = None, file_extensions: Optional[list[str]] = None,
             **kwargs: Any):
    r"""A dataset read from CSV files (header line first); types are inferred by pyarrow; Hive
    directories (``key=value/``) add string columns, as in Ray Data.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "people.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("name,age\nada,36\nalan,41\n")
        >>> streamscope.read_csv(path).take()
        [{'name': 'ada', 'age': 36}, {'name': 'alan', 'age': 41}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.csv_datasource import CSVDatasource

    return _read(CSVDatasource, paths, kwargs,
                 {"filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


_JSON_EXTENSIONS = ["json", "jsonl", "json.gz", "jsonl.gz", "json.br", "jsonl.br", "json.zst", "jsonl.zst",
                    "json.lz4", "jsonl.lz4"]


def read_json(paths: Any, *, lines: bool = False, filesystem: Any = None, partition_filter: Any = None,
              partitioning: Optional[Partitioning] = _HIVE, include_paths: bool = False,
              ignore_missing_paths: bool = False, shuffle: Any = None,
              file_extensions: Optional[list[str]] = _JSON_EXTENSIONS, **kwargs: Any):
    r"""A dataset read from JSON files: JSON Lines (one object per line) with ``lines=True``;
    Hive directories (``key=value/``) add string columns, as in Ray Data.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "events.jsonl")
        >>> with open(path, "w") as f:
        ...     _ = f.write('{"user": "ada", "clicks": 3}\n{"user": "alan", "clicks": 5}\n')
        >>> streamscope.read_json(path, lines=True).take()
        [{'user': 'ada', 'clicks': 3}, {'user': 'alan', 'clicks': 5}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.json_datasource import JSONDatasource

    return _read(JSONDatasource, paths, kwargs,
                 {"lines": lines, "filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


def read_text(paths: Any, *, encoding: str = "utf-8", drop_empty_lines: bool = True, filesystem: Any = None,
              partition_filter: Any = None, partitioning: Optional[Partitioning] = None, include_paths: bool = False,
              ignore_missing_paths: bool = False, shuffle: Any = None, file_extensions: Optional[list[str]] = None,
              **kwargs: Any):
    r"""A dataset of the lines of text files, one row per line in column ``text`` (empty lines
    dropped unless ``drop_empty_lines=False``).

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "poem.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("roses are red\n\nviolets are blue\n")
        >>> streamscope.read_text(path).take()
        [{'text': 'roses are red'}, {'text': 'violets are blue'}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.text_datasource import TextDatasource

    return _read(TextDatasource, paths, kwargs,
                 {"encoding": encoding, "drop_empty_lines": drop_empty_lines, "filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


_IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"]


def read_images(paths: Any, *, filesystem: Any = None, partition_filter: Any = None,
                partitioning: Optional[Partitioning] = None, size: Optional[tuple] = None, mode: Optional[str] = None,
                include_paths: bool = False, ignore_missing_paths: bool = False, shuffle: Any = None,
                file_extensions: Optional[list[str]] = _IMAGE_EXTENSIONS, **kwargs: Any):
    """A dataset of images decoded with Pillow into column ``image`` (height x width x channels
    arrays); ``size=(height, width)`` resizes, ``mode="RGB"`` converts, ``include_paths=True``
    adds a ``path`` column, ``partitioning=Partitioning("dir", field_names=["label"],
    base_dir=root)`` a label column from the directories. Needs ``pip install 'streamscope[images]'``.

    Examples:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> tmp = tempfile.TemporaryDirectory()
        >>> Image.new("RGB", (4, 3)).save(os.path.join(tmp.name, "black.png"))
        >>> streamscope.read_images(tmp.name).take(1)[0]["image"].shape
        (3, 4, 3)
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.image_datasource import ImageDatasource

    return _read(ImageDatasource, paths, kwargs,
                 {"size": size, "mode": mode, "filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


def read_binary_files(paths: Any, *, include_paths: bool = False, filesystem: Any = None,
                      partition_filter: Any = None, partitioning: Optional[Partitioning] = None,
                      ignore_missing_paths: bool = False, shuffle: Any = None,
                      file_extensions: Optional[list[str]] = None, **kwargs: Any):
    r"""A dataset of whole files as bytes, one row per file in column ``bytes``
    (``include_paths=True`` adds a ``path`` column).

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> with open(os.path.join(tmp.name, "blob.bin"), "wb") as f:
        ...     _ = f.write(bytes([0, 1, 2]))
        >>> streamscope.read_binary_files(tmp.name).take()
        [{'bytes': b'\x00\x01\x02'}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.binary_datasource import BinaryDatasource

    return _read(BinaryDatasource, paths, kwargs,
                 {"filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})


def read_numpy(paths: Any, *, filesystem: Any = None, partition_filter: Any = None,
               partitioning: Optional[Partitioning] = None, include_paths: bool = False,
               ignore_missing_paths: bool = False, shuffle: Any = None,
               file_extensions: Optional[list[str]] = ["npy"], **kwargs: Any):  # noqa: B006
    """A dataset read from ``.npy`` files: the first axis becomes rows of column ``data`` (rows of
    an n-D array are tensors).

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> tmp = tempfile.TemporaryDirectory()
        >>> np.save(os.path.join(tmp.name, "a.npy"), np.arange(3))
        >>> streamscope.read_numpy(tmp.name).take()
        [{'data': 0}, {'data': 1}, {'data': 2}]
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.numpy_datasource import NumpyDatasource

    return _read(NumpyDatasource, paths, kwargs,
                 {"filesystem": filesystem,
                  **_file_args(partition_filter, partitioning, include_paths, ignore_missing_paths, shuffle,
                               file_extensions)})
