"""Errors the engine raises to users. Each names the operator, file or column involved.

Also the one translation of a worker's ``TaskError`` into the exception the user sees
(:func:`exception_from_task_error`), kept here, at the bottom of the engine, because the executor
and the actor-pool operator (two layers) both raise it.
"""

from __future__ import annotations

import functools


class StreamscopeError(Exception):
    """Base class of streamscope's own errors: catch it to handle any of them.

    Examples:
        >>> issubclass(streamscope.UserCodeException, streamscope.StreamscopeError)
        True
    """


class UserCodeException(StreamscopeError):
    """A user function (map, filter, map_batches UDF, ...) raised.

    The message names the operator and includes the worker's traceback. The raised object is
    also an instance of the original exception's type where that type allows it (so
    ``except ZeroDivisionError`` works around a Dataset call), and ``__cause__`` is the original
    exception when it could be carried across processes, otherwise a ``RemoteTraceback``
    holding its formatted text.

    Examples:
        >>> def invert(row):
        ...     return {"inverse": 1 // row["id"]}
        >>> try:
        ...     streamscope.range(3).map(invert).take_all()
        ... except streamscope.UserCodeException as exc:
        ...     print(exc.operator, isinstance(exc, ZeroDivisionError))
        Map(invert) True
    """

    def __init__(self, operator: str, message: str, remote_traceback: str = ""):
        # not super(): in a combined type the next class is the user's, whose constructor may
        # want other arguments (``class E(Exception): def __init__(self, a, b)``)
        Exception.__init__(self, message)
        self.operator = operator
        self.remote_traceback = remote_traceback


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker process."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


class ExecutionCancelled(StreamscopeError):
    """The run was cancelled (the Cancel button, ``%dataset cancel``, ``handle.cancel()``); its
    tasks were stopped and its blocks freed.

    Examples:
        >>> issubclass(streamscope.ExecutionCancelled, streamscope.StreamscopeError)
        True
    """


class WorkerCrashedError(StreamscopeError):
    """A worker process died while running a task and the retries were used up.

    Examples:
        >>> issubclass(streamscope.WorkerCrashedError, streamscope.StreamscopeError)
        True
    """


class ObjectStoreFullError(StreamscopeError):
    """The block store could not place a block in memory nor spill it to disk.

    Examples:
        >>> issubclass(streamscope.ObjectStoreFullError, streamscope.StreamscopeError)
        True
    """


class DataSourceError(StreamscopeError):
    """A read failed: missing path, corrupt file, unreadable format. The message names the file.

    Examples:
        >>> try:
        ...     streamscope.read_parquet("/no/such/dir/data.parquet").take()
        ... except streamscope.DataSourceError as exc:
        ...     print(exc)
        path not found: '/no/such/dir/data.parquet'
    """


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
    """The exception to raise for a failed task's ``TaskError`` (``runtime.base.TaskError``).

    It names the operator, keeps the worker's traceback in its message, chains the original
    exception as ``__cause__``, and is also an instance of the original exception's type where
    that type allows it, so ``except ZeroDivisionError`` still works around a Dataset call. A
    system error (the worker died) becomes a :class:`WorkerCrashedError`, and a full store
    (spilling failed too) an :class:`ObjectStoreFullError`, even when a worker saw it first.
    """
    if error.type_name == ObjectStoreFullError.__name__:  # the store's fault, whoever saw it
        exc: BaseException = ObjectStoreFullError(f"{error.operator}: {error.message}")
        exc.__cause__ = RemoteTraceback(error.traceback) if error.traceback else None
        return exc
    if error.system:
        exc = WorkerCrashedError(f"{error.operator}: {error.message}")
        exc.__cause__ = RemoteTraceback(error.traceback) if error.traceback else None
        return exc
    message = (
        f"{error.operator} failed: {error.type_name}: {error.message}\n\n"
        f"Traceback from the worker:\n{error.traceback.rstrip()}"
    )
    cls = UserCodeException
    original = type(error.exception) if error.exception is not None else getattr(error, "exception_type", None)
    if isinstance(original, type) and issubclass(original, Exception):
        cls = _combined_type(original)
    try:
        exc = cls(error.operator, message, error.traceback)
    except Exception:
        exc = UserCodeException(error.operator, message, error.traceback)
    if error.exception is not None:
        _copy_attributes(error.exception, exc)
    exc.__cause__ = error.exception if error.exception is not None else RemoteTraceback(error.traceback)
    return exc


def _copy_attributes(original: BaseException, exc: BaseException) -> None:
    """The original's own attributes on the raised exception, so handlers that read them work
    as without streamscope (``except OSError as e: e.errno``, ``e.path`` of a user's class)."""
    if isinstance(original, OSError) and isinstance(exc, OSError):
        exc.errno, exc.strerror, exc.filename = original.errno, original.strerror, original.filename
    for name, value in getattr(original, "__dict__", {}).items():
        if name in ("operator", "remote_traceback") or name.startswith("_streamscope"):
            continue
        try:
            setattr(exc, name, value)
        except Exception:  # a read-only attribute of the combined type
            pass
