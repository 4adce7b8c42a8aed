"""User code as a notebook holds it: pickled by value (the workers cannot import this module, as
they cannot import a notebook's ``__main__``), with exception classes of its own."""

from __future__ import annotations

import sys
import threading

import cloudpickle

cloudpickle.register_pickle_by_value(sys.modules[__name__])


class ParseError(ValueError):
    """An exception class of the user's own."""


class NeedsTwoArgs(Exception):
    """Its instances do not unpickle (the constructor wants two arguments it does not keep)."""

    def __init__(self, path, line):
        super().__init__(f"{path}:{line}: bad record")
        self.path, self.line = path, line


class HoldsALock(Exception):
    """Its instances do not pickle at all."""

    def __init__(self):
        super().__init__("holding a lock")
        self.lock = threading.Lock()


def _parse(value):
    raise ParseError(f"cannot parse {value!r}")


def parse_rows(batch):
    return {"v": [_parse(v) for v in batch["id"]]}


def needs_two_args(batch):
    raise NeedsTwoArgs("data.csv", 7)


def holds_a_lock(batch):
    raise HoldsALock()


def divide_by_zero(row):
    return {"inverse": 1 // (row["id"] - row["id"])}


class RaisingActor:
    def __call__(self, batch):
        raise ParseError("actor cannot parse")


class RaisingConstructor:
    def __init__(self):
        raise ParseError("constructor cannot parse")

    def __call__(self, batch):
        return batch
