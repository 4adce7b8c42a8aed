"""Column transforms (select, drop, rename) and vectorized expression filters.

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


class ExprFilterTransform:
    """``filter(expr="amount > 100")``: evaluated with pyarrow compute on whole blocks."""

    def __init__(self, expr: Any):
        self.expr = expr
        self.name = f"Filter({expr})"

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        pa_expr = None
        for table in blocks:
            if table.num_rows == 0:
                continue  # nothing to keep; an empty block may not even have columns (from_items([]))
            missing = [c for c in self.expr.columns() if c not in table.column_names]
            if missing:
                raise _missing(self.name, missing, table.column_names)
            if pa_expr is None:
                pa_expr = self.expr.to_pyarrow()
            out = table.filter(pa_expr)
            if out.num_rows:
                yield out

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema


class WithColumnsTransform:
    """``with_column(name, expr)`` / ``with_columns({...})``: each expression evaluated with
    pyarrow compute on whole blocks, its result added as (or replacing) column ``name``. The
    expressions see the block as it came in (as Ray Data's ``with_columns``)."""

    def __init__(self, exprs: dict):
        self.exprs = dict(exprs)
        self.name = "WithColumns(" + ", ".join(f"{k}={v}" for k, v in self.exprs.items()) + ")"

    def preserves_row_count(self) -> bool:
        return True

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        for table in blocks:
            values = {}
            for name, expr in self.exprs.items():
                missing = [c for c in expr.columns() if c not in table.column_names]
                if missing:
                    raise _missing(self.name, missing, table.column_names)
                values[name] = expr.evaluate(table)
            for name, column in values.items():
                if name in table.column_names:
                    table = table.set_column(table.column_names.index(name), name, column)
                else:
                    table = table.append_column(name, column)
            yield table


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
