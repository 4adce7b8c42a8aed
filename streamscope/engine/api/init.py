"""``streamscope.init``: choose where plans run — the embedded local runtime or a Ray cluster.

Why one call: a notebook that outgrows the machine should change one line, not its pipelines.
Without any call the embedded local runtime runs everything; ``DataContext.runtime = "ray"``
selects Ray too (connecting as ``ray.init()`` would). Plans, widgets and results are the same on
both; only where tasks run and where blocks live changes.
"""

from __future__ import annotations

from typing import Any, Optional

from streamscope.engine.context import DataContext
from streamscope.engine.execution.metrics_export import serve_metrics
from streamscope.engine.runtime import get_runtime, new_runtime, set_runtime, shutdown_all

_RUNTIMES = ("local", "ray")


def init(address: Optional[str] = None, runtime: Optional[str] = None, *, metrics_port: Optional[int] = None,
         metrics_host: str = "127.0.0.1", **kwargs: Any) -> Any:
    """Pick (and start) the session's runtime; returns the runtime object.

    Without any call the embedded local runtime runs everything; call it to pass the local
    runtime's options, or to move to a Ray cluster by changing this one line.

    :param address: a Ray cluster: ``None`` (the one ``ray.init()`` would use or start),
        ``"auto"``, ``"host:port"`` or ``"ray://host:10001"``. Giving one implies ``runtime="ray"``.
    :param runtime: ``"local"`` (default without an address) or ``"ray"``.
    :param kwargs: for ``"ray"``, passed to ``ray.init`` (``num_cpus``, ``runtime_env``,
        ``namespace``, ...); for ``"local"``, the local runtime's ``num_workers``,
        ``store_capacity``, ``spill_dir``, ``resources`` (custom resources this machine offers,
        ``{"name": amount}`` as in ``ray.init``: maps asking ``resources={"name": n}`` are counted
        against them) and ``memory`` (bytes offered to maps' ``memory=`` requests).

    :param metrics_port: serve every run's telemetry as Prometheus metrics on
        ``http://metrics_host:metrics_port/metrics`` (``streamscope_operator_rows_out_total``...;
        see ``engine/execution/metrics_export.py``); off unless given, and on 127.0.0.1 unless
        ``metrics_host`` says otherwise. Needs ``prometheus_client`` (``streamscope[metrics]``).

    Calling it again replaces the runtime of that kind (the old one shuts down and its blocks are
    gone); materialized datasets made before belong to the old runtime.

    Examples:
        >>> runtime = streamscope.init()  # the embedded local runtime (the default)
        >>> runtime.name
        'local'
        >>> streamscope.DataContext.get_current().runtime
        'local'
        >>> from streamscope.engine.runtime import new_runtime
        >>> # what streamscope.init(resources={"licence": 2}) installs: two tasks may hold one each
        >>> new_runtime("local", resources={"licence": 2}).total_resources().custom
        (('licence', 2.0),)
    """
    kind = runtime or ("ray" if address is not None else "local")
    if kind not in _RUNTIMES:
        raise ValueError(f"unknown runtime {kind!r}; expected one of {', '.join(_RUNTIMES)}")
    if metrics_port is not None:
        if not isinstance(metrics_port, int) or isinstance(metrics_port, bool) or not 0 <= metrics_port < 65536:
            raise ValueError(f"metrics_port must be a TCP port number (0 picks a free one), got {metrics_port!r}")
        serve_metrics(metrics_port, metrics_host)
    ctx = DataContext.get_current()
    if kind == "local":
        if address is not None:
            raise ValueError("address= names a Ray cluster; use runtime='ray' (or leave runtime unset)")
        rt: Any = new_runtime("local", **kwargs) if kwargs else None
    else:
        rt = new_runtime("ray", address, **kwargs)
    if rt is not None:
        set_runtime(kind, rt)
    ctx.runtime = kind
    return get_runtime(ctx, kind)


def shutdown() -> None:
    """Stop every runtime this session started (Ray is disconnected when streamscope connected
    it) and go back to the embedded local runtime for the next plan."""
    shutdown_all()
    serve_metrics(None)
    DataContext.get_current().runtime = "local"
