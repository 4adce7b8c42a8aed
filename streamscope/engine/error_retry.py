"""The vocabulary every retry of an error inside a task shares: which errors a rule names, the
backoff between attempts, and the per-task count of retries the run's stats report.

Why at the bottom of the engine: three layers retry errors raised inside a task (the IO retry of
a read or a write, ``io/retry.py``; the retry of a map task's user code, ``transforms/udf_retry.py``;
the task body that reports how many retries its task needed, ``runtime/task_runner.py``) and must
agree on how an error is matched and counted, yet none of them may import the others.

Matching follows Ray Data 2.60: an error is described as ``"ClassName: message"`` (followed by the
same for its ``__cause__``), and a pattern matches when it is a substring of that text or, failing
that, a regular expression found in it, so ``"SLOW_DOWN"`` and ``"Rate.*limit"`` both work, and so
does a bare class name.

Example::

    >>> from streamscope.engine.error_retry import error_text, matches_any
    >>> exc = ValueError("rate limited (429)")
    >>> error_text(exc)
    'ValueError: rate limited (429)'
    >>> matches_any(["429"], exc), matches_any([r"rate\\s+limited"], exc), matches_any(["KeyError"], exc)
    (True, True, False)
"""

from __future__ import annotations

import random
import re
import threading
import traceback
from typing import Callable, Optional, Sequence

__all__ = ["RetryCounter", "backoff_s", "counting_retries", "error_text", "matches_any", "note_retry", "retrying_stopped",
           "stop_retrying_when"]


def error_text(exc: BaseException) -> str:
    """``"ClassName: message"`` of ``exc``, then the same for its ``__cause__`` (a wrapped error
    is matched by what it wraps too).

    Examples:
        >>> from streamscope.engine.error_retry import error_text
        >>> try:
        ...     raise KeyError("a") from OSError("disk")
        ... except KeyError as e:
        ...     error_text(e)
        "KeyError: 'a' OSError: disk"
    """
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    cause = exc.__cause__
    if cause is not None:
        text += " " + "".join(traceback.format_exception_only(type(cause), cause)).strip()
    return text


def matches_any(patterns: Sequence[str], exc: BaseException) -> bool:
    """True when one of ``patterns`` is a substring of :func:`error_text` of ``exc``, or a regular
    expression found in it (an invalid expression only counts as a substring).

    Examples:
        >>> from streamscope.engine.error_retry import matches_any
        >>> matches_any(["AWS Error SLOW_DOWN"], OSError("AWS Error SLOW_DOWN during read"))
        True
    """
    text = error_text(exc)
    for pattern in patterns:
        if pattern in text:
            return True
        try:
            if re.search(pattern, text):
                return True
        except re.error:
            continue
    return False


def backoff_s(retry: int, max_backoff_s: float = 32.0) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first): full-jitter exponential,
    uniform in ``[0, min(2 ** retry, max_backoff_s)]`` (Ray Data's schedule: up to 2 s before the
    first retry, 4 s before the second...), so many tasks hitting the same throttled service do
    not come back in lockstep.

    Examples:
        >>> from streamscope.engine.error_retry import backoff_s
        >>> 0.0 <= backoff_s(1) <= 2.0 and backoff_s(10, max_backoff_s=0.5) <= 0.5
        True
    """
    return min(2.0 ** retry, max_backoff_s) * random.random()


class RetryCounter:
    """Retries made by the task running in this thread (``counting_retries`` installs one).

    Examples:
        >>> from streamscope.engine.error_retry import counting_retries, note_retry
        >>> with counting_retries() as counter:
        ...     note_retry()
        >>> counter.retries
        1
    """

    __slots__ = ("retries",)

    def __init__(self) -> None:
        self.retries = 0


_local = threading.local()


class counting_retries:
    """``with counting_retries() as counter:``: every :func:`note_retry` in this thread until the
    block ends adds to ``counter.retries`` (the previous counter is back afterwards, so a task
    nested in a task counts its own). A task body uses it to report its retries in its stats."""

    __slots__ = ("counter", "_prev")

    def __init__(self) -> None:
        self.counter = RetryCounter()
        self._prev: Optional[RetryCounter] = None

    def __enter__(self) -> RetryCounter:
        self._prev = getattr(_local, "counter", None)
        _local.counter = self.counter
        return self.counter

    def __exit__(self, *exc: object) -> bool:
        _local.counter = self._prev
        self._prev = None
        return False


def note_retry() -> None:
    """Count one retry for the task running in this thread (nothing when none is counting)."""
    counter = getattr(_local, "counter", None)
    if counter is not None:
        counter.retries += 1


class stop_retrying_when:
    """``with stop_retrying_when(predicate):``: while ``predicate()`` is true, retries in this
    thread give up and raise the error at once (:func:`retrying_stopped`).

    Why: a runtime that cannot interrupt a task it cancelled (the in-process runtime runs tasks
    on threads of the driver) must still stop a task retrying an error without limit
    (``retry_exceptions=True`` with no ``max_retries``), or the thread would retry forever.

    Examples:
        >>> from streamscope.engine.error_retry import retrying_stopped, stop_retrying_when
        >>> with stop_retrying_when(lambda: True):
        ...     retrying_stopped()
        True
        >>> retrying_stopped()
        False
    """

    __slots__ = ("predicate", "_prev")

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self.predicate = predicate
        self._prev: Optional[Callable[[], bool]] = None

    def __enter__(self) -> "stop_retrying_when":
        self._prev = getattr(_local, "stop", None)
        _local.stop = self.predicate
        return self

    def __exit__(self, *exc: object) -> bool:
        _local.stop = self._prev
        self._prev = None
        return False


def retrying_stopped() -> bool:
    """True when the task running in this thread was cancelled and must not retry any more."""
    predicate = getattr(_local, "stop", None)
    return bool(predicate is not None and predicate())
