"""Dataset: a lazy, immutable builder of logical plans with Ray Data's method names.

Every transform returns a new Dataset whose plan has one more logical operator; nothing runs until
a consumption method (``take``, ``iter_batches``, ``count``, ``write_*``, ``materialize``) is
called. Consumption lives in :mod:`streamscope.engine.api.consume`, writes in
:mod:`streamscope.engine.api.writes`; this module holds construction and transforms only.
"""

from __future__ import annotations

import uuid
import warnings
import weakref
from typing import Any, Callable, Iterable, Optional, Union

from streamscope.engine.api.all_to_all import AllToAllMixin, shuffle_repartition
from streamscope.engine.api.expression_columns import ExpressionColumnsMixin
from streamscope.engine.api.map_args import map_task_args
from streamscope.engine.api.nary import NAryMixin
from streamscope.engine.api.random_access import RandomAccessMixin
from streamscope.engine.api.map_args import named_remote_params as _named
from streamscope.engine.api.consume import ConsumeMixin
from streamscope.engine.api.refs import RefsMixin
from streamscope.engine.api.summary import summarize
from streamscope.engine.api.dataset_repr import dataset_repr
from streamscope.engine.logical import operators as L
from streamscope.engine.block import BlockMetadata
from streamscope.engine.expressions import Expr, as_expr
from streamscope.engine.logical.plan import LogicalPlan, post_order
from streamscope.engine.runtime.base import BlockRef
from streamscope.engine.transforms.batches import AddColumnTransform, MapBatchesTransform
from streamscope.engine.transforms.columns import (
    DropColumnsTransform,
    RenameColumnsTransform,
    SelectColumnsTransform,
)
from streamscope.engine.transforms.expression_transforms import ExprFilterTransform
from streamscope.engine.transforms.rows import FilterRowsTransform, FlatMapTransform, MapRowsTransform
from streamscope.engine.transforms.udf import UserFunction, describe
from streamscope.engine.api.jax import JaxMixin
from streamscope.engine.api.tensorflow import TensorFlowMixin
from streamscope.engine.api.torch import TorchMixin
from streamscope.engine.api.writes import WriteMixin
from streamscope.engine.api.connector_writes import ConnectorWriteMixin
from streamscope.engine.api.dataframe_bridges import DataFrameBridgeMixin

_display_provider: Optional[Callable[["Dataset"], dict]] = None


def set_display_provider(fn: Optional[Callable[["Dataset"], dict]]) -> None:
    """Install the function that renders a Dataset's rich repr in notebooks. The top-level
    package installs the widgets' renderer here, so the engine never imports widget code."""
    global _display_provider
    _display_provider = fn


class Dataset(ConsumeMixin, RefsMixin, WriteMixin, ConnectorWriteMixin, DataFrameBridgeMixin, TorchMixin, JaxMixin,
              TensorFlowMixin, AllToAllMixin, NAryMixin, RandomAccessMixin, ExpressionColumnsMixin):
    """A lazy, immutable dataset: a logical plan with Ray Data's methods, run only when consumed.

    Transforms (``map``, ``filter``, ``map_batches``, ``groupby``, ``sort``...) return a new
    Dataset with one more operator and compute nothing. Consumption (``take``, ``count``,
    ``iter_batches``, ``write_parquet``, ``materialize``...) optimizes the plan, fuses compatible
    maps into one task and streams blocks (pyarrow Tables) through the executor. In a notebook a
    Dataset displays as its plan graph and says it has not run; displaying never executes it.

    Examples:
        >>> ds = streamscope.range(5).map(lambda row: {"id": row["id"], "square": row["id"] ** 2})
        >>> ds.take(3)
        [{'id': 0, 'square': 0}, {'id': 1, 'square': 1}, {'id': 2, 'square': 4}]
        >>> ds.count()
        5
    """

    def __init__(self, plan: LogicalPlan, name: Optional[str] = None):
        self._plan = plan
        self._name = name
        self._last_run: Any = None

    # ---- identity -------------------------------------------------------------------------
    @property
    def _logical_plan(self) -> LogicalPlan:
        return self._plan

    def get_dataset_id(self) -> str:
        """A unique id of this Dataset object, the same on every call (Ray Data's; stats and logs
        of its runs can be told apart by it).

        Examples:
            >>> ds = streamscope.range(3)
            >>> ds.get_dataset_id() == ds.get_dataset_id() != streamscope.range(3).get_dataset_id()
            True
        """
        ident = self.__dict__.get("_dataset_id")
        if ident is None:
            ident = self.__dict__["_dataset_id"] = f"dataset_{uuid.uuid4().hex[:12]}"
        return ident

    @staticmethod
    def copy(ds: "Dataset", _deep_copy: bool = False, _as: Optional[type] = None) -> "Dataset":
        """A new Dataset object over the same plan (Ray Data's ``Dataset.copy``): its own id and
        last run, nothing run; ``_deep_copy`` gives it its own operator tree (the data stays
        shared); ``_as`` picks the class (``MaterializedDataset`` copies stay materialized).

        Examples:
            >>> ds = streamscope.range(3)
            >>> other = streamscope.Dataset.copy(ds)
            >>> other is ds, sorted(r["id"] for r in other.take_all()) == sorted(r["id"] for r in ds.take_all())
            (False, True)
        """
        cls = _as or type(ds)
        clone = cls.__new__(cls)
        clone.__dict__.update({k: v for k, v in ds.__dict__.items() if k not in ("_dataset_id", "_last_run")})
        clone._last_run = None
        if _deep_copy:  # a new operator tree; data (blocks, datasources) stays shared, never freed twice
            clone._plan = LogicalPlan(_clone_operators(ds._plan.dag))
        return clone

    def set_name(self, name: Optional[str]) -> None:
        """Name this dataset; the name appears in stats, progress lines and the notebook views.

        Examples:
            >>> ds = streamscope.range(3)
            >>> ds.set_name("ids")
            >>> ds.name
            'ids'
        """
        self._name = name

    @property
    def name(self) -> Optional[str]:
        """The name given with :meth:`set_name`, or None.

        Examples:
            >>> print(streamscope.range(3).name)
            None
        """
        return self._name

    def _derive(self, op: L.LogicalOperator) -> "Dataset":
        return Dataset(LogicalPlan(op), name=self._name)

    # ---- row and batch transforms ------------------------------------------------------------
    def map(self, fn, *, compute=None, fn_args=None, fn_kwargs=None, fn_constructor_args=None,
            fn_constructor_kwargs=None, num_cpus=None, num_gpus=None, memory=None, concurrency=None,
            label_selector=None, fallback_strategy=None, max_calls=None, resources=None, accelerator_type=None,
            runtime_env=None, ray_remote_args_fn=None, **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to each row (a dict of column name to value); it returns one dict per row.

        ``fn`` may be a function or a callable class (run on an actor pool, constructed once per
        actor with ``fn_constructor_args``). Consecutive maps fuse into one task. For vectorized work
        prefer :meth:`map_batches`, which hands ``fn`` whole batches.

        Examples:
            >>> streamscope.range(3).map(lambda row: {"id": row["id"] * 10}).take()
            [{'id': 0}, {'id': 10}, {'id': 20}]
        """
        name = f"Map({describe(fn)})"
        args = map_task_args(name, fn, compute=compute, concurrency=concurrency, fn_constructor_args=fn_constructor_args,
                             num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args_fn=ray_remote_args_fn,
                             named=_named(label_selector, fallback_strategy, max_calls, resources, accelerator_type,
                                          runtime_env), ray_remote_args=ray_remote_args)
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        return self._derive(L.MapRows(name, self._plan.dag, MapRowsTransform(udf), **args))

    def map_batches(self, fn, *, batch_size: Union[int, None, str] = None, compute=None,
                    batch_format: Optional[str] = "default", zero_copy_batch: bool = True, fn_args=None,
                    fn_kwargs=None, fn_constructor_args=None, fn_constructor_kwargs=None, num_cpus=None,
                    num_gpus=None, memory=None, concurrency=None, udf_modifying_row_count: bool = True,
                    label_selector=None, fallback_strategy=None, max_calls=None, resources=None,
                    accelerator_type=None, runtime_env=None, ray_remote_args_fn=None, **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to batches: a dict of numpy arrays by default, a pandas DataFrame with
        ``batch_format="pandas"``, a pyarrow Table with ``batch_format="pyarrow"``.

        ``batch_size`` rows per call (the last batch of a block may be smaller; ``None`` means whole
        blocks). A callable class with ``compute=ActorPoolStrategy(...)`` keeps state (a loaded
        model) across batches; ``num_gpus`` asks for GPUs per task or actor.
        ``udf_modifying_row_count=False`` promises that ``fn`` returns as many rows as it gets,
        so a later ``limit`` may move before it (``fn`` then runs on fewer rows), as in Ray Data.

        Examples:
            >>> streamscope.range(6).map_batches(lambda batch: {"id": batch["id"] * 2}, batch_size=3).take(4)
            [{'id': 0}, {'id': 2}, {'id': 4}, {'id': 6}]
            >>> ds = streamscope.range(3).map_batches(lambda df: df.assign(half=df["id"] / 2), batch_format="pandas")
            >>> ds.take(2)
            [{'id': 0, 'half': 0.0}, {'id': 1, 'half': 0.5}]
        """
        name = f"MapBatches({describe(fn)})"
        if batch_size == "auto":
            batch_size = None
        args = map_task_args(name, fn, compute=compute, concurrency=concurrency, fn_constructor_args=fn_constructor_args,
                             num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args_fn=ray_remote_args_fn,
                             named=_named(label_selector, fallback_strategy, max_calls, resources, accelerator_type,
                                          runtime_env), ray_remote_args=ray_remote_args)
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        transform = MapBatchesTransform(udf, batch_size, batch_format, zero_copy_batch)
        if not isinstance(udf_modifying_row_count, bool):
            raise TypeError(f"{name}: udf_modifying_row_count must be True or False, got {udf_modifying_row_count!r}")
        return self._derive(L.MapBatches(name, self._plan.dag, transform, min_rows_per_bundle=batch_size,
                                         can_modify_num_rows=udf_modifying_row_count, **args))

    def flat_map(self, fn, *, compute=None, fn_args=None, fn_kwargs=None, fn_constructor_args=None,
                 fn_constructor_kwargs=None, num_cpus=None, num_gpus=None, memory=None, concurrency=None,
                 label_selector=None, fallback_strategy=None, max_calls=None, resources=None, accelerator_type=None,
                 runtime_env=None, ray_remote_args_fn=None, **ray_remote_args) -> "Dataset":
        """Apply ``fn`` to each row; it returns a list of rows (zero, one or many per input row).

        Examples:
            >>> streamscope.from_items([1, 2]).flat_map(lambda row: [row, row]).take()
            [{'item': 1}, {'item': 1}, {'item': 2}, {'item': 2}]
        """
        name = f"FlatMap({describe(fn)})"
        args = map_task_args(name, fn, compute=compute, concurrency=concurrency, fn_constructor_args=fn_constructor_args,
                             num_cpus=num_cpus, num_gpus=num_gpus, memory=memory, ray_remote_args_fn=ray_remote_args_fn,
                             named=_named(label_selector, fallback_strategy, max_calls, resources, accelerator_type,
                                          runtime_env), ray_remote_args=ray_remote_args)
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        return self._derive(L.FlatMap(name, self._plan.dag, FlatMapTransform(udf), **args))

    def filter(self, fn=None, expr=None, *, compute=None, fn_args=None, fn_kwargs=None,
               fn_constructor_args=None, fn_constructor_kwargs=None, num_cpus=None, num_gpus=None,
               memory=None, concurrency=None, label_selector=None, fallback_strategy=None, max_calls=None,
               resources=None, accelerator_type=None, runtime_env=None, ray_remote_args_fn=None,
               **ray_remote_args) -> "Dataset":
        """Keep the rows where ``fn(row)`` is true, or where the expression ``expr`` holds (a
        string such as ``"amount > 100 and region == 'eu'"`` or a ``streamscope.expressions``
        tree such as ``col("amount") > 100``).

        An expression is evaluated vectorized on whole blocks, needs no worker to run Python per
        row, and its parts pyarrow can evaluate are pushed into Parquet reads so row groups that
        cannot match are never read (UDF parts stay a filter after the read).

        Examples:
            >>> streamscope.range(10).filter(lambda row: row["id"] % 3 == 0).take()
            [{'id': 0}, {'id': 3}, {'id': 6}, {'id': 9}]
            >>> streamscope.range(10).filter(expr="id >= 7").count()
            3
            >>> from streamscope.expressions import col
            >>> streamscope.range(10).filter(expr=(col("id") % 3 == 0) & (col("id") > 0)).take()
            [{'id': 3}, {'id': 6}, {'id': 9}]
        """
        if (fn is None) == (expr is None):
            raise ValueError("filter() takes exactly one of fn or expr")
        parsed = as_expr(expr) if expr is not None else None
        name = f"Filter({parsed})" if parsed is not None else f"Filter({describe(fn)})"
        args = map_task_args(name, fn if fn is not None else parsed, compute=compute, concurrency=concurrency,
                             fn_constructor_args=fn_constructor_args, num_cpus=num_cpus, num_gpus=num_gpus,
                             memory=memory, ray_remote_args_fn=ray_remote_args_fn,
                             named=_named(label_selector, fallback_strategy, max_calls, resources, accelerator_type,
                                          runtime_env), ray_remote_args=ray_remote_args)
        if parsed is not None:
            return self._derive(L.Filter(name, self._plan.dag, ExprFilterTransform(parsed), expr=parsed, **args))
        udf = UserFunction(fn, name, fn_args, fn_kwargs, fn_constructor_args, fn_constructor_kwargs)
        return self._derive(L.Filter(name, self._plan.dag, FilterRowsTransform(udf), **args))

    def add_column(self, col: str, fn: Callable, *, batch_format: Optional[str] = "pandas", compute=None,
                   concurrency=None, num_cpus=None, num_gpus=None, memory=None, label_selector=None,
                   fallback_strategy=None, max_calls=None, resources=None, accelerator_type=None, runtime_env=None,
                   **ray_remote_args) -> "Dataset":
        """Add (or replace) column ``col`` computed by ``fn(batch)``, a pandas DataFrame by default.

        Examples:
            >>> streamscope.range(3).add_column("double", lambda df: df["id"] * 2).take()
            [{'id': 0, 'double': 0}, {'id': 1, 'double': 2}, {'id': 2, 'double': 4}]
        """
        name = f"AddColumn({col})"
        udf = UserFunction(fn, name)
        transform = AddColumnTransform(udf, col, batch_format)
        # Ray wraps fn in a function of its own, so add_column always runs as tasks; it hands its
        # **ray_remote_args to map_batches, where a ray_remote_args_fn binds to that parameter
        args_fn = ray_remote_args.pop("ray_remote_args_fn", None)
        args = map_task_args(name, transform, compute=compute, concurrency=concurrency, num_cpus=num_cpus,
                             num_gpus=num_gpus, memory=memory, ray_remote_args_fn=args_fn,
                             named=_named(label_selector, fallback_strategy, max_calls, resources, accelerator_type,
                                          runtime_env), ray_remote_args=ray_remote_args)
        return self._derive(L.AddColumn(name, self._plan.dag, transform, **args))

    def select_columns(self, cols: Union[str, list[str]], **task_args: Any) -> "Dataset":
        """Keep only ``cols``, in that order. Reads below it (Parquet) read only those columns.

        Examples:
            >>> ds = streamscope.from_items([{"a": 1, "b": 2, "c": 3}])
            >>> ds.select_columns(["c", "a"]).take()
            [{'c': 3, 'a': 1}]
        """
        _refuse_task_args("select_columns", task_args)
        cols = [cols] if isinstance(cols, str) else list(cols)
        if any(isinstance(c, Expr) for c in cols):
            raise ValueError(f"select_columns requires all elements of 'cols' to be strings, got {cols!r}: select_columns "
                             "takes column names (as in Ray Data 2.60); compute expressions with with_column(name, expr) "
                             "or with_columns({...}) first, then select the names")
        _check_names("select_columns", cols)
        return self._derive(L.Project(f"Project[select={cols}]", self._plan.dag, SelectColumnsTransform(cols)))

    def drop_columns(self, cols: Union[str, list[str]], **task_args: Any) -> "Dataset":
        """Remove ``cols`` (a name or a list of names).

        Examples:
            >>> ds = streamscope.from_items([{"a": 1, "b": 2, "c": 3}])
            >>> ds.drop_columns("b").columns()
            ['a', 'c']
        """
        _refuse_task_args("drop_columns", task_args)
        cols = [cols] if isinstance(cols, str) else list(cols)
        _check_names("drop_columns", cols)
        return self._derive(L.Project(f"Project[drop={cols}]", self._plan.dag, DropColumnsTransform(cols)))

    def rename_columns(self, names: Union[list[str], dict[str, str]], **task_args: Any) -> "Dataset":
        """Rename columns with a dict ``{old: new}``, or give every column a new name with a list.

        Examples:
            >>> ds = streamscope.from_items([{"a": 1, "b": 2}])
            >>> ds.rename_columns({"a": "x"}).columns()
            ['x', 'b']
            >>> ds.rename_columns(["p", "q"]).take()
            [{'p': 1, 'q': 2}]
        """
        _refuse_task_args("rename_columns", task_args)
        if not isinstance(names, (list, dict)):
            raise TypeError(f"rename_columns expects a list or dict of names, got {type(names).__name__}")
        return self._derive(L.Project(f"Project[rename={names}]", self._plan.dag, RenameColumnsTransform(names)))

    # ---- structural ---------------------------------------------------------------------------
    def limit(self, limit: int) -> "Dataset":
        """The first ``limit`` rows. The limit is pushed towards the source, and a run stops reading
        once it has them, so ``limit`` on a huge read is cheap.

        Examples:
            >>> streamscope.range(1000).limit(3).take_all()
            [{'id': 0}, {'id': 1}, {'id': 2}]
        """
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        return self._derive(L.Limit(self._plan.dag, limit))

    def repartition(self, num_blocks: Optional[int] = None, target_num_rows_per_block: Optional[int] = None, *,
                    strict: bool = False, shuffle: bool = False, keys=None, sort: bool = False) -> "Dataset":
        """Re-cut the dataset into ``num_blocks`` blocks (or blocks of at most
        ``target_num_rows_per_block`` rows; with ``strict=True`` exactly that many, but the last).
        Without ``shuffle`` or ``keys`` this splits and merges blocks into near-equal row counts, no
        rows move between workers; ``shuffle=True`` deals rows at random, ``keys=`` puts rows with
        equal keys in the same block.

        Examples:
            >>> streamscope.range(100).repartition(4).num_blocks()
            4
            >>> streamscope.range(100).repartition(target_num_rows_per_block=30).num_blocks()
            4
            >>> ds = streamscope.range(100).repartition(target_num_rows_per_block=30, strict=True)
            >>> [len(batch["id"]) for batch in ds.iter_batches(batch_size=None)]
            [30, 30, 30, 10]
        """
        if (num_blocks is None) == (target_num_rows_per_block is None):
            raise ValueError("repartition() takes exactly one of num_blocks or target_num_rows_per_block")
        if target_num_rows_per_block is not None:
            if shuffle:
                raise ValueError("repartition: shuffle must be False when target_num_rows_per_block is set")
            for name, value in (("keys", keys), ("sort", sort)):
                if value:  # as Ray Data 2.60: row-count repartitions neither hash nor sort
                    warnings.warn(f"repartition: {name} is ignored when target_num_rows_per_block is set", stacklevel=2)
        else:
            if strict:
                warnings.warn("repartition: strict is ignored when target_num_rows_per_block is not set; use "
                              "target_num_rows_per_block to enable strict mode", stacklevel=2)
            if shuffle or keys:
                return shuffle_repartition(self, num_blocks, keys=keys, sort=sort)
            if num_blocks <= 0:
                raise ValueError(f"num_blocks must be positive, got {num_blocks}")
        return self._derive(L.Repartition(self._plan.dag, num_blocks, target_num_rows_per_block,
                                          strict=bool(strict) and target_num_rows_per_block is not None))

    def randomize_block_order(self, *, seed: Optional[int] = None) -> "Dataset":
        """Shuffle the order of blocks (not rows within them): a cheap shuffle for training epochs.

        Examples:
            >>> ds = streamscope.range(8, override_num_blocks=4).randomize_block_order(seed=0)
            >>> sorted(row["id"] for row in ds.take_all())
            [0, 1, 2, 3, 4, 5, 6, 7]
        """
        return self._derive(L.RandomizeBlocks(self._plan.dag, seed))

    def summary(self, columns: Optional[list] = None, override_dtype_agg_mapping: Optional[dict] = None):
        """Per-column statistics chosen by column type, in one aggregation pass (Ray Data's
        ``summary``): a :class:`~streamscope.engine.api.summary.DatasetSummary` with
        ``to_pandas()`` and ``get_column_stats(col)``. ``override_dtype_agg_mapping`` maps a
        ``DataType`` (``streamscope.datatype.DataType.int64()``; a pyarrow type works too) or a
        ``TypeCategory`` to a function of a column name returning aggregations.

        Examples:
            >>> ds = streamscope.from_items([{"age": 25, "name": "a"}, {"age": 35, "name": None}])
            >>> stats = ds.summary().get_column_stats("age")
            >>> dict(zip(stats["statistic"], stats["value"]))["mean"]
            30.0
        """
        return summarize(self, columns, override_dtype_agg_mapping)

    def _from_tables(self, tables: list) -> "MaterializedDataset":
        """A MaterializedDataset of blocks already in this process (a split's share of this
        dataset, ``DataIterator.materialize``); with none, an empty one of this schema."""
        if not tables:
            schema = self.schema()
            arrow = getattr(schema, "base_schema", schema)
            tables = [arrow.empty_table()] if arrow is not None else []
        return MaterializedDataset(LogicalPlan(L.InputData(tables=tables, name="FromIterator")))

    def materialize(self) -> "MaterializedDataset":
        """Execute and keep every block in the store; later uses read the stored blocks.

        If the run fails, is cancelled or interrupted, the blocks already received are freed.
        Blocks that belonged to an upstream materialized dataset stay owned by it (the new
        dataset keeps it alive) and are never freed twice. The blocks are freed when the
        MaterializedDataset (and every dataset built on it) is garbage-collected.

        Examples:
            >>> mat = streamscope.range(10).map(lambda row: {"id": row["id"] + 1}).materialize()
            >>> type(mat).__name__
            'MaterializedDataset'
            >>> mat.count(), mat.sum("id")  # both read the stored blocks; the map ran once
            (10, 55)
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
        """What ``print(ds)`` shows, as Ray Data 2.60 prints it, without running anything: a
        table of the columns when the plan knows its schema, else the operator tree.

        Examples:
            >>> print(streamscope.range(10).filter(expr="id > 3"))
            shape: (?, 1)
            ╭───────╮
            │ id    │
            │ ---   │
            │ int64 │
            ╰───────╯
            (Dataset isn't materialized)
            >>> def add_one(batch):
            ...     return {"id": batch["id"] + 1}
            >>> print(streamscope.range(10).map_batches(add_one).select_columns(["id"]))
            Project
            +- MapBatches(add_one)
               +- Dataset(num_rows=10, schema={id: int64})
        """
        return dataset_repr(self._plan.dag, type(self).__name__, self._name, isinstance(self, MaterializedDataset))

    def __str__(self) -> str:
        return repr(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if _display_provider is not None:
            try:
                return _display_provider(self)
            except Exception as exc:  # a broken view must not hide the dataset
                return {"text/plain": repr(self) + f"\n(rich view unavailable: {exc})"}
        return {"text/plain": repr(self)}


class MaterializedDataset(Dataset):
    """A dataset whose blocks are held in the store (what :meth:`Dataset.materialize`, the
    ``from_*`` functions and the splits return); freed when this object is garbage-collected.

    Transforms on it return ordinary lazy Datasets that read the stored blocks.

    Examples:
        >>> mat = streamscope.from_items([{"a": 1}, {"a": 2}, {"a": 3}])
        >>> print(mat)
        shape: (3, 1)
        ╭───────╮
        │ a     │
        │ ---   │
        │ int64 │
        ╞═══════╡
        │ 1     │
        │ 2     │
        │ 3     │
        ╰───────╯
        (Showing 3 of 3 rows)
        >>> mat.map(lambda row: {"a": row["a"] * 2}).take()
        [{'a': 2}, {'a': 4}, {'a': 6}]
    """

    def _derive(self, op: L.LogicalOperator) -> Dataset:
        return Dataset(LogicalPlan(op), name=self._name)


def _clone_operators(op: L.LogicalOperator) -> L.LogicalOperator:
    return op.with_inputs([_clone_operators(child) for child in op.inputs])


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
    """A materialized dataset's finalizer. It runs once, on whichever thread drops the dataset:
    a KeyboardInterrupt landing in the middle would leave the blocks in the store for good, so
    the free is finished first (freeing is idempotent), then the interrupt goes on."""
    try:
        runtime.free(refs)
    except Exception:
        pass
    except BaseException:
        try:
            runtime.free(refs)
        except Exception:
            pass
        raise


def _refuse_task_args(op: str, task_args: dict) -> None:
    """Column selection, dropping and renaming run inside the neighbouring tasks (a projection the
    optimizer may push into the read), so they have no tasks of their own to size or schedule:
    Ray Data's ``compute``/``concurrency``/``num_cpus``/... arguments are refused here, by name,
    rather than accepted and dropped. ``None`` (Ray's default) is accepted."""
    given = sorted(k for k, v in task_args.items() if v is not None)
    if given:
        raise ValueError(f"{op}: {', '.join(given)} not supported: in streamscope {op} runs fused into the "
                         "tasks next to it and has no tasks of its own to size or schedule; leave "
                         f"{'them' if len(given) > 1 else 'it'} out")


def _check_names(op: str, cols: Iterable[Any]) -> None:
    for c in cols:
        if not isinstance(c, str):
            raise TypeError(f"{op}: column names must be str, got {c!r}")

