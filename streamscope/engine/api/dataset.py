"""Dataset: a lazy, immutable builder of logical plans with Ray Data's method names.

Every transform returns a new Dataset whose plan has one more logical operator; nothing runs until
a consumption method (``take``, ``iter_batches``, ``count``, ``write_*``, ``materialize``) is
called. Consumption lives in :mod:`streamscope.engine.api.consume`, writes in
:mod:`streamscope.engine.api.writes`; this module holds construction and transforms only.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterable, Optional, Union

from streamscope.engine import compute as compute_mod
from streamscope.engine.api.all_to_all import AllToAllMixin, shuffle_repartition
from streamscope.engine.api.consume import ConsumeMixin
from streamscope.engine.logical import operators as L
from streamscope.engine.block import BlockMetadata
from streamscope.engine.expressions import as_expr
from streamscope.engine.logical.plan import LogicalPlan, post_order
from streamscope.engine.runtime.base import BlockRef
from streamscope.engine.transforms.batches import AddColumnTransform, MapBatchesTransform
from streamscope.engine.transforms.columns import (
    DropColumnsTransform,
    ExprFilterTransform,
    RenameColumnsTransform,
    SelectColumnsTransform,
)
from streamscope.engine.transforms.rows import FilterRowsTransform, FlatMapTransform, MapRowsTransform
from streamscope.engine.transforms.udf import UserFunction, describe
from streamscope.engine.api.torch import TorchMixin
from streamscope.engine.api.writes import WriteMixin

_display_provider: Optional[Callable[["Dataset"], dict]] = None


def set_display_provider(fn: Optional[Callable[["Dataset"], dict]]) -> None:
    """Install the function that renders a Dataset's rich repr in notebooks. The top-level
    package installs the widgets' renderer here, so the engine never imports widget code."""
    global _display_provider
    _display_provider = fn


class Dataset(ConsumeMixin, WriteMixin, TorchMixin, AllToAllMixin):
    def __init__(self, plan: LogicalPlan, name: Optional[str] = None):
        self._plan = plan
        self._name = name
        self._last_run: Any = None

    # ---- identity -------------------------------------------------------------------------
    @property
    def _logical_plan(self) -> LogicalPlan:
        return self._plan

    def set_name(self, name: Optional[str]) -> None:
        """Name this dataset; the name appears in stats, progress and the notebook views."""
        self._name = name

    @property
    def name(self) -> Optional[str]:
        return self._name

    def _derive(self, op: L.LogicalOperator) -> "Dataset":
        return Dataset(LogicalPlan(op), name=self._name)

    # ---- row and batch transforms ------------------------------------------------------------
    def map(self, fn, *, compute=None, fn_args=None, fn_kwargs=None, fn_constructor_args=None,
            fn_constructor_kwargs=None, num_cpus=None, num_gpus=None, memory=None, concurrency=None,
            **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to each row (a dict); it returns one dict per row."""
        name = f"Map({describe(fn)})"
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        compute = compute_mod.resolve(compute, concurrency, fn, name)
        return self._derive(L.MapRows(name, self._plan.dag, MapRowsTransform(udf), compute=compute,
                                      num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args=ray_remote_args))

    def map_batches(self, fn, *, batch_size: Union[int, None, str] = None, compute=None,
                    batch_format: Optional[str] = "default", zero_copy_batch: bool = True, fn_args=None,
                    fn_kwargs=None, fn_constructor_args=None, fn_constructor_kwargs=None, num_cpus=None,
                    num_gpus=None, memory=None, concurrency=None, **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to batches (dict of ndarrays, pandas or pyarrow per ``batch_format``)."""
        name = f"MapBatches({describe(fn)})"
        if batch_size == "auto":
            batch_size = None
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        transform = MapBatchesTransform(udf, batch_size, batch_format, zero_copy_batch)
        compute = compute_mod.resolve(compute, concurrency, fn, name)
        return self._derive(L.MapBatches(name, self._plan.dag, transform, compute=compute, num_cpus=num_cpus,
                                         num_gpus=num_gpus, memory=memory, min_rows_per_bundle=batch_size,
                                         ray_remote_args=ray_remote_args))

    def flat_map(self, fn, *, compute=None, fn_args=None, fn_kwargs=None, fn_constructor_args=None,
                 fn_constructor_kwargs=None, num_cpus=None, num_gpus=None, memory=None, concurrency=None,
                 **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to each row; it returns a list of rows."""
        name = f"FlatMap({describe(fn)})"
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        compute = compute_mod.resolve(compute, concurrency, fn, name)
        return self._derive(L.FlatMap(name, self._plan.dag, FlatMapTransform(udf), compute=compute,
                                      num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args=ray_remote_args))

    def filter(self, fn=None, expr=None, *, compute=None, fn_args=None, fn_kwargs=None,
               fn_constructor_args=None, fn_constructor_kwargs=None, num_cpus=None, num_gpus=None,
               memory=None, concurrency=None, **ray_remote_args) -> "Dataset":
        """Keep rows where ``fn(row)`` is true, or where the expression string ``expr`` holds
        (evaluated vectorized with pyarrow compute and pushed into Parquet reads)."""
        if (fn is None) == (expr is None):
            raise ValueError("filter() takes exactly one of fn or expr")
        if expr is not None:
            parsed = as_expr(expr)
            transform = ExprFilterTransform(parsed)
            return self._derive(L.Filter(f"Filter({parsed})", self._plan.dag, transform, expr=parsed))
        name = f"Filter({describe(fn)})"
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        compute = compute_mod.resolve(compute, concurrency, fn, name)
        return self._derive(L.Filter(name, self._plan.dag, FilterRowsTransform(udf), compute=compute,
                                     num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args=ray_remote_args))

    def add_column(self, col: str, fn: Callable, *, batch_format: Optional[str] = "pandas", compute=None,
                   concurrency=None, num_cpus=None, num_gpus=None, memory=None, **ray_remote_args) -> "Dataset":
        """Add (or replace) column ``col`` computed by ``fn(batch)``."""
        name = f"AddColumn({col})"
        udf = UserFunction(fn, name)
        transform = AddColumnTransform(udf, col, batch_format)
        return self._derive(L.AddColumn(name, self._plan.dag, transform, num_cpus=num_cpus, num_gpus=num_gpus,
                                        memory=memory, ray_remote_args=ray_remote_args))

    def select_columns(self, cols: Union[str, list[str]], **_: Any) -> "Dataset":
        cols = [cols] if isinstance(cols, str) else list(cols)
        _check_names("select_columns", cols)
        return self._derive(L.Project(f"Project[select={cols}]", self._plan.dag, SelectColumnsTransform(cols)))

    def drop_columns(self, cols: Union[str, list[str]], **_: Any) -> "Dataset":
        cols = [cols] if isinstance(cols, str) else list(cols)
        _check_names("drop_columns", cols)
        return self._derive(L.Project(f"Project[drop={cols}]", self._plan.dag, DropColumnsTransform(cols)))

    def rename_columns(self, names: Union[list[str], dict[str, str]], **_: Any) -> "Dataset":
        if not isinstance(names, (list, dict)):
            raise TypeError(f"rename_columns expects a list or dict of names, got {type(names).__name__}")
        return self._derive(L.Project(f"Project[rename={names}]", self._plan.dag, RenameColumnsTransform(names)))

    # ---- structural ---------------------------------------------------------------------------
    def limit(self, limit: int) -> "Dataset":
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        return self._derive(L.Limit(self._plan.dag, limit))

    def repartition(self, num_blocks: Optional[int] = None, target_num_rows_per_block: Optional[int] = None, *,
                    strict: bool = False, shuffle: bool = False, keys=None, sort: bool = False) -> "Dataset":
        if (num_blocks is None) == (target_num_rows_per_block is None):
            raise ValueError("repartition() takes exactly one of num_blocks or target_num_rows_per_block")
        if shuffle or keys:
            return shuffle_repartition(self, num_blocks, keys=keys, sort=sort)
        if num_blocks is not None and num_blocks <= 0:
            raise ValueError(f"num_blocks must be positive, got {num_blocks}")
        return self._derive(L.Repartition(self._plan.dag, num_blocks, target_num_rows_per_block))

    def randomize_block_order(self, *, seed: Optional[int] = None) -> "Dataset":
        return self._derive(L.RandomizeBlocks(self._plan.dag, seed))

    def union(self, *other: "Dataset") -> "Dataset":
        for o in other:
            if not isinstance(o, Dataset):
                raise TypeError(f"union() expects Datasets, got {type(o).__name__}")
        return self._derive(L.Union([self._plan.dag] + [o._plan.dag for o in other]))

    def materialize(self) -> "MaterializedDataset":
        """Execute and keep every block in the store; later uses read the stored blocks.

        If the run fails, is cancelled or interrupted, the blocks already received are freed.
        Blocks that belonged to an upstream materialized dataset stay owned by it (the new
        dataset keeps it alive) and are never freed twice.

        Example::

            ds = streamscope.range(1000).map_batches(expensive).materialize()
            ds.count(), ds.sum("id")  # both read the stored blocks; ``expensive`` ran once
        """
        return self._materialize_run("materialize", _one_group, label="Materialized")[0]

    def _materialize_run(self, purpose: str, partition: Callable[[list[Delivered]], list[list[Delivered]]],
                         label: str) -> list["MaterializedDataset"]:
        """Run this plan and hand the delivered blocks to MaterializedDatasets, one per group that
        ``partition`` makes of them, in order. ``materialize`` and every split use this.

        Why one path: holding delivered blocks is where a failure leaks memory. Here every block
        received so far is freed when the run fails, is cancelled or interrupted midway, or the
        grouping fails; a received block no group takes is freed at once (nobody can read it).
        Blocks not owned by this run (an upstream materialized dataset's) are never freed here:
        a group holding any keeps their owners alive instead.
        """
        executor = self._start_execution(purpose)
        runtime = executor.runtime
        received: list[Delivered] = []
        handed: set = set()
        try:
            for item in executor.iter_output():
                received.append(item)
            groups = partition(received)
            upstream = [o.owner for o in post_order(self._plan.dag) if getattr(o, "owner", None) is not None]
            result = []
            for group in groups:
                result.append(_materialized(group, runtime, executor, upstream, self._name, label))
                handed.update(ref for ref, _meta, owned in group if owned)
        except BaseException:
            runtime.free([ref for ref, _meta, owned in received if owned and ref not in handed])
            raise
        runtime.free([ref for ref, _meta, owned in received if owned and ref not in handed])
        return result

    # ---- display ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return self._plan_repr()

    def _plan_repr(self) -> str:
        dag = self._plan.dag
        lines = []

        def walk(op: L.LogicalOperator, depth: int) -> None:
            prefix = "" if depth == 0 else "   " * (depth - 1) + "+- "
            if not op.inputs:
                rows = op.output_num_rows()
                schema = op.output_schema()
                cols = "{" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "}" if schema is not None else "unknown"
                lines.append(f"{prefix}Dataset(name={self._name!r}, num_rows={rows if rows is not None else '?'}, schema={cols})"
                             if depth == 0 else f"{prefix}{op.name}(num_rows={rows if rows is not None else '?'}, schema={cols})")
            else:
                lines.append(prefix + op.name)
            for child in op.inputs:
                walk(child, depth + 1)

        walk(dag, 0)
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if _display_provider is not None:
            try:
                return _display_provider(self)
            except Exception as exc:  # a broken view must not hide the dataset
                return {"text/plain": repr(self) + f"\n(rich view unavailable: {exc})"}
        return {"text/plain": repr(self)}


class MaterializedDataset(Dataset):
    """A dataset whose blocks are held in the store; freed when this object is garbage-collected."""

    def _derive(self, op: L.LogicalOperator) -> Dataset:
        return Dataset(LogicalPlan(op), name=self._name)

    def __repr__(self) -> str:
        op = self._plan.dag
        schema = op.output_schema()
        cols = "{" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "}" if schema is not None else "{}"
        return f"MaterializedDataset(num_blocks={op.num_blocks()}, num_rows={op.output_num_rows()}, schema={cols})"


class BlockOwner:
    """Owns a materialized dataset's blocks; frees them when the last plan using them is gone.
    ``upstream`` keeps the owners of blocks this dataset reuses (not copies) alive as long."""

    def __init__(self, runtime: Any, refs: list, upstream: Optional[list] = None):
        self.runtime = runtime
        self.refs = refs
        self.upstream = list(upstream or [])
        self._finalizer = weakref.finalize(self, _free_refs, runtime, list(refs))


Delivered = tuple[BlockRef, BlockMetadata, bool]
"""One delivered block, as ``StreamingExecutor.iter_output`` yields it: (ref, metadata, owned)."""


def _one_group(blocks: list[Delivered]) -> list[list[Delivered]]:
    return [blocks]


def _materialized(group: list[Delivered], runtime: Any, executor: Any, upstream: list,
                  name: Optional[str], label: str) -> MaterializedDataset:
    """A MaterializedDataset over ``group``: it owns the blocks this run made, and keeps the
    ``upstream`` owners alive when it also holds blocks of theirs."""
    op = L.InputData(refs=[(ref, meta) for ref, meta, _owned in group], runtime=runtime, name=name or label)
    reused = any(not owned for _ref, _meta, owned in group)
    op.owner = BlockOwner(runtime, [ref for ref, _meta, owned in group if owned], upstream if reused else [])
    mat = MaterializedDataset(LogicalPlan(op), name=name)
    mat._last_run = executor
    return mat


def _free_refs(runtime: Any, refs: list) -> None:
    try:
        runtime.free(refs)
    except Exception:
        pass


def _check_names(op: str, cols: Iterable[Any]) -> None:
    for c in cols:
        if not isinstance(c, str):
            raise TypeError(f"{op}: column names must be str, got {c!r}")

