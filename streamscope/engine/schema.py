"""Schema: the object ``Dataset.schema()`` returns, shaped like Ray Data's (``names``, ``types``,
``base_schema``) and printed as a column/type table."""

from __future__ import annotations

import pyarrow as pa


class Schema:
    """What ``Dataset.schema()`` returns, shaped like Ray Data's: ``names``, ``types`` and the
    pyarrow ``base_schema``; printed as a column/type table.

    Examples:
        >>> schema = streamscope.from_items([{"a": 1, "b": "x"}]).schema()
        >>> schema
        Column  Type
        ------  ----
        a       int64
        b       string
        >>> schema.base_schema.field("b").type
        DataType(string)
    """

    def __init__(self, base_schema: pa.Schema):
        self.base_schema = base_schema

    @property
    def names(self) -> list[str]:
        """The column names.

        Examples:
            >>> streamscope.from_items([{"a": 1, "b": "x"}]).schema().names
            ['a', 'b']
        """
        return list(self.base_schema.names)

    @property
    def types(self) -> list[pa.DataType]:
        """The column types (pyarrow DataTypes).

        Examples:
            >>> streamscope.from_items([{"a": 1, "b": "x"}]).schema().types
            [DataType(int64), DataType(string)]
        """
        return list(self.base_schema.types)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Schema):
            return self.base_schema.equals(other.base_schema)
        if isinstance(other, pa.Schema):
            return self.base_schema.equals(other)
        return NotImplemented

    def __len__(self) -> int:
        return len(self.base_schema)

    def __repr__(self) -> str:
        width = max([len("Column")] + [len(n) for n in self.names])
        lines = [f"{'Column':<{width}}  Type", f"{'-' * 6:<{width}}  ----"]
        for name, typ in zip(self.names, self.types):
            lines.append(f"{name:<{width}}  {typ}")
        return "\n".join(lines)
