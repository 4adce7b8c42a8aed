"""Write methods of Dataset: each builds a datasink and runs a two-phase write.

Tasks write temporary files; only when every task has succeeded are they renamed to their final
names. On failure or cancel the temporaries are deleted and the error re-raised, so a failed
write never leaves output that looks complete, and a failed ``mode="overwrite"`` leaves the old
files in place.

Every argument is checked before the run starts (``io/write_args.py``, the datasinks'
constructors, ``on_write_start`` for the save mode): an argument streamscope cannot honour is
refused by name, never dropped.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import cloudpickle

from streamscope.engine.api import checkpointed_write
from streamscope.engine.io.datasink import WriteResult, write_operator_name
from streamscope.engine.context import DataContext
from streamscope.engine.io.save_mode import SaveMode
from streamscope.engine.io.write_args import refuse_unsupported, rows_per_file, write_concurrency, write_resources
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.remote_args import RESOURCE_KEYS, TASKS, runtime_refusal, validate_remote_args
from streamscope.engine.transforms.write import read_write_results

# Each datasink is imported inside its write_* method on purpose: the file sinks import fsspec
# (through io/paths.py), about 0.25 s that ``import streamscope`` must not pay. They import
# nothing from api/, so these lazy imports are in no cycle.


class WriteMixin:
    """Dataset methods that write the rows out: one datasink per format, two-phase commits."""

    def write_datasink(self, datasink: Any, *, ray_remote_args: Optional[Dict[str, Any]] = None,
                       concurrency: Optional[int] = None) -> None:
        """Write the rows with a :class:`Datasink` (Ray Data 2.60's interface): ``on_write_start``
        in the driver, ``write(blocks, ctx)`` in each task, then ``on_write_complete`` with a
        :class:`~streamscope.datasource.WriteResult` combining every task's rows, bytes and return
        value once all succeeded. When the run fails or is cancelled (or ``on_write_complete``
        raises), ``on_write_failed(error)`` is called instead and the error re-raised.

        ``concurrency`` caps the write tasks running at once; ``ray_remote_args`` may set
        ``num_cpus``, ``num_gpus`` and ``memory`` per write task, and its other ``ray.remote``
        options follow the maps' rules (:mod:`streamscope.engine.remote_args`: custom
        ``resources`` counted, Ray-only options passed to Ray or refused on the local runtime). The
        sink's ``min_rows_per_write`` gives each task at least that many rows.

        Examples:
            >>> class RowCounterDatasink(streamscope.Datasink[int]):
            ...     def write(self, blocks, ctx):
            ...         return sum(block.num_rows for block in blocks)
            ...     def on_write_complete(self, write_result):
            ...         print("rows written:", write_result.num_rows, "tasks:", len(write_result.write_returns) > 0)
            >>> streamscope.range(10).write_datasink(RowCounterDatasink(), concurrency=2)
            rows written: 10 tasks: True
        """
        if not callable(getattr(datasink, "write", None)) or not callable(getattr(datasink, "get_name", None)):
            raise TypeError(f"write_datasink: expected a streamscope.Datasink, got {type(datasink).__name__}")
        name = write_operator_name(datasink)
        cap = write_concurrency(name, concurrency)
        sizing, remote = _split_write_remote_args(name, ray_remote_args)
        resources = write_resources(name, sizing)
        min_rows = datasink.min_rows_per_write
        if getattr(datasink, "min_bytes_per_write", None) is not None:
            if min_rows is not None:
                raise ValueError(f"{name}: the datasink sets both min_rows_per_write and min_bytes_per_write; "
                                 "set only one write bundling target")
            raise ValueError(f"{name}: min_bytes_per_write is not supported: streamscope bundles write input by "
                             "rows; set min_rows_per_write instead")
        if min_rows is not None and (not isinstance(min_rows, int) or isinstance(min_rows, bool) or min_rows < 1):
            raise ValueError(f"{name}: min_rows_per_write must be a positive int or None, got {min_rows!r}")
        _check_picklable(datasink, name)
        dag, datasink = checkpointed_write.prepare(self._plan.dag, datasink, DataContext.get_current())
        datasink.on_write_start(dag.output_schema())
        if getattr(datasink, "_skip_write", False):  # mode="ignore" and the path exists: nothing to run (as Ray)
            return
        plan = LogicalPlan(L.Write(dag, datasink, concurrency=cap, min_rows_per_bundle=min_rows,
                                   ray_remote_args=remote, **resources))
        results: list = []
        try:
            for table in self._iter_tables(plan):
                results.extend(read_write_results(table))
            combined = WriteResult(num_rows=sum(r[0] for r in results), size_bytes=sum(r[1] for r in results),
                                   write_returns=[r[2] for r in results])
            datasink.on_write_complete(combined)
        except BaseException as exc:
            datasink.on_write_failed(exc)
            raise
        checkpointed_write.finish(datasink)

    def write_parquet(self, path: str, *, partition_cols: Optional[List[str]] = None, filesystem: Any = None,
                      catalog: Any = None, try_create_dir: bool = True,
                      arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                      arrow_parquet_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                      min_rows_per_file: Optional[int] = None, max_rows_per_file: Optional[int] = None,
                      min_bytes_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                      concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                      mode: SaveMode = SaveMode.APPEND, **arrow_parquet_args: Any) -> None:
        """Write the rows as Parquet files into the directory ``path`` (local or any fsspec URL); the
        files appear under their final names only when every task has succeeded.

        ``mode`` (a :class:`SaveMode` or its string) says what to do when ``path`` exists:
        ``"append"`` (default), ``"overwrite"`` (old files removed once the new ones are complete),
        ``"ignore"`` (write nothing), ``"error"``. ``partition_cols`` writes Hive ``col=value/``
        directories. Each block becomes a file unless ``min_rows_per_file`` gathers at least that
        many rows per file; ``max_rows_per_file`` splits larger ones. ``**arrow_parquet_args`` go to
        pyarrow's Parquet writer (``compression=``, ``row_group_size=``, ...).

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range(10).write_parquet(tmp.name)
            >>> streamscope.read_parquet(tmp.name).count()
            10
            >>> streamscope.range(4).write_parquet(tmp.name, mode="overwrite", compression="zstd")
            >>> streamscope.read_parquet(tmp.name).count()
            4
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.parquet_datasink import ParquetDatasink

        writer = "write_parquet"
        refuse_unsupported(writer, catalog=catalog, arrow_open_stream_args=arrow_open_stream_args,
                           min_bytes_per_file=min_bytes_per_file)
        low, high = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file,
                                  max_rows_per_file=max_rows_per_file)
        sink = ParquetDatasink(path, partition_cols=partition_cols, filesystem=filesystem, try_create_dir=try_create_dir,
                               filename_provider=filename_provider, mode=mode,
                               arrow_parquet_args_fn=arrow_parquet_args_fn, min_rows_per_file=low,
                               max_rows_per_file=high, **arrow_parquet_args)
        self.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_csv(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                  arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                  arrow_csv_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                  min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                  concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                  mode: SaveMode = SaveMode.APPEND, **arrow_csv_args: Any) -> None:
        """Write the rows as CSV files (with a header line) into the directory ``path``. ``mode``,
        ``min_rows_per_file``, ``concurrency`` as in :meth:`write_parquet`; ``write_options=`` (a
        ``pyarrow.csv.WriteOptions``) goes to pyarrow's CSV writer.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).write_csv(tmp.name)
            >>> streamscope.read_csv(tmp.name).sort("a").take()
            [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.csv_datasink import CSVDatasink

        writer = "write_csv"
        refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
        low, _ = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file)
        sink = CSVDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, filename_provider=filename_provider,
                           mode=mode, arrow_csv_args_fn=arrow_csv_args_fn,
                           min_rows_per_file=low, **arrow_csv_args)
        self.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_json(self, path: str, *, filesystem: Any = None, try_create_dir: bool = True,
                   arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                   pandas_json_args_fn: Optional[Callable[[], Dict[str, Any]]] = None,
                   min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                   concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                   mode: SaveMode = SaveMode.APPEND, **pandas_json_args: Any) -> None:
        """Write the rows as JSON Lines files (one object per line) into the directory ``path``.
        ``mode``, ``min_rows_per_file``, ``concurrency`` as in :meth:`write_parquet`;
        ``**pandas_json_args`` go to ``pandas.DataFrame.to_json``.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range(3).write_json(tmp.name, min_rows_per_file=3)
            >>> streamscope.read_json(tmp.name, lines=True).sort("id").take()
            [{'id': 0}, {'id': 1}, {'id': 2}]
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.json_datasink import JSONDatasink

        writer = "write_json"
        refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
        low, _ = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file)
        sink = JSONDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, filename_provider=filename_provider,
                            mode=mode, pandas_json_args_fn=pandas_json_args_fn,
                            min_rows_per_file=low, **pandas_json_args)
        self.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_numpy(self, path: str, *, column: str, filesystem: Any = None, try_create_dir: bool = True,
                    arrow_open_stream_args: Optional[Dict[str, Any]] = None, filename_provider: Any = None,
                    min_rows_per_file: Optional[int] = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                    concurrency: Optional[int] = None, num_rows_per_file: Optional[int] = None,
                    mode: SaveMode = SaveMode.APPEND) -> None:
        """Write ``column`` as ``.npy`` files (one array per file, rows along the first axis) into the
        directory ``path``. ``mode``, ``min_rows_per_file``, ``concurrency`` as in
        :meth:`write_parquet`.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range_tensor(4, shape=(2,)).write_numpy(tmp.name, column="data")
            >>> streamscope.read_numpy(tmp.name).count()
            4
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.numpy_datasink import NumpyDatasink

        writer = "write_numpy"
        refuse_unsupported(writer, arrow_open_stream_args=arrow_open_stream_args)
        low, _ = rows_per_file(writer, num_rows_per_file=num_rows_per_file, min_rows_per_file=min_rows_per_file)
        sink = NumpyDatasink(path, column=column, filesystem=filesystem, try_create_dir=try_create_dir,
                             filename_provider=filename_provider, mode=mode,
                             min_rows_per_file=low)
        self.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)

    def write_images(self, path: str, column: str, file_format: str = "png", *, filesystem: Any = None,
                     try_create_dir: bool = True, arrow_open_stream_args: Optional[Dict[str, Any]] = None,
                     filename_provider: Any = None, ray_remote_args: Optional[Dict[str, Any]] = None,
                     concurrency: Optional[int] = None, mode: SaveMode = SaveMode.APPEND) -> None:
        """Write each row's ``column`` (an image array, ``(H, W)`` or ``(H, W, C)`` uint8) as one
        image file in ``file_format`` (any format Pillow writes: ``"png"``, ``"jpeg"``...) into the
        directory ``path``; names end in ``_{block_index:06}_{row_index:06}.{format}`` as in Ray.
        The images appear only once every task has succeeded; ``mode`` as in :meth:`write_parquet`.
        Needs Pillow (extra ``images``).

        Examples:
            >>> import tempfile
            >>> import numpy as np
            >>> tmp = tempfile.TemporaryDirectory()
            >>> images = [{"image": np.full((2, 3, 3), i, dtype=np.uint8)} for i in range(3)]
            >>> streamscope.from_items(images).write_images(tmp.name, column="image")
            >>> sorted(int(r["image"].max()) for r in streamscope.read_images(tmp.name).take_all())
            [0, 1, 2]
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.image_datasink import ImageDatasink

        refuse_unsupported("write_images", arrow_open_stream_args=arrow_open_stream_args)
        sink = ImageDatasink(path, column=column, file_format=file_format, filesystem=filesystem,
                             try_create_dir=try_create_dir, filename_provider=filename_provider, mode=mode)
        self.write_datasink(sink, ray_remote_args=ray_remote_args, concurrency=concurrency)


def _check_picklable(datasink: Any, name: str) -> None:
    """Write tasks get a pickled copy of the datasink: one that cannot be pickled would fail only
    once the run had started (and created the destination), so it is refused here."""
    is_local = getattr(datasink, "is_process_local", None)
    if callable(is_local) and is_local():
        return  # a process-local destination (memory://) is written in this process, unpickled
    try:
        cloudpickle.dumps(datasink)
    except Exception as exc:
        raise TypeError(f"{name}: the datasink cannot be pickled for its write tasks ({exc}); pass arguments "
                        "that cannot be pickled through the *_args_fn callable instead") from exc


def _split_write_remote_args(writer: str, ray_remote_args: Any) -> tuple[Any, dict]:
    """``ray_remote_args`` of a write: the sizing keys (checked by ``write_resources``) and the
    other ``ray.remote`` options, checked now by the maps' rules and carried with the write's
    tasks (so the plan-time runtime check and the Ray runtime see them as a map's)."""
    if not isinstance(ray_remote_args, dict):
        return ray_remote_args, {}
    sizing = {k: v for k, v in ray_remote_args.items() if k in RESOURCE_KEYS}
    remote = {k: v for k, v in ray_remote_args.items() if k not in RESOURCE_KEYS}
    validate_remote_args(writer, remote, on=TASKS)
    # checked before on_write_start touches the destination (the run's own check comes later)
    why = runtime_refusal(writer, remote, DataContext.get_current().runtime or "local")
    if why is not None:
        raise ValueError(why)
    return sizing, remote
