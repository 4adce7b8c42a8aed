"""Shared machinery of the file formats: path resolution, task splitting, errors, pushdowns.

Why a base class: every file format resolves paths the same way (on the driver, failing early),
splits files into about ``parallelism`` tasks balanced by bytes, adds the ``path`` column for
``include_paths=True``, narrows columns and stops at a row limit the same way, and turns any
failure into a :class:`DataSourceError` naming the file. A format only says how to turn one open
file into blocks (:meth:`FileBasedDatasource._read_stream`).

The datasource itself is what a ReadTask carries to a worker (``functools.partial`` of a
module-level function), so it must hold only picklable state: the fsspec filesystem, paths and
options. No open files, no locks.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.paths import display_path, file_sizes, is_process_local, resolve_paths
from streamscope.engine.io.retry import iterate_with_retry

_DEFAULT = object()


def split_evenly(items: Sequence[Any], weights: Sequence[float], n: int) -> list[list[Any]]:
    """Split ``items`` into at most ``n`` contiguous groups of roughly equal total weight."""
    n = max(1, min(int(n), len(items)))
    if n == 1:
        return [list(items)] if items else []
    total = float(sum(weights)) or float(len(items))
    weights = list(weights) if sum(weights) else [1.0] * len(items)
    groups: list[list[Any]] = []
    current: list[Any] = []
    acc = 0.0
    for i, (item, w) in enumerate(zip(items, weights)):
        current.append(item)
        acc += w
        remaining_items = len(items) - i - 1
        remaining_groups = n - len(groups) - 1
        target = total * (len(groups) + 1) / n
        if remaining_groups > 0 and (acc >= target or remaining_items == remaining_groups):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _read_task_fn(datasource: "FileBasedDatasource", paths: tuple[str, ...]) -> Iterator[pa.Table]:
    return datasource._read_paths(paths)


class FileBasedDatasource(Datasource):
    """Base of the file readers. Subclasses set ``_FILE_EXTENSIONS`` and ``_read_stream``."""

    _FILE_EXTENSIONS: Optional[list[str]] = None
    _OPEN_COMPRESSION: Optional[str] = None
    """``"infer"`` for text formats, so ``.gz`` / ``.bz2`` files decompress transparently."""

    def __init__(
        self,
        paths: Any,
        *,
        filesystem: Any = None,
        include_paths: bool = False,
        ignore_missing_paths: bool = False,
        file_extensions: Any = _DEFAULT,
        shuffle: Any = None,
    ):
        exts = self._FILE_EXTENSIONS if file_extensions is _DEFAULT else file_extensions
        resolved = resolve_paths(
            paths, filesystem=filesystem, file_extensions=exts, ignore_missing_paths=ignore_missing_paths
        )
        self._fs = resolved.filesystem
        self._paths: list[str] = list(resolved.paths)
        if shuffle == "files" or (shuffle is not None and hasattr(shuffle, "seed")):
            import random

            random.Random(getattr(shuffle, "seed", None)).shuffle(self._paths)
        elif shuffle is not None:
            raise ValueError(f"shuffle must be None or 'files', got {shuffle!r}")
        self._include_paths = bool(include_paths)
        self._columns: Optional[list[str]] = None
        self._limit: Optional[int] = None
        self._sizes: Optional[list[Optional[int]]] = None

    # ---- metadata --------------------------------------------------------------------------
    def is_process_local(self) -> bool:
        return is_process_local(self._fs)

    def input_files(self) -> list[str]:
        return [display_path(self._fs, p) for p in self._paths]

    def _file_sizes(self) -> list[Optional[int]]:
        if self._sizes is None:
            self._sizes = file_sizes(self._fs, self._paths)
        return self._sizes

    def estimate_inmemory_data_size(self) -> Optional[int]:
        sizes = self._file_sizes()
        if not sizes or any(s is None for s in sizes):
            return None
        return int(sum(sizes))  # type: ignore[arg-type]

    # ---- tasks ------------------------------------------------------------------------------
    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        sizes = self._file_sizes()
        weights = [float(s or 1) for s in sizes]
        indexed = list(range(len(self._paths)))
        tasks = []
        for group in split_evenly(indexed, weights, parallelism):
            paths = tuple(self._paths[i] for i in group)
            known = [sizes[i] for i in group]
            tasks.append(
                ReadTask(
                    read_fn=functools.partial(_read_task_fn, self, paths),
                    num_rows=None,
                    size_bytes=None if any(s is None for s in known) else int(sum(known)),  # type: ignore[arg-type]
                    input_files=tuple(display_path(self._fs, p) for p in paths),
                )
            )
        return tasks

    def _read_paths(self, paths: Iterable[str]) -> Iterator[pa.Table]:
        """Worker side: read files in order, applying include_paths, projection and limit."""
        remaining = self._limit
        for path in paths:
            if remaining is not None and remaining <= 0:
                return
            for table in self._read_file_checked(path):
                table = self._finish_block(table, path)
                if remaining is not None:
                    if table.num_rows > remaining:
                        table = table.slice(0, remaining)
                    remaining -= table.num_rows
                if table.num_rows or table.num_columns:
                    yield table
                if remaining is not None and remaining <= 0:
                    return

    def _read_file_checked(self, path: str, make_iter: Any = None) -> Iterator[Any]:
        """Read one file (``make_iter()`` or :meth:`_read_file`) with retries of transient
        errors; any other failure becomes a DataSourceError naming the file."""
        shown = display_path(self._fs, path)
        make_iter = make_iter or (lambda: self._read_file(path))
        try:
            yield from iterate_with_retry(make_iter, f"reading {shown}")
        except DataSourceError:
            raise
        except FileNotFoundError as exc:
            raise DataSourceError(f"{self.get_name()}: file not found: {shown!r}") from exc
        except Exception as exc:
            note = getattr(exc, "_streamscope_retry_note", "")  # io/retry.py: the attempts made
            raise DataSourceError(
                f"{self.get_name()}: failed to read {shown!r}: {type(exc).__name__}: {exc}" + (f" ({note})" if note else "")
            ) from exc

    def _read_file(self, path: str) -> Iterator[pa.Table]:
        with self._fs.open(path, "rb", compression=self._OPEN_COMPRESSION) as f:
            yield from self._read_stream(f, path)

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        """Turn one open binary file into blocks. Subclasses implement this."""
        raise NotImplementedError

    def _finish_block(self, table: pa.Table, path: str) -> pa.Table:
        if self._include_paths and "path" not in table.column_names:
            table = table.append_column("path", pa.array([display_path(self._fs, path)] * table.num_rows, pa.string()))
        if self._columns is not None:
            missing = [c for c in self._columns if c not in table.column_names]
            if missing:
                raise DataSourceError(
                    f"{self.get_name()}: columns {missing} not found in {display_path(self._fs, path)!r}; "
                    f"available columns: {table.column_names}"
                )
            table = table.select(self._columns)
        return table

    # ---- pushdowns ---------------------------------------------------------------------------
    def _copy(self) -> "FileBasedDatasource":
        return copy.copy(self)

    def supports_projection_pushdown(self) -> bool:
        return True

    def apply_projection(self, columns: list[str]) -> "FileBasedDatasource":
        new = self._copy()
        new._columns = list(columns)
        return new

    def supports_limit_pushdown(self) -> bool:
        return True

    def apply_limit(self, limit: int) -> "FileBasedDatasource":
        new = self._copy()
        new._limit = int(limit) if new._limit is None else min(new._limit, int(limit))
        return new

    def pushdown_summary(self) -> list[str]:
        out = []
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._limit is not None:
            out.append(f"limit={self._limit} per task")
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._paths)} files)"
