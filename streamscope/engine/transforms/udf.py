"""UserFunction: holds a user's function or callable class and calls it inside a worker.

Why a holder: a callable class must be constructed once per worker (not once per block) with its
constructor arguments, and errors must name the operator the user wrote. The holder is pickled
once per worker with the task function, so the instance it creates lives as long as the worker.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Optional


def is_callable_class(fn: Any) -> bool:
    return isinstance(fn, type)


def describe(fn: Any) -> str:
    """Ray Data's label for a function: its ``__name__`` (``<lambda>`` for lambdas)."""
    if is_callable_class(fn):
        return fn.__name__
    name = getattr(fn, "__name__", None)
    if name:
        return name
    return type(fn).__name__


class UserFunction:
    def __init__(
        self,
        fn: Any,
        operator: str,
        fn_args: Optional[Iterable[Any]] = None,
        fn_kwargs: Optional[dict] = None,
        fn_constructor_args: Optional[Iterable[Any]] = None,
        fn_constructor_kwargs: Optional[dict] = None,
    ):
        if not callable(fn):
            raise TypeError(f"{operator}: expected a function or callable class, got {type(fn).__name__}")
        if not is_callable_class(fn) and (fn_constructor_args or fn_constructor_kwargs):
            raise ValueError(f"{operator}: fn_constructor_args/kwargs are only allowed with a callable class")
        self.fn = fn
        self.operator = operator
        self.fn_args = tuple(fn_args or ())
        self.fn_kwargs = dict(fn_kwargs or {})
        self.ctor_args = tuple(fn_constructor_args or ())
        self.ctor_kwargs = dict(fn_constructor_kwargs or {})
        self._instance: Any = None
        self._lock: Optional[threading.Lock] = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_instance"] = None
        state["_lock"] = None
        return state

    def _callable(self) -> Callable[..., Any]:
        if not is_callable_class(self.fn):
            return self.fn
        if self._instance is None:
            if self._lock is None:
                self._lock = threading.Lock()
            with self._lock:
                if self._instance is None:
                    try:
                        self._instance = self.fn(*self.ctor_args, **self.ctor_kwargs)
                    except Exception as exc:
                        tag(exc, self.operator)
                        raise
        return self._instance

    def bind(self) -> Callable[[Any], Any]:
        """A plain one-argument callable for tight per-row loops (no per-call dispatch). Errors
        raised through it are not tagged; callers wrap their loop and call :func:`tag`."""
        target = self._callable()
        args, kwargs = self.fn_args, self.fn_kwargs
        if not args and not kwargs:
            return target
        return lambda value: target(value, *args, **kwargs)

    def __call__(self, value: Any) -> Any:
        target = self._callable()
        try:
            return target(value, *self.fn_args, **self.fn_kwargs)
        except Exception as exc:
            tag(exc, self.operator)
            raise


def tag(exc: BaseException, operator: str) -> None:
    """Record which operator raised, so the error message names it even inside a fused task."""
    if not hasattr(exc, "_streamscope_operator"):
        try:
            exc._streamscope_operator = operator  # type: ignore[attr-defined]
        except Exception:
            pass
