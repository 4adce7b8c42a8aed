import pytest

from streamscope.engine.context import DataContext
from streamscope.engine.error_retry import counting_retries
from streamscope.engine.io.retry import call_with_retry, iterate_with_retry


def test_retries_matching_errors_then_succeeds():
    calls = []
    sleeps = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError("AWS Error SLOW_DOWN: please reduce your request rate")
        return "ok"

    assert call_with_retry(flaky, "read", sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and all(0 <= s <= 32 for s in sleeps)


def test_other_errors_raise_at_once_and_attempts_are_bounded():
    calls = []

    def broken():
        calls.append(1)
        raise ValueError("corrupt")

    with pytest.raises(ValueError):
        call_with_retry(broken, "read", sleep=lambda s: None)
    assert len(calls) == 1

    def always():
        calls.append(1)
        raise OSError("custom transient")

    ctx = DataContext.get_current()
    saved = list(ctx.retried_io_errors)
    ctx.retried_io_errors = ["custom transient"]
    try:
        calls.clear()
        with pytest.raises(OSError):
            call_with_retry(always, "read", max_attempts=4, sleep=lambda s: None)
        assert len(calls) == 4
    finally:
        ctx.retried_io_errors = saved


def test_iterate_with_retry_does_not_repeat_items():
    attempts = []

    def make():
        attempts.append(1)
        yield 1
        yield 2
        if len(attempts) == 1:
            raise OSError("AWS Error NETWORK_CONNECTION")
        yield 3

    assert list(iterate_with_retry(make, "read", sleep=lambda s: None)) == [1, 2, 3]


def test_patterns_match_class_and_message_as_substrings_or_regular_expressions():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 2:
            raise ConnectionResetError("peer reset (code 104)")
        return "ok"

    assert call_with_retry(flaky, "read", match=[r"ConnectionResetError: .*\(code 10\d\)"], sleep=lambda s: None) == "ok"
    assert len(calls) == 2


def test_giving_up_after_retries_notes_the_attempts_and_counts_each_retry():
    def always():
        raise OSError("AWS Error SLOW_DOWN")

    with counting_retries() as counter, pytest.raises(OSError) as info:
        call_with_retry(always, "read", max_attempts=3, sleep=lambda s: None)
    assert counter.retries == 2
    assert "gave up after 3 attempts" in info.value._streamscope_retry_note
