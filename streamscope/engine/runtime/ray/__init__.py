"""The Ray runtime: the same :class:`~streamscope.engine.runtime.base.Runtime` contract on a Ray
cluster (remote functions, ObjectRefs, Ray's own object store and telemetry).

Importing this package does not import Ray; :mod:`.runtime` does, and is only loaded when a plan
runs with ``runtime="ray"`` (``streamscope.init(runtime="ray")`` or ``DataContext.runtime``).
"""
