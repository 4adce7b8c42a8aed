"""Errors the engine raises to users. Each names the operator, file or column involved."""

from __future__ import annotations


class StreamscopeError(Exception):
    """Base class of streamscope's own errors."""


class UserCodeException(StreamscopeError):
    """A user function (map, filter, map_batches UDF, ...) raised.

    The message names the operator; ``__cause__`` is the original exception when it could be
    carried across processes, otherwise a :class:`RemoteTraceback` holding its formatted text.
    """

    def __init__(self, operator: str, message: str, remote_traceback: str = ""):
        super().__init__(message)
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
    """The run was cancelled (Cancel button, ``%dataset cancel``, ``handle.cancel()``)."""


class WorkerCrashedError(StreamscopeError):
    """A worker process died while running a task and the retries were used up."""


class ObjectStoreFullError(StreamscopeError):
    """The block store could not place a block in memory nor spill it to disk."""


class DataSourceError(StreamscopeError):
    """A read failed: missing path, corrupt file, unreadable format. The message names the file."""
