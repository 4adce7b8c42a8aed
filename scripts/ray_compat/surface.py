"""Ray Data 2.60's public surface, parsed from the signature listing kept beside this file.

Why a parser of text and not ``inspect`` on Ray: the compatibility table and its test must run
without Ray installed. ``ray_data_2_60_api.md`` is a listing made with ``inspect.signature`` on
ray 2.60.0; this module turns it into :class:`ApiEntry` rows (section, name, parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LISTING = Path(__file__).with_name("ray_data_2_60_api.md")

SECTIONS = {
    "Module functions and classes": "module",
    "Dataset methods": "Dataset",
    "GroupedData methods": "GroupedData",
    "ray.data.aggregate": "aggregate",
    "ray.data.preprocessors": "preprocessors",
    "DataContext fields": "DataContext",
}


@dataclass(frozen=True)
class Param:
    """One parameter: its name, and ``kind`` one of positional, keyword, var_positional, var_keyword."""

    name: str
    kind: str
    has_default: bool


@dataclass
class ApiEntry:
    """One public name of Ray Data 2.60: where it lives (``section``), whether it is a class,
    its parameters (empty for DataContext fields) and, for fields, the default's text."""

    section: str
    name: str
    is_class: bool
    params: list[Param] = field(default_factory=list)
    default: str = ""


def _unquoted(text: str, start: int = 0):
    """``(index, char)`` of every character of ``text`` (from ``start``) outside string quotes."""
    quote = ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        else:
            yield i, ch


def _split_top_level(text: str) -> list[str]:
    """Split a parameter list on commas that are not inside brackets, quotes or ``<...>`` reprs."""
    parts, depth, begin = [], 0, 0
    for i, ch in _unquoted(text):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[begin:i].strip())
            begin = i + 1
    tail = text[begin:].strip()
    if tail:
        parts.append(tail)
    return parts


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for i, ch in _unquoted(text, open_at):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced signature: {text[:80]}")


def parse_params(inner: str) -> list[Param]:
    """Parameters of a signature's inside (``self`` dropped)."""
    params, keyword_only = [], False
    for piece in _split_top_level(inner):
        if piece == "*":
            keyword_only = True
            continue
        if piece == "/":
            continue
        if piece.startswith("**"):
            params.append(Param(re.match(r"\*\*(\w+)", piece).group(1), "var_keyword", False))
            continue
        if piece.startswith("*"):
            params.append(Param(re.match(r"\*(\w+)", piece).group(1), "var_positional", False))
            keyword_only = True
            continue
        name = re.match(r"(\w+)", piece).group(1)
        if name in ("self", "cls"):
            continue
        params.append(Param(name, "keyword" if keyword_only else "positional", "=" in piece))
    return params


def load_surface(path: Path = LISTING) -> list[ApiEntry]:
    """Every entry of the listing, in its order."""
    entries, section = [], None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            section = next((key for prefix, key in SECTIONS.items() if title.startswith(prefix)), None)
            continue
        if section is None or not line.startswith("- "):
            continue
        body = line[2:]
        if section == "DataContext":
            match = re.match(r"`(\w+)` = `(.*)`$", body)
            if match:
                entries.append(ApiEntry(section, match.group(1), False, default=match.group(2)))
            continue
        is_class = body.startswith("class ")
        body = body[len("class "):] if is_class else body
        match = re.match(r"`(\w+)(\(.*)`$", body)
        if not match:
            continue
        name, rest = match.group(1), match.group(2)
        if rest.startswith("(...)"):
            entries.append(ApiEntry(section, name, is_class))
            continue
        close = _matching_paren(rest, 0)
        entries.append(ApiEntry(section, name, is_class, parse_params(rest[1:close])))
    return entries
