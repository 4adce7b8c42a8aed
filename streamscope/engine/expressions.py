"""Expressions: one import for the whole expression vocabulary of the engine.

An expression is a tree (``col("a") + 1 > 2``, ``add_one(col("x"))``, ``col("s").str.upper()``)
evaluated vectorized on blocks; predicates made of pyarrow-convertible parts also push into
scans. The parts live one concept per module, bottom to top:

* ``datatype`` (``DataType``), ``expression_math`` / ``expression_str_namespace`` /
  ``expression_namespaces`` (methods and the ``.str`` / ``.list`` / ``.struct`` / ``.map`` /
  ``.dt`` / ``.arr`` namespaces, built on any expression),
* ``expression_core`` (:class:`Expr`, ``Operation``, evaluation context),
* ``expression_nodes`` (columns, literals, operators, aliases, ``col``, ``lit``),
  ``expression_udf`` (``udf``, ``pyarrow_udf``, pyarrow compute calls),
  ``expression_synthetic`` (``random``, ``uuid``, ``monotonically_increasing_id``),
  ``expression_download`` (``download``), ``expression_projection`` (``star``, ``unnest``),
* ``expression_parser`` (filter strings: ``parse``, ``as_expr``).

``streamscope.expressions`` is the public face (Ray Data's ``ray.data.expressions`` names).
"""

from __future__ import annotations

from streamscope.engine.expression_core import (
    ColumnNotFoundError,
    EvalContext,
    Expr,
    Operation,
    UnknownType,
    to_column,
    to_expr,
)
from streamscope.engine.expression_download import DownloadExpr, download
from streamscope.engine.expression_namespaces import (
    _ArrayNamespace,
    _DatetimeNamespace,
    _ListNamespace,
    _MapNamespace,
    _StructNamespace,
)
from streamscope.engine.expression_nodes import (
    AliasExpr,
    Arith,
    BinaryExpr,
    BoolOp,
    Column,
    ColumnExpr,
    Compare,
    IsIn,
    IsNan,
    IsNull,
    Literal,
    LiteralExpr,
    Negate,
    Not,
    UnaryExpr,
    col,
    lit,
)
from streamscope.engine.expression_parser import as_expr, parse
from streamscope.engine.expression_projection import StarExpr, UnnestExpr, star, unnest
from streamscope.engine.expression_str_namespace import _StringNamespace
from streamscope.engine.expression_synthetic import (
    MonotonicallyIncreasingIdExpr,
    RandomExpr,
    UUIDExpr,
    monotonically_increasing_id,
    random,
    uuid,
)
from streamscope.engine.expression_udf import PyArrowComputeUDFExpr, UDFExpr, has_callable_class, pyarrow_udf, udf

__all__ = [
    "AliasExpr", "Arith", "BinaryExpr", "BoolOp", "Column", "ColumnExpr", "ColumnNotFoundError", "Compare",
    "DownloadExpr", "EvalContext", "Expr", "IsIn", "IsNan", "IsNull", "Literal", "LiteralExpr",
    "MonotonicallyIncreasingIdExpr", "Negate", "Not", "Operation", "PyArrowComputeUDFExpr", "RandomExpr", "StarExpr",
    "UDFExpr", "UUIDExpr", "UnaryExpr", "UnknownType", "UnnestExpr", "_ArrayNamespace", "_DatetimeNamespace",
    "_ListNamespace", "_MapNamespace", "_StringNamespace", "_StructNamespace", "as_expr", "col", "download",
    "has_callable_class", "lit", "monotonically_increasing_id", "parse", "pyarrow_udf", "random", "star",
    "to_column", "to_expr", "udf", "unnest", "uuid",
]
