"""What one task of a map stage asks the runtime for, from the stage's ``num_cpus``/``num_gpus``/
``memory`` arguments.

A leaf on its own: the planner (task-pool maps, reads) and the actor-pool operator (its actors)
both size their tasks with it, and neither may import the other for it.
"""

from __future__ import annotations

from typing import Optional, Protocol

from streamscope.engine.remote_args import custom_resources
from streamscope.engine.runtime.base import Resources


class ResourceRequest(Protocol):
    """What a map (or a read's ``num_cpus=``/``num_gpus=``/``memory=``) asks for per task."""

    @property
    def num_cpus(self) -> Optional[float]: ...
    @property
    def num_gpus(self) -> Optional[float]: ...
    @property
    def memory(self) -> Optional[float]: ...


def map_resources(op: ResourceRequest) -> Resources:
    """``Resources`` for one task of ``op`` (anything with ``num_cpus``, ``num_gpus``, ``memory``,
    and optionally ``ray_remote_args`` with custom ``resources``): one CPU unless told otherwise
    (also for GPU maps, as Ray Data), no GPU, no memory reservation, no custom resources."""
    cpu = 1.0 if op.num_cpus is None else float(op.num_cpus)
    gpu = 0.0 if op.num_gpus is None else float(op.num_gpus)
    custom = custom_resources(getattr(op, "ray_remote_args", None) or {})
    return Resources(cpu=cpu, gpu=gpu, memory=float(op.memory or 0), custom=custom)
