"""``streamscope.expressions``: Ray Data's ``ray.data.expressions`` names that streamscope has,
under the same path (``from ray.data.expressions import col, lit`` becomes
``from streamscope.expressions import col, lit``).

A thin re-export of :mod:`streamscope.engine.expressions`: expressions built from ``col`` and
``lit`` with arithmetic (``+ - * / // % **``), comparisons, ``&``/``|``/``~``, ``is_null()``,
``is_in()``; used by ``Dataset.with_column``/``with_columns`` and ``Dataset.filter(expr=...)``.
Not here yet (refused by their absence): ``udf``, ``download``, ``star``, the string and list
namespaces, ``random()``/``uuid()``.

Examples:
    >>> from streamscope.expressions import col, lit
    >>> streamscope.range(4).filter(expr=col("id") >= lit(2)).take()
    [{'id': 2}, {'id': 3}]
"""

from __future__ import annotations

from streamscope.engine.expressions import Expr, col, lit

__all__ = ["Expr", "col", "lit"]
