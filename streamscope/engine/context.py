"""DataContext: every setting in one place, read at the start of each execution.

Mirrors ``ray.data.DataContext`` for the fields that mean something on one machine, and adds the
local runtime's own settings (store capacity, spill directory, worker count, progress mode).
Environment variables are read when a field's default is resolved at use time, never at import.

Three rules keep a setting from being silently ignored:

* A name that is not a field is refused (``AttributeError`` naming the closest field), so a typo
  such as ``ctx.target_max_blok_size = 1`` fails where it is written instead of doing nothing.
* Every field is read by the engine, or, when set to anything but its default, warns once per
  process (:class:`SettingHasNoEffectWarning`) that it has no effect and says what does. Fields
  only the local runtime reads warn when a run starts on Ray (:meth:`DataContext.warn_unused`).
* Tasks see their run's settings: each run takes a private copy of the context when it starts
  (``execution/run.py``), every task carries that copy to its worker, and the shared task body
  installs it there as ``DataContext.get_current()`` for the task's duration (:func:`use_context`),
  as Ray Data's map tasks do with ``DataContext._set_current``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Union

from streamscope.engine.context_fields import (  # noqa: F401  (SettingHasNoEffectWarning stays importable from here)
    CheckedFields,
    SettingHasNoEffectWarning,
    coerce_setting,
    field_default,
    field_map,
    unknown_field_message,
    warn_once,
)
from streamscope.engine.context_ray_fields import NO_EFFECT as RAY_TUNING_NO_EFFECT
from streamscope.engine.context_ray_fields import RayDataTuningFields

DEFAULT_RETRIED_IO_ERRORS = [
    "AWS Error INTERNAL_FAILURE",
    "AWS Error NETWORK_CONNECTION",
    "AWS Error SLOW_DOWN",
    "AWS Error UNKNOWN (HTTP status 503)",
    "AWS Error SERVICE_UNAVAILABLE",
]
DEFAULT_READ_OP_MIN_NUM_BLOCKS = 200
DEFAULT_HASH_SHUFFLE_PARALLELISM = 200
DEFAULT_DOWNSTREAM_CAPACITY_BACKPRESSURE_RATIO = 2.0


@dataclass
class ExecutionResources(CheckedFields):
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
class ExecutionOptions(CheckedFields):
    """Per-execution options, as in Ray Data (``DataContext.execution_options``):
    ``resource_limits``, ``preserve_order`` (deliver blocks in their order: deterministic, a
    little slower), ``verbose_progress``.

    Examples:
        >>> opts = streamscope.ExecutionOptions(preserve_order=True)
        >>> opts.preserve_order, opts.resource_limits.cpu
        (True, inf)
    """

    resource_limits: ExecutionResources = field(default_factory=ExecutionResources.for_limits)
    """Caps on what one run uses: ``cpu``/``gpu`` slots, ``object_store_memory`` bytes of output
    held, and ``memory``: the sum of the ``memory=`` requests of its running tasks."""
    exclude_resources: ExecutionResources = field(default_factory=lambda: ExecutionResources(0, 0, 0, 0))
    preserve_order: bool = False
    actor_locality_enabled: bool = True
    verbose_progress: Optional[bool] = None
    """True: terminal progress shows a line per operator (as ``progress_mode="operators"``);
    None or False: one summary line."""

    _PATH = "execution_options."
    _NO_EFFECT = {
        "exclude_resources": "Ray Data deprecates it too; narrow what a run may use with "
                             "execution_options.resource_limits.",
        "actor_locality_enabled": "Ray Data deprecates it too; actors run where the runtime places them "
                                  "(this machine locally, Ray's scheduler on Ray).",
    }


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={value!r} is not a number") from exc


_task_local = threading.local()


@dataclass
class DataContext(RayDataTuningFields, CheckedFields):
    """Every setting in one place: Ray Data's fields (same names and defaults) plus the local
    runtime's own (store capacity, spill directory, worker count, progress mode).

    Get the current one with ``DataContext.get_current()`` and change its fields; changes
    take effect at the next execution (each run copies the context when it starts, and every task
    of the run sees that copy, in whichever worker it runs). Setting a field that does not exist
    raises ``AttributeError`` naming the closest one. Environment variables (``STREAMSCOPE_NUM_WORKERS``...)
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
    """False: terminal progress never shows per-operator lines, whatever ``progress_mode`` or
    ``execution_options.verbose_progress`` ask for."""
    max_errored_blocks: int = 0
    retried_io_errors: list = field(default_factory=lambda: list(DEFAULT_RETRIED_IO_ERRORS))
    max_tasks_in_flight_per_actor: Optional[int] = None
    execution_no_progress_timeout_s: float = 1800
    read_op_min_num_blocks: int = DEFAULT_READ_OP_MIN_NUM_BLOCKS
    min_parallelism: int = DEFAULT_READ_OP_MIN_NUM_BLOCKS
    """Deprecated alias of ``read_op_min_num_blocks`` (used while that one is at its default)."""
    default_hash_shuffle_parallelism: int = DEFAULT_HASH_SHUFFLE_PARALLELISM
    """Partitions of hash exchanges (groupby aggregations, map_groups, joins, key repartitions)
    that do not name ``num_partitions``. At Ray Data's default (200) streamscope sizes them from
    the CPUs and the input size; any other value is used as given."""
    enable_auto_log_stats: bool = False
    """Log ``Dataset.stats()`` text (INFO, logger ``streamscope.engine.execution.run``) when a
    run ends."""
    print_on_execution_start: bool = True
    """Log the dataset's name and physical operators (INFO, same logger) when a run starts."""
    actor_task_retry_on_errors: Any = False
    """Errors an actor pool's task is retried on, on the same actor, without limit: True (any),
    or a list of exception classes (and their subclasses); False retries none."""
    actor_init_retry_on_errors: bool = False
    """True: a callable class whose constructor raises is constructed again in the same actor, up
    to ``actor_init_max_retries`` more times."""
    actor_init_max_retries: int = 3
    """Constructor retries per actor when ``actor_init_retry_on_errors`` is True (-1: no limit)."""
    s3_try_create_dir: bool = False
    """False (Ray Data's default): a write to ``s3://`` creates no "directory" (S3 has none; a
    key prefix exists once a file is under it) and never a bucket. True: the output path is
    created first, and a missing bucket with it (s3fs's ``makedirs``), as Ray Data does."""
    max_map_retries: int = 0
    """Retries of a map task (reads and writes too) whose error ``retried_map_errors`` names; the
    retry skips the rows the task already delivered (docs/architecture.md, "Retries")."""
    retried_map_errors: Union[bool, list] = False
    """True (any error) or a list of strings, each a substring of, or a regular expression found in,
    the error's ``"ClassName: message"``; retried up to ``max_map_retries`` times, with backoff."""
    enable_fallback_to_arrow_object_ext_type: Optional[bool] = None
    """Column values Arrow has no type for (``[1, "a"]``, PIL images, user objects) become a
    column of pickled Python objects; ``False`` makes them an error naming the column instead."""
    downstream_capacity_backpressure_ratio: Optional[float] = DEFAULT_DOWNSTREAM_CAPACITY_BACKPRESSURE_RATIO
    """An operator waits while the next one has more than this many times its parallelism in
    queued input blocks; ``None`` turns the policy off (as in Ray Data)."""
    checkpoint_config: Optional[Any] = None
    """A :class:`~streamscope.checkpoint.CheckpointConfig` (or a dict of its arguments): file
    writes record the ids of the rows they committed, and a pipeline started again skips them
    (``docs/reliability.md``, "Checkpoint and resume")."""
    # --- streamscope's own settings (None = resolved at use time) ---
    object_store_capacity_bytes: Optional[int] = None
    """Shared-memory store capacity; default 30% of RAM (env STREAMSCOPE_STORE_CAPACITY)."""
    spill_dir: Optional[str] = None
    """Where cold blocks spill; default a per-session folder under the temp dir (env STREAMSCOPE_SPILL_DIR)."""
    num_workers: Optional[int] = None
    """Worker processes of the local pool; default one per core (env STREAMSCOPE_NUM_WORKERS)."""
    num_gpus: Optional[float] = None
    """GPUs the local runtime may hand out; default detected (env STREAMSCOPE_NUM_GPUS)."""
    worker_memory_limit_bytes: Optional[int] = None
    """Private memory (Linux ``RssAnon``: what the task allocated, not the blocks it maps) a pool
    worker may hold while it runs a task of this run; past it the worker is killed and the task
    retried like a crash (``max_retries``), then the run fails naming this limit. ``None``: no
    limit. A task's ``memory=`` stays a reservation for scheduling, as in Ray Data."""
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

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _current: ClassVar[Optional["DataContext"]] = None

    _NO_EFFECT = {
        **RAY_TUNING_NO_EFFECT,
        "execution_no_progress_timeout_s": "a run is never failed for lack of progress; the live views "
            "and Dataset.stats() call it stalled after DataContext.stall_timeout_s, and %dataset cancel "
            "or Ctrl-C stops it.",
    }
    _DEPRECATED = {
        "min_parallelism": "Ray Data deprecated it in 2.10; set read_op_min_num_blocks instead (runs "
            "read min_parallelism in its place only while read_op_min_num_blocks is at its default).",
    }
    _LOCAL_RUNTIME_ONLY = {
        "object_store_capacity_bytes": "on Ray the cluster's object store holds the blocks; size it "
            "with ray.init(object_store_memory=...) or `ray start --object-store-memory`.",
        "spill_dir": "on Ray, Ray spills objects where its object_spilling_config says "
            "(ray.init(_system_config=...)).",
        "num_workers": "on Ray the cluster's CPUs decide how many tasks run at once; cap a run with "
            "execution_options.resource_limits.",
        "num_gpus": "on Ray the cluster's GPUs are used; cap a run with execution_options.resource_limits.",
        "small_plan_inline_rows": "on Ray every plan runs on the cluster.",
        "worker_memory_limit_bytes": "on Ray, Ray's memory monitor kills the workers that use the "
            "most memory when a node runs short (RAY_memory_usage_threshold).",
    }
    """Fields only the local runtime reads (store, pool, GPUs, inline small plans)."""

    @staticmethod
    def get_current() -> "DataContext":
        """The context of the running task when called inside one (its run's settings, shipped
        with the task), else the process-wide context (created on first use).

        Examples:
            >>> streamscope.DataContext.get_current() is streamscope.DataContext.get_current()
            True
        """
        ctx = getattr(_task_local, "ctx", None)
        if ctx is not None:
            return ctx
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

    # ---- settings without effect ---------------------------------------------------------------
    def warn_unused(self, runtime_name: str) -> None:
        """At the start of a run: warn once for every field that has no effect there, including
        values changed in place (``ctx.execution_options.exclude_resources.cpu = 2``) that no
        attribute assignment on a context saw.

        Examples:
            >>> streamscope.DataContext().warn_unused("local")   # defaults: nothing to warn about
        """
        for name in (*self._NO_EFFECT, *self._DEPRECATED):
            self._warn_if_set(name)
        for name in self.execution_options._NO_EFFECT:
            self.execution_options._warn_if_set(name)
        if runtime_name != "ray":
            return
        fields = field_map(DataContext)
        for name, hint in self._LOCAL_RUNTIME_ONLY.items():
            value = getattr(self, name)
            if name == "small_plan_inline_rows" and not value:
                continue  # "never inline" holds on Ray as it is
            if value != field_default(fields[name]):
                warn_once(f"ray:{name}", f"DataContext.{name} = {value!r} has no effect on the Ray runtime: {hint}")

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

    def resolved_read_op_min_num_blocks(self) -> int:
        """``read_op_min_num_blocks``, or the deprecated ``min_parallelism`` when only that one was
        changed (Ray Data's rule).

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.read_op_min_num_blocks = 16
            >>> ctx.resolved_read_op_min_num_blocks()
            16
        """
        if (self.min_parallelism != DEFAULT_READ_OP_MIN_NUM_BLOCKS
                and self.read_op_min_num_blocks == DEFAULT_READ_OP_MIN_NUM_BLOCKS):
            return int(self.min_parallelism)
        return int(self.read_op_min_num_blocks)

    def resolved_hash_shuffle_parallelism(self) -> Optional[int]:
        """Partitions for hash exchanges without ``num_partitions``; None = size automatically
        (the field left at Ray Data's default of 200).

        Examples:
            >>> ctx = streamscope.DataContext.get_current().copy()
            >>> ctx.resolved_hash_shuffle_parallelism() is None
            True
            >>> ctx.default_hash_shuffle_parallelism = 8
            >>> ctx.resolved_hash_shuffle_parallelism()
            8
        """
        value = self.default_hash_shuffle_parallelism
        if value == DEFAULT_HASH_SHUFFLE_PARALLELISM:
            return None
        if value is None or int(value) < 1:
            raise ValueError(f"DataContext.default_hash_shuffle_parallelism must be >= 1, got {value!r}")
        return int(value)

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
        for i, part in enumerate(parts):
            fields = field_map(type(target)) if dataclasses.is_dataclass(target) else {}
            if part not in fields:
                prefix = ".".join(parts[:i])
                choices = [f"{prefix}.{name}" if prefix else name for name in fields]
                raise AttributeError(unknown_field_message("DataContext", key, choices))
            if i < len(parts) - 1:
                target = getattr(target, part)
        last = parts[-1]
        declared = field_map(type(target))[last].type
        setattr(target, last, coerce_setting(value, getattr(target, last), key, declared if isinstance(declared, str) else ""))


class use_context:
    """``with use_context(ctx):`` makes ``ctx`` what ``DataContext.get_current()`` returns in this
    thread until the block ends, then restores what was there; ``process_wide=True`` also makes it
    the process-wide context meanwhile (a worker process running one task at a time, so threads a
    task starts see it too). ``ctx=None`` changes nothing.

    Why per thread first: the in-process runtime runs several runs' tasks on threads of the driver,
    next to the user's own code, and each must see only its own run's settings."""

    __slots__ = ("ctx", "process_wide", "_prev_local", "_prev_global")

    def __init__(self, ctx: Optional[DataContext], process_wide: bool = False):
        self.ctx = ctx
        self.process_wide = process_wide
        self._prev_local: Optional[DataContext] = None
        self._prev_global: Optional[DataContext] = None

    def __enter__(self) -> Optional[DataContext]:
        if self.ctx is not None:
            self._prev_local = getattr(_task_local, "ctx", None)
            _task_local.ctx = self.ctx
            if self.process_wide:
                with DataContext._lock:
                    self._prev_global, DataContext._current = DataContext._current, self.ctx
        return self.ctx

    def __exit__(self, *exc: Any) -> bool:
        if self.ctx is not None:
            _task_local.ctx = self._prev_local
            if self.process_wide:
                with DataContext._lock:
                    DataContext._current = self._prev_global
            self._prev_local = self._prev_global = None
        return False
