"""A user's error keeps its type and a traceback pointing into the user's function; a fault of
the runtime (a killed worker) is a distinct type, ``WorkerCrashedError``, never a user error.

The user code lives in ``notebook_code.py``, pickled by value like a notebook's: before the fix
such classes lost their type (the worker could not re-pickle them by reference) and tracebacks
read ``File "<dynamic-code>"`` instead of the user's file.
"""

from __future__ import annotations

import pytest

import streamscope as ss
from streamscope.engine.exceptions import StreamscopeError, UserCodeException, WorkerCrashedError

import notebook_code as user
from chaos import Chaos

USER_FILE = user.__file__


def _raised(ds) -> BaseException:
    with pytest.raises(Exception) as info:
        ds.take_all()
    return info.value


def test_a_users_own_exception_class_keeps_its_type_and_points_into_the_users_file(runtime, leaks):
    exc = _raised(ss.range(20, override_num_blocks=2).map_batches(user.parse_rows))
    assert isinstance(exc, user.ParseError) and isinstance(exc, ValueError) and isinstance(exc, UserCodeException)
    assert isinstance(exc.__cause__, user.ParseError) and "cannot parse" in str(exc.__cause__)
    text = str(exc)
    assert "MapBatches(parse_rows)" in text and exc.operator == "MapBatches(parse_rows)"
    # the frames of the user's function and its helper, with their source lines
    assert f'File "{USER_FILE}"' in text and "in parse_rows" in text and "in _parse" in text
    assert 'raise ParseError(f"cannot parse {value!r}")' in text
    assert "<dynamic-code>" not in text
    leaks.check()


def test_an_exception_that_will_not_unpickle_still_has_its_type(runtime, leaks):
    exc = _raised(ss.range(5).map_batches(user.needs_two_args))
    assert isinstance(exc, user.NeedsTwoArgs) and isinstance(exc, UserCodeException)
    assert "data.csv:7: bad record" in str(exc) and "in needs_two_args" in str(exc)
    exc = _raised(ss.range(5).map_batches(user.holds_a_lock))
    assert isinstance(exc, user.HoldsALock) and "holding a lock" in str(exc)
    leaks.check()


def test_builtin_errors_keep_their_type_in_row_maps(runtime, leaks):
    with pytest.raises(ZeroDivisionError) as info:
        ss.range(10, override_num_blocks=2).map(user.divide_by_zero).take_all()
    assert isinstance(info.value, UserCodeException) and "Map(divide_by_zero)" in str(info.value)
    assert "in divide_by_zero" in str(info.value)
    leaks.check()


def test_actor_udfs_and_their_constructors_keep_the_users_type(runtime, leaks):
    exc = _raised(ss.range(20).map_batches(user.RaisingActor, compute=ss.ActorPoolStrategy(size=1)))
    assert isinstance(exc, user.ParseError) and "actor cannot parse" in str(exc) and "in __call__" in str(exc)
    exc = _raised(ss.range(20).map_batches(user.RaisingConstructor, compute=ss.ActorPoolStrategy(size=1)))
    assert isinstance(exc, user.ParseError) and "constructor cannot parse" in str(exc) and "in __init__" in str(exc)
    leaks.check()


@pytest.mark.parametrize("how, says", [("sigkill", "killed by signal 9"), ("exit", "exited with code 3"),
                                       ("segfault", "killed by signal 11")])
def test_a_killed_worker_is_a_worker_crashed_error_naming_the_operator(runtime, leaks, tmp_path, how, says):
    doomed = Chaos(tmp_path).always_die(lambda b: b, how=how)
    doomed.__name__ = "doomed"
    exc = _raised(ss.range(20, override_num_blocks=2).map_batches(doomed, max_retries=1))
    assert type(exc) is WorkerCrashedError and isinstance(exc, StreamscopeError)
    assert not isinstance(exc, UserCodeException)
    message = str(exc)
    assert "MapBatches(doomed)" in message and says in message and "gave up after 2 attempts" in message
    leaks.check()
