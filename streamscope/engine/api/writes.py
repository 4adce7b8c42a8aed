"""Write methods of Dataset: each builds a datasink and runs a two-phase write.

Tasks write temporary files; only when every task has succeeded are they renamed to their final
names. On failure or cancel the temporaries are deleted and the error re-raised, so a failed
write never leaves output that looks complete.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.logical import operators as L
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.transforms.write import read_write_results

# Each datasink is imported inside its write_* method on purpose: the file sinks import fsspec
# (through io/paths.py), about 0.25 s that ``import streamscope`` must not pay. They import
# nothing from api/, so these lazy imports are in no cycle.


class WriteMixin:
    """Dataset methods that write the rows out: one datasink per format, two-phase commits."""

    def write_datasink(self, datasink: Any, *, ray_remote_args: Optional[dict] = None, concurrency: Optional[int] = None) -> None:
        """Write the rows with a :class:`Datasink`: ``on_write_start`` in the driver, ``write`` in each
        task, then ``on_write_complete`` with every task's result once all succeeded (or
        ``on_write_failed`` when the run failed or was cancelled, so nothing half-written is left).

        Examples:
            >>> from streamscope.engine.io.datasink import WriteResult
            >>> class RowCounter(streamscope.Datasink):
            ...     def write(self, blocks, task_index):
            ...         return WriteResult(num_rows=sum(block.num_rows for block in blocks))
            ...     def on_write_complete(self, results):
            ...         print("rows written:", sum(result.num_rows for result in results))
            ...         return []
            >>> streamscope.range(10).write_datasink(RowCounter())
            rows written: 10
        """
        datasink.on_write_start()
        plan = LogicalPlan(L.Write(self._plan.dag, datasink, concurrency=concurrency))
        results: list = []
        try:
            for table in self._iter_tables(plan):
                results.extend(read_write_results(table))
        except BaseException as exc:
            datasink.on_write_failed(results, exc)
            raise
        datasink.on_write_complete(results)

    def write_parquet(self, path: str, *, filesystem=None, try_create_dir: bool = True, **kwargs: Any) -> None:
        """Write the rows as Parquet files into the directory ``path`` (local or any fsspec URL),
        one or more files per task; the files appear under their final names only when every task
        has succeeded.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range(10).write_parquet(tmp.name)
            >>> streamscope.read_parquet(tmp.name).count()
            10
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.parquet_datasink import ParquetDatasink

        self.write_datasink(ParquetDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, **_sink_kwargs(kwargs)))

    def write_csv(self, path: str, *, filesystem=None, try_create_dir: bool = True, **kwargs: Any) -> None:
        """Write the rows as CSV files (with a header line) into the directory ``path``.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.from_items([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).write_csv(tmp.name)
            >>> streamscope.read_csv(tmp.name).sort("a").take()
            [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.csv_datasink import CSVDatasink

        self.write_datasink(CSVDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, **_sink_kwargs(kwargs)))

    def write_json(self, path: str, *, filesystem=None, try_create_dir: bool = True, **kwargs: Any) -> None:
        """Write the rows as JSON Lines files (one object per line) into the directory ``path``.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range(3).write_json(tmp.name)
            >>> streamscope.read_json(tmp.name, lines=True).sort("id").take()
            [{'id': 0}, {'id': 1}, {'id': 2}]
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.json_datasink import JSONDatasink

        self.write_datasink(JSONDatasink(path, filesystem=filesystem, try_create_dir=try_create_dir, **_sink_kwargs(kwargs)))

    def write_numpy(self, path: str, *, column: str, filesystem=None, try_create_dir: bool = True, **kwargs: Any) -> None:
        """Write ``column`` as ``.npy`` files (one array per file, rows along the first axis) into the
        directory ``path``.

        Examples:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> streamscope.range_tensor(4, shape=(2,)).write_numpy(tmp.name, column="data")
            >>> streamscope.read_numpy(tmp.name).count()
            4
            >>> tmp.cleanup()
        """
        from streamscope.engine.io.numpy_datasink import NumpyDatasink

        self.write_datasink(NumpyDatasink(path, column=column, filesystem=filesystem, try_create_dir=try_create_dir, **_sink_kwargs(kwargs)))


_IGNORED = ("ray_remote_args", "concurrency", "arrow_open_stream_args", "min_rows_per_file", "num_rows_per_file", "mode")


def _sink_kwargs(kwargs: dict) -> dict:
    """Drop Ray-cluster-only arguments the local sinks do not use."""
    return {k: v for k, v in kwargs.items() if k not in _IGNORED}
