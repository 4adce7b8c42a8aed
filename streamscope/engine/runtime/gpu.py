"""The GPU pool: which devices exist, who holds how much of each, and their live figures.

Why in the runtime: a GPU is handed to a *process* through ``CUDA_VISIBLE_DEVICES``, which CUDA
reads once, when the process first initializes it. So the runtime, which starts the processes,
assigns devices and sets the variable before any user code runs there; the executor only counts
GPU amounts (as Ray does) and never sees device ids.

Devices come from, in order: ``STREAMSCOPE_FAKE_GPUS=n`` (n fake ids, so scheduling can be tested
on machines without GPUs), ``DataContext.num_gpus`` / ``STREAMSCOPE_NUM_GPUS``, the ids listed in
``CUDA_VISIBLE_DEVICES`` (an empty value means none), and finally NVML (``pynvml`` from
nvidia-ml-py, the ``gpu`` extra) when it is installed. Without it devices are still scheduled when
declared or visible, but nothing detects them otherwise and there are no utilization or memory
figures: a GPU request that cannot be met says to install it, and a run on real devices logs once
that its GPU figures are missing and why. Fractional requests (``num_gpus=0.25``) share a device: each
device has capacity 1.0 and a fractional request goes to the fullest device it still fits on, so
small requests pack together and leave whole devices free for whole requests.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Any, Optional

EPS = 1e-9
INSTALL_NVML = "install nvidia-ml-py to detect GPUs and show their use: pip install 'streamscope[gpu]'"

logger = logging.getLogger(__name__)
_told_no_nvml = False


def _nvml() -> Any:
    """The pynvml module, initialized, or None (not installed, no driver)."""
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        return pynvml
    except Exception:
        return None


def nvml_installed() -> bool:
    """Whether ``pynvml`` (nvidia-ml-py) can be imported here (a driver may still be missing)."""
    return importlib.util.find_spec("pynvml") is not None


def _visible_ids() -> Optional[list[str]]:
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip() and v.strip() != "-1"]


def detect_gpu_ids(context: Any = None) -> tuple[list[str], bool]:
    """``(device ids, fake)``: the ids to put in ``CUDA_VISIBLE_DEVICES``."""
    fake = os.environ.get("STREAMSCOPE_FAKE_GPUS")
    if fake not in (None, ""):
        return [str(i) for i in range(int(fake))], True
    visible = _visible_ids()
    wanted = getattr(context, "num_gpus", None)
    if wanted is None:
        env = os.environ.get("STREAMSCOPE_NUM_GPUS")
        wanted = float(env) if env not in (None, "") else None
    if wanted is not None:
        n = int(wanted)
        base = visible if visible is not None else [str(i) for i in range(n)]
        if len(base) < n:  # asked for more than are visible: trust the user (fake ids past the end)
            base = base + [str(i) for i in range(len(base), n)]
        return base[:n], _nvml() is None
    if visible is not None:
        return visible, False
    nvml = _nvml()
    if nvml is None:
        return [], False
    try:
        return [str(i) for i in range(nvml.nvmlDeviceGetCount())], False
    except Exception:
        return [], False


class GpuPool:
    """Device capacity bookkeeping (thread-safe). ``allocate`` returns device ids or None when
    the request does not fit now; :meth:`check` raises when it never could."""

    def __init__(self, ids: list[str], fake: bool = False):
        self.ids = list(ids)
        self.fake = fake
        self._free = {i: 1.0 for i in self.ids}
        self._lock = threading.Lock()

    @property
    def total(self) -> float:
        return float(len(self.ids))

    def in_use(self) -> float:
        with self._lock:
            return sum(1.0 - f for f in self._free.values())

    def check(self, amount: float, what: str = "a task") -> None:
        if amount <= 0:
            return
        if amount > 1 + EPS and abs(amount - round(amount)) > EPS:
            raise ValueError(f"{what} asks for num_gpus={amount:g}: above 1 a GPU request must be a whole number")
        if amount > self.total + EPS:
            have = f"{len(self.ids)} GPU(s)" if self.ids else "no GPU"
            hint = "" if self.ids or nvml_installed() else f", or {INSTALL_NVML}"
            raise ValueError(
                f"{what} asks for num_gpus={amount:g} but this machine has {have}"
                f" (set DataContext.num_gpus or STREAMSCOPE_FAKE_GPUS to declare devices{hint})"
            )

    def allocate(self, amount: float) -> Optional[tuple[str, ...]]:
        if amount <= 0:
            return ()
        with self._lock:
            if amount < 1 - EPS:
                fits = [i for i in self.ids if self._free[i] + EPS >= amount]
                if not fits:
                    return None
                best = min(fits, key=lambda i: (self._free[i], self.ids.index(i)))
                self._free[best] -= amount
                return (best,)
            n = int(round(amount))
            whole = [i for i in self.ids if self._free[i] > 1 - EPS]
            if len(whole) < n:
                return None
            for i in whole[:n]:
                self._free[i] = 0.0
            return tuple(whole[:n])

    def release(self, ids: tuple, amount: float) -> None:
        if not ids or amount <= 0:
            return
        with self._lock:
            share = amount if amount < 1 - EPS else 1.0
            for i in ids:
                if i in self._free:
                    self._free[i] = min(1.0, self._free[i] + share)


def cuda_env(ids: tuple) -> dict:
    """The environment a process with these devices gets (empty: leave it alone)."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(ids)} if ids else {}


def gpu_stats(pool: Optional[GpuPool] = None) -> list[dict]:
    """Per-GPU utilization (fraction) and memory from NVML; ``[]`` when NVML is unavailable or the
    devices are fake. Unknown figures are None, never 0."""
    global _told_no_nvml
    if pool is not None and pool.fake:
        return []
    nvml = _nvml()
    if nvml is None:
        if pool is not None and pool.ids and not _told_no_nvml and not nvml_installed():
            _told_no_nvml = True
            logger.warning("GPU utilization and memory are not shown for %d device(s): %s", len(pool.ids), INSTALL_NVML)
        return []
    out = []
    try:
        count = nvml.nvmlDeviceGetCount()
    except Exception:
        return []
    visible = _visible_ids()
    indices = [int(i) for i in visible if i.isdigit()] if visible is not None else list(range(count))
    for pos, index in enumerate(indices):
        entry: dict = {"index": pos, "device_id": str(index), "name": "", "utilization": None,
                       "memory_used_bytes": None, "memory_total_bytes": None}
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = nvml.nvmlDeviceGetName(handle)
            entry["name"] = name.decode() if isinstance(name, bytes) else str(name)
            entry["utilization"] = nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            entry["memory_used_bytes"], entry["memory_total_bytes"] = int(mem.used), int(mem.total)
        except Exception:
            pass
        out.append(entry)
    return out
