"""Math and type methods of expressions (``col("x").abs()``, ``.round()``, ``.cast(...)``), as Ray
Data 2.60's ``Expr`` has them: each is one pyarrow compute kernel applied to the expression.

A mixin of :class:`~streamscope.engine.expression_core.Expr`, kept apart so the base class stays
about trees; every method builds its node through ``self._pc_call`` (a pyarrow compute call,
which converts to a pyarrow expression, so a predicate using it still pushes into scans).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.datatype import DataType

_FLOAT = DataType.float64()


def cast_values(values: Any, target_type: pa.DataType, safe: bool = True) -> Any:
    """``pc.cast`` for arrays and ``Expression.cast`` for pyarrow expressions (what ``cast``
    calls, so it evaluates on blocks and converts for scans alike)."""
    if isinstance(values, pc.Expression):
        return values.cast(target_type, safe=safe)
    return pc.cast(values, target_type, safe=safe)


class ExprMathMixin:
    """The numeric methods every expression has."""

    def _pc_call(self, func: Any, return_dtype: Any, label: str, positional: tuple = (),
                 kwargs: Any = None) -> Any:  # pragma: no cover - Expr provides it
        raise NotImplementedError

    # rounding
    def ceil(self) -> Any:
        """Round up to the nearest integer.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").ceil().evaluate(pa.table({"x": [1.2, -1.2]})).to_pylist()
            [2.0, -1.0]
        """
        return self._pc_call(pc.ceil, None, "ceil()")

    def floor(self) -> Any:
        """Round down to the nearest integer.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").floor().evaluate(pa.table({"x": [1.8, -1.2]})).to_pylist()
            [1.0, -2.0]
        """
        return self._pc_call(pc.floor, None, "floor()")

    def round(self) -> Any:
        """Round to the nearest integer, halves to even (pyarrow's default).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").round().evaluate(pa.table({"x": [1.5, 2.5, -1.6]})).to_pylist()
            [2.0, 2.0, -2.0]
        """
        return self._pc_call(pc.round, None, "round()")

    def trunc(self) -> Any:
        """Drop the fractional part (round toward zero).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").trunc().evaluate(pa.table({"x": [1.8, -1.8]})).to_pylist()
            [1.0, -1.0]
        """
        return self._pc_call(pc.trunc, None, "trunc()")

    # logarithms and exponentials
    def ln(self) -> Any:
        """Natural logarithm.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").ln().evaluate(pa.table({"x": [1.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.ln, _FLOAT, "ln()")

    def log10(self) -> Any:
        """Base-10 logarithm.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").log10().evaluate(pa.table({"x": [100.0]})).to_pylist()
            [2.0]
        """
        return self._pc_call(pc.log10, _FLOAT, "log10()")

    def log2(self) -> Any:
        """Base-2 logarithm.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").log2().evaluate(pa.table({"x": [8.0]})).to_pylist()
            [3.0]
        """
        return self._pc_call(pc.log2, _FLOAT, "log2()")

    def exp(self) -> Any:
        """``e`` raised to the value.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").exp().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [1.0]
        """
        return self._pc_call(pc.exp, _FLOAT, "exp()")

    # trigonometry (radians)
    def sin(self) -> Any:
        """Sine.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").sin().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.sin, _FLOAT, "sin()")

    def cos(self) -> Any:
        """Cosine.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").cos().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [1.0]
        """
        return self._pc_call(pc.cos, _FLOAT, "cos()")

    def tan(self) -> Any:
        """Tangent.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").tan().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.tan, _FLOAT, "tan()")

    def asin(self) -> Any:
        """Arcsine, in radians.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").asin().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.asin, _FLOAT, "asin()")

    def acos(self) -> Any:
        """Arccosine, in radians.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").acos().evaluate(pa.table({"x": [1.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.acos, _FLOAT, "acos()")

    def atan(self) -> Any:
        """Arctangent, in radians.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").atan().evaluate(pa.table({"x": [0.0]})).to_pylist()
            [0.0]
        """
        return self._pc_call(pc.atan, _FLOAT, "atan()")

    # arithmetic
    def negate(self) -> Any:
        """The value times -1 (an overflow raises).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").negate().evaluate(pa.table({"x": [5, -3]})).to_pylist()
            [-5, 3]
        """
        return self._pc_call(pc.negate_checked, None, "negate()")

    def sign(self) -> Any:
        """-1, 0 or 1 by the value's sign.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").sign().evaluate(pa.table({"x": [5, -3, 0]})).to_pylist()
            [1, -1, 0]
        """
        return self._pc_call(pc.sign, None, "sign()")

    def power(self, exponent: Any) -> Any:
        """The value raised to ``exponent`` (a number; an expression works too).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").power(2).evaluate(pa.table({"x": [2, 3]})).to_pylist()
            [4, 9]
        """
        if hasattr(exponent, "_pc_call"):  # an expression: the ``**`` node
            return self ** exponent  # type: ignore[operator]
        return self._pc_call(pc.power, None, f"power({exponent!r})", (exponent,))

    def abs(self) -> Any:
        """Absolute value (an overflow raises).

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.expressions import col
            >>> col("x").abs().evaluate(pa.table({"x": [5, -3]})).to_pylist()
            [5, 3]
        """
        return self._pc_call(pc.abs_checked, None, "abs()")

    def cast(self, target_type: DataType, *, safe: bool = True) -> Any:
        """The value converted to ``target_type`` (a :class:`~streamscope.datatype.DataType`);
        ``safe=True`` raises on overflow and lossy conversions, ``safe=False`` allows them.

        Examples:
            >>> import pyarrow as pa
            >>> from streamscope.datatype import DataType
            >>> from streamscope.expressions import col
            >>> col("x").cast(DataType.string()).evaluate(pa.table({"x": [1, 2]})).to_pylist()
            ['1', '2']
        """
        if not isinstance(target_type, DataType):
            raise TypeError(f"target_type must be a streamscope.datatype.DataType, got: {type(target_type).__name__}. "
                            "Use the DataType factories (e.g., DataType.int64(), DataType.string()).")
        if target_type.is_python_type():
            raise TypeError("Python-type-backed DataType (e.g., DataType(int), DataType(str)) requires values to infer "
                            "the Arrow type, which is not available in the cast() context. Please use an Arrow-backed "
                            "DataType instead, such as DataType.int64(), DataType.float64(), or DataType.string().")
        arrow_type = target_type.to_arrow_dtype()
        label = f"cast({arrow_type}{'' if safe else ', safe=False'})"
        return self._pc_call(cast_values, target_type, label, (arrow_type,), {"safe": bool(safe)})
