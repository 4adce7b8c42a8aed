"""Connecting to Ray: which cluster ``streamscope.init(address=...)`` means, and how.

``address`` follows ``ray.init``: ``None`` uses the cluster named by ``RAY_ADDRESS`` or the one
``ray start`` left on this machine, else starts a Ray instance in this process; ``"auto"``
requires an existing cluster; ``"host:port"`` is a cluster's GCS; ``"ray://host:10001"`` goes
through Ray Client (a notebook outside the cluster). Workers must be able to import
streamscope: on a remote cluster pass ``runtime_env={"pip": ["streamscope"]}`` or
``runtime_env={"py_modules": [streamscope]}`` (see docs/scaling.md).
"""

from __future__ import annotations

from typing import Any, Optional


def connect(address: Optional[str] = None, **kwargs: Any) -> Any:
    import ray

    kwargs.setdefault("ignore_reinit_error", True)
    kwargs.setdefault("log_to_driver", True)
    if address is not None:
        kwargs["address"] = address
    return ray.init(**kwargs)


def dashboard_url() -> Optional[str]:
    """Ray's dashboard of the connected cluster, when it runs (for measured node figures)."""
    try:
        import ray

        node = ray._private.worker.global_worker.node
        url = node.address_info.get("webui_url") if node is not None else None
    except Exception:
        return None
    if not url:
        return None
    return url if url.startswith("http") else f"http://{url}"
