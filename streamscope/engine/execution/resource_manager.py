"""ResourceManager: CPU/GPU slots and the object-store budget for one execution.

Limits are the runtime's totals, narrowed by ``DataContext.execution_options.resource_limits``.
Tasks asking for 0 CPUs (limit slices) always fit.
"""

from __future__ import annotations

import math
from typing import Any

from streamscope.engine.runtime.base import Resources


class ResourceManager:
    def __init__(self, runtime: Any, context: Any):
        total = runtime.total_resources()
        limits = context.execution_options.resource_limits
        self.cpu_limit = _min(total.cpu, limits.cpu)
        self.gpu_limit = _min(total.gpu, limits.gpu)
        store_cap = runtime.store_stats().capacity_bytes or 0
        self.store_limit = _min(float(store_cap) if store_cap else math.inf, limits.object_store_memory)
        self.cpu_used = 0.0
        self.gpu_used = 0.0

    def can_start(self, res: Resources) -> bool:
        if res.cpu > 0 and self.cpu_used + res.cpu > self.cpu_limit + 1e-9 and self.cpu_used > 0:
            return False
        if res.gpu > 0 and self.gpu_used + res.gpu > self.gpu_limit + 1e-9:
            return False
        return True

    def allocate(self, res: Resources) -> None:
        self.cpu_used += res.cpu
        self.gpu_used += res.gpu

    def release(self, res: Resources) -> None:
        self.cpu_used = max(0.0, self.cpu_used - res.cpu)
        self.gpu_used = max(0.0, self.gpu_used - res.gpu)

    def reason(self, res: Resources) -> str:
        if res.gpu > 0 and self.gpu_used + res.gpu > self.gpu_limit + 1e-9:
            return f"resources: waiting for a GPU ({self.gpu_used:g}/{self.gpu_limit:g} in use)"
        return f"resources: all CPU slots busy ({self.cpu_used:g}/{self.cpu_limit:g})"


def _min(a: float, b: Any) -> float:
    if b is None:
        return float(a)
    return float(min(a, b))
