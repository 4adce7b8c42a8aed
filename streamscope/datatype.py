"""``streamscope.datatype``: Ray Data 2.60's ``ray.data.datatype`` (``DataType``, ``TypeCategory``),
the column types the expression API takes (``@udf(return_dtype=DataType.int32())``,
``col("x").cast(DataType.string())``).

Examples:
    >>> from streamscope.datatype import DataType
    >>> DataType.list(DataType.string())
    DataType(arrow:list<item: string>)
"""

from __future__ import annotations

from streamscope.engine.datatype import DataType, TypeCategory

__all__ = ["DataType", "TypeCategory"]
