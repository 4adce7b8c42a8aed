"""The one units module: every expected string below is worked out by hand from plain arithmetic
(1 KiB = 1024 B, 1k = 1000, one decimal, a trailing ".0" dropped)."""

import math

import pytest

from streamscope.engine.units import (
    format_byte_rate,
    format_bytes,
    format_count,
    format_duration,
    format_percent,
    format_rate,
)


@pytest.mark.parametrize("n, expected", [
    (0, "0 B"),
    (1, "1 B"),
    (1023, "1023 B"),
    (1024, "1 KiB"),                      # 1024 / 1024 = 1.0
    (1536, "1.5 KiB"),                    # 1536 / 1024 = 1.5
    (1024 * 1024 - 1, "1 MiB"),           # 1023.999 KiB would show as "1024 KiB": moves up
    (1_572_864, "1.5 MiB"),               # 1.5 * 1024**2
    (3 * 2**30 // 2, "1.5 GiB"),
    (10 * 2**40, "10 TiB"),
    (2**70, "1024 EiB"),                  # past the last unit the number just grows
    (-1536, "-1.5 KiB"),
    (1023.6, "1 KiB"),                    # rounds to 1024 B
    (None, "?"),
    (math.nan, "?"),
    (math.inf, "?"),
])
def test_bytes(n, expected):
    assert format_bytes(n) == expected


@pytest.mark.parametrize("n, expected", [
    (0, "0"),
    (7, "7"),
    (999, "999"),
    (1000, "1k"),
    (1234, "1.2k"),                       # 1.234 -> 1.2
    (37_500, "37.5k"),
    (999_960, "1M"),                      # 999.96k would show as "1000k": moves up
    (1_240_000, "1.2M"),                  # 1.24 -> 1.2
    (2_500_000_000, "2.5G"),
    (12.34, "12.3"),
    (0.04, "0"),
    (-1500, "-1.5k"),
    (-0.04, "0"),                         # no "-0"
    (10**18, "1000P"),
    (None, "?"),
    (math.nan, "?"),
])
def test_counts(n, expected):
    assert format_count(n) == expected


def test_rates():
    assert format_rate(12_345) == "12.3k rows/s"
    assert format_rate(250) == "250 rows/s"
    assert format_rate(0) == "0 rows/s"
    assert format_rate(4, "tasks") == "4 tasks/s"
    assert format_rate(None) == "? rows/s"
    assert format_byte_rate(45 * 2**20) == "45 MiB/s"
    assert format_byte_rate(1536) == "1.5 KiB/s"
    assert format_byte_rate(None) == "?/s"


@pytest.mark.parametrize("s, expected", [
    (0, "0 ms"),
    (0.0004, "0 ms"),
    (0.25, "250 ms"),
    (0.85, "850 ms"),
    (0.9996, "1 s"),                      # 999.6 ms rounds to 1000 ms = 1 s
    (1.234, "1.2 s"),
    (9.0, "9 s"),
    (59.94, "59.9 s"),
    (59.96, "1m 00s"),                    # 60.0 s would be shown: moves up
    (61.4, "1m 01s"),
    (185, "3m 05s"),                      # 3 * 60 + 5
    (3599.4, "59m 59s"),
    (3600, "1h 00m"),
    (7620, "2h 07m"),                     # 2 * 3600 + 7 * 60
    (86_400 + 3 * 3600, "1d 03h"),
    (-1.5, "-1.5 s"),
    (-0.0001, "0 ms"),
    (None, "?"),
    (math.inf, "?"),
])
def test_durations(s, expected):
    assert format_duration(s) == expected


def test_percent():
    assert format_percent(0) == "0%"
    assert format_percent(0.456) == "46%"
    assert format_percent(1.0) == "100%"
    assert format_percent(0.4567, decimals=1) == "45.7%"
    assert format_percent(1.0, decimals=1) == "100.0%"
    assert format_percent(None) == "?"
