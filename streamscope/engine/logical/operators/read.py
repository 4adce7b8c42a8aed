"""Source operators: a Datasource read, or blocks the user already holds in memory."""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.io.datasource import read_operator_name, source_num_rows, source_pushdown_summary, source_schema
from streamscope.engine.logical.operators.base import LogicalOperator


class Read(LogicalOperator):
    """Read through a :class:`Datasource` split into about ``parallelism`` tasks."""

    kind = "Read"

    def __init__(self, datasource: Any, parallelism: int = -1, resources: Any = None, concurrency: Optional[int] = None):
        super().__init__(read_operator_name(datasource), [])
        self.datasource = datasource
        self.parallelism = parallelism
        self.resources = resources
        self.concurrency = concurrency
        self.per_task_row_limit: Optional[int] = None  # set by limit pushdown, passed to get_read_tasks
        self._known: dict = {}  # "rows"/"schema" -> (datasource asked, answer): each asked once

    def _metadata(self, what: str) -> Any:
        """Rows or schema from the datasource's metadata, each asked once and only when wanted:
        a custom datasource answers from ``get_read_tasks(1)``, which may list files or query a
        service, and a file datasource's row count may read every footer where its schema needs
        one. A pushdown gives the op a new datasource (``replace``), which is asked afresh."""
        known = self._known.get(what)
        if known is None or known[0] is not self.datasource:
            answer = source_num_rows(self.datasource) if what == "rows" else source_schema(self.datasource)
            known = self._known[what] = (self.datasource, answer)
        return known[1]

    def output_num_rows(self) -> Optional[int]:
        return self._metadata("rows")

    def output_schema(self) -> Any:
        return self._metadata("schema")

    def detail(self) -> str:
        extra = source_pushdown_summary(self.datasource)
        if self.per_task_row_limit is not None:
            extra = extra + [f"per_task_row_limit={self.per_task_row_limit}"]
        return self.name + (f" ({'; '.join(extra)})" if extra else "")


class InputData(LogicalOperator):
    """Blocks held in memory (``from_pandas``, ``from_items``...) or already in the store
    (a materialized dataset's block references)."""

    kind = "InputData"

    def __init__(self, tables: Optional[list[pa.Table]] = None, refs: Optional[list] = None, runtime: Any = None, name: str = "Input"):
        super().__init__(name, [])
        self.tables = tables
        self.refs = refs  # list of (BlockRef, BlockMetadata), owned by a MaterializedDataset
        self.runtime = runtime

    def output_num_rows(self) -> Optional[int]:
        if self.tables is not None:
            return sum(t.num_rows for t in self.tables)
        return sum(m.num_rows for _, m in self.refs or [])

    def output_schema(self) -> Any:
        if self.tables:
            return self.tables[0].schema
        for _, meta in self.refs or []:
            if meta.schema is not None:
                return meta.schema
        return None

    def num_blocks(self) -> int:
        return len(self.tables) if self.tables is not None else len(self.refs or [])

    def detail(self) -> str:
        return f"num_blocks={self.num_blocks()}"
