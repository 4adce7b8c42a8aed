"""Source operators: a Datasource read, or blocks the user already holds in memory."""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.logical.operators.base import LogicalOperator


class Read(LogicalOperator):
    """Read through a :class:`Datasource` split into about ``parallelism`` tasks."""

    kind = "Read"

    def __init__(self, datasource: Any, parallelism: int = -1, resources: Any = None, concurrency: Optional[int] = None):
        super().__init__(datasource.get_name(), [])
        self.datasource = datasource
        self.parallelism = parallelism
        self.resources = resources
        self.concurrency = concurrency

    def output_num_rows(self) -> Optional[int]:
        return self.datasource.num_rows()

    def output_schema(self) -> Any:
        return self.datasource.schema()

    def detail(self) -> str:
        extra = self.datasource.pushdown_summary()
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
