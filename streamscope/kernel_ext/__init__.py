"""The IPython extension: ``%load_ext streamscope`` / ``%unload_ext streamscope``.

Loaded in a Jupyter kernel it turns terminal progress off and shows a live widget view under the
cell for every execution that cell triggers; it adds the ``%dataset`` line magic and the
``%%dataset`` cell magic (see :mod:`streamscope.kernel_ext.magics`). Loaded in a terminal IPython
it adds the same magics, which print text, and leaves terminal progress as it was.

Why a relay with one state object: everything the extension changes in a session (a hub listener,
IPython event callbacks, the progress mode, the idle interrupt handler, open dashboards and
background handles) lives on one :class:`~streamscope.kernel_ext.state.KernelExtension`, so
unloading undoes exactly what loading did, and loading twice is a no-op.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.kernel_ext.state import KernelExtension

_extension: Optional[KernelExtension] = None
"""The registered instance (the only module-level state)."""


def load_ipython_extension(ipython: Any) -> KernelExtension:
    global _extension
    if _extension is not None and _extension.shell is ipython and _extension.loaded:
        return _extension
    if _extension is not None:
        _extension.unload()
    _extension = KernelExtension(ipython)
    _extension.load()
    return _extension


def unload_ipython_extension(ipython: Any) -> None:
    global _extension
    if _extension is not None:
        _extension.unload()
        _extension = None


def current() -> Optional[KernelExtension]:
    """The loaded extension, or None."""
    return _extension


__all__ = ["KernelExtension", "load_ipython_extension", "unload_ipython_extension", "current"]
