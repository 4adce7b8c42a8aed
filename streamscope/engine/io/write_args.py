"""Checks of the arguments every ``write_*`` shares, run before any work starts.

Why a module of their own: a write that runs for an hour and then fails on an argument it could
have refused at once loses the hour, and one that accepts an argument and drops it writes
something other than what was asked. Each check either returns the value the engine acts on or
raises naming the argument (Ray Data 2.60's names and rules; fsspec-free, so ``api/writes.py``
imports it at module level).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

# ray_remote_args keys that mean the same on every runtime: what one write task asks for.
_MAPPED_REMOTE_ARGS = ("num_cpus", "num_gpus", "memory")


def _positive_int(writer: str, name: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{writer}: {name} must be a positive int or None, got {value!r}")
    if value <= 0:
        raise ValueError(f"{writer}: {name} must be a positive integer, got {value!r}")
    return value


def rows_per_file(writer: str, *, num_rows_per_file: Optional[int] = None, min_rows_per_file: Optional[int] = None,
                  max_rows_per_file: Optional[int] = None) -> tuple[Optional[int], Optional[int]]:
    """``(min_rows, max_rows)`` per file, Ray's rules: ``num_rows_per_file`` is the deprecated name
    of ``min_rows_per_file`` (a DeprecationWarning; both at once is an error), both must be
    positive, and min may not exceed max."""
    if num_rows_per_file is not None:
        warnings.warn("`num_rows_per_file` is deprecated and will be removed in a future release. "
                      "Use `min_rows_per_file` instead.", DeprecationWarning, stacklevel=4)
        if min_rows_per_file is not None:
            raise ValueError(f"{writer}: cannot specify both `num_rows_per_file` and `min_rows_per_file`. "
                             "Use `min_rows_per_file` as `num_rows_per_file` is deprecated.")
        min_rows_per_file = num_rows_per_file
        name = "num_rows_per_file"
    else:
        name = "min_rows_per_file"
    low = _positive_int(writer, name, min_rows_per_file)
    high = _positive_int(writer, "max_rows_per_file", max_rows_per_file)
    if low is not None and high is not None and low > high:
        raise ValueError(f"{writer}: min_rows_per_file ({low}) cannot be greater than max_rows_per_file ({high})")
    return low, high


def write_concurrency(writer: str, concurrency: Any) -> Optional[int]:
    """The cap on write tasks running at once (``None``: as many as the CPUs allow)."""
    return _positive_int(writer, "concurrency", concurrency)


def write_resources(writer: str, ray_remote_args: Optional[dict]) -> dict:
    """What one write task asks for (``num_cpus``, ``num_gpus``, ``memory``; None: the default of
    one CPU), from ``ray_remote_args``, whose keys of those names are honoured on every runtime. Any other key (scheduling strategies,
    custom resources, retries) is refused: the write cannot honour it everywhere."""
    if not isinstance(ray_remote_args, (dict, type(None))):
        raise TypeError(f"{writer}: ray_remote_args must be a dict or None, got {type(ray_remote_args).__name__}")
    args = dict(ray_remote_args or {})
    unknown = sorted(k for k in args if k not in _MAPPED_REMOTE_ARGS)
    if unknown:
        raise ValueError(f"{writer}: ray_remote_args {unknown} are not supported on writes; only "
                         f"{list(_MAPPED_REMOTE_ARGS)} are (cap parallel tasks with concurrency=)")
    for key, value in args.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{writer}: ray_remote_args[{key!r}] must be a number >= 0, got {value!r}")
    return {key: args.get(key) for key in _MAPPED_REMOTE_ARGS}


def refuse_unsupported(writer: str, **given: Any) -> None:
    """Refuse arguments Ray Data has and streamscope's writes do not act on, when they are set
    (``None`` and empty values are the defaults and pass), naming each and what to do instead."""
    advice = {
        "arrow_open_stream_args": "the destination is opened through fsspec; pass a configured fsspec filesystem= instead",
        "catalog": "catalogs are not supported; write to the table's storage path",
        "min_bytes_per_file": "use min_rows_per_file=, or repartition() before the write",
    }
    for name, value in given.items():
        if value is not None and value != {}:
            raise ValueError(f"{writer}: {name}= is not supported by streamscope: {advice[name]}")


def refuse_unknown(writer: str, kwargs: dict, accepted: str) -> None:
    """A keyword the write does not have is a TypeError naming it, as Python's own would be."""
    if kwargs:
        raise TypeError(f"{writer}() got unexpected keyword arguments {sorted(kwargs)}; {accepted}")
