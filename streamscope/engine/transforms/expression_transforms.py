"""Task bodies of expression operators: ``filter(expr=...)`` and ``with_column`` / ``with_columns``
(also ``GroupedData.with_column``, once per group).

Each evaluates its expressions on whole blocks (:meth:`Expr.evaluate`), vectorized. Expressions
whose values depend on where they run (``random(seed=...)``, ``monotonically_increasing_id()``)
read the task's number (``wants_task_index``: the operator numbers its tasks) and the
execution's number: :meth:`for_execution` is called once per run, when the operator starts, and
hands out 0, 1, 2, ... for the runs of the same plan.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.expressions import EvalContext, Expr
from streamscope.engine.runtime.base import TaskContext
from streamscope.engine.transforms.udf import tag

__all__ = ["ExprFilterTransform", "WithColumnsTransform"]


def _missing(operator: str, wanted: list[str], available: list[str]) -> KeyError:
    missing = [c for c in wanted if c not in available]
    err = KeyError(f"{operator}: column(s) {missing} not found; available columns: {available}")
    tag(err, operator)
    return err


class _PerExecution:
    """The execution counter every copy of one transform shares."""

    execution_idx = 0
    _executions: list

    def for_execution(self) -> Any:
        """A copy of this transform for one run, knowing that run's number."""
        bound = copy.copy(self)
        bound.execution_idx = self._executions[0]
        self._executions[0] += 1
        return bound

    def _context(self, ctx: TaskContext) -> EvalContext:
        return EvalContext.for_task(ctx, self.execution_idx)


class ExprFilterTransform(_PerExecution):
    """``filter(expr="amount > 100")`` / ``filter(expr=col("a") > 1)``: the rows where the
    predicate is true (null counts as false)."""

    def __init__(self, expr: Expr, executions: Optional[list] = None):
        self.expr = expr
        self.name = f"Filter({expr})"
        self.wants_task_index = not expr.is_idempotent()
        self._executions = executions if executions is not None else [0]  # shared with the filter it came from

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        context = self._context(ctx)
        for table in blocks:
            if table.num_rows == 0:
                continue  # nothing to keep; an empty block may not even have columns (from_items([]))
            missing = [c for c in self.expr.columns() if c not in table.column_names]
            if missing:
                raise _missing(self.name, missing, table.column_names)
            out = self.expr.filter(table, context)
            if out.num_rows:
                yield out

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema


def _label(items: list) -> str:
    return ", ".join(str(expr) if name is None else f"{name}={expr}" for name, expr in items)


class WithColumnsTransform(_PerExecution):
    """``with_column(name, expr)`` / ``with_columns({...}, unnest(...))``: each expression
    evaluated on whole blocks, its result added as (or replacing, in place) column ``name``; an
    ``unnest`` adds one column per struct field, evaluating the struct once. Every expression
    sees the block as it came in (as Ray Data's ``with_columns``)."""

    def __init__(self, exprs: Any):
        items = list(exprs.items()) if isinstance(exprs, dict) else list(exprs)
        self.items: list[tuple[Optional[str], Expr]] = [(None if n is None else str(n), e) for n, e in items]
        self.name = f"WithColumns({_label(self.items)})"
        self.wants_task_index = any(not e.is_idempotent() for _, e in self.items)
        self._executions = [0]

    def preserves_row_count(self) -> bool:
        return True

    def columns_read(self) -> list[str]:
        return list(dict.fromkeys(c for _, e in self.items for c in e.columns()))

    def _values(self, table: pa.Table, context: EvalContext) -> list[tuple[str, pa.ChunkedArray]]:
        values = []
        for name, expr in self.items:
            if name is not None:
                values.append((name, expr.evaluate(table, context)))
                continue
            inner = expr.expr  # type: ignore[attr-defined]
            struct = inner.evaluate(table, context)
            if not pa.types.is_struct(struct.type):
                raise TypeError(f"{self.name}: unnest() needs a struct, but {inner} gave {struct.type}")
            for i in range(struct.type.num_fields):
                values.append((struct.type.field(i).name, pc.struct_field(struct, [i])))
        return values

    def apply(self, blocks: Iterator[pa.Table], ctx: TaskContext) -> Iterator[pa.Table]:
        context = self._context(ctx)
        for table in blocks:
            yield self.apply_group(table, ctx, context)

    def apply_group(self, table: pa.Table, ctx: TaskContext, context: Optional[EvalContext] = None) -> pa.Table:
        """The block (or group) ``table`` with the columns added."""
        missing = [c for c in self.columns_read() if c not in table.column_names]
        if missing:
            raise _missing(self.name, missing, table.column_names)
        values = self._values(table, context or self._context(ctx))
        for name, column in values:
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, column)
            else:
                table = table.append_column(name, column)
        return table

    def output_schema(self, schema: pa.Schema) -> Optional[pa.Schema]:
        """The schema after the columns are added, when every expression's type is known
        without running user code (else None: the schema is learned by running)."""
        fields = list(schema)
        for name, expr in self.items:
            if name is None:
                struct = expr.struct_type(schema)  # type: ignore[attr-defined]
                new = [struct.field(i) for i in range(struct.num_fields)]
            else:
                arrow_type = expr.get_type(schema)
                if arrow_type is None:
                    return None
                new = [pa.field(name, arrow_type)]
            for f in new:
                names = [x.name for x in fields]
                if f.name in names:
                    fields[names.index(f.name)] = f
                else:
                    fields.append(f)
        return pa.schema(fields)
