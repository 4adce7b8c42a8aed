"""``Dataset.with_column`` / ``with_columns``: columns computed from expressions
(:mod:`streamscope.expressions`), as Ray Data 2.60 has them.

Why a mixin of its own: the expression methods share one path (check the expressions against the
schema when it is known, one vectorized transform, the map arguments every map method takes) and
keep ``dataset.py`` to construction and the classic transforms.

As in Ray: an expression's own alias is replaced by the column name it is given; ``unnest(expr)``
passed to ``with_columns`` positionally adds one column per struct field; an expression calling a
``@udf`` class runs on an actor pool (``ActorPoolStrategy(min_size=1, max_size=None)``) unless
``compute=`` says otherwise; ``with_columns()`` with nothing to add returns the dataset itself.
Unlike Ray, ``download()`` works in ``with_columns`` and inside other expressions too.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from streamscope.engine.api.map_args import map_task_args
from streamscope.engine.api.map_args import named_remote_params as _named
from streamscope.engine.compute import ActorPoolStrategy, TaskPoolStrategy
from streamscope.engine.expressions import ColumnNotFoundError, Expr, UnnestExpr, has_callable_class
from streamscope.engine.logical import operators as L
from streamscope.engine.transforms.expression_transforms import WithColumnsTransform


def check_expression_items(method: str, items: list, schema: Any) -> list:
    """``(column name or None for unnest, expression)`` pairs checked: every value an expression,
    aliases dropped (the name given wins), columns known to exist when the schema is."""
    checked = []
    for name, expr in items:
        if name is None:
            checked.append((None, expr))
            continue
        if not isinstance(expr, Expr) or isinstance(expr, UnnestExpr):
            what = "unnest() goes to with_columns positionally" if isinstance(expr, UnnestExpr) else type(expr).__name__
            raise TypeError(f"{method}: the value for {name!r} must be an expression "
                            f"(streamscope.expressions.col/lit/udf...), got {what}")
        checked.append((str(name), expr._unalias()))
    if schema is not None:  # a missing column is named before anything runs
        for name, expr in checked:
            try:
                expr.validate(schema.names)
            except ColumnNotFoundError as exc:
                raise ColumnNotFoundError(f"{method}({name if name is not None else str(expr)!r}): {exc.args[0]}") from None
            if name is None:
                expr.struct_type(schema)  # unnest of a non-struct is refused when the plan is built, as in Ray
    for name, expr in checked:
        if name is None and schema is None:
            expr.struct_type(None)  # needs a declared struct type then
    return checked


class ExpressionColumnsMixin:
    """The expression-column methods of :class:`~streamscope.Dataset`."""

    def with_column(self, column_name: str, expr: Any, *, compute=None, num_cpus=None, num_gpus=None, memory=None,
                    label_selector=None, fallback_strategy=None, max_calls=None, resources=None,
                    accelerator_type=None, runtime_env=None, **ray_remote_args) -> Any:
        """Add (or replace) column ``column_name`` with the value of expression ``expr``
        (``streamscope.expressions``: ``col``/``lit`` with operators, methods such as
        ``.str.upper()``, ``@udf`` functions, ``download``, ``random``...), evaluated vectorized
        on whole blocks, as Ray Data's ``with_column``.

        Examples:
            >>> from streamscope.expressions import col, lit
            >>> streamscope.range(3).with_column("next", col("id") + lit(1)).take()
            [{'id': 0, 'next': 1}, {'id': 1, 'next': 2}, {'id': 2, 'next': 3}]
        """
        if not isinstance(column_name, str):
            raise TypeError(f"with_column: column_name must be a str, got {column_name!r}")
        return self._with_exprs("with_column", [(column_name, expr)], compute=compute, num_cpus=num_cpus,
                                num_gpus=num_gpus, memory=memory,
                                named=_named(label_selector, fallback_strategy, max_calls, resources,
                                             accelerator_type, runtime_env), ray_remote_args=ray_remote_args)

    def with_columns(self, exprs: Optional[Any] = None, *more_exprs: Any, compute=None, num_cpus=None,
                     num_gpus=None, memory=None, label_selector=None, fallback_strategy=None, max_calls=None,
                     resources=None, accelerator_type=None, runtime_env=None, **ray_remote_args) -> Any:
        """Add (or replace) several columns at once, from mappings of column name to expression
        and ``unnest(expr)`` expressions (one column per struct field), in argument order; every
        expression sees the columns as they came in.

        Examples:
            >>> from streamscope.expressions import col
            >>> streamscope.range(2).with_columns({"twice": col("id") * 2, "big": col("id") > 0}).take()
            [{'id': 0, 'twice': 0, 'big': False}, {'id': 1, 'twice': 2, 'big': True}]
        """
        items: list = []
        for arg in ((exprs,) if exprs is not None else ()) + more_exprs:
            if isinstance(arg, UnnestExpr):
                items.append((None, arg))
            elif isinstance(arg, Mapping):
                items.extend(arg.items())
            else:
                raise TypeError("`with_columns` arguments must be mappings from column name to expression, or "
                                f"unnest() expressions, got {type(arg).__name__}.")
        if not items:
            return self  # nothing to add, as Ray Data
        return self._with_exprs("with_columns", items, compute=compute, num_cpus=num_cpus, num_gpus=num_gpus,
                                memory=memory, named=_named(label_selector, fallback_strategy, max_calls, resources,
                                                            accelerator_type, runtime_env),
                                ray_remote_args=ray_remote_args)

    def _with_exprs(self, method: str, items: list, *, compute: Any, num_cpus: Any, num_gpus: Any,
                    memory: Any, named: dict, ray_remote_args: dict) -> Any:
        checked = check_expression_items(method, items, self._plan.dag.output_schema())
        transform = WithColumnsTransform(checked)
        actors = any(has_callable_class(e) for _, e in checked)
        default = ActorPoolStrategy(min_size=1, max_size=None) if actors else TaskPoolStrategy()
        args = map_task_args(transform.name, transform, compute=compute, num_cpus=num_cpus, num_gpus=num_gpus,
                             memory=memory, named=named, ray_remote_args=ray_remote_args, expression_compute=default)
        return self._derive(L.AddColumn(transform.name, self._plan.dag, transform, **args))
