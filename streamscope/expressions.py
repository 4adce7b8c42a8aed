"""``streamscope.expressions``: Ray Data 2.60's ``ray.data.expressions`` under the same names
(``from ray.data.expressions import col, lit, udf`` becomes ``from streamscope.expressions
import col, lit, udf``).

Expressions are trees built from ``col`` and ``lit`` with operators (``+ - * / // % **``,
comparisons, ``&`` ``|`` ``~``), methods (``is_null``, ``is_in``, ``not_in``, ``alias``, ``cast``,
``abs``, ``round``, ``ln``, ...), namespaces (``.str``, ``.list``, ``.struct``, ``.map``, ``.dt``,
``.arr``), Python functions (``@udf``, ``@pyarrow_udf``), ``download``, ``random``, ``uuid`` and
``monotonically_increasing_id``. ``Dataset.with_column`` / ``with_columns`` compute columns with
them, ``Dataset.filter(expr=...)`` keeps rows; the parts of a filter pyarrow can evaluate push
into Parquet scans and partition pruning, the rest (UDFs, random numbers) stay a filter after
the read. Types are :class:`streamscope.datatype.DataType`.

Examples:
    >>> from streamscope.expressions import col, lit
    >>> streamscope.range(4).filter(expr=col("id") >= lit(2)).take()
    [{'id': 2}, {'id': 3}]
    >>> streamscope.from_items([{"s": "ab"}]).with_column("n", col("s").str.len() * 10).take()
    [{'s': 'ab', 'n': 20}]
"""

from __future__ import annotations

from streamscope.engine.expressions import (
    AliasExpr,
    BinaryExpr,
    ColumnExpr,
    DownloadExpr,
    Expr,
    LiteralExpr,
    MonotonicallyIncreasingIdExpr,
    Operation,
    PyArrowComputeUDFExpr,
    RandomExpr,
    StarExpr,
    UDFExpr,
    UnaryExpr,
    UnnestExpr,
    UUIDExpr,
    _ArrayNamespace,
    _DatetimeNamespace,
    _ListNamespace,
    _MapNamespace,
    _StringNamespace,
    _StructNamespace,
    col,
    download,
    lit,
    monotonically_increasing_id,
    pyarrow_udf,
    random,
    star,
    udf,
    unnest,
    uuid,
)

__all__ = [
    "Operation",
    "Expr",
    "ColumnExpr",
    "LiteralExpr",
    "BinaryExpr",
    "RandomExpr",
    "UUIDExpr",
    "UnaryExpr",
    "UDFExpr",
    "DownloadExpr",
    "AliasExpr",
    "StarExpr",
    "UnnestExpr",
    "MonotonicallyIncreasingIdExpr",
    "pyarrow_udf",
    "udf",
    "col",
    "lit",
    "download",
    "monotonically_increasing_id",
    "random",
    "star",
    "unnest",
    "uuid",
    "_ArrayNamespace",
    "_ListNamespace",
    "_StringNamespace",
    "_StructNamespace",
    "_MapNamespace",
    "_DatetimeNamespace",
    "PyArrowComputeUDFExpr",
]
