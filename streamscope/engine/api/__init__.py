"""The ray.data-shaped face of the engine: Dataset, GroupedData, consumption, writes, iterators,
read/from functions, explain and init.

Modules here build logical plans and start runs; they compute nothing themselves. Everything
below (``logical/``, ``physical/``, ``execution/``, ``runtime/``, ``io/``, ``transforms/`` and the
shared vocabulary at the engine root) never imports from here. This package's ``__init__``
imports nothing, so importing one API module never drags in the others.
"""
