"""Function calls inside expressions: ``@udf`` (Ray Data 2.60's decorator for vectorized Python
functions and callable classes), ``@pyarrow_udf``, and the pyarrow compute calls that the math
methods and ``.str`` / ``.list`` namespaces build.

A UDF is called once per block with a pyarrow ``ChunkedArray`` per column argument (a literal
argument arrives as its Python value) and returns a column: a pyarrow array, a numpy array or a
pandas Series with one value per row. Because it runs Python, a UDF never converts to a pyarrow
expression: a filter on it stays a ``Filter`` after the read instead of going into a Parquet scan
(only the conjuncts beside it that pyarrow can evaluate are pushed). A pyarrow compute call
(:class:`PyArrowComputeUDFExpr`) does convert, so ``col("s").str.starts_with("a")`` pushes.

A callable class decorated with ``@udf`` is constructed once per worker process, lazily, at its
first block (an actor's lifetime with ``compute=ActorPoolStrategy``, which ``with_column`` picks
by default for them, as Ray does); an ``async def __call__`` is run to completion per block.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from streamscope.engine.datatype import DataType
from streamscope.engine.expression_core import EvalContext, Expr, UnknownType, to_expr

__all__ = ["PyArrowComputeUDFExpr", "UDFExpr", "has_callable_class", "pyarrow_udf", "udf"]


class _CallableClassUDF:
    """A ``@udf`` class and its constructor arguments; the instance is made at the first call in
    each process and never pickled (each worker builds its own)."""

    def __init__(self, cls: type, args: tuple, kwargs: dict):
        self.cls, self.args, self.kwargs = cls, tuple(args), dict(kwargs)
        self._instance: Any = None

    @property
    def __name__(self) -> str:
        return self.cls.__name__

    def key(self) -> tuple:
        return (f"{self.cls.__module__}.{self.cls.__qualname__}", repr(self.args), repr(sorted(self.kwargs.items())))

    def __getstate__(self) -> dict:
        return {"cls": self.cls, "args": self.args, "kwargs": self.kwargs, "_instance": None}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._instance is None:
            self._instance = self.cls(*self.args, **self.kwargs)
        call = self._instance.__call__
        if inspect.isasyncgenfunction(call) or inspect.iscoroutinefunction(call):
            import asyncio  # only for async UDFs (importing it costs ~15 ms)
        if inspect.isasyncgenfunction(call):
            async def collect() -> Any:
                last = None
                async for item in self._instance(*args, **kwargs):
                    last = item
                return last
            return asyncio.run(collect())
        result = self._instance(*args, **kwargs)
        if inspect.iscoroutine(result):
            import asyncio

            return asyncio.run(result)
        return result


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


class UDFExpr(Expr):
    """A call of a vectorized Python function on expression arguments (what ``@udf`` builds).

    Examples:
        >>> import pyarrow.compute as pc
        >>> from streamscope.datatype import DataType
        >>> from streamscope.expressions import UDFExpr, col, udf
        >>> @udf(return_dtype=DataType.int64())
        ... def add_one(x):
        ...     return pc.add(x, 1)
        >>> expr = add_one(col("value"))
        >>> isinstance(expr, UDFExpr), str(expr), expr.data_type
        (True, 'add_one(value)', DataType(arrow:int64))
    """

    _kind = "udf"
    _convertible_self = False
    _probe_safe = False  # calling fn on an empty block to learn the type would run user code

    def __init__(self, fn: Any, args: Any, kwargs: Any, data_type: Any):
        if isinstance(fn, DataType):  # Ray's field order: UDFExpr(data_type, fn, args, kwargs)
            fn, args, kwargs, data_type = args, kwargs, data_type, fn
        self.fn = fn
        self.args = [to_expr(a) for a in args]
        self.kwargs = {k: to_expr(v) for k, v in kwargs.items()}
        self._data_type = data_type

    @property
    def data_type(self) -> DataType:
        return self._data_type if isinstance(self._data_type, DataType) else DataType(object)

    @property
    def callable_class_spec(self) -> Optional[tuple]:
        """``(class, constructor args, constructor kwargs)`` for a callable-class UDF, else None."""
        fn = self.fn
        return (fn.cls, fn.args, fn.kwargs) if isinstance(fn, _CallableClassUDF) else None

    def _call(self, args: list, kwargs: dict) -> Any:
        return self.fn(*args, **kwargs)

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        if ctx.probe and not self._probe_safe:
            raise UnknownType(str(self))
        args = [a._eval(table, ctx) for a in self.args]
        kwargs = {k: v._eval(table, ctx) for k, v in self.kwargs.items()}
        result = self._call(args, kwargs)
        if not (isinstance(result, (pa.Array, pa.ChunkedArray, np.ndarray)) or type(result).__name__ == "Series"):
            raise TypeError(f"UDF '{_fn_name(self.fn)}' returned invalid type {type(result).__name__}. Expected type "
                            "(pandas.Series, numpy.ndarray, pyarrow.Array, pyarrow.ChunkedArray)")
        if len(result) != table.num_rows:
            raise ValueError(f"UDF '{_fn_name(self.fn)}' returned {len(result)} values for a block of "
                             f"{table.num_rows} rows; it must return one value per row")
        return result

    def _children(self) -> tuple[Expr, ...]:
        return tuple(self.args) + tuple(self.kwargs.values())

    def _fn_key(self) -> Any:
        return self.fn.key() if isinstance(self.fn, _CallableClassUDF) else ("fn", id(self.fn))

    def _key(self) -> tuple:
        return ("udf", self._fn_key(), tuple(a._key() for a in self.args),
                tuple(sorted((k, v._key()) for k, v in self.kwargs.items())))

    def _text(self) -> str:
        parts = [a._text() for a in self.args] + [f"{k}={v._text()}" for k, v in self.kwargs.items()]
        return f"{_fn_name(self.fn)}({', '.join(parts)})"


class _ArrowCall(UDFExpr):
    """One of streamscope's own functions on Arrow arrays (``list.sort()``, ``map.keys()``):
    evaluated per block like a UDF, but safe to run on an empty block to learn its type."""

    _kind = "arrow_call"
    _probe_safe = True

    def __init__(self, fn: Callable[..., Any], args: list, data_type: Any, label: str):
        super().__init__(fn, args, {}, data_type)
        self.label = label

    def _fn_key(self) -> Any:
        return ("arrow", self.label)

    def _text(self) -> str:
        return f"{self._wrap(self.args[0], 9)}.{self.label}"


class PyArrowComputeUDFExpr(UDFExpr):
    """A call of one pyarrow compute function (what ``.abs()``, ``.str.upper()``,
    ``.list.len()``... build). It converts to a pyarrow expression, so predicates using it push
    into Parquet scans and partition pruning.

    Examples:
        >>> import pyarrow as pa
        >>> from streamscope.expressions import PyArrowComputeUDFExpr, col
        >>> expr = col("s").str.starts_with("a")
        >>> isinstance(expr, PyArrowComputeUDFExpr), expr.to_pyarrow()
        (True, <pyarrow.compute.Expression starts_with(s, {pattern="a", ignore_case=false})>)
    """

    _kind = "pc_call"
    _convertible_self = True
    _probe_safe = True

    def __init__(self, pc_func: Callable[..., Any], args: list, data_type: Any, label: str,
                 pc_positional: tuple = (), pc_kwargs: Optional[dict] = None):
        super().__init__(pc_func, args, {}, data_type)
        self.pc_func, self.pc_positional, self.pc_kwargs = pc_func, tuple(pc_positional), dict(pc_kwargs or {})
        self.label = label

    def _call(self, args: list, kwargs: dict) -> Any:
        args = [a if isinstance(a, (pa.Array, pa.ChunkedArray, pa.Scalar)) else pa.scalar(a) for a in args]
        return self.pc_func(*args, *self.pc_positional, **self.pc_kwargs)

    def _eval(self, table: pa.Table, ctx: EvalContext) -> Any:
        return self._call([a._eval(table, ctx) for a in self.args], {})

    def _to_pyarrow(self) -> pc.Expression:
        return self.pc_func(*[a._to_pyarrow() for a in self.args], *self.pc_positional, **self.pc_kwargs)

    def _fn_key(self) -> Any:
        return ("pc", _fn_name(self.pc_func), repr(self.pc_positional), repr(sorted(self.pc_kwargs.items())))

    def _text(self) -> str:
        return f"{self._wrap(self.args[0], 9)}.{self.label}"


def _udf_callable(fn: Callable[..., Any], return_dtype: Any) -> Callable[..., UDFExpr]:
    def build(*args: Any, **kwargs: Any) -> UDFExpr:
        return UDFExpr(fn, list(args), kwargs, return_dtype)

    if not isinstance(fn, _CallableClassUDF):
        functools.update_wrapper(build, fn)
    build._original_fn = fn  # type: ignore[attr-defined]
    return build


def udf(return_dtype: DataType) -> Callable[..., Any]:
    """Decorator turning a vectorized function (or a callable class) into one that builds
    expressions: ``add_one(col("x"))`` is an expression usable in ``with_column`` and ``filter``.
    The function gets one pyarrow ``ChunkedArray`` per column argument and returns a column of
    the same length; ``return_dtype`` (a :class:`~streamscope.datatype.DataType`) is its declared
    type. A decorated class is called as ``AddOffset(5)(col("x"))``: constructor arguments first,
    the instance is built once per worker.

    Examples:
        >>> import pyarrow.compute as pc
        >>> from streamscope.datatype import DataType
        >>> from streamscope.expressions import col, udf
        >>> @udf(return_dtype=DataType.int64())
        ... def add_one(x):
        ...     return pc.add(x, 1)
        >>> streamscope.range(3).with_column("y", add_one(col("id"))).take()
        [{'id': 0, 'y': 1}, {'id': 1, 'y': 2}, {'id': 2, 'y': 3}]
    """

    def decorator(func_or_class: Any) -> Any:
        if isinstance(func_or_class, type) and callable(getattr(func_or_class, "__call__", None)) \
                and "__call__" in dir(func_or_class):
            cls = func_or_class

            class ExpressionAwareCallableClass:
                def __init__(self, *args: Any, **kwargs: Any):
                    self._udf = _CallableClassUDF(cls, args, kwargs)

                def __call__(self, *call_args: Any, **call_kwargs: Any) -> UDFExpr:
                    return UDFExpr(self._udf, list(call_args), call_kwargs, return_dtype)

            ExpressionAwareCallableClass.__name__ = cls.__name__
            ExpressionAwareCallableClass.__qualname__ = cls.__qualname__
            ExpressionAwareCallableClass.__module__ = cls.__module__
            ExpressionAwareCallableClass.__doc__ = cls.__doc__
            return ExpressionAwareCallableClass
        if not callable(func_or_class):
            raise TypeError(f"@udf decorates a function or a callable class, got {type(func_or_class).__name__}")
        return _udf_callable(func_or_class, return_dtype)

    return decorator


def _to_arrow_args(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        def convert(v: Any) -> Any:
            if isinstance(v, np.ndarray):
                return pa.array(v)
            if type(v).__name__ == "Series" and hasattr(v, "to_numpy"):
                return pa.Array.from_pandas(v)
            return v
        return fn(*[convert(a) for a in args], **{k: convert(v) for k, v in kwargs.items()})

    return call


def pyarrow_udf(return_dtype: DataType) -> Callable[..., Any]:
    """Decorator for a function of pyarrow arrays (numpy arrays and pandas Series it might get are
    converted first): like :func:`udf`, evaluated in Python per block and never pushed into scans.

    Examples:
        >>> import pyarrow.compute as pc
        >>> from streamscope.datatype import DataType
        >>> from streamscope.expressions import col, pyarrow_udf
        >>> @pyarrow_udf(return_dtype=DataType.string())
        ... def shout(s):
        ...     return pc.utf8_upper(s)
        >>> streamscope.from_items([{"s": "hi"}]).with_column("loud", shout(col("s"))).take()
        [{'s': 'hi', 'loud': 'HI'}]
    """

    def decorator(func: Callable[..., Any]) -> Callable[..., UDFExpr]:
        return _udf_callable(_to_arrow_args(func), return_dtype)

    return decorator


def has_callable_class(expr: Expr) -> bool:
    """Whether ``expr`` calls a ``@udf`` class (``with_column`` then runs on an actor pool)."""
    return any(isinstance(node, UDFExpr) and isinstance(node.fn, _CallableClassUDF) for node in expr._walk())
