"""InputDataBuffer: emits blocks the plan already holds (in memory or in the store)."""

from __future__ import annotations

from typing import Optional

import pyarrow as pa

from streamscope.engine.block import BlockMetadata
from streamscope.engine.physical.operators.base import ExecutionServices, PhysicalOperator, RefBundle, TaskInfo
from streamscope.engine.runtime.base import BlockRef, Runtime


class InputDataBuffer(PhysicalOperator[TaskInfo]):
    kind = "InputDataBuffer"

    def __init__(self, tables: Optional[list[pa.Table]] = None, refs: Optional[list[tuple[BlockRef, BlockMetadata]]] = None,
                 name: str = "Input", source_runtime: Optional[Runtime] = None):
        super().__init__(name, [])
        self._tables = tables
        self._refs = refs
        self._source_runtime = source_runtime
        self.inputs_done = [True]

    def start(self, services: ExecutionServices) -> None:
        super().start(services)
        if self._tables is not None:
            for i, table in enumerate(self._tables):
                ref, meta = services.put(table)
                self.emit(RefBundle([(ref, meta)], owned=True, seq=(i,)))
        elif self._source_runtime is not None and self._source_runtime is not services.runtime:
            # blocks materialized on another runtime (e.g. a small in-process run): copy them over
            for i, (ref, _meta) in enumerate(self._refs or []):
                new_ref, new_meta = services.put(self._source_runtime.get(ref))
                self.emit(RefBundle([(new_ref, new_meta)], owned=True, seq=(i,)))
        else:
            for i, (ref, meta) in enumerate(self._refs or []):
                self.emit(RefBundle([(ref, meta)], owned=False, seq=(i,)))
        self.metrics.rows_in = self.metrics.rows_out

    def estimated_output_rows(self) -> Optional[int]:
        if self._tables is not None:
            return sum(t.num_rows for t in self._tables)
        return sum(m.num_rows for _, m in self._refs or [])

    def estimated_source_bytes(self) -> Optional[int]:
        if self._tables is not None:
            return sum(t.nbytes for t in self._tables)
        if self._refs is not None:
            return sum(m.size_bytes for _, m in self._refs)
        return None

    def is_finished(self) -> bool:
        return True
