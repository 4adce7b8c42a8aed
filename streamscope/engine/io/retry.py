"""Retry transient IO errors, the way Ray Data does.

Why by message text: object stores report throttling and flaky connections as generic exceptions
(``OSError: AWS Error SLOW_DOWN ...``), so the only portable test is the message. The patterns
come from ``DataContext.retried_io_errors`` (read when the call starts, so a user can change the
list between runs); each is a substring of ``"ClassName: message"`` or a regular expression found
in it, as in Ray Data (``engine/error_retry.py``). Anything else is raised at once: retrying a
corrupt file or a missing column only delays the real error.

Object-store clients other than pyarrow (s3fs, gcsfs, adlfs) word the same transient errors
differently (botocore's ``(SlowDown)``, an HTTP 503); each error is also matched in pyarrow's words
(``object_stores.transient_aliases``), so Ray Data's default patterns cover them as well.

Reads retry per file (``FileBasedDatasource._read_file_checked``), writes per file and per rename
(``FileDatasink``). Each retry is counted for the task's stats (``note_retry``), so
``Dataset.stats()`` and the live views show an operator whose storage is flaky.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from streamscope.engine.context import DataContext
from streamscope.engine.error_retry import backoff_s, matches_any, note_retry, retrying_stopped
from streamscope.engine.io.object_stores import alias_error

T = TypeVar("T")

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_MAX_BACKOFF_S = 32.0


def _retried_errors(match: Optional[Sequence[str]]) -> list[str]:
    if match is not None:
        return list(match)
    return list(DataContext.get_current().retried_io_errors or [])


def _backoff(attempt: int, max_backoff_s: float) -> float:
    """Full-jitter exponential backoff before retry number ``attempt``: uniform in
    [0, min(2**attempt, max)] (Ray Data's schedule)."""
    return backoff_s(attempt, max_backoff_s)


def is_retryable(exc: BaseException, match: Sequence[str]) -> bool:
    """Whether a pattern of ``match`` names ``exc``, as it reads or in pyarrow's words for an
    object-store error (``AWS Error SLOW_DOWN`` for botocore's ``SlowDown``...)."""
    if matches_any(match, exc):
        return True
    alias = alias_error(exc)
    return alias is not None and matches_any(match, alias)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is an error the current ``DataContext.retried_io_errors`` retries."""
    return is_retryable(exc, _retried_errors(None))


def call_with_retry(
    fn: Callable[[], T],
    description: str,
    *,
    match: Optional[Sequence[str]] = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on an exception whose text contains one of ``match`` (default: the current
    ``DataContext.retried_io_errors``), wait and try again, up to ``max_attempts`` calls."""
    patterns = _retried_errors(match)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            attempt += 1
            if attempt >= max_attempts or not is_retryable(exc, patterns) or retrying_stopped():
                _note_attempts(exc, attempt, max_attempts)
                raise
            delay = _backoff(attempt, max_backoff_s)
            logger.info("retrying %s after %r (attempt %d of %d, in %.1fs)", description, exc, attempt + 1, max_attempts, delay)
            note_retry()
            sleep(delay)


def iterate_with_retry(
    make_iter: Callable[[], Iterable[T]],
    description: str,
    *,
    match: Optional[Sequence[str]] = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[T]:
    """Iterate ``make_iter()``; on a retryable error restart it and skip the items already
    yielded, so a flaky stream never yields an item twice."""
    patterns = _retried_errors(match)
    yielded = 0
    attempt = 0
    while True:
        try:
            for i, item in enumerate(make_iter()):
                if i < yielded:
                    continue
                yield item
                yielded += 1
            return
        except Exception as exc:
            attempt += 1
            if attempt >= max_attempts or not is_retryable(exc, patterns) or retrying_stopped():
                _note_attempts(exc, attempt, max_attempts)
                raise
            delay = _backoff(attempt, max_backoff_s)
            logger.info("retrying %s after %r (attempt %d of %d)", description, exc, attempt + 1, max_attempts)
            note_retry()
            sleep(delay)


def _note_attempts(exc: BaseException, attempts: int, max_attempts: int) -> None:
    """Say how many attempts a retried call made, for the error the user sees (the task's error
    report and the read's ``DataSourceError`` add it)."""
    if attempts > 1:
        try:
            exc._streamscope_retry_note = (  # type: ignore[attr-defined]
                f"gave up after {attempts} attempts; DataContext.retried_io_errors, at most {max_attempts} attempts")
        except Exception:  # noqa: BLE001 - an exception refusing attributes keeps its own text
            pass
