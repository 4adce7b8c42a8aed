"""DataContext: every setting in one place, read at the start of each execution.

Mirrors ``ray.data.DataContext`` for the fields that mean something on one machine, and adds the
local runtime's own settings (store capacity, spill directory, worker count, progress mode).
Environment variables are read when a field's default is resolved at use time, never at import.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

DEFAULT_RETRIED_IO_ERRORS = [
    "AWS Error INTERNAL_FAILURE",
    "AWS Error NETWORK_CONNECTION",
    "AWS Error SLOW_DOWN",
    "AWS Error UNKNOWN (HTTP status 503)",
]


@dataclass
class ExecutionResources:
    """Resource amounts (``None`` = not limited), as in Ray Data; used for
    ``ExecutionOptions.resource_limits``.

    Examples:
        >>> limits = streamscope.ExecutionResources(cpu=2)
        >>> limits.cpu, limits.gpu
        (2, None)
    """

    cpu: Optional[float] = None
    gpu: Optional[float] = None
    object_store_memory: Optional[float] = None
    memory: Optional[float] = None

    @staticmethod
    def for_limits(cpu=None, gpu=None, object_store_memory=None, memory=None) -> "ExecutionResources":
        """Limits where every amount not given is unlimited (infinite).

        Examples:
            >>> streamscope.ExecutionResources.for_limits(cpu=4)
            ExecutionResources(cpu=4, gpu=inf, object_store_memory=inf, memory=inf)
        """
        inf = math.inf
        return ExecutionResources(
            cpu if cpu is not None else inf,
            gpu if gpu is not None else inf,
            object_store_memory if object_store_memory is not None else inf,
            memory if memory is not None else inf,
        )


@dataclass
class ExecutionOptions:
    """Per-execution options, as in Ray Data (``DataContext.execution_options``):
    ``resource_limits``, ``preserve_order`` (deliver blocks in their order: deterministic, a
    little slower), ``verbose_progress``.

    Examples:
        >>> opts = streamscope.ExecutionOptions(preserve_order=True)
        >>> opts.preserve_order, opts.resource_limits.cpu
        (True, inf)
    """

    resource_limits: ExecutionResources = field(default_factory=ExecutionResources.for_limits)
    exclude_resources: ExecutionResources = field(default_factory=lambda: ExecutionResources(0, 0, 0, 0))
    preserve_order: bool = False
    actor_locality_enabled: bool = True
    verbose_progress: Optional[bool] = None


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={value!r} is not a number") from exc


@dataclass
class DataContext:
    """Every setting in one place: Ray Data's fields (same names and defaults) plus the local
    runtime's own (store capacity, spill directory, worker count, progress mode).

    Get the current one with ``DataContext.get_current()`` and change its fields; changes
    take effect at the next execution. Environment variables (``STREAMSCOPE_NUM_WORKERS``...)
    are read when a default is resolved, never at import.

    Examples:
        >>> ctx = streamscope.DataContext.get_current()
        >>> ctx.target_max_block_size
        134217728
        >>> ctx.execution_options.preserve_order
        False
    """

    # --- fields mirrored from Ray Data (same names and defaults) ---
    target_max_block_size: Optional[int] = 128 * 1024 * 1024
    target_min_block_size: int = 1 * 1024 * 1024
    execution_options: ExecutionOptions = field(default_factory=ExecutionOptions)
    enable_progress_bars: bool = True
    """Terminal progress (Ray Data defaults this to False; streamscope shows a single line, and
    interval log lines when stderr is not a terminal). The notebook extension turns it off."""
    enable_operator_progress_bars: bool = True
    max_errored_blocks: int = 0
    retried_io_errors: list = field(default_factory=lambda: list(DEFAULT_RETRIED_IO_ERRORS))
    max_tasks_in_flight_per_actor: Optional[int] = None
    execution_no_progress_timeout_s: float = 1800
    read_op_min_num_blocks: int = 200
    min_parallelism: int = 200
    default_hash_shuffle_parallelism: int = 200
    enable_auto_log_stats: bool = False
    print_on_execution_start: bool = True
    actor_init_max_retries: int = 3
    max_map_retries: int = 0
    retried_map_errors: Any = False
    # --- streamscope's own settings (None = resolved at use time) ---
    object_store_capacity_bytes: Optional[int] = None
    """Shared-memory store capacity; default 30% of RAM (env STREAMSCOPE_STORE_CAPACITY)."""
    spill_dir: Optional[str] = None
    """Where cold blocks spill; default a per-session folder under the temp dir (env STREAMSCOPE_SPILL_DIR)."""
    num_workers: Optional[int] = None
    """Worker processes of the local pool; default one per core (env STREAMSCOPE_NUM_WORKERS)."""
    num_gpus: Optional[float] = None
    """GPUs the local runtime may hand out; default detected (env STREAMSCOPE_NUM_GPUS)."""
    progress_mode: str = "auto"
    """Terminal progress: "auto", "line" (one line), "operators" (a line per operator), "log", "off"."""
    progress_interval_s: float = 10.0
    """Seconds between progress log lines when output is not a terminal."""
    telemetry_interval_s: float = 0.1
    """Seconds between telemetry snapshots (views read them at <= 10 Hz)."""
    stall_timeout_s: float = 30.0
    """No progress for this long and the live views call the run stalled."""
    small_plan_inline_rows: int = 20_000
    """Plans whose sources hold at most this many rows (known from metadata), with no declared
    resources, actor pools or all-to-all exchanges, run on threads of the driver process: no
    worker pool needs to start for a ``take(5)`` on a small range. 0 disables it."""
    runtime: str = "local"
    """Which runtime executes plans: "local" (embedded) or "ray"."""

    _lock = threading.Lock()
    _current: "DataContext | None" = None

    @staticmethod
    def get_current() -> "DataContext":
        """The process-wide context (created on first use).

        Examples:
            >>> streamscope.DataContext.get_current() is streamscope.DataContext.get_current()
            True
        """
        with DataContext._lock:
            if DataContext._current is None:
                DataContext._current = DataContext()
            return DataContext._current

    @staticmethod
    def _set_current(ctx: "DataContext") -> None:
        with DataContext._lock:
            DataContext._current = ctx

    def copy(self) -> "DataContext":
        """A deep copy: change it without touching the current context.

        Examples:
            >>> ctx = streamscope.DataContext.get_current()
            >>> mine = ctx.copy()
            >>> mine.execution_options.preserve_order = True
            >>> ctx.execution_options.preserve_order
            False
        """
        return copy.deepcopy(self)

    # ---- resolved values ---------------------------------------------------------------
    def resolved_store_capacity(self) -> int:
        """The block store's capacity in bytes: ``object_store_capacity_bytes``, else
        ``STREAMSCOPE_STORE_CAPACITY``, else 30% of RAM.

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.object_store_capacity_bytes = 1 << 30
            >>> ctx.resolved_store_capacity()
            1073741824
        """
        if self.object_store_capacity_bytes:
            return int(self.object_store_capacity_bytes)
        env = _env_int("STREAMSCOPE_STORE_CAPACITY")
        if env:
            return env
        import psutil

        return int(psutil.virtual_memory().total * 0.3)

    def resolved_num_workers(self) -> int:
        """Worker processes of the local pool: ``num_workers``, else ``STREAMSCOPE_NUM_WORKERS``, else
        one per core.

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.num_workers = 3
            >>> ctx.resolved_num_workers()
            3
        """
        if self.num_workers:
            return int(self.num_workers)
        env = _env_int("STREAMSCOPE_NUM_WORKERS")
        if env:
            return env
        return max(1, os.cpu_count() or 1)

    def resolved_spill_dir(self) -> Optional[str]:
        """Where cold blocks spill: ``spill_dir``, else ``STREAMSCOPE_SPILL_DIR``, else None (a
        per-session folder under the temp directory).

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.spill_dir = "/scratch/spill"
            >>> ctx.resolved_spill_dir()
            '/scratch/spill'
        """
        return self.spill_dir or os.environ.get("STREAMSCOPE_SPILL_DIR") or None

    def set(self, key: str, value: Any) -> None:
        """Set a field by dotted name (``execution_options.preserve_order``), converting strings
        to the field's type (``"true"``, ``"64MiB"``); ``%dataset config`` uses it. An unknown
        name raises AttributeError.

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.set("execution_options.preserve_order", "true")
            >>> ctx.set("target_max_block_size", "64MiB")
            >>> ctx.execution_options.preserve_order, ctx.target_max_block_size
            (True, 67108864)
        """
        target: Any = self
        parts = key.split(".")
        for part in parts[:-1]:
            if not hasattr(target, part):
                raise AttributeError(f"DataContext has no setting {key!r}")
            target = getattr(target, part)
        last = parts[-1]
        if not hasattr(target, last) or last.startswith("_"):
            raise AttributeError(f"DataContext has no setting {key!r}")
        current = getattr(target, last)
        setattr(target, last, _coerce(value, current, key))


def _coerce(value: Any, current: Any, key: str) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("none", "null"):
        return None
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key} expects true/false, got {value!r}")
    if isinstance(current, int) or current is None:
        try:
            return int(_parse_size(text))
        except ValueError:
            if current is None:
                try:
                    return float(text)
                except ValueError:
                    return text
            raise ValueError(f"{key} expects a number, got {value!r}") from None
    if isinstance(current, float):
        return float(text)
    return text


def _parse_size(text: str) -> float:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.lower().rstrip("ib").rstrip("b") if text[-1:].lower() in "bB" else text.lower()
    if t and t[-1] in units:
        return float(t[:-1]) * units[t[-1]]
    return float(t)
