"""One-to-one operators: each runs a transform over a stream of blocks inside tasks.

Every variant carries a :mod:`streamscope.engine.transforms` object (picklable, runs in workers)
plus the resources and compute strategy the user asked for; chains with compatible resources are
fused into one task by the physical planner.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.logical.operators.base import LogicalOperator


class AbstractMap(LogicalOperator):
    kind = "Map"

    def __init__(
        self,
        name: str,
        input_op: LogicalOperator,
        transform: Any,
        *,
        compute: Any = None,
        num_cpus: Optional[float] = None,
        num_gpus: Optional[float] = None,
        memory: Optional[float] = None,
        min_rows_per_bundle: Optional[int] = None,
        ray_remote_args: Optional[dict] = None,
        ray_remote_args_fn: Any = None,
    ):
        super().__init__(name, [input_op])
        self.transform = transform
        self.compute = compute
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.memory = memory
        self.min_rows_per_bundle = min_rows_per_bundle
        self.ray_remote_args = ray_remote_args or {}
        """The ``ray.remote`` options besides num_cpus/num_gpus/memory (named ones such as
        ``resources=`` merged in), checked by :mod:`streamscope.engine.remote_args`."""
        self.ray_remote_args_fn = ray_remote_args_fn

    def output_schema(self) -> Any:
        schema_fn = getattr(self.transform, "output_schema", None)
        if schema_fn is None:
            return None
        upstream = self.inputs[0].output_schema()
        return schema_fn(upstream) if upstream is not None else None

    def output_num_rows(self) -> Optional[int]:
        if self.preserves_row_count():
            return self.inputs[0].output_num_rows()
        return None


class MapRows(AbstractMap):
    kind = "MapRows"

    def preserves_row_count(self) -> bool:
        return True


class MapBatches(AbstractMap):
    kind = "MapBatches"

    def __init__(self, name: str, input_op: LogicalOperator, transform: Any, *, can_modify_num_rows: bool = True,
                 **kwargs: Any):
        super().__init__(name, input_op, transform, **kwargs)
        self.can_modify_num_rows = can_modify_num_rows
        """False when the user promised ``udf_modifying_row_count=False``: limits may move below it."""

    def preserves_row_count(self) -> bool:
        return not self.can_modify_num_rows


class FlatMap(AbstractMap):
    kind = "FlatMap"


class Filter(AbstractMap):
    kind = "Filter"

    def __init__(self, name: str, input_op: LogicalOperator, transform: Any, *, expr: Any = None, **kwargs: Any):
        super().__init__(name, input_op, transform, **kwargs)
        self.expr = expr  # streamscope.engine.expressions.Expr for expression filters (pushdown-able)

    def output_schema(self) -> Any:
        return self.inputs[0].output_schema()


class Project(AbstractMap):
    """select_columns / drop_columns / rename_columns: a pure column operation."""

    kind = "Project"

    def __init__(self, name: str, input_op: LogicalOperator, transform: Any, **kwargs: Any):
        super().__init__(name, input_op, transform, **kwargs)

    def preserves_row_count(self) -> bool:
        return True

    def detail(self) -> str:
        return self.name


class AddColumn(AbstractMap):
    kind = "MapBatches"

    def preserves_row_count(self) -> bool:
        return True
