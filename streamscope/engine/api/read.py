"""Module-level creation functions that read data: ``range``, ``read_parquet``, ``read_csv``...

Each builds a Datasource and wraps it in a Dataset with a single Read operator; nothing is read
until the dataset is consumed. Ray Data arguments the engine does not act on (``partitioning``,
``partition_filter``, open args, cluster scheduling) are refused by name before anything runs,
never dropped; ``ray_remote_args`` may give each read task's ``num_cpus``/``num_gpus``/``memory``
and the other ``ray.remote`` options, by the maps' rules (:mod:`streamscope.engine.remote_args`).
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.api.dataset import Dataset
from streamscope.engine.io.range_datasource import RangeDatasource
from streamscope.engine.logical.operators import Read
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.remote_args import TASKS, split_resources, validate_remote_args

# The file datasources are imported inside their read_* function on purpose: every one of them
# imports fsspec (through io/paths.py), about 0.25 s that ``import streamscope`` must not pay.
# They import nothing from api/, so these lazy imports are in no cycle.


def read_datasource(datasource: Any, *, parallelism: int = -1, num_cpus: Optional[float] = None,
                    num_gpus: Optional[float] = None, memory: Optional[float] = None,
                    concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None,
                    ray_remote_args: Optional[dict] = None, **_: Any):
    """A dataset read by ``datasource`` (a :class:`Datasource` subclass): planning asks it for
    metadata and read tasks; each :class:`ReadTask` runs in a worker and yields blocks.
    ``override_num_blocks`` asks for that many read tasks. ``ray_remote_args`` follow the maps'
    rules (:mod:`streamscope.engine.remote_args`): custom ``resources`` are counted, Ray-only
    options are passed to Ray on the Ray runtime and refused on the local one when the run is planned.

    Examples:
        >>> import pyarrow as pa
        >>> class Squares(streamscope.Datasource):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def get_read_tasks(self, parallelism):
        ...         table = pa.table({"x": [i * i for i in range(self.n)]})
        ...         return [streamscope.ReadTask(lambda: [table], num_rows=self.n)]
        ...     def num_rows(self):
        ...         return self.n
        >>> streamscope.read_datasource(Squares(4)).take()
        [{'x': 0}, {'x': 1}, {'x': 4}, {'x': 9}]
    """
    blocks = override_num_blocks if override_num_blocks else parallelism
    name = _READER_NAMES.get(type(datasource).__name__, "read_datasource")
    num_cpus, num_gpus, memory, remote = split_resources(name, num_cpus, num_gpus, memory, dict(ray_remote_args or {}))
    validate_remote_args(name, remote, on=TASKS)
    resources = None
    if num_cpus is not None or num_gpus is not None or memory is not None or remote:
        resources = _Resources(num_cpus, num_gpus, memory, remote)
    return Dataset(LogicalPlan(Read(datasource, parallelism=blocks, resources=resources, concurrency=concurrency)))


class _Resources:
    """What each read task asks for; ``ray_remote_args`` (the other ``ray.remote`` options) go
    with its tasks as a map's do."""

    def __init__(self, num_cpus, num_gpus, memory, ray_remote_args=None):
        self.num_cpus, self.num_gpus, self.memory = num_cpus, num_gpus, memory
        self.ray_remote_args = dict(ray_remote_args or {})


def range(n: int, *, parallelism: int = -1, concurrency: Optional[int] = None, override_num_blocks: Optional[int] = None):  # noqa: A001
    """A dataset of the integers ``0 .. n-1`` in column ``id``; nothing is generated until it
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


_ENGINE_ARGS = ("parallelism", "num_cpus", "num_gpus", "memory", "concurrency", "override_num_blocks")
_TASK_RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory")
_OPEN_ARGS_WHY = ("open options are not passed to the filesystem yet; configure an fsspec filesystem "
                  "with them and pass it as filesystem=")
_CLUSTER_ONLY_WHY = "it places Ray tasks on a cluster, and streamscope does not pass it to Ray yet; leave it out"
_REFUSED_READ_ARGS = {
    "partitioning": ("Hive partition discovery is not supported yet: streamscope reads only the columns stored in "
                     "the files. Pass partitioning=None (what streamscope does), or read with "
                     "pyarrow.dataset(path, partitioning='hive') and streamscope.from_arrow"),
    "partition_filter": ("files are not pruned by their paths yet; filter the rows after the read "
                         "(Dataset.filter(expr=...)), or list the files you want as paths"),
    "arrow_open_stream_args": _OPEN_ARGS_WHY,
    "arrow_open_file_args": _OPEN_ARGS_WHY,
    "meta_provider": "streamscope reads file metadata itself; a custom meta_provider is not supported",
    "label_selector": _CLUSTER_ONLY_WHY,
    "fallback_strategy": _CLUSTER_ONLY_WHY,
    "catalog": "catalogs are not supported by this reader; pass the table's file paths",
}


_READER_NAMES = {
    "ParquetDatasource": "read_parquet", "CSVDatasource": "read_csv", "JSONDatasource": "read_json",
    "TextDatasource": "read_text", "ImageDatasource": "read_images", "BinaryDatasource": "read_binary_files",
    "NumpyDatasource": "read_numpy",
}
"""The public function behind each datasource, for error messages."""


def _engine_read_args(fn_name: str, kwargs: dict) -> dict:
    """Take the arguments the engine acts on out of ``kwargs``; refuse, by name and before anything
    runs, the Ray Data arguments it would otherwise have to drop (never silently ignored).
    ``ray_remote_args`` may size each read task (``num_cpus``, ``num_gpus``, ``memory``); its other keys
    follow the maps' rules."""
    engine_args = {k: kwargs.pop(k) for k in _ENGINE_ARGS if k in kwargs}
    remote = kwargs.pop("ray_remote_args", None) or {}
    if not isinstance(remote, dict):
        raise TypeError(f"{fn_name}: ray_remote_args must be a dict, got {type(remote).__name__}")
    others = {k: v for k, v in remote.items() if k not in _TASK_RESOURCE_KEYS}
    validate_remote_args(fn_name, others, on=TASKS)  # the maps' rules: unknown keys, Ray's types
    if others:
        engine_args["ray_remote_args"] = others
    for key in _TASK_RESOURCE_KEYS:
        if key in remote:
            if engine_args.get(key) is not None and engine_args[key] != remote[key]:
                raise ValueError(f"{fn_name}: {key} given twice, as {key}={engine_args[key]!r} and in "
                                 f"ray_remote_args ({remote[key]!r}); give it once")
            engine_args[key] = remote[key]
    for name, why in _REFUSED_READ_ARGS.items():
        if name in kwargs and kwargs.pop(name) not in (None, {}, []):
            raise ValueError(f"{fn_name}({name}=...): {why}")
    return engine_args


def _read(cls: Any, paths: Any, kwargs: dict, extra: dict):
    engine_args = _engine_read_args(_READER_NAMES.get(cls.__name__, cls.__name__), kwargs)
    datasource = cls(paths, **extra, **kwargs)
    return read_datasource(datasource, **engine_args)


def read_parquet(paths: Any, *, columns: Optional[list[str]] = None, filesystem: Any = None, **kwargs: Any):
    """A dataset read from Parquet files (a file, a directory, a list, local or any fsspec
    URL). ``columns`` reads only those columns; filters and projections later in the plan are
    pushed into the read, so row groups that cannot match are skipped from their statistics.
    Schema and row count come from the footers without reading data.

    Examples:
        >>> import os, tempfile
        >>> import pyarrow as pa, pyarrow.parquet as pq
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), os.path.join(tmp.name, "t.parquet"))
        >>> ds = streamscope.read_parquet(tmp.name, columns=["a"])
        >>> ds.count(), ds.take()
        (3, [{'a': 1}, {'a': 2}, {'a': 3}])
        >>> tmp.cleanup()
    """
    from streamscope.engine.io.parquet_datasource import ParquetDatasource

    return _read(ParquetDatasource, paths, kwargs,
                 {"columns": columns, "filesystem": filesystem})


def read_csv(paths: Any, *, filesystem: Any = None, **kwargs: Any):
    r"""A dataset read from CSV files (header line first); types are inferred by pyarrow.

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

    return _read(CSVDatasource, paths, kwargs, {"filesystem": filesystem})


def read_json(paths: Any, *, lines: bool = False, filesystem: Any = None, **kwargs: Any):
    r"""A dataset read from JSON files: JSON Lines (one object per line) with ``lines=True``.

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

    return _read(JSONDatasource, paths, kwargs, {"lines": lines, "filesystem": filesystem})


def read_text(paths: Any, *, encoding: str = "utf-8", drop_empty_lines: bool = True, filesystem: Any = None, **kwargs: Any):
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
                 {"encoding": encoding, "drop_empty_lines": drop_empty_lines, "filesystem": filesystem})


def read_images(paths: Any, *, size: Optional[tuple] = None, mode: Optional[str] = None, include_paths: bool = False,
                filesystem: Any = None, **kwargs: Any):
    """A dataset of images decoded with Pillow into column ``image`` (height x width x channels
    arrays); ``size=(height, width)`` resizes, ``mode="RGB"`` converts, ``include_paths=True``
    adds a ``path`` column. Needs ``pip install 'streamscope[images]'``.

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
                 {"size": size, "mode": mode, "include_paths": include_paths, "filesystem": filesystem})


def read_binary_files(paths: Any, *, include_paths: bool = False, filesystem: Any = None, **kwargs: Any):
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
                 {"include_paths": include_paths, "filesystem": filesystem})


def read_numpy(paths: Any, *, filesystem: Any = None, **kwargs: Any):
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

    return _read(NumpyDatasource, paths, kwargs, {"filesystem": filesystem})

