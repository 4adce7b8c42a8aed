"""Projection pushdown: ``select_columns`` right after a read becomes a column list the reader
applies, so unread columns are never decoded (Parquet reads only those column chunks)."""

from __future__ import annotations

from typing import Optional

from streamscope.engine.logical.operators import LogicalOperator, Project, Read
from streamscope.engine.logical.rules.base import Rule
from streamscope.engine.transforms.columns import SelectColumnsTransform


class ProjectionPushdownRule(Rule):
    name = "ProjectionPushdown"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        if not isinstance(op, Project) or not isinstance(op.transform, SelectColumnsTransform):
            return None
        child = op.inputs[0]
        if not isinstance(child, Read) or not child.datasource.supports_projection_pushdown():
            return None
        columns = op.transform.columns
        schema = child.output_schema()
        if schema is not None and any(c not in schema.names for c in columns):
            return None  # leave it: the Project raises a clear error naming the missing column
        new_read = child.replace(datasource=child.datasource.apply_projection(columns))
        return new_read, f"columns {columns} pushed into {child.name}"
