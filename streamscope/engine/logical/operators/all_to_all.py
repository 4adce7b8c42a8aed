"""All-to-all operators: they need every input block before producing output (a barrier).

Repartition (without shuffle) and RandomizeBlocks are built here; shuffles, sorts and
aggregations add their own subclasses with a ``exchange`` describing their map and reduce phases.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.logical.operators.base import LogicalOperator


class AbstractAllToAll(LogicalOperator):
    kind = "AllToAll"

    def output_schema(self) -> Any:
        return self.inputs[0].output_schema()


class Repartition(AbstractAllToAll):
    kind = "Repartition"

    def __init__(self, input_op: LogicalOperator, num_blocks: Optional[int], target_num_rows_per_block: Optional[int] = None,
                 strict: bool = False):
        super().__init__("Repartition", [input_op])
        self.num_blocks = num_blocks
        self.target_num_rows_per_block = target_num_rows_per_block
        self.strict = strict
        """Blocks of exactly ``target_num_rows_per_block`` rows (the last may be smaller)."""

    def detail(self) -> str:
        if self.num_blocks is not None:
            return f"num_blocks={self.num_blocks}"
        return f"target_num_rows_per_block={self.target_num_rows_per_block}" + (", strict" if self.strict else "")

    def output_num_rows(self):
        return self.inputs[0].output_num_rows()


class RandomizeBlocks(AbstractAllToAll):
    kind = "RandomizeBlockOrder"

    def __init__(self, input_op: LogicalOperator, seed: Optional[int] = None):
        super().__init__("RandomizeBlockOrder", [input_op])
        self.seed = seed

    def detail(self) -> str:
        return f"seed={self.seed}"

    def output_num_rows(self):
        return self.inputs[0].output_num_rows()


class Exchange(AbstractAllToAll):
    """A generic map/reduce exchange (sort, shuffle, groupby, join...).

    ``spec`` implements :class:`streamscope.engine.physical.exchange.ExchangeSpec`.
    """

    kind = "Exchange"

    def __init__(self, name: str, inputs: list[LogicalOperator], spec: Any, kind: Optional[str] = None):
        super().__init__(name, inputs)
        self.spec = spec.freeze()  # shared by every run of the plan: read-only from here on
        if kind:
            self.kind = kind

    def output_schema(self) -> Any:
        fn = getattr(self.spec, "output_schema", None)
        if fn is None:
            return None
        schemas = [op.output_schema() for op in self.inputs]
        if any(s is None for s in schemas):
            return None
        return fn(*schemas)

    def output_num_rows(self):
        fn = getattr(self.spec, "output_num_rows", None)
        if fn is None:
            return None
        rows = [op.output_num_rows() for op in self.inputs]
        if any(r is None for r in rows):
            return None
        return fn(*rows)
