"""Turn a TaskError from a worker into the exception the user sees.

The exception names the operator, keeps the worker's traceback in its message, chains the
original exception as ``__cause__``, and is also an instance of the original exception's type
where that type allows it, so ``except ZeroDivisionError`` still works around a Dataset call.
"""

from __future__ import annotations

import functools

from streamscope.engine.exceptions import RemoteTraceback, UserCodeException, WorkerCrashedError


@functools.lru_cache(maxsize=128)
def _combined_type(original: type) -> type:
    try:
        return type(f"UserCodeException({original.__name__})", (UserCodeException, original), {
            "__init__": UserCodeException.__init__,
            "__str__": lambda self: UserCodeException.__str__(self),
        })
    except TypeError:
        return UserCodeException


def exception_from_task_error(error) -> BaseException:
    if error.system:
        exc: BaseException = WorkerCrashedError(f"{error.operator}: {error.message}")
        exc.__cause__ = RemoteTraceback(error.traceback) if error.traceback else None
        return exc
    message = (
        f"{error.operator} failed: {error.type_name}: {error.message}\n\n"
        f"Traceback from the worker:\n{error.traceback.rstrip()}"
    )
    cls = UserCodeException
    if error.exception is not None and isinstance(error.exception, Exception):
        cls = _combined_type(type(error.exception))
    try:
        exc = cls(error.operator, message, error.traceback)
    except Exception:
        exc = UserCodeException(error.operator, message, error.traceback)
    exc.__cause__ = error.exception if error.exception is not None else RemoteTraceback(error.traceback)
    return exc
