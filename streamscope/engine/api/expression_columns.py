"""``Dataset.with_column`` / ``with_columns``: columns computed from expressions
(:mod:`streamscope.expressions`), as Ray Data 2.60 has them.

Why a mixin of its own: the expression methods share one path (check the expressions against the
schema when it is known, one vectorized transform, the map arguments every map method takes) and
keep ``dataset.py`` to construction and the classic transforms.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.api.map_args import map_task_args
from streamscope.engine.api.map_args import named_remote_params as _named
from streamscope.engine.expressions import ColumnNotFoundError, Expr
from streamscope.engine.logical import operators as L
from streamscope.engine.transforms.columns import WithColumnsTransform


class ExpressionColumnsMixin:
    """The expression-column methods of :class:`~streamscope.Dataset`."""

    def with_column(self, column_name: str, expr: Any, *, compute=None, num_cpus=None, num_gpus=None, memory=None,
                    label_selector=None, fallback_strategy=None, max_calls=None, resources=None,
                    accelerator_type=None, runtime_env=None, **ray_remote_args) -> Any:
        """Add (or replace) column ``column_name`` with the value of expression ``expr``
        (``streamscope.expressions.col``/``lit`` with arithmetic, comparisons and boolean
        operators), evaluated vectorized with pyarrow compute, as Ray Data's ``with_column``.

        Examples:
            >>> from streamscope.expressions import col, lit
            >>> streamscope.range(3).with_column("next", col("id") + lit(1)).take()
            [{'id': 0, 'next': 1}, {'id': 1, 'next': 2}, {'id': 2, 'next': 3}]
        """
        if not isinstance(column_name, str):
            raise TypeError(f"with_column: column_name must be a str, got {column_name!r}")
        return self._with_exprs("with_column", {column_name: expr}, compute=compute, num_cpus=num_cpus,
                                num_gpus=num_gpus, memory=memory,
                                named=_named(label_selector, fallback_strategy, max_calls, resources,
                                             accelerator_type, runtime_env), ray_remote_args=ray_remote_args)

    def with_columns(self, exprs: Optional[dict] = None, *more_exprs: dict, compute=None, num_cpus=None,
                     num_gpus=None, memory=None, label_selector=None, fallback_strategy=None, max_calls=None,
                     resources=None, accelerator_type=None, runtime_env=None, **ray_remote_args) -> Any:
        """Add (or replace) several columns at once, from mappings of column name to expression;
        every expression sees the columns as they came in.

        Examples:
            >>> from streamscope.expressions import col
            >>> streamscope.range(2).with_columns({"twice": col("id") * 2, "big": col("id") > 0}).take()
            [{'id': 0, 'twice': 0, 'big': False}, {'id': 1, 'twice': 2, 'big': True}]
        """
        merged: dict = {}
        for mapping in (exprs, *more_exprs):
            if mapping is None:
                continue
            if not isinstance(mapping, dict):
                raise TypeError(f"with_columns: expected mappings of column name to expression, got "
                                f"{type(mapping).__name__} (unnest expressions are not supported)")
            merged.update(mapping)
        if not merged:
            raise ValueError("with_columns: give at least one column name and expression")
        return self._with_exprs("with_columns", merged, compute=compute, num_cpus=num_cpus, num_gpus=num_gpus,
                                memory=memory, named=_named(label_selector, fallback_strategy, max_calls, resources,
                                                            accelerator_type, runtime_env),
                                ray_remote_args=ray_remote_args)

    def _with_exprs(self, method: str, exprs: dict, *, compute: Any, num_cpus: Any, num_gpus: Any,
                    memory: Any, named: dict, ray_remote_args: dict) -> Any:
        checked = {}
        for name, expr in exprs.items():
            if not isinstance(expr, Expr):
                raise TypeError(f"{method}: the value for {name!r} must be an expression "
                                f"(streamscope.expressions.col/lit), got {type(expr).__name__}")
            checked[str(name)] = expr
        schema = self._plan.dag.output_schema()
        if schema is not None:  # a missing column is named before anything runs
            for name, expr in checked.items():
                try:
                    expr.validate(schema.names)
                except ColumnNotFoundError as exc:
                    raise ColumnNotFoundError(f"{method}({name!r}): {exc.args[0]}") from None
        transform = WithColumnsTransform(checked)
        args = map_task_args(transform.name, transform, compute=compute, num_cpus=num_cpus, num_gpus=num_gpus,
                             memory=memory, named=named, ray_remote_args=ray_remote_args)
        return self._derive(L.AddColumn(transform.name, self._plan.dag, transform, **args))
