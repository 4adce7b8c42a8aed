"""Logical operators, one family per module."""

from streamscope.engine.logical.operators.all_to_all import AbstractAllToAll, Exchange, RandomizeBlocks, Repartition
from streamscope.engine.logical.operators.base import LogicalOperator
from streamscope.engine.logical.operators.limit import Limit
from streamscope.engine.logical.operators.map import AbstractMap, AddColumn, Filter, FlatMap, MapBatches, MapRows, Project
from streamscope.engine.logical.operators.mix import Mix, MixStoppingCondition
from streamscope.engine.logical.operators.nary import Union
from streamscope.engine.logical.operators.read import InputData, Read
from streamscope.engine.logical.operators.write import Write

__all__ = [
    "AbstractAllToAll", "Exchange", "RandomizeBlocks", "Repartition", "LogicalOperator", "Limit",
    "AbstractMap", "AddColumn", "Filter", "FlatMap", "MapBatches", "MapRows", "Project", "Union", "Mix", "MixStoppingCondition",
    "InputData", "Read", "Write",
]
