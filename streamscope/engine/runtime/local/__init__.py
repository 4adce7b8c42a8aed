"""The local runtime: warm worker processes and a shared-memory block store with spill.

``LocalRuntime`` is the entry point; the modules below it each hold one concept:
``session_dir`` (per-user session directories and the sweep of dead ones), ``blockfile`` (one
block = one Arrow IPC file), ``store`` (capacity accounting, LRU spill, restore), ``protocol``
(driver <-> worker messages), ``worker`` (the worker main loop), ``pool`` (process lifecycle).
"""

from streamscope.engine.runtime.local.refs import LocalBlockRef
from streamscope.engine.runtime.local.runtime import LocalRuntime

__all__ = ["LocalBlockRef", "LocalRuntime"]
