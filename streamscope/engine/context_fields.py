"""The machinery behind DataContext's three rules, apart from the settings themselves.

Why a module of its own: ``context.py`` is the one place a reader looks for *which* settings
exist; *how* a setting is checked (a misspelt name refused with the closest field, a field without
effect warning once, a changed field invalidating the shipped copy of a context, ``%dataset
config`` text turned into the field's type) is shared by ``DataContext``, ``ExecutionOptions`` and
``ExecutionResources`` and changes for other reasons.

Example::

    >>> from streamscope.engine.context_fields import coerce_setting, unknown_field_message
    >>> coerce_setting("64MiB", 0, "target_max_block_size", "Optional[int]")
    67108864
    >>> unknown_field_message("DataContext", "target_max_blok_size", ["target_max_block_size"])
    "DataContext has no field 'target_max_blok_size'; did you mean 'target_max_block_size'?"
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
import threading
import warnings
from typing import Any

class SettingHasNoEffectWarning(UserWarning):
    """A DataContext field was set to a value this runtime does not act on."""


# ---- field checks shared by DataContext, ExecutionOptions and ExecutionResources ---------------
_warned: set[str] = set()
_warned_lock = threading.Lock()
_FIELDS_CACHE: dict[type, dict[str, dataclasses.Field]] = {}
_generations = itertools.count(1)
_generation = 0


def settings_generation() -> int:
    """Changes whenever a field of any context object is assigned, so a cache of a context's
    pickled bytes (``runtime/context_shipping.py``) knows when to pickle again."""
    return _generation


def field_map(cls: type) -> dict[str, dataclasses.Field]:
    found = _FIELDS_CACHE.get(cls)
    if found is None:
        found = _FIELDS_CACHE[cls] = {f.name: f for f in dataclasses.fields(cls)}
    return found


_DEFAULTS: dict[int, Any] = {}


def field_default(f: dataclasses.Field) -> Any:
    """A field's default, built once (only ever compared with, never handed out: building one
    per check would assign fields and bump the settings generation)."""
    if f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
        return f.default
    key = id(f)
    if key not in _DEFAULTS:
        _DEFAULTS[key] = f.default_factory()  # type: ignore[misc]
    return _DEFAULTS[key]


RAY_CONFIG_OBJECTS = ("autoscaling_config", "lance_config", "iceberg_config", "delta_config",
                      "issue_detectors_config")
"""Ray Data fields whose values are Ray configuration objects, which streamscope does not take."""


def unknown_field_message(owner: str, name: str, choices: Any) -> str:
    """``DataContext has no field 'x'; did you mean 'y'?`` (the suggestion when one is close)."""
    if owner == "DataContext" and name in RAY_CONFIG_OBJECTS:
        return (f"DataContext has no field {name!r}: Ray Data's {name} holds a Ray configuration object for "
                "Ray's own machinery, which streamscope does not use; leave it out (docs/ray-compat.md)")
    close = difflib.get_close_matches(name, list(choices), n=1)
    if close:
        return f"{owner} has no field {name!r}; did you mean {close[0]!r}?"
    return (f"{owner} has no field {name!r}. streamscope declares Ray Data's settings (those without "
            "effect here warn when set) plus its own (docs/architecture.md, \"Settings\").")


def warn_once(key: str, message: str, category: type = SettingHasNoEffectWarning, stacklevel: int = 3) -> bool:
    """Warn with ``message`` the first time ``key`` is seen in this process; True if it warned."""
    with _warned_lock:
        if key in _warned:
            return False
        _warned.add(key)
    warnings.warn(message, category, stacklevel=stacklevel)
    return True


class CheckedFields:
    """Refuses attributes that are not dataclass fields and warns when a field without effect is
    set to a non-default value. ``_NO_EFFECT`` maps such a field to what does have the effect."""

    _PATH = ""
    _NO_EFFECT: dict[str, str] = {}
    _DEPRECATED: dict[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        fields = field_map(type(self))
        if name not in fields:
            raise AttributeError(unknown_field_message(type(self).__name__, name, fields))
        object.__setattr__(self, name, value)
        global _generation
        _generation = next(_generations)
        if name in self._NO_EFFECT or name in self._DEPRECATED:
            self._warn_if_set(name, stacklevel=4)

    def _warn_if_set(self, name: str, stacklevel: int = 3) -> None:
        value = getattr(self, name)
        if value == field_default(field_map(type(self))[name]):
            return
        path = f"{self._PATH}{name}"
        if name in self._DEPRECATED:
            warn_once(path, f"DataContext.{path} is deprecated: {self._DEPRECATED[name]}", FutureWarning, stacklevel)
        else:
            warn_once(path, f"DataContext.{path} = {value!r} has no effect in streamscope: {self._NO_EFFECT[name]}",
                      stacklevel=stacklevel)


def coerce_setting(value: Any, current: Any, key: str, declared: str = "") -> Any:
    """Turn ``%dataset config`` text into the field's type: its declared type when it names one
    (``Optional[float]`` stays a float even while the value is None), else the current value's."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("none", "null"):
        return None
    kind = next((k for k in ("bool", "float", "int", "str", "list") if re.search(rf"\b{k}\b", declared)), "")
    if not kind:
        kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}.get(type(current), "")
    if kind == "list":  # retried_io_errors=a,b
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        if re.search(r"\blist\b", declared):  # Union[bool, list]: retried_map_errors=Throttled,429
            return [part.strip() for part in text.split(",") if part.strip()]
        raise ValueError(f"{key} expects true/false, got {value!r}")
    if kind in ("int", "float"):
        try:
            number = _parse_size(text)
        except ValueError:
            raise ValueError(f"{key} expects a number, got {value!r}") from None
        if kind == "float":
            return number
        if number != int(number):
            raise ValueError(f"{key} expects a whole number, got {value!r}")
        return int(number)
    return text


def _parse_size(text: str) -> float:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.lower().rstrip("ib").rstrip("b") if text[-1:].lower() in "bB" else text.lower()
    if t and t[-1] in units:
        return float(t[:-1]) * units[t[-1]]
    return float(t)


__all__ = [
    "CheckedFields", "SettingHasNoEffectWarning", "coerce_setting", "field_default", "field_map",
    "settings_generation", "unknown_field_message", "warn_once",
]
