"""The WebDataset conventions shared by ``read_webdataset`` and ``write_webdataset``: how tar
members group into samples, which patterns select members, and the default decoder and encoder
(by the extension of each member name), with Ray Data 2.60's rules.

- A member ``dir/abc.seg.png`` belongs to sample key ``dir/abc`` (the path up to the first dot
  of the base name) as field ``seg.png``; a name whose base has no dot is skipped. A sample's
  members must be adjacent in the tar.
- ``fileselect`` (on whole member names, after ``filerename``) and ``suffixes`` (on field names)
  are a callable or a list of patterns: with ``*``/``?`` a glob matched against ``"." + name``,
  otherwise a literal equal to the name or to ``"." + name``.
- The default decoder, by the last extension of a field: ``txt``/``text`` -> str, ``cls``/
  ``cls2`` -> int, ``jpg``/``png``/``ppm``/``pgm``/``pbm``/``pnm`` -> numpy array via Pillow
  (``decoder="PIL"``: the PIL image), ``json`` -> parsed, ``npy`` -> array, ``mp`` -> msgpack;
  ``pt``/``pth``/``pickle``/``pkl`` only when
  ``RAY_DATA_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION=1`` (or ``STREAMSCOPE_...`` of the same
  suffix) says the source is trusted; other fields stay bytes.
- The default encoder is the reverse (images also from ``jpeg``); str values are written as
  UTF-8 and bytes as they are.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
from functools import partial
from typing import Any, Callable, Optional

UNSAFE_ENV_VARS = ("STREAMSCOPE_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION",
                   "RAY_DATA_WEBDATASET_ALLOW_UNSAFE_DESERIALIZATION")
_IMAGE_DECODE = ("jpg", "png", "ppm", "pgm", "pbm", "pnm")
_IMAGE_ENCODE = ("jpg", "jpeg", "png", "ppm", "pgm", "pbm", "pnm")
_PIL_FORMAT = {"jpg": "jpeg"}
_KEY_RE = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")


def allow_unsafe_from_env() -> bool:
    """Whether pickle / torch members may be loaded (either environment variable set truthy)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in UNSAFE_ENV_VARS)


def split_key(name: str) -> tuple[Optional[str], Optional[str]]:
    """``(sample key, field)`` of a member name, or ``(None, None)`` when its base name has no dot.

    Examples:
        >>> split_key("shard/00042.seg.png"), split_key("README")
        (('shard/00042', 'seg.png'), (None, None))
    """
    match = _KEY_RE.match(name)
    if not match:
        return None, None
    return match.group(1), match.group(2)


def matches(name: str, patterns: Any) -> bool:
    """Whether ``name`` passes ``patterns`` (None: everything; a callable; a list of globs and
    literals, see the module docstring).

    Examples:
        >>> matches("00001.txt", ["*.txt"]), matches("txt", ["txt"]), matches("00001.txt", ["txt"])
        (True, True, False)
    """
    if patterns is None:
        return True
    if callable(patterns):
        return bool(patterns(name))
    for pattern in patterns:
        if "*" in pattern or "?" in pattern:
            if fnmatch.fnmatch("." + name, pattern):
                return True
        elif name == pattern or "." + name == pattern:
            return True
    return False


def check_patterns(value: Any, argument: str, caller: str) -> None:
    """``fileselect`` / ``suffixes``: None, a callable or a list of str patterns."""
    if value is None or callable(value):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        return
    raise TypeError(f"{caller}: {argument} must be None, a callable taking a name and returning a bool, or a list of "
                    f"str patterns (globs such as '*.jpg' or literal suffixes such as 'jpg'), got {value!r}")


def check_renames(value: Any, caller: str) -> None:
    """``filerename``: None, a callable or a list of callables (each maps a member name to a new one)."""
    if value is None or callable(value):
        return
    if isinstance(value, (list, tuple)) and all(callable(g) for g in value):
        return
    raise TypeError(f"{caller}: filerename must be None, a callable mapping a member name to a new name, or a list of "
                    f"such callables (applied in order), got {value!r}; to rename by pattern, pass e.g. "
                    "lambda name: re.sub(r'\\.jpeg$', '.jpg', name)")


def check_codec_spec(value: Any, argument: str, caller: str) -> None:
    """``decoder`` / ``encoder``: None, a bool, a str, a callable or a list of those."""
    for item in value if isinstance(value, list) else [value]:
        if not (item is None or isinstance(item, (bool, str)) or callable(item)):
            raise TypeError(f"{caller}: {argument} must be None, True/False or a str (the built-in one), a callable "
                            f"taking and returning a sample dict, or a list of those, got {value!r}")


def apply_specs(specs: Any, sample: dict, default: Optional[Callable] = None) -> Any:
    """Apply ``specs`` (one or a list) in order: a callable is called with the sample; anything
    else (True, False, a str) runs ``default`` with it as ``format`` (so ``False`` still runs the
    built-in codec, as in Ray Data)."""
    if specs is None:
        return sample
    for spec in specs if isinstance(specs, list) else [specs]:
        if not callable(spec):
            spec = partial(default, format=spec)
        sample = spec(sample)
    return sample


def default_decoder(sample: dict, format: Any = True, allow_unsafe: bool = False) -> dict:
    """Decode each field of a sample by its last extension (see the module docstring).

    Examples:
        >>> default_decoder({"__key__": "a", "txt": b"hi", "cls": b"3", "json": b'{"x": 1}', "bin": b"\\x00"})
        {'__key__': 'a', 'txt': 'hi', 'cls': 3, 'json': {'x': 1}, 'bin': b'\\x00'}
    """
    sample = dict(sample)
    for key, value in sample.items():
        if key.startswith("__"):
            continue
        extension = key.split(".")[-1]
        if extension in ("txt", "text"):
            sample[key] = value.decode("utf-8")
        elif extension in ("cls", "cls2"):
            sample[key] = int(value.decode("utf-8"))
        elif extension in _IMAGE_DECODE:
            image = _pil().open(io.BytesIO(value))
            if format == "PIL":
                sample[key] = image
            else:
                import numpy as np

                sample[key] = np.asarray(image)
        elif extension == "json":
            sample[key] = json.loads(value)
        elif extension == "npy":
            import numpy as np

            sample[key] = np.load(io.BytesIO(value))
        elif extension == "mp":
            sample[key] = _msgpack().unpackb(value, raw=False)
        elif extension in ("pt", "pth", "pickle", "pkl"):
            if not allow_unsafe:
                raise ValueError(
                    f"refusing to load the .{extension} member {key!r}: unpickling runs arbitrary code. Pass a decoder "
                    f"of your own, or set {UNSAFE_ENV_VARS[0]}=1 (or {UNSAFE_ENV_VARS[1]}=1) for a trusted source")
            if extension in ("pt", "pth"):
                import torch

                sample[key] = torch.load(io.BytesIO(value), weights_only=False)
            else:
                import pickle

                sample[key] = pickle.loads(value)
    return sample


def default_encoder(sample: dict, format: Any = True) -> dict:
    """Encode each field of a sample by its last extension (the reverse of
    :func:`default_decoder`); ``None`` values stay ``None`` (the writer leaves them out).

    Examples:
        >>> default_encoder({"__key__": "a", "txt": "hi", "cls": 3, "json": {"x": 1}})
        {'__key__': 'a', 'txt': b'hi', 'cls': b'3', 'json': b'{"x": 1}'}
    """
    sample = dict(sample)
    for key, value in sample.items():
        if key.startswith("__") or value is None:
            continue
        extension = key.split(".")[-1]
        if extension == "txt":
            sample[key] = value.encode("utf-8")
        elif extension in ("cls", "cls2"):
            sample[key] = str(value).encode("utf-8")
        elif extension in _IMAGE_ENCODE:
            import numpy as np

            pil = _pil()
            if isinstance(value, np.ndarray):
                value = pil.fromarray(value)
            if not isinstance(value, pil.Image):
                raise TypeError(f"field {key!r}: the built-in encoder writes .{extension} from a numpy array or a PIL "
                                f"image, got {type(value).__name__}")
            stream = io.BytesIO()
            value.save(stream, format=_PIL_FORMAT.get(extension.lower(), extension))
            sample[key] = stream.getvalue()
        elif extension == "json":
            sample[key] = json.dumps(_plain(value)).encode("utf-8")
        elif extension == "npy":
            import numpy as np

            stream = io.BytesIO()
            np.save(stream, value)
            sample[key] = stream.getvalue()
        elif extension == "mp":
            sample[key] = _msgpack().dumps(value)
        elif extension in ("pt", "pth"):
            import torch

            stream = io.BytesIO()
            torch.save(value, stream)
            sample[key] = stream.getvalue()
        elif extension in ("pickle", "pkl"):
            import pickle

            sample[key] = pickle.dumps(value)
    return sample


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars (which a struct or list column can hold) as
    Python values, so ``json.dumps`` takes it."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None and type(value).__module__ == "numpy":
        return tolist()
    return value


def _pil() -> Any:
    try:
        import PIL.Image
    except ImportError:
        raise ImportError("image members (.jpg, .png, ...) need Pillow: pip install 'streamscope[images]', or pass "
                          "a decoder/encoder of your own") from None
    return PIL.Image


def _msgpack() -> Any:
    try:
        import msgpack
    except ImportError:
        raise ImportError("a .mp (msgpack) member needs the 'msgpack' package: pip install msgpack, or pass a "
                          "decoder/encoder of your own") from None
    return msgpack
