"""Units for people: bytes, counts, rates, durations and percentages, written one way everywhere.

Why one module: stats text, terminal progress, backpressure reasons and every notebook view show
the same kinds of numbers; with one formatter each, "1.5 KiB" in ``Dataset.stats()`` and in the
dashboard can never disagree, and a change of style is made once.

The style: one decimal at most, a trailing ".0" dropped ("1.5 KiB", "2 KiB", "37.5k", "1.2 s");
a value that would round up to the next unit's size moves to that unit ("1 MiB", never
"1024 KiB"); bytes use binary units (KiB = 1024 B), counts decimal ones (k = 1000). Unknown
values (None, NaN, infinity) are written "?" rather than a number that looks measured.

Example::

    >>> format_bytes(1536), format_count(37_500), format_rate(12_345)
    ('1.5 KiB', '37.5k', '12.3k rows/s')
    >>> format_duration(0.85), format_duration(1.234), format_duration(185)
    ('850 ms', '1.2 s', '3m 05s')
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

UNKNOWN = "?"
"""What every formatter writes for a value that is not known (None, NaN, infinite)."""

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
COUNT_UNITS = ("", "k", "M", "G", "T", "P")

Number = Optional[float]


def _finite(value: Number) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _one_decimal(value: float) -> str:
    """12.34 -> '12.3', 2.0 -> '2' (non-negative values)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _scale(value: float, base: float, units: Sequence[str], whole_first: bool) -> tuple[str, str]:
    """The digits and the unit for a non-negative value: the first unit in which the shown value
    stays below ``base`` (the last unit takes whatever is left)."""
    i = 0
    while i < len(units) - 1:
        scaled = value / base**i
        shown = round(scaled) if (whole_first and i == 0) else round(scaled, 1)
        if shown < base:
            break
        i += 1
    scaled = value / base**i
    digits = f"{round(scaled)}" if (whole_first and i == 0) else _one_decimal(scaled)
    return digits, units[i]


def format_bytes(n: Number) -> str:
    """Bytes in binary units: 0 -> '0 B', 1536 -> '1.5 KiB', 1 << 30 -> '1 GiB'.

    >>> format_bytes(1023), format_bytes(1024), format_bytes(None)
    ('1023 B', '1 KiB', '?')
    """
    value = _finite(n)
    if value is None:
        return UNKNOWN
    digits, unit = _scale(abs(value), 1024, BYTE_UNITS, whole_first=True)
    return ("-" if value < 0 and digits != "0" else "") + f"{digits} {unit}"


def format_count(n: Number) -> str:
    """Counts in decimal units; small integers stay exact: 999 -> '999', 37500 -> '37.5k'.

    >>> format_count(1_250_000), format_count(12.34), format_count(-1500)
    ('1.2M', '12.3', '-1.5k')
    """
    value = _finite(n)
    if value is None:
        return UNKNOWN
    digits, unit = _scale(abs(value), 1000, COUNT_UNITS, whole_first=False)
    return ("-" if value < 0 and digits != "0" else "") + digits + unit


def format_rate(per_s: Number, what: str = "rows") -> str:
    """A count per second: 12345 -> '12.3k rows/s'; ``what`` names the thing counted.

    >>> format_rate(250), format_rate(3, "tasks")
    ('250 rows/s', '3 tasks/s')
    """
    return f"{format_count(per_s)} {what}/s"


def format_byte_rate(bytes_per_s: Number) -> str:
    """Bytes per second in binary units: 45 * 2**20 -> '45 MiB/s'.

    >>> format_byte_rate(1536)
    '1.5 KiB/s'
    """
    return f"{format_bytes(bytes_per_s)}/s"


def format_duration(seconds: Number) -> str:
    """Durations: '850 ms' below a second, '1.2 s' below a minute, then '3m 05s', '2h 07m',
    '1d 03h'. Each step rounds to its own last digit, so 59.96 s is '1m 00s', not '60 s'.

    >>> format_duration(0), format_duration(0.85), format_duration(61.4), format_duration(7620)
    ('0 ms', '850 ms', '1m 01s', '2h 07m')
    """
    value = _finite(seconds)
    if value is None:
        return UNKNOWN
    sign = "-" if value < 0 else ""
    s = abs(value)
    ms = round(s * 1000)
    if ms < 1000:
        return f"{sign if ms else ''}{ms} ms"
    if round(s, 1) < 60:
        return f"{sign}{_one_decimal(s)} s"
    whole = round(s)
    if whole < 3600:
        m, sec = divmod(whole, 60)
        return f"{sign}{m}m {sec:02d}s"
    minutes = round(s / 60)
    if minutes < 24 * 60:
        h, m = divmod(minutes, 60)
        return f"{sign}{h}h {m:02d}m"
    d, h = divmod(round(s / 3600), 24)
    return f"{sign}{d}d {h:02d}h"


def format_percent(fraction: Number, decimals: int = 0) -> str:
    """A fraction in [0, 1] as a percentage: 0.456 -> '46%' (``decimals=1``: '45.6%').

    >>> format_percent(1.0), format_percent(0.4567, decimals=1)
    ('100%', '45.7%')
    """
    value = _finite(fraction)
    if value is None:
        return UNKNOWN
    return f"{value * 100:.{decimals}f}%"


__all__ = [
    "UNKNOWN",
    "format_bytes",
    "format_count",
    "format_rate",
    "format_byte_rate",
    "format_duration",
    "format_percent",
]
