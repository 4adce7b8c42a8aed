"""Shared machinery of the file formats: paths, partitions, file filters, shuffling, task splitting.

Why a base class: every file format resolves paths the same way (on the driver, failing early),
drops files by ``partition_filter`` and ``file_extensions``, reads Hive or directory partition
values from the paths (added to every row as columns), prunes whole files with a filter on those
columns, shuffles the file order per execution (``shuffle=``), splits files into about
``parallelism`` tasks balanced by bytes, adds the ``path`` column for ``include_paths=True``,
narrows columns and stops at a row limit the same way, and turns any failure into a
:class:`DataSourceError` naming the file. A format only says how to turn one open file into
blocks (:meth:`FileBasedDatasource._read_stream`); so does a user's subclass (Ray Data's hook).

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
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.io.datasource import Datasource, ReadTask
from streamscope.engine.io.file_partitions import (
    add_partition_columns, join_and, partition_schema, prune_files, split_predicate,
)
from streamscope.engine.io.file_shuffle import check_shuffle, shuffled_order
from streamscope.engine.io.object_stores import describe_store_failure
from streamscope.engine.io.partitioning import Partitioning, bound_filter, parser_for
from streamscope.engine.io.paths import display_path, file_sizes, is_process_local, resolve_paths, to_arrow_filesystem
from streamscope.engine.io.retry import iterate_with_retry

_DEFAULT = object()

FILE_ARGS = ("filesystem", "schema", "open_stream_args", "meta_provider", "partition_filter", "partitioning",
             "ignore_missing_paths", "shuffle", "include_paths", "file_extensions", "skip_paths")
"""The constructor arguments :class:`FileBasedDatasource` takes (format subclasses pass them on)."""


def split_file_args(kwargs: dict) -> tuple[dict, dict]:
    """``(the FileBasedDatasource arguments in kwargs, the rest)``."""
    return {k: v for k, v in kwargs.items() if k in FILE_ARGS}, {k: v for k, v in kwargs.items() if k not in FILE_ARGS}


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


class _DefaultMetaProvider:
    """Stands for Ray's ``DefaultFileMetadataProvider()`` default: file sizes from the filesystem."""

    def __repr__(self) -> str:
        return "DefaultFileMetadataProvider()"


DEFAULT_META_PROVIDER = _DefaultMetaProvider()


class FileBasedDatasource(Datasource):
    """Base of file readers: subclass it, implement ``_read_stream(self, f, path)`` (yield
    pyarrow Tables from one open binary file) and pass an instance to ``read_datasource``; paths,
    ``partitioning``, ``partition_filter``, ``file_extensions``, ``shuffle``, ``include_paths``
    and filters on partition columns then work as in the built-in readers.

    Examples:
        >>> import os, tempfile
        >>> import pyarrow as pa
        >>> class LineCount(streamscope.datasource.FileBasedDatasource):
        ...     def _read_stream(self, f, path):
        ...         yield pa.table({"lines": [f.read().count(b"\\n")]})
        >>> tmp = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(tmp.name, "lang=en"))
        >>> with open(os.path.join(tmp.name, "lang=en", "a.txt"), "w") as f:
        ...     _ = f.write("one\\ntwo\\n")
        >>> src = LineCount(tmp.name, partitioning=streamscope.datasource.Partitioning("hive"))
        >>> streamscope.read_datasource(src).take()
        [{'lines': 2, 'lang': 'en'}]
        >>> tmp.cleanup()
    """

    _FILE_EXTENSIONS: Optional[list[str]] = None
    _OPEN_COMPRESSION: Optional[str] = None
    """``"infer"`` for text formats, so ``.gz`` / ``.bz2`` files decompress transparently."""

    def __init__(
        self,
        paths: Any,
        *,
        filesystem: Any = None,
        schema: Any = None,
        open_stream_args: Optional[dict] = None,
        meta_provider: Any = DEFAULT_META_PROVIDER,
        partition_filter: Any = None,
        partitioning: Optional[Partitioning] = None,
        ignore_missing_paths: bool = False,
        shuffle: Any = None,
        include_paths: bool = False,
        file_extensions: Any = None,
        skip_paths: Any = None,
    ):
        reader = self.get_name()
        if schema is not None:
            raise ValueError(f"{reader}: schema= is not supported by FileBasedDatasource; override schema() in "
                             "your subclass to report it, or cast in _read_stream")
        if open_stream_args:
            raise ValueError(f"{reader}: open_stream_args are not passed to the filesystem yet; configure an fsspec "
                             "filesystem with them and pass it as filesystem=")
        if meta_provider is not DEFAULT_META_PROVIDER and meta_provider is not None:
            raise ValueError(f"{reader}: a custom meta_provider is not supported; streamscope reads file sizes "
                             "itself. Leave meta_provider out")
        if partitioning is not None and not isinstance(partitioning, Partitioning):
            raise TypeError(f"{reader}: partitioning must be a streamscope.datasource.Partitioning or None, got "
                            f"{partitioning!r} (e.g. Partitioning('hive'))")
        check_shuffle(shuffle, reader)
        exts = self._FILE_EXTENSIONS if file_extensions is _DEFAULT else file_extensions
        if exts is not None and (isinstance(exts, str) or not all(isinstance(e, str) for e in exts)):
            raise TypeError(f"{reader}: file_extensions must be a list of str (e.g. ['csv', 'csv.gz']), got {exts!r}")
        resolved = resolve_paths(paths, filesystem=filesystem, file_extensions=None,
                                 ignore_missing_paths=ignore_missing_paths)
        self._fs = resolved.filesystem
        listed = list(resolved.paths)
        if not listed:
            raise DataSourceError(f"{reader}: no files found under {paths!r} (names starting with '_' or '.' are "
                                  "skipped" + ("; missing paths were skipped: ignore_missing_paths=True)"
                                               if ignore_missing_paths else ")"))
        if skip_paths:
            skip = {self._fs._strip_protocol(p) for p in ([skip_paths] if isinstance(skip_paths, str) else skip_paths)}
            listed = [p for p in listed if p not in skip]
            if not listed:
                raise DataSourceError(f"{reader}: skip_paths skipped every file under {paths!r}")
        total_listed = len(listed)
        self._partition_filtered = 0
        if partition_filter is not None:
            listed = bound_filter(partition_filter, self._fs._strip_protocol)(listed)
            self._partition_filtered = total_listed - len(listed)
            if not listed:
                raise DataSourceError(f"{reader}: partition_filter kept none of the {total_listed} files under "
                                      f"{paths!r}; check the filter function and its partitioning style")
        if exts is not None:
            before = listed
            listed = [p for p in listed if _has_extension(p, exts)]
            if not listed:
                example = f", e.g. {display_path(self._fs, before[0])!r}" if before else ""
                raise DataSourceError(f"{reader}: no files with extensions {list(exts)} under {paths!r} "
                                      f"(found {len(before)} other files{example}); pass file_extensions=None "
                                      "to read them all")
        self._paths: list[str] = listed
        self._partitioning = partitioning
        parser = parser_for(partitioning, self._fs._strip_protocol) if partitioning is not None else None
        try:
            self._partition_values: list[dict[str, Any]] = [parser(p) if parser else {} for p in listed]
        except ValueError as exc:
            raise ValueError(f"{reader}: {exc}") from None
        self._partition_schema = partition_schema(partitioning, self._partition_values)
        self._shuffle = shuffle
        self._executions = [0]  # shared by pushdown copies: each planned run of this read counts once
        self._include_paths = bool(include_paths)
        self._columns: Optional[list[str]] = None
        self._limit: Optional[int] = None
        self._sizes: Optional[list[Optional[int]]] = None
        self._kept: Optional[list[int]] = None  # indices of files left after partition pruning
        self._pruning: list[str] = []
        self._row_predicate: Optional[Expr] = None  # applied to each block after partition columns are added

    # ---- metadata --------------------------------------------------------------------------
    def is_process_local(self) -> bool:
        return is_process_local(self._fs)

    def _kept_indices(self) -> list[int]:
        return list(range(len(self._paths))) if self._kept is None else list(self._kept)

    def input_files(self) -> list[str]:
        return [display_path(self._fs, self._paths[i]) for i in self._kept_indices()]

    def _file_sizes(self) -> list[Optional[int]]:
        if self._sizes is None:
            self._sizes = file_sizes(self._fs, self._paths)
        return self._sizes

    def estimate_inmemory_data_size(self) -> Optional[int]:
        sizes = self._file_sizes()
        kept = [sizes[i] for i in self._kept_indices()]
        if any(s is None for s in kept):
            return None
        return int(sum(kept))  # type: ignore[arg-type]

    def _schema_with_file_columns(self, file_schema: pa.Schema) -> pa.Schema:
        """``file_schema`` (what every file yields) with the partition and ``path`` columns the
        read adds, narrowed to the projection: the schema of formats whose files all yield the
        same columns (text, binary), known without reading."""
        schema = file_schema
        for field in self._partition_schema:
            if field.name not in schema.names:
                schema = schema.append(field)
        if self._include_paths and "path" not in schema.names:
            schema = schema.append(pa.field("path", pa.string()))
        if self._columns is not None:
            missing = [c for c in self._columns if c not in schema.names]
            if missing:
                raise DataSourceError(f"{self.get_name()}: columns {missing} not found; available columns: "
                                      f"{schema.names}")
            schema = pa.schema([schema.field(c) for c in self._columns])
        return schema

    def _synthesized_columns(self) -> list[str]:
        """Columns the read adds to the files' own: partition fields, then ``path``."""
        return list(self._partition_schema.names) + (["path"] if self._include_paths else [])

    def _file_read_columns(self) -> Optional[list[str]]:
        """Columns to read from the files themselves (None: all): the projection and what a
        row filter needs, without the columns the read adds."""
        if self._columns is None:
            return None
        synthesized = set(self._synthesized_columns())
        wanted = list(self._columns) + (self._row_predicate.columns() if self._row_predicate is not None else [])
        return [c for c in dict.fromkeys(wanted) if c not in synthesized]

    # ---- tasks ------------------------------------------------------------------------------
    def _run_order(self) -> list[int]:
        """The kept files' indices in the order this execution reads them (``shuffle=``)."""
        kept = self._kept_indices()
        execution = self._executions[0]
        self._executions[0] += 1
        return [kept[i] for i in shuffled_order(len(kept), self._shuffle, execution)]

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        sizes = self._file_sizes()
        order = self._run_order()
        tasks = []
        for group in split_evenly(order, [float(sizes[i] or 1) for i in order], parallelism):
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
        """Worker side: read files in order, adding partition and path columns, filtering,
        projecting and stopping at the limit."""
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
            raise DataSourceError(  # an object store's endpoint is named too
                f"{self.get_name()}: failed to read {shown!r}: {describe_store_failure(self._fs, exc)}"
                + (f" ({note})" if note else "")
            ) from exc

    def _read_file(self, path: str) -> Iterator[pa.Table]:
        if type(self)._open_input_source is not FileBasedDatasource._open_input_source:
            # a subclass opening files itself (Ray's hook) gets a pyarrow filesystem, as in Ray
            with self._open_input_source(to_arrow_filesystem(self._fs), path) as f:
                yield from self._read_stream(f, path)
            return
        with self._fs.open(path, "rb", compression=self._OPEN_COMPRESSION) as f:
            yield from self._read_stream(f, path)

    def _open_input_source(self, filesystem: Any, path: str, **open_args: Any) -> Any:
        """Open ``path`` on ``filesystem`` (a ``pyarrow.fs.FileSystem``) for :meth:`_read_stream`.
        Override it (as in Ray Data) for random access, e.g. ``filesystem.open_input_file(path)``;
        by default files are opened through fsspec, decompressed by extension for text formats.

        Examples:
            >>> class Sized(streamscope.datasource.FileBasedDatasource):
            ...     def _open_input_source(self, filesystem, path, **open_args):
            ...         return filesystem.open_input_file(path)
        """
        return filesystem.open_input_stream(path, **open_args)

    def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
        """Turn one open binary file into blocks (pyarrow Tables). Subclasses implement this.

        Examples:
            >>> import pyarrow as pa
            >>> class Sizes(streamscope.datasource.FileBasedDatasource):
            ...     def _read_stream(self, f, path):
            ...         yield pa.table({"size": [len(f.read())]})
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _read_stream(self, f, path)")

    def _add_file_columns(self, table: pa.Table, path: str) -> pa.Table:
        """The partition columns of ``path`` and, with ``include_paths``, the ``path`` column."""
        if len(self._partition_schema):
            index = self._path_index(path)
            shown = display_path(self._fs, path)
            table = add_partition_columns(table, self._partition_values[index], self._partition_schema, shown)
        if self._include_paths and "path" not in table.column_names:
            table = table.append_column("path", pa.array([display_path(self._fs, path)] * table.num_rows, pa.string()))
        return table

    def _path_index(self, path: str) -> int:
        index = getattr(self, "_index_of", None)
        if index is None:
            index = self._index_of = {p: i for i, p in enumerate(self._paths)}
        return index[path]

    def _filter_and_project(self, table: pa.Table, where: str) -> pa.Table:
        if self._row_predicate is not None:
            table = self._row_predicate.filter(table)
        if self._columns is not None:
            missing = [c for c in self._columns if c not in table.column_names]
            if missing:
                raise DataSourceError(
                    f"{self.get_name()}: columns {missing} not found in {where!r}; available columns: {table.column_names}"
                )
            table = table.select(self._columns)
        return table

    def _finish_block(self, table: pa.Table, path: str) -> pa.Table:
        shown = display_path(self._fs, path)
        try:
            table = self._add_file_columns(table, path)
            return self._filter_and_project(table, shown)
        except DataSourceError:
            raise
        except (ValueError, KeyError, pa.ArrowException) as exc:
            raise DataSourceError(f"{self.get_name()}: {shown!r}: {exc}") from exc

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

    def supports_predicate_pushdown(self) -> bool:
        """A filter over partition columns prunes files; the rest of it is applied to the rows
        as they are read (formats with a scan filter, Parquet, take more of it)."""
        return len(self._partition_schema) > 0

    def _push_predicate(self, expr: Expr) -> None:
        """Take ``expr`` into this (already copied) datasource: its conjuncts over partition
        columns only drop files now, the others go to :meth:`_push_rest`."""
        on_partitions, rest = split_predicate(expr, self._partition_schema.names)
        if on_partitions is not None:
            before = self._kept_indices()
            self._kept = prune_files(on_partitions, before, self._partition_values, self._partition_schema,
                                     self.get_name())
            self._pruning = self._pruning + [
                f"{len(before) - len(self._kept)} of {len(before)} files pruned by {on_partitions}"]
        if rest:
            self._push_rest(rest)

    def _push_rest(self, parts: list[Expr]) -> None:
        """Conjuncts that need the rows: applied to each block once its partition and path
        columns are added (formats with a scan filter take what they can first)."""
        existing = [self._row_predicate] if self._row_predicate is not None else []
        self._row_predicate = join_and(existing + list(parts))

    def apply_predicate(self, expr: Any) -> "FileBasedDatasource":
        new = self._copy()
        new._push_predicate(as_expr(expr))
        return new

    def pushdown_summary(self) -> list[str]:
        out = []
        if self._partition_filtered:
            out.append(f"partition_filter dropped {self._partition_filtered} files")
        out.extend(self._pruning)
        if self._columns is not None:
            out.append(f"columns={self._columns}")
        if self._row_predicate is not None:
            out.append(f"row filter={self._row_predicate}")
        if self._limit is not None:
            out.append(f"limit={self._limit} per task")
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._kept_indices())} files)"


def _has_extension(path: str, extensions: Sequence[str]) -> bool:
    """Whether ``path`` ends in one of ``extensions`` (case-insensitive, leading dot optional,
    a URL query ignored), as Ray Data matches ``file_extensions``."""
    name = path.split("?", 1)[0].lower()
    return any(name.endswith("." + ext.lower().lstrip(".")) for ext in extensions)
