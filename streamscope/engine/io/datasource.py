"""Datasource and ReadTask: how the engine learns what to read and splits it into tasks.

Why this shape: planning must not read data. A datasource answers questions from metadata alone
(schema from a Parquet footer, row counts, file lists, size estimates) and hands the executor a
list of picklable :class:`ReadTask` objects, each of which reads its share inside a worker. The
optimizer narrows a datasource (columns, a predicate, a row limit) by asking for a narrowed copy,
so pushdowns never mutate a plan someone else holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa


@dataclass
class ReadTask:
    """A picklable unit of reading: calling it yields blocks (pyarrow Tables). ``num_rows`` and
    ``size_bytes``, when known from metadata, let plans answer ``count()`` and size the run
    without reading.

    Examples:
        >>> import pyarrow as pa
        >>> task = streamscope.ReadTask(lambda: [pa.table({"a": [1, 2]}), pa.table({"a": [3]})], num_rows=3)
        >>> [block.num_rows for block in task()]
        [2, 1]
    """

    read_fn: Callable[[], Iterable[pa.Table]]
    num_rows: Optional[int] = None
    """Exact rows this task yields when known from metadata, else None."""
    size_bytes: Optional[int] = None
    """Estimated in-memory bytes, else None."""
    input_files: tuple[str, ...] = field(default_factory=tuple)

    def __call__(self) -> Iterable[pa.Table]:
        return self.read_fn()


class Datasource:
    """Base class of every reader; subclass it and pass an instance to ``read_datasource``.

    Why this shape: planning must not read data. A datasource answers questions from metadata
    alone (``schema``, ``num_rows``, ``input_files``, ``estimate_inmemory_data_size``) and
    ``get_read_tasks`` hands the executor picklable :class:`ReadTask` objects, each of which
    reads its share inside a worker. Pushdowns (columns, a predicate, a limit) ask for a
    narrowed copy, so they never mutate a plan someone else holds. Override what you support.

    Examples:
        >>> import pyarrow as pa
        >>> class Countdown(streamscope.Datasource):
        ...     def get_read_tasks(self, parallelism):
        ...         return [streamscope.ReadTask(lambda: [pa.table({"n": [3, 2, 1]})], num_rows=3)]
        ...     def num_rows(self):
        ...         return 3
        >>> ds = streamscope.read_datasource(Countdown())
        >>> ds.count(), ds.take()
        (3, [{'n': 3}, {'n': 2}, {'n': 1}])
    """

    def get_name(self) -> str:
        """Operator name shown in plans, e.g. "ReadParquet"."""
        return "Read" + type(self).__name__.replace("Datasource", "")

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        """Split the read into about ``parallelism`` tasks (more or fewer when files dictate)."""
        raise NotImplementedError

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return None

    def schema(self) -> Optional[pa.Schema]:
        """The output schema when known without reading rows (Parquet footer, in-memory data)."""
        return None

    def num_rows(self) -> Optional[int]:
        """Exact output rows when known from metadata (lets ``count()`` skip reading)."""
        return None

    def is_process_local(self) -> bool:
        """True when the data lives only in this Python process (``memory://``), so only the
        driver can read it."""
        return False

    def input_files(self) -> list[str]:
        return []

    # ---- pushdowns (each returns a narrowed copy; the default supports none) -----------------
    def supports_projection_pushdown(self) -> bool:
        return False

    def apply_projection(self, columns: list[str]) -> "Datasource":
        raise NotImplementedError

    def supports_predicate_pushdown(self) -> bool:
        return False

    def apply_predicate(self, expr: Any) -> "Datasource":
        """``expr`` is a :class:`streamscope.engine.expressions.Expr`."""
        raise NotImplementedError

    def supports_limit_pushdown(self) -> bool:
        return False

    def apply_limit(self, limit: int) -> "Datasource":
        raise NotImplementedError

    def pushdown_summary(self) -> list[str]:
        """Human-readable pushdowns applied so far (shown by ``explain()``)."""
        return []
