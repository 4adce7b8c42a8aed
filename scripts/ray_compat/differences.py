"""Documented differences from Ray Data 2.60 that a probe cannot see: the argument is accepted and
works, but not exactly as on Ray Data. Each note says what differs and what to do about it.
Keys are ``(name, argument)``; :data:`NAME_NOTES` holds notes on whole names.
"""

from __future__ import annotations

NOTES: dict[tuple[str, str], str] = {}
"""``(name, argument) -> what differs``."""

NAME_NOTES: dict[str, str] = {}
"""``name -> what differs`` for a whole name (or why it is not implemented)."""
