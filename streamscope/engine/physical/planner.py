"""The planner: optimized logical plan -> physical operators, then fusion.

Each logical family maps to one physical operator type; the mapping is the only place that knows
both layers, so adding an operator family means adding one branch here.
"""

from __future__ import annotations

from streamscope.engine.compute import ActorPoolStrategy, task_pool_size
from streamscope.engine.logical import operators as L
from streamscope.engine.logical.plan import LogicalPlan
from streamscope.engine.physical.fusion import fuse_plan
from streamscope.engine.physical.map_resources import map_resources
from streamscope.engine.physical.operators.actor_pool_map_operator import ActorPoolMapOperator
from streamscope.engine.physical.operators.barrier_operators import RandomizeBlocksOperator, RepartitionOperator
from streamscope.engine.physical.operators.base import PhysicalOperator
from streamscope.engine.physical.operators.exchange_operator import ExchangeOperator
from streamscope.engine.physical.operators.input_data import InputDataBuffer
from streamscope.engine.physical.operators.limit_operator import LimitOperator
from streamscope.engine.physical.operators.map_operator import TaskPoolMapOperator
from streamscope.engine.physical.operators.mix_operator import MixOperator
from streamscope.engine.physical.operators.union_operator import UnionOperator
from streamscope.engine.physical.plan import PhysicalPlan
from streamscope.engine.runtime.base import Resources
from streamscope.engine.transforms.udf_retry import rule_from_remote_args
from streamscope.engine.transforms.write import WriteTransform


def plan_physical(logical: LogicalPlan, fuse: bool = True) -> PhysicalPlan:
    memo: dict[int, PhysicalOperator] = {}
    sink = _plan(logical.dag, memo)
    if fuse:
        sink = fuse_plan(sink)
    return PhysicalPlan(sink)


def _max_task_retries(operator: str, ray_remote_args: dict) -> Optional[int]:
    """A map's ``max_retries``: also how often a task whose worker died is re-run (-1: always, as
    Ray's); None when not given (the runtime's default, ``TaskSpec.max_retries``)."""
    if "max_retries" not in ray_remote_args:
        return None
    value = ray_remote_args["max_retries"]
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError(f"{operator}: max_retries must be a whole number >= 0, or -1 for no limit; got {value!r}")
    return value


def _plan(op: L.LogicalOperator, memo: dict[int, PhysicalOperator]) -> PhysicalOperator:
    # No memoization: a logical operator used twice (``ds.union(ds)``) gets two physical
    # operators, so every physical operator has exactly one consumer and owns its blocks.
    inputs = [_plan(inp, memo) for inp in op.inputs]
    result: PhysicalOperator
    if isinstance(op, L.Read):
        res = map_resources(op.resources) if op.resources is not None else Resources(cpu=1.0)
        result = TaskPoolMapOperator(op.name, None, [], logical_names=(op.name,), read_op=op, resources=res,
                                     concurrency=op.concurrency,
                                     ray_remote_args=getattr(op.resources, "ray_remote_args", None))
    elif isinstance(op, L.InputData):
        result = InputDataBuffer(tables=op.tables, refs=op.refs, name=op.name, source_runtime=op.runtime)
    elif isinstance(op, L.AbstractMap):
        compute = op.compute
        if isinstance(compute, ActorPoolStrategy):
            result = ActorPoolMapOperator.from_logical(op, inputs[0])
        else:
            remote_args = op.ray_remote_args or {}
            result = TaskPoolMapOperator(
                op.name, inputs[0], [op.transform], logical_names=(op.name,), resources=map_resources(op),
                concurrency=task_pool_size(compute), min_rows_per_bundle=op.min_rows_per_bundle,
                ray_remote_args=op.ray_remote_args, ray_remote_args_fn=op.ray_remote_args_fn,
                remote_retry=rule_from_remote_args(op.name, remote_args),
                max_task_retries=_max_task_retries(op.name, remote_args),
            )
    elif isinstance(op, L.Limit):
        result = LimitOperator(inputs[0], op.limit)
    elif isinstance(op, L.Union):
        result = UnionOperator(inputs)
    elif isinstance(op, L.Mix):
        result = MixOperator(inputs, op.weights, op.stopping_condition, logical_name=op.label())
    elif isinstance(op, L.Repartition):
        result = RepartitionOperator(inputs[0], op.num_blocks, op.target_num_rows_per_block, op.strict)
    elif isinstance(op, L.RandomizeBlocks):
        result = RandomizeBlocksOperator(inputs[0], op.seed)
    elif isinstance(op, L.Exchange):
        result = ExchangeOperator(op.name, inputs, op.spec, kind=op.kind)
    elif isinstance(op, L.Write):
        result = TaskPoolMapOperator(op.name, inputs[0], [WriteTransform(op.datasink, op.name, op.write_uuid)], logical_names=(op.name,),
                                     resources=map_resources(op), concurrency=op.concurrency,
                                     min_rows_per_bundle=op.min_rows_per_bundle,
                                     exact_min_rows=op.min_rows_per_bundle is not None,
                                     ray_remote_args=op.ray_remote_args)
    else:
        raise NotImplementedError(f"no physical operator for logical operator {op.kind}")
    memo[id(op)] = result
    return result
