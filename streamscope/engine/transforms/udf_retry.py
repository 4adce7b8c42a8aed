"""Retries of errors raised inside a map task (a UDF, a read, a write), the way Ray Data 2.60 has
them, on every runtime.

Which errors, and how often (one :class:`RetryRule` each; a task may have several):

* ``ray_remote_args`` ``retry_exceptions`` / ``max_retries`` of a task-pool map: ``True`` retries
  any exception, a list of exception classes retries those and their subclasses; at most
  ``max_retries`` retries (Ray Data's default for map tasks, ``-1``: without limit). No wait
  between attempts (Ray Core's task retries have none).
* ``DataContext.actor_task_retry_on_errors`` for the tasks of an actor pool: ``True`` or a list
  of classes, without limit (Ray Data runs actor tasks with ``max_task_retries=-1``).
* ``DataContext.retried_map_errors`` / ``max_map_retries`` for every map task (reads and writes
  too, as in Ray Data): ``True`` retries any exception, a list of strings retries an exception
  whose ``"ClassName: message"`` contains one of them (or matches it as a regular expression);
  at most ``max_map_retries`` retries, with full-jitter exponential backoff between them.

An exception no rule names is raised at once, as without retries; the run fails with it, naming
the operator. Once the rules that name it have no retries left, the last exception is raised with
a note of how many attempts the task made.

Why retry inside the task, around the transform chain, rather than resubmit the task: rows a
task has already yielded may be downstream already (tasks stream their outputs), and a retry must
never deliver them twice. Inside the task this module knows exactly how many rows of the chain's
output went out, so the retried attempt re-runs the chain from the task's first input and skips
that many rows; what the attempt yields beyond them is new. This assumes the chain is
deterministic (the same inputs give the same rows in the same order), which is also what Ray
Data's in-task retry and Ray's streaming-generator retries assume. Rows, not tables, are counted:
a transform's batching may cut tables differently on another attempt, rows stay in order. The
inputs the first attempt consumed are kept (references to blocks the task already holds) so the
retry sees the same ones, and only when a rule can retry at all: a task without rules runs its
chain directly, at no cost. Worker deaths are a different matter, handled by the runtime
(``TaskSpec.max_retries``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Union

import pyarrow as pa

from streamscope.engine.error_retry import backoff_s, matches_any, note_retry, retrying_stopped

__all__ = ["RetryRule", "retry_rules_from_context", "rule_from_remote_args", "run_with_retries"]

logger = logging.getLogger(__name__)

UNLIMITED = -1


@dataclass(frozen=True)
class RetryRule:
    """Which errors one setting retries, and how many times.

    ``errors``: ``True`` (any ``Exception``), a tuple of exception classes (those and
    subclasses), or a tuple of strings (matched against ``"ClassName: message"``, see
    ``engine/error_retry.py``). ``max_retries``: ``-1`` without limit. ``setting`` names the
    setting(s) in messages. ``backoff``: wait (full-jitter exponential) before each retry.

    Examples:
        >>> from streamscope.engine.transforms.udf_retry import RetryRule
        >>> rule = RetryRule((ValueError,), 2, "ray_remote_args retry_exceptions/max_retries")
        >>> rule.names(KeyError("k")), rule.names(ValueError("v"))
        (False, True)
    """

    errors: Union[bool, tuple]
    max_retries: int
    setting: str
    backoff: bool = False

    def names(self, exc: BaseException) -> bool:
        """True when this rule retries ``exc`` (retries left aside)."""
        if self.errors is True:
            return True
        if not self.errors:
            return False
        if all(isinstance(e, str) for e in self.errors):
            return matches_any(self.errors, exc)
        return isinstance(exc, tuple(e for e in self.errors if isinstance(e, type)))

    def has_retries_left(self, used: int) -> bool:
        return self.max_retries < 0 or used < self.max_retries

    def describe(self) -> str:
        limit = "no limit" if self.max_retries < 0 else f"at most {self.max_retries}"
        return f"{self.setting}: {limit}"


def _exception_classes(value: Any, what: str) -> Union[bool, tuple]:
    """``True``/``False`` or a list of exception classes, as Ray's ``retry_exceptions`` takes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, type) and issubclass(v, BaseException) for v in value):
        return tuple(value)
    raise ValueError(f"{what} must be True, False or a list of exception classes (such as [ConnectionError]), "
                     f"got {value!r}")


def _retry_count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError(f"{what} must be a whole number of retries >= 0, or -1 for no limit; got {value!r}")
    return value


def rule_from_remote_args(operator: str, ray_remote_args: Optional[dict]) -> Optional[RetryRule]:
    """The rule a map's ``retry_exceptions``/``max_retries`` (in its ``ray_remote_args``) make, or
    None when they retry nothing. Bad values are refused here, when the plan is built.

    Examples:
        >>> from streamscope.engine.transforms.udf_retry import rule_from_remote_args
        >>> rule_from_remote_args("Map(f)", {"retry_exceptions": [OSError], "max_retries": 2}).max_retries
        2
        >>> rule_from_remote_args("Map(f)", {"max_retries": 2}) is None
        True
    """
    args = ray_remote_args or {}
    errors = _exception_classes(args.get("retry_exceptions", False), f"{operator}: retry_exceptions")
    max_retries = _retry_count(args.get("max_retries", UNLIMITED), f"{operator}: max_retries")
    if not errors or max_retries == 0:
        return None
    return RetryRule(errors, max_retries, "ray_remote_args retry_exceptions/max_retries")


def retry_rules_from_context(ctx: Any, actor: bool) -> tuple[RetryRule, ...]:
    """The rules a run's ``DataContext`` makes for its map tasks (``actor``: an actor pool's).
    Bad values are refused when the run starts, naming the setting."""
    rules = []
    patterns = ctx.retried_map_errors
    if not (isinstance(patterns, bool) or (isinstance(patterns, (list, tuple)) and all(isinstance(p, str) for p in patterns))):
        raise ValueError(f"DataContext.retried_map_errors must be True, False or a list of strings matched against "
                         f"error messages, got {patterns!r}")
    max_map = ctx.max_map_retries
    if isinstance(max_map, bool) or not isinstance(max_map, int) or max_map < 0:
        raise ValueError(f"DataContext.max_map_retries must be a whole number of retries >= 0, got {max_map!r}")
    if patterns and max_map > 0:
        errors = True if patterns is True else tuple(patterns)
        rules.append(RetryRule(errors, max_map, "DataContext.retried_map_errors/max_map_retries", backoff=True))
    if actor:
        errors = _exception_classes(ctx.actor_task_retry_on_errors, "DataContext.actor_task_retry_on_errors")
        if errors:
            rules.append(RetryRule(errors, UNLIMITED, "DataContext.actor_task_retry_on_errors"))
    return tuple(rules)


class _ReplayableInputs:
    """The task's input blocks, kept as they are consumed, so every attempt sees the same ones.

    ``failed``: reading an input block itself raised (the runtime's error, not the user's). The
    source cannot be resumed then, and a retry would run on fewer inputs and lose rows without a
    word, so such an error is never retried."""

    def __init__(self, blocks: Iterator[pa.Table]):
        self._source = iter(blocks)
        self._seen: list[pa.Table] = []
        self.failed = False

    def attempt(self) -> Iterator[pa.Table]:
        yield from list(self._seen)
        while True:
            try:
                table = next(self._source)
            except StopIteration:
                return
            except Exception:
                self.failed = True
                raise
            self._seen.append(table)
            yield table


def run_with_retries(chain: Callable[[Iterator[pa.Table]], Iterator[pa.Table]], blocks: Iterator[pa.Table],
                     rules: tuple[RetryRule, ...], operator: str,
                     sleep: Callable[[float], None] = time.sleep) -> Iterator[pa.Table]:
    """Yield ``chain(blocks)``'s tables; when the chain raises an error a rule retries, run it
    again on the same inputs and skip the rows already yielded (see the module docstring).

    Examples:
        >>> from streamscope.engine.transforms.udf_retry import RetryRule, run_with_retries
        >>> calls = []
        >>> def chain(blocks):
        ...     for t in blocks:
        ...         calls.append(t.num_rows)
        ...         if len(calls) == 2:
        ...             raise ConnectionError("flaky")
        ...         yield t
        >>> tables = [pa.table({"x": [1, 2]}), pa.table({"x": [3]})]
        >>> out = run_with_retries(chain, iter(tables), (RetryRule(True, 1, "test"),), "Map(f)")
        >>> [t.column("x").to_pylist() for t in out]
        [[1, 2], [3]]
    """
    if not rules:
        yield from chain(blocks)
        return
    inputs = _ReplayableInputs(blocks)
    used = [0] * len(rules)
    delivered = 0
    attempts = 1
    while True:
        seen = 0
        try:
            for table in chain(inputs.attempt()):
                n = table.num_rows
                if seen < delivered:
                    if seen + n <= delivered:
                        seen += n
                        continue
                    table = table.slice(delivered - seen)
                    seen = delivered
                    n = table.num_rows
                seen += n
                delivered = seen
                yield table
            return
        except Exception as exc:
            index = next((i for i, r in enumerate(rules) if r.names(exc) and r.has_retries_left(used[i])), None)
            if index is None or inputs.failed or retrying_stopped():
                if attempts > 1:
                    _note_attempts(exc, attempts, rules)
                raise
            rule = rules[index]
            used[index] += 1
            attempts += 1
            note_retry()
            wait = backoff_s(used[index]) if rule.backoff else 0.0
            logger.warning("%s: retrying a task after %s: %s (attempt %d; %s)%s", operator, type(exc).__name__, exc,
                           attempts, rule.describe(), f", in {wait:.1f}s" if wait else "")
            if wait:
                sleep(wait)


def _note_attempts(exc: BaseException, attempts: int, rules: tuple[RetryRule, ...]) -> None:
    """Tell the error report how many attempts the task made (``error_from_exception`` adds it)."""
    note = f"gave up after {attempts} attempts ({'; '.join(r.describe() for r in rules)})"
    try:
        exc._streamscope_retry_note = note  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an exception type refusing attributes keeps its own text
        pass
