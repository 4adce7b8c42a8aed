"""Expressions that make values instead of reading them: ``random()``, ``uuid()`` and
``monotonically_increasing_id()``, as Ray Data 2.60 has them.

None of them is idempotent: evaluating one twice gives other values, so the optimizer never
pushes a filter using one into a scan. Their values depend on where they are evaluated:

* ``random(seed=s)`` seeds numpy's generator with ``[block, task, execution, s]`` (Ray's seed
  sequence): the block's number within its task, the task's number within its operator, and the
  execution's number (0, 1, ... per run of the dataset; always 0 with
  ``reseed_after_execution=False``, so every run repeats the same values). Without a seed the
  values come from fresh OS entropy.
* ``monotonically_increasing_id()`` puts the task's number in the upper bits and the row's
  number within the task in the lower 33 bits: unique and increasing within a task, not
  consecutive across tasks.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from streamscope.engine.datatype import DataType
from streamscope.engine.expression_core import EvalContext, Expr

__all__ = ["MonotonicallyIncreasingIdExpr", "RandomExpr", "UUIDExpr", "monotonically_increasing_id", "random", "uuid"]

DEFAULT_RESEED_AFTER_EXECUTION = True
_ROW_BITS, _TASK_BITS = 33, 30


class RandomExpr(Expr):
    """Uniform random floats in [0, 1), one per row (what :func:`random` builds).

    Examples:
        >>> from streamscope.expressions import RandomExpr, random
        >>> isinstance(random(seed=1), RandomExpr), str(random(seed=1))
        (True, 'random(seed=1)')
    """

    _kind = "random"
    _convertible_self = False
    _idempotent_self = False

    def __init__(self, seed: Optional[int] = None, reseed_after_execution: bool = DEFAULT_RESEED_AFTER_EXECUTION):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"random(seed=...) must be a non-negative integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.reseed_after_execution = bool(reseed_after_execution)
        self._instance_id = str(_uuid.uuid4())

    @property
    def data_type(self) -> DataType:
        return DataType.float64()

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        if ctx.probe:
            return pa.array([], pa.float64())
        if self.seed is None:
            rng = np.random.default_rng()
        else:
            counter = f"_random_{self._instance_id}_counter"
            block_idx = ctx.state.get(counter, 0)
            ctx.state[counter] = block_idx + 1
            execution = ctx.execution_idx if self.reseed_after_execution else 0
            rng = np.random.default_rng([block_idx, ctx.task_idx, execution, self.seed])
        return pa.array(rng.random(table.num_rows), pa.float64())

    def _key(self) -> tuple:
        return ("random", self.seed, self.reseed_after_execution)

    def _text(self) -> str:
        if self.seed is None:
            return "random()"
        extra = "" if self.reseed_after_execution else ", reseed_after_execution=False"
        return f"random(seed={self.seed}{extra})"


class UUIDExpr(Expr):
    """A random UUID4 string per row (what :func:`uuid` builds).

    Examples:
        >>> from streamscope.expressions import UUIDExpr
        >>> str(UUIDExpr()), UUIDExpr().data_type
        ('uuid()', DataType(arrow:string))
    """

    _kind = "uuid"
    _convertible_self = False
    _idempotent_self = False

    @property
    def data_type(self) -> DataType:
        return DataType.string()

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return pa.array([str(_uuid.uuid4()) for _ in range(table.num_rows)], pa.string())

    def _key(self) -> tuple:
        return ("uuid",)

    def _text(self) -> str:
        return "uuid()"


class MonotonicallyIncreasingIdExpr(Expr):
    """Unique int64 ids increasing within each task (what :func:`monotonically_increasing_id`
    builds).

    Examples:
        >>> from streamscope.expressions import MonotonicallyIncreasingIdExpr, monotonically_increasing_id
        >>> isinstance(monotonically_increasing_id(), MonotonicallyIncreasingIdExpr)
        True
    """

    _kind = "monotonic_id"
    _convertible_self = False
    _idempotent_self = False

    def __init__(self) -> None:
        self._instance_id = str(_uuid.uuid4())

    @property
    def data_type(self) -> DataType:
        return DataType.int64()

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        if ctx.probe:
            return pa.array([], pa.int64())
        counter = f"_mono_id_{self._instance_id}_counter"
        start = ctx.state.get(counter, 0)
        end = start + table.num_rows
        ctx.state[counter] = end
        if end > (1 << _ROW_BITS):
            raise ValueError("Cannot generate monotonically increasing IDs: row count for this task exceeds the maximum "
                             f"allowed value of {(1 << _ROW_BITS) - 1}")
        if ctx.task_idx >= (1 << _TASK_BITS):
            raise ValueError("Cannot generate monotonically increasing IDs: number of tasks exceeds the maximum allowed "
                             f"value of {(1 << _TASK_BITS) - 1}")
        return pa.array((ctx.task_idx << _ROW_BITS) + np.arange(start, end, dtype=np.int64), pa.int64())

    def _key(self) -> tuple:
        return ("monotonic_id", self._instance_id)  # never equal to another one

    def _text(self) -> str:
        return "monotonically_increasing_id()"


def random(*, seed: Optional[int] = None, reseed_after_execution: bool = DEFAULT_RESEED_AFTER_EXECUTION) -> RandomExpr:
    """Random floats in [0, 1), one per row. With ``seed`` the values are reproducible: the same
    per run of the dataset when ``reseed_after_execution=False``, different (but reproducible)
    per run when True (the default, so each training epoch differs).

    Examples:
        >>> from streamscope.expressions import random
        >>> ds = streamscope.range(4).with_column("r", random(seed=7, reseed_after_execution=False))
        >>> first, second = (sorted(ds.take_all(), key=lambda row: row["id"]) for _ in range(2))
        >>> first == second
        True
        >>> all(0 <= row["r"] < 1 for row in ds.take_all())
        True
    """
    return RandomExpr(seed=seed, reseed_after_execution=reseed_after_execution)


def uuid() -> UUIDExpr:
    """A random UUID4 string per row.

    Examples:
        >>> from streamscope.expressions import uuid
        >>> rows = streamscope.range(3).with_column("u", uuid()).take_all()
        >>> len({row["u"] for row in rows}), len(rows[0]["u"])
        (3, 36)
    """
    return UUIDExpr()


def monotonically_increasing_id() -> MonotonicallyIncreasingIdExpr:
    """Unique int64 ids, increasing within each task (the task's number in the upper bits, the
    row's number within the task in the lower 33): unique, not consecutive across tasks.

    Examples:
        >>> from streamscope.expressions import monotonically_increasing_id
        >>> rows = streamscope.range(4, override_num_blocks=1).with_column("uid", monotonically_increasing_id()).take_all()
        >>> [row["uid"] for row in rows]
        [0, 1, 2, 3]
    """
    return MonotonicallyIncreasingIdExpr()
