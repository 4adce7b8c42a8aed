"""Column transforms (select, drop, rename) and slices (expression filters and columns are in
``expression_transforms.py``).

These never call user code; they are pure Arrow operations, which is also what lets the optimizer
push them into Parquet reads.
"""

from __future__ import annotations

from typing import Any, Iterator, Union

import pyarrow as pa

from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.udf import tag


def _missing(operator: str, wanted: list[str], available: list[str]) -> KeyError:
    missing = [c for c in wanted if c not in available]
    err = KeyError(f"{operator}: column(s) {missing} not found; available columns: {available}")
    tag(err, operator)
    return err


class SelectColumnsTransform:
    def preserves_row_count(self) -> bool:
        return True

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.name = f"Project[select_columns={self.columns}]"

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            if any(c not in table.column_names for c in self.columns):
                raise _missing("select_columns", self.columns, table.column_names)
            yield table.select(self.columns)

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        if any(c not in schema.names for c in self.columns):
            raise _missing("select_columns", self.columns, schema.names)
        return pa.schema([schema.field(c) for c in self.columns])


class DropColumnsTransform:
    def preserves_row_count(self) -> bool:
        return True

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.name = f"Project[drop_columns={self.columns}]"

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            if any(c not in table.column_names for c in self.columns):
                raise _missing("drop_columns", self.columns, table.column_names)
            yield table.drop_columns(self.columns)

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        if any(c not in schema.names for c in self.columns):
            raise _missing("drop_columns", self.columns, schema.names)
        return pa.schema([f for f in schema if f.name not in self.columns])


class RenameColumnsTransform:
    def preserves_row_count(self) -> bool:
        return True

    def __init__(self, names: Union[list[str], dict[str, str]]):
        self.names = names
        self.name = f"Project[rename_columns={names}]"

    def _new_names(self, current: list[str]) -> list[str]:
        if isinstance(self.names, dict):
            if any(k not in current for k in self.names):
                raise _missing("rename_columns", list(self.names), current)
            return [self.names.get(c, c) for c in current]
        if len(self.names) != len(current):
            err = ValueError(f"rename_columns: got {len(self.names)} names for {len(current)} columns {current}")
            tag(err, "rename_columns")
            raise err
        return list(self.names)

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            yield table.rename_columns(self._new_names(table.column_names))

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return pa.schema([f.with_name(n) for f, n in zip(schema, self._new_names(schema.names))])


class SliceTransform:
    """Keep rows [start, start+length) of the concatenated inputs (used by Limit and Repartition)."""

    name = "Slice"

    def __call__(self, payload: Any, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        start, length = payload
        skipped = 0
        remaining = length
        pieces = []
        for table in blocks:
            if remaining <= 0:
                break
            if skipped + table.num_rows <= start:
                skipped += table.num_rows
                continue
            offset = max(0, start - skipped)
            skipped += offset
            piece = table.slice(offset, remaining)
            skipped += piece.num_rows
            remaining -= piece.num_rows
            pieces.append(piece)
        if pieces:
            yield pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)
