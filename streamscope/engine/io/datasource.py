"""Datasource and ReadTask: how the engine learns what to read and splits it into tasks.

Why this shape: planning must not read data. A datasource answers questions from metadata alone
(schema from a Parquet footer, row counts, file lists, size estimates) and hands the executor a
list of picklable :class:`ReadTask` objects, each of which reads its share inside a worker. The
optimizer narrows a datasource (columns, a predicate, a row limit) by asking for a narrowed copy,
so pushdowns never mutate a plan someone else holds.

The interfaces are Ray Data 2.60's, so a datasource written for ``ray.data`` runs unchanged:
``get_read_tasks(parallelism, per_task_row_limit=None, data_context=None)`` returns
``ReadTask(read_fn, BlockMetadata(...), schema=None, per_task_row_limit=None)`` objects. A
datasource that does not override ``num_rows()``/``schema()`` (streamscope's extensions) is
described by its read tasks' metadata, as Ray does: ``count()`` sums their ``num_rows`` when every
task knows it and reads otherwise.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

import pyarrow as pa

from streamscope.engine.block_metadata import BlockMetadata

if TYPE_CHECKING:
    from streamscope.engine.context import DataContext


class ReadTask:
    """A picklable unit of reading: calling it yields blocks (pyarrow Tables; a ``read_fn`` may
    also return pandas DataFrames or Arrow RecordBatches, converted as they come).

    ``metadata`` (a :class:`~streamscope.block.BlockMetadata`) describes everything the task will
    yield, known before reading: its ``num_rows`` lets ``count()`` answer without reading.
    ``schema`` is the task's output schema when known. ``per_task_row_limit`` stops the task
    after that many rows (the last block is sliced). As a streamscope extension, ``num_rows=``,
    ``size_bytes=`` and ``input_files=`` keywords may stand in for ``metadata``.

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.block import BlockMetadata
        >>> task = streamscope.ReadTask(lambda: [pa.table({"a": [1, 2]}), pa.table({"a": [3]})],
        ...                             BlockMetadata(num_rows=3, size_bytes=24, input_files=None, exec_stats=None))
        >>> task.metadata.num_rows, [block.num_rows for block in task()]
        (3, [2, 1])
        >>> limited = streamscope.ReadTask(task.read_fn, task.metadata, per_task_row_limit=2)
        >>> [block.num_rows for block in limited()]
        [2]
    """

    def __init__(self, read_fn: Callable[[], Iterable[Any]], metadata: Optional[BlockMetadata] = None,
                 schema: Any = None, per_task_row_limit: Optional[int] = None, *,
                 num_rows: Optional[int] = None, size_bytes: Optional[int] = None,
                 input_files: Optional[Iterable[str]] = None):
        if not callable(read_fn):
            raise TypeError(f"ReadTask: read_fn must be a callable returning an iterable of blocks, got {read_fn!r}")
        legacy = {k: v for k, v in (("num_rows", num_rows), ("size_bytes", size_bytes), ("input_files", input_files))
                  if v is not None}
        if metadata is None:
            files = legacy.get("input_files")
            metadata = BlockMetadata(num_rows=num_rows, size_bytes=size_bytes, exec_stats=None,
                                     input_files=tuple(files) if files is not None else None)
        elif legacy:
            raise ValueError(f"ReadTask: pass either metadata or {', '.join(sorted(legacy))}, not both "
                             "(BlockMetadata holds num_rows, size_bytes and input_files)")
        self._metadata = _as_public_metadata(metadata)
        self._schema = _check_schema(schema)
        if per_task_row_limit is not None and (not isinstance(per_task_row_limit, int)
                                               or isinstance(per_task_row_limit, bool) or per_task_row_limit < 0):
            raise ValueError(f"ReadTask: per_task_row_limit must be a non-negative int or None, got {per_task_row_limit!r}")
        self._read_fn = read_fn
        self._per_task_row_limit = per_task_row_limit
        self._source_name = "ReadTask"  # the planner sets the read operator's name, for errors

    @property
    def metadata(self) -> BlockMetadata:
        """What the task will yield, known before reading (rows, bytes, input files).

        Examples:
            >>> streamscope.ReadTask(lambda: [], num_rows=0).metadata.num_rows
            0
        """
        return self._metadata

    @property
    def schema(self) -> Any:
        """The schema the task's blocks will have, when the datasource knows it (else None).

        Examples:
            >>> import pyarrow as pa
            >>> streamscope.ReadTask(lambda: [], schema=pa.schema([("a", pa.int64())])).schema
            a: int64
        """
        return self._schema

    @property
    def read_fn(self) -> Callable[[], Iterable[Any]]:
        """The function that reads; runs inside a worker.

        Examples:
            >>> fn = lambda: []
            >>> streamscope.ReadTask(fn).read_fn is fn
            True
        """
        return self._read_fn

    @property
    def per_task_row_limit(self) -> Optional[int]:
        """Rows after which the task stops (None: no limit).

        Examples:
            >>> streamscope.ReadTask(lambda: [], per_task_row_limit=5).per_task_row_limit
            5
        """
        return self._per_task_row_limit

    # streamscope's planner reads these three (short names for the metadata's fields)
    @property
    def num_rows(self) -> Optional[int]:
        """``metadata.num_rows``.

        Examples:
            >>> streamscope.ReadTask(lambda: [], num_rows=4).num_rows
            4
        """
        return self._metadata.num_rows

    @property
    def size_bytes(self) -> Optional[int]:
        """``metadata.size_bytes``.

        Examples:
            >>> streamscope.ReadTask(lambda: [], size_bytes=64).size_bytes
            64
        """
        return self._metadata.size_bytes

    @property
    def input_files(self) -> tuple[str, ...]:
        """``metadata.input_files`` (an empty tuple when unknown).

        Examples:
            >>> streamscope.ReadTask(lambda: [], input_files=["a.csv"]).input_files
            ('a.csv',)
        """
        return self._metadata.input_files or ()

    def __call__(self) -> Iterator[pa.Table]:
        result = self._read_fn()
        if _is_single_block(result) or not hasattr(result, "__iter__") or isinstance(result, (str, bytes, dict)):
            raise TypeError(
                f"{self._source_name}: read_fn must return an iterable of blocks, got a {type(result).__name__}; "
                "return [block] instead of block (a block is a pyarrow.Table or a pandas.DataFrame)"
            )
        remaining = self._per_task_row_limit
        for item in result:
            if remaining is not None and remaining <= 0:
                return
            block = self._as_block(item)
            if remaining is not None:
                if block.num_rows > remaining:
                    block = block.slice(0, remaining)
                remaining -= block.num_rows
            yield block

    def _as_block(self, item: Any) -> pa.Table:
        if isinstance(item, pa.Table):
            return item
        if isinstance(item, pa.RecordBatch):
            return pa.Table.from_batches([item])
        if _is_pandas_frame(item):
            return pa.Table.from_pandas(item, preserve_index=False)
        hint = " (wrap a dict of columns with pyarrow.table(...))" if isinstance(item, dict) else ""
        raise TypeError(f"{self._source_name}: read_fn yielded a {type(item).__name__}, which is not a block; "
                        f"yield pyarrow Tables or pandas DataFrames{hint}")

    def __repr__(self) -> str:
        return f"ReadTask(read_fn={self._read_fn!r}, metadata={self._metadata!r})"


class Datasource:
    """Base class of every reader; subclass it and pass an instance to ``read_datasource``.

    Implement ``get_read_tasks`` (and, as Ray Data asks, ``estimate_inmemory_data_size``):
    planning asks for read tasks and their metadata, never for rows; each :class:`ReadTask` reads
    its share inside a worker. ``count()`` and ``schema()`` are answered from the read tasks'
    metadata when every task knows them. streamscope's own datasources also override
    ``num_rows``/``schema``/``input_files`` and the pushdown methods.

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.block import BlockMetadata
        >>> class CountdownDatasource(streamscope.Datasource):
        ...     def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
        ...         meta = BlockMetadata(num_rows=3, size_bytes=24, input_files=None, exec_stats=None)
        ...         return [streamscope.ReadTask(lambda: [pa.table({"n": [3, 2, 1]})], meta)]
        ...     def estimate_inmemory_data_size(self):
        ...         return 24
        >>> ds = streamscope.read_datasource(CountdownDatasource())
        >>> ds.count(), ds.take()
        (3, [{'n': 3}, {'n': 2}, {'n': 1}])
    """

    def get_name(self) -> str:
        """Name of the datasource: the class name less a ``Datasource`` suffix (the read
        operator is called ``Read`` + this name, e.g. ``ReadCountdown``).

        Examples:
            >>> class MongoDatasource(streamscope.Datasource):
            ...     pass
            >>> MongoDatasource().get_name()
            'Mongo'
        """
        name = type(self).__name__
        return name[: -len("Datasource")] if name.endswith("Datasource") and name != "Datasource" else name

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Optional["DataContext"] = None) -> list[ReadTask]:
        """Split the read into about ``parallelism`` tasks (more or fewer when the data dictates).
        ``per_task_row_limit``, when given, is the most rows any task needs to yield (pass it on
        to each ``ReadTask``); ``data_context`` is the run's settings.

        Examples:
            >>> from streamscope.engine.io.range_datasource import RangeDatasource
            >>> [task.metadata.num_rows for task in RangeDatasource(10).get_read_tasks(2)]
            [5, 5]
        """
        raise NotImplementedError(f"{type(self).__name__} must implement get_read_tasks(parallelism)")

    def estimate_inmemory_data_size(self) -> Optional[int]:
        """Bytes the data will take in memory once read, or None when unknown (sizes the read).

        Examples:
            >>> streamscope.Datasource().estimate_inmemory_data_size() is None
            True
        """
        return None

    @property
    def supports_distributed_reads(self) -> bool:
        """False when the read tasks must run on the driver's machine (Ray's meaning). The local
        runtime's workers are all on this machine; on a Ray cluster such a read is refused.

        Examples:
            >>> streamscope.Datasource().supports_distributed_reads
            True
        """
        return True

    def schema(self) -> Optional[pa.Schema]:
        """The output schema when known without reading rows: by default the read tasks' schema
        (when every task gives one and they agree).

        Examples:
            >>> from streamscope.engine.io.range_datasource import RangeDatasource
            >>> RangeDatasource(3).schema()
            id: int64
        """
        return summarize_read_tasks(self).schema

    def num_rows(self) -> Optional[int]:
        """Exact output rows when known without reading: by default the sum of the read tasks'
        ``metadata.num_rows`` when every task knows it (lets ``count()`` skip reading).

        Examples:
            >>> from streamscope.engine.io.range_datasource import RangeDatasource
            >>> RangeDatasource(3).num_rows()
            3
        """
        return summarize_read_tasks(self).num_rows

    def is_process_local(self) -> bool:
        """True when the data lives only in this Python process (``memory://``), so only the
        driver can read it.

        Examples:
            >>> streamscope.Datasource().is_process_local()
            False
        """
        return False

    def input_files(self) -> list[str]:
        """Files the read will open: by default the read tasks' ``metadata.input_files``.

        Examples:
            >>> class OneFileDatasource(streamscope.Datasource):
            ...     def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            ...         return [streamscope.ReadTask(lambda: [], input_files=["a.csv"])]
            >>> OneFileDatasource().input_files()
            ['a.csv']
        """
        return list(summarize_read_tasks(self).input_files)

    # ---- pushdowns (each returns a narrowed copy; the default supports none) -----------------
    def supports_projection_pushdown(self) -> bool:
        """Whether ``apply_projection`` may narrow the columns read.

        Examples:
            >>> streamscope.Datasource().supports_projection_pushdown()
            False
        """
        return False

    def apply_projection(self, columns: list[str]) -> "Datasource":
        """A copy that reads only ``columns``.

        Examples:
            >>> from streamscope.engine.io.range_datasource import RangeDatasource
            >>> RangeDatasource(3).apply_projection(["id"]).schema()
            id: int64
        """
        raise NotImplementedError

    def supports_predicate_pushdown(self) -> bool:
        """Whether ``apply_predicate`` may filter rows while reading.

        Examples:
            >>> streamscope.Datasource().supports_predicate_pushdown()
            False
        """
        return False

    def apply_predicate(self, expr: Any) -> "Datasource":
        """A copy that yields only rows where ``expr`` (a
        :class:`streamscope.engine.expressions.Expr`) holds.

        Examples:
            >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
            >>> tmp = tempfile.TemporaryDirectory()
            >>> pq.write_table(pa.table({"a": [1, 5]}), tmp.name + "/x.parquet")
            >>> source = streamscope.read_parquet(tmp.name)._plan.dag.datasource
            >>> from streamscope.engine.expressions import as_expr
            >>> [b.num_rows for t in source.apply_predicate(as_expr("a > 2")).get_read_tasks(1) for b in t()]
            [1]
            >>> tmp.cleanup()
        """
        raise NotImplementedError

    def supports_limit_pushdown(self) -> bool:
        """Whether ``apply_limit`` may stop the read after a number of rows.

        Examples:
            >>> streamscope.Datasource().supports_limit_pushdown()
            False
        """
        return False

    def apply_limit(self, limit: int) -> "Datasource":
        """A copy that reads at most ``limit`` rows.

        Examples:
            >>> from streamscope.engine.io.range_datasource import RangeDatasource
            >>> RangeDatasource(10).apply_limit(4).num_rows()
            4
        """
        raise NotImplementedError

    def pushdown_summary(self) -> list[str]:
        """Human-readable pushdowns applied so far (shown by ``explain()``).

        Examples:
            >>> streamscope.Datasource().pushdown_summary()
            []
        """
        return []


class ReadTaskSummary:
    """What a datasource's read tasks say together: rows (None unless every task knows them),
    bytes, files and schema (None unless every task gives one and they agree)."""

    def __init__(self, tasks: list[ReadTask]):
        rows = [t.metadata.num_rows for t in tasks]
        sizes = [t.metadata.size_bytes for t in tasks]
        self.num_rows: Optional[int] = sum(rows) if all(r is not None for r in rows) else None  # type: ignore[misc]
        self.size_bytes: Optional[int] = sum(sizes) if all(s is not None for s in sizes) else None  # type: ignore[misc]
        self.input_files: tuple[str, ...] = tuple(dict.fromkeys(f for t in tasks for f in t.input_files))
        schemas = [_arrow_schema(t.schema) for t in tasks]
        first = schemas[0] if schemas else None
        self.schema: Optional[pa.Schema] = first if first is not None and all(
            s is not None and s.equals(first) for s in schemas) else None


def summarize_read_tasks(datasource: Any) -> ReadTaskSummary:
    """The read tasks' metadata, from ``get_read_tasks(1)`` (as Ray Data infers a read's
    metadata); no read task runs. A datasource that cannot plan yet is described as unknown."""
    return ReadTaskSummary(list(plan_read_tasks(datasource, 1)))


def plan_read_tasks(datasource: Any, parallelism: int, per_task_row_limit: Optional[int] = None,
                    data_context: Any = None) -> list[ReadTask]:
    """Call ``get_read_tasks`` with the keywords its signature takes: Ray 2.60's
    ``(parallelism, per_task_row_limit, data_context)``, or just ``parallelism`` for datasources
    written before those existed. Checks that it returned ReadTasks."""
    method = datasource.get_read_tasks
    kwargs: dict[str, Any] = {}
    accepted = _accepted_keywords(type(datasource))
    if "per_task_row_limit" in accepted:
        kwargs["per_task_row_limit"] = per_task_row_limit
    elif per_task_row_limit is not None:
        raise TypeError(f"{type(datasource).__name__}.get_read_tasks takes no per_task_row_limit argument")
    if "data_context" in accepted:
        kwargs["data_context"] = data_context
    tasks = method(parallelism, **kwargs)
    if tasks is None or isinstance(tasks, ReadTask) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"{type(datasource).__name__}.get_read_tasks must return a list of ReadTask, got {tasks!r}")
    tasks = list(tasks)
    for task in tasks:
        if not isinstance(task, ReadTask):
            raise TypeError(f"{type(datasource).__name__}.get_read_tasks returned a {type(task).__name__}; "
                            "it must return ReadTask objects: ReadTask(read_fn, BlockMetadata(...))")
    return tasks


def accepts_per_task_row_limit(datasource: Any) -> bool:
    """Whether ``get_read_tasks`` takes Ray's ``per_task_row_limit`` (a pushed-down limit)."""
    return "per_task_row_limit" in _accepted_keywords(type(datasource))


@functools.lru_cache(maxsize=256)
def _accepted_keywords(cls: type) -> frozenset:
    try:
        params = inspect.signature(cls.get_read_tasks).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return frozenset({"per_task_row_limit", "data_context"})
    return frozenset(p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          inspect.Parameter.KEYWORD_ONLY))


def _own_method(datasource: Any, name: str) -> Optional[Callable[[], Any]]:
    """``datasource.<name>`` when it is a method; None when the datasource stores a value under
    that name. Ray's Datasource has no ``num_rows``/``schema``/``input_files`` methods, so a
    datasource written for Ray may well keep ``self.num_rows = n`` or ``self.schema = ...``."""
    if name in getattr(datasource, "__dict__", {}):
        return None
    fn = getattr(datasource, name, None)
    return fn if callable(fn) else None


def source_num_rows(datasource: Any) -> Optional[int]:
    """Rows the datasource yields, known without reading (None when unknown)."""
    fn = _own_method(datasource, "num_rows")
    return fn() if fn is not None else summarize_read_tasks(datasource).num_rows


def source_schema(datasource: Any) -> Optional[pa.Schema]:
    """The datasource's output schema, known without reading (None when unknown)."""
    fn = _own_method(datasource, "schema")
    return fn() if fn is not None else summarize_read_tasks(datasource).schema


def source_input_files(datasource: Any) -> list[str]:
    """The files the datasource reads, known without reading."""
    fn = _own_method(datasource, "input_files")
    return list(fn()) if fn is not None else list(summarize_read_tasks(datasource).input_files)


def is_process_local_io(datasource: Any) -> bool:
    """True when the data a datasource reads (or a datasink writes) exists only in this
    process (``memory://``)."""
    fn = _own_method(datasource, "is_process_local")
    return bool(fn()) if fn is not None else False


def source_pushdown_summary(datasource: Any) -> list[str]:
    """The pushdowns applied to the datasource, for ``explain()``."""
    fn = _own_method(datasource, "pushdown_summary")
    return list(fn()) if fn is not None else []


def read_operator_name(datasource: Any) -> str:
    """The read operator's name: ``"Read" + get_name()`` as Ray Data names it, except for
    streamscope's own datasources, whose ``get_name`` already gives the full name (``ReadCSV``)."""
    name = datasource.get_name()
    defined_in = getattr(type(datasource).get_name, "__module__", "") or ""
    if defined_in.startswith("streamscope.") and defined_in != __name__ and name.startswith("Read"):
        return name
    return "Read" + name


def _as_public_metadata(metadata: Any) -> BlockMetadata:
    if isinstance(metadata, BlockMetadata):
        return metadata
    if hasattr(metadata, "num_rows") and hasattr(metadata, "size_bytes"):  # the executor's record
        files = getattr(metadata, "input_files", None)
        return BlockMetadata(metadata.num_rows, metadata.size_bytes, None,
                             input_files=tuple(files) if files is not None else None)
    raise TypeError(f"ReadTask: metadata must be a BlockMetadata (from streamscope.block import BlockMetadata), "
                    f"got {type(metadata).__name__}: {metadata!r}")


def _check_schema(schema: Any) -> Any:
    if schema is None or isinstance(schema, pa.Schema) or isinstance(getattr(schema, "base_schema", None), pa.Schema):
        return schema
    raise TypeError(f"ReadTask: schema must be a pyarrow.Schema, a streamscope Schema or None, got {schema!r}")


def _arrow_schema(schema: Any) -> Optional[pa.Schema]:
    if schema is None or isinstance(schema, pa.Schema):
        return schema
    return schema.base_schema


def _is_pandas_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame"


def _is_single_block(obj: Any) -> bool:
    return isinstance(obj, (pa.Table, pa.RecordBatch)) or _is_pandas_frame(obj)
