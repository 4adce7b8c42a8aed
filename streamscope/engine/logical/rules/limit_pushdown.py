"""Limit pushdown: move a Limit below row-preserving maps, merge stacked limits, and hand the
limit to a datasource that can stop reading early (``apply_limit``, or, for a datasource with
Ray's ``get_read_tasks(parallelism, per_task_row_limit)``, the per-task row limit Ray passes).

Why: ``read_parquet(...).map(f).limit(10)`` should run ``f`` on 10 rows, not on the whole file.
"""

from __future__ import annotations

from typing import Optional

from streamscope.engine.compute import ActorPoolStrategy
from streamscope.engine.io.datasource import accepts_per_task_row_limit
from streamscope.engine.logical.operators import AbstractMap, Limit, LogicalOperator, Read
from streamscope.engine.logical.rules.base import Rule


class LimitPushdownRule(Rule):
    name = "LimitPushdown"

    def rewrite(self, op: LogicalOperator) -> Optional[tuple[LogicalOperator, str]]:
        if not isinstance(op, Limit):
            return None
        child = op.inputs[0]
        if isinstance(child, Limit):
            merged = Limit(child.inputs[0], min(op.limit, child.limit))
            return merged, f"merged limits {op.limit} and {child.limit}"
        if isinstance(child, AbstractMap) and child.preserves_row_count() and not _has_side_resources(child):
            pushed = child.with_inputs([Limit(child.inputs[0], op.limit)])
            return pushed, f"limit={op.limit} moved below {child.name}"
        if isinstance(child, Read) and child.datasource.supports_limit_pushdown() and not getattr(op, "_pushed", False):
            new_read = child.replace(datasource=child.datasource.apply_limit(op.limit))
            new_limit = Limit(new_read, op.limit)
            new_limit._pushed = True  # type: ignore[attr-defined]
            return new_limit, f"limit={op.limit} pushed into {child.name}"
        if (isinstance(child, Read) and not child.datasource.supports_limit_pushdown()
                and accepts_per_task_row_limit(child.datasource)
                and (child.per_task_row_limit is None or child.per_task_row_limit > op.limit)):
            # as Ray Data: each read task is asked for at most `limit` rows; the Limit stays
            new_read = child.replace(per_task_row_limit=op.limit)
            return Limit(new_read, op.limit), f"per_task_row_limit={op.limit} passed to {child.name}"
        return None


def _has_side_resources(op: AbstractMap) -> bool:
    """Do not move limits across actor-pool or GPU stages: it would change what they see only in
    count, which is fine, but keeps the user's stage boundaries visible; only CPU task maps move."""
    return bool(op.num_gpus) or isinstance(op.compute, ActorPoolStrategy)
