"""Pickling task functions so a worker's traceback still names the user's file.

Why: cloudpickle (3.x) pickles code by value with its file name replaced by ``"<dynamic-code>"``,
so the traceback of a UDF defined in a notebook, a script's ``__main__`` or a module pickled by
value read ``File "<dynamic-code>", line 9, in parse`` with no source line: the user could not
tell which file failed. Ray's own copy of cloudpickle keeps the name. :func:`dumps` pickles like
``cloudpickle.dumps`` but keeps each code object's real ``co_filename``, so the worker's
traceback names the file and line (and shows the source line, the file being on this machine).

Examples:
    >>> import cloudpickle
    >>> def parse(x):
    ...     return int(x)
    >>> restored = cloudpickle.loads(dumps(parse))
    >>> restored.__code__.co_filename == parse.__code__.co_filename
    True
"""

from __future__ import annotations

import io
import types
from collections import ChainMap
from typing import Any

import cloudpickle

_DYNAMIC = "<dynamic-code>"


def _code_reduce_keeping_filename(code: types.CodeType) -> Any:
    reduced = cloudpickle.Pickler.dispatch_table[types.CodeType](code)
    constructor, args = reduced[0], reduced[1]
    args = tuple(code.co_filename if isinstance(a, str) and a == _DYNAMIC else a for a in args)
    return (constructor, args, *reduced[2:])


class _Pickler(cloudpickle.Pickler):
    dispatch_table = ChainMap({types.CodeType: _code_reduce_keeping_filename}, cloudpickle.Pickler.dispatch_table)


def dumps(obj: Any, protocol: int = 5) -> bytes:
    """``cloudpickle.dumps(obj)``, with code objects keeping their file names."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=protocol).dump(obj)
    return buffer.getvalue()


def roundtrips(obj: Any) -> bool:
    """True when ``obj`` survives pickling here and unpickling again (so it can cross to the
    driver): classes defined in a notebook or a module pickled by value count too."""
    try:
        cloudpickle.loads(cloudpickle.dumps(obj))
    except Exception:
        return False
    return True


__all__ = ["dumps", "roundtrips"]
