"""Mix: several inputs interleaved block by block toward target row ratios (Ray Data's ``Mix``).

Why a logical operator of its own (not a Union with a sampler): the interleave is decided by the
row counts already emitted, so it streams — no input is materialized — and its order depends only
on the inputs' blocks, never on which block happened to arrive first. The physical side is
``MixOperator``; this node carries the normalized weights and the stopping condition.

No optimizer rule moves anything across a Mix: a filter or a limit pushed into one branch would
change that branch's share of the rows, so (as in Ray Data) Mix is a barrier to pushdowns.
"""

from __future__ import annotations

import enum
import math
import numbers
from typing import Any, Optional

import pyarrow as pa

from streamscope.engine.logical.operators.base import LogicalOperator


class MixStoppingCondition(enum.Enum):
    """When :meth:`Dataset.mix <streamscope.Dataset.mix>` ends (Ray Data's ``MixStoppingCondition``).

    ``STOP_ON_SHORTEST``: the mix ends as soon as one input has delivered all of its blocks; the
    rest of the other inputs is never read (it is truncated). ``STOP_ON_LONGEST_DROP`` (the
    default of ``mix``): an input that runs out drops out of the mix and the remaining inputs
    share the output by their weights, until every input is exhausted; every row of every input
    comes out once.

    Examples:
        >>> a = streamscope.range(4, override_num_blocks=4)                      # 4 blocks of 1 row
        >>> b = streamscope.range(10, override_num_blocks=10).map(lambda r: {"id": r["id"] + 100})
        >>> a.mix(b, stopping_condition=streamscope.MixStoppingCondition.STOP_ON_SHORTEST).count()
        7
        >>> a.mix(b).count()
        14
        >>> streamscope.MixStoppingCondition("stop_on_shortest")
        <MixStoppingCondition.STOP_ON_SHORTEST: 'stop_on_shortest'>
    """

    STOP_ON_SHORTEST = "stop_on_shortest"
    STOP_ON_LONGEST_DROP = "stop_on_longest_drop"


def check_stopping_condition(value: Any) -> MixStoppingCondition:
    """``value`` as a :class:`MixStoppingCondition`, or a ValueError naming the members (Ray Data
    fails only when the mix runs; a member of Ray's own enum is taken by its value)."""
    if isinstance(value, MixStoppingCondition):
        return value
    if isinstance(value, enum.Enum) and type(value).__name__ == "MixStoppingCondition":
        try:
            return MixStoppingCondition(value.value)
        except ValueError:
            pass
    members = ", ".join(f"MixStoppingCondition.{m.name}" for m in MixStoppingCondition)
    raise ValueError(f"mix: stopping_condition must be one of {members}; got {value!r}")


def check_weights(weights: Any, num_inputs: int) -> list[float]:
    """The weights as floats, checked as Ray Data checks them (one per dataset, each > 0), and
    finite too (Ray lets NaN through, which then compares false everywhere)."""
    if weights is None:
        return [1.0] * num_inputs
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"mix: weights must be a list of numbers, got {type(weights).__name__}")
    weights = list(weights)
    if len(weights) != num_inputs:
        raise ValueError(f"mix: number of datasets ({num_inputs}) must match number of weights ({len(weights)})")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise TypeError(f"mix: weights must be numbers, got {w!r} in {weights}")
        if not w > 0 or not math.isfinite(w):
            raise ValueError(f"mix: weights must be positive (and finite); got weights {weights}")
    return [float(w) for w in weights]


class Mix(LogicalOperator):
    """The logical Mix: ``weights`` as given (one per input), ``stopping_condition`` a member."""

    kind = "Mix"

    def __init__(self, inputs: list[LogicalOperator], weights: list[float],
                 stopping_condition: MixStoppingCondition = MixStoppingCondition.STOP_ON_LONGEST_DROP):
        super().__init__("Mix", inputs)
        self.weights = check_weights(weights, len(inputs))
        self.stopping_condition = check_stopping_condition(stopping_condition)

    @property
    def normalized_weights(self) -> list[float]:
        total = sum(self.weights)
        return [w / total for w in self.weights]

    def detail(self) -> str:
        shares = [round(w, 2) for w in self.normalized_weights]
        return f"weights={shares}, stopping_condition={self.stopping_condition.value}"

    def output_num_rows(self) -> Optional[int]:
        # Exact only when every row comes out; under STOP_ON_SHORTEST the cut falls on a block
        # boundary that depends on block sizes, so it is unknown until run.
        if self.stopping_condition is not MixStoppingCondition.STOP_ON_LONGEST_DROP:
            return None
        rows = [op.output_num_rows() for op in self.inputs]
        return None if any(r is None for r in rows) else sum(rows)  # type: ignore[misc]

    def output_schema(self) -> Any:
        """The inputs' schemas unified with type promotion (Ray Data's rule for Mix and Union);
        None when one is unknown or they do not unify (blocks pass through unchanged either way)."""
        schemas = [op.output_schema() for op in self.inputs]
        if not schemas or not all(isinstance(s, pa.Schema) for s in schemas):
            return None
        if len(schemas) == 1:
            return schemas[0]
        try:
            return pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
