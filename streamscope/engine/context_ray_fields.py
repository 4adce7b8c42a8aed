"""Ray Data 2.60's DataContext fields that tune Ray's own machinery (its shuffle services, block
formats, progress bars, cluster scheduling, metrics), with Ray's names and defaults.

Why they exist here: Ray Data code and tutorials set them (``ctx.use_push_based_shuffle = True``,
``ctx.enable_pandas_block = False``), and that code must run after changing the import. They
change nothing in streamscope, so setting one to anything but its default warns once, saying
why and what does have that effect here (:data:`NO_EFFECT`); at the default they are silent.
``DataContext`` inherits them from :class:`RayDataTuningFields`.

Left out on purpose: Ray's configuration objects (``autoscaling_config``, ``lance_config``,
``iceberg_config``, ``delta_config``, ``issue_detectors_config``) and private fields. Their
defaults are instances of Ray classes, so code that touches them imports Ray anyway; setting one
is refused by name (``AttributeError``), never swallowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

_SHUFFLE = ("streamscope's all-to-all operations (sort, groupby, join, random_shuffle, repartition) are "
            "map/reduce tasks over its block store, not Ray's shuffle services; size them with "
            "default_hash_shuffle_parallelism or the operation's num_partitions/num_blocks.")
_GPU_SHUFFLE = "streamscope has no GPU shuffle: shuffles run as CPU tasks over the block store."
_BLOCKS = ("blocks are always pyarrow Tables, tensor columns always Arrow's canonical tensor types, and "
           "batches convert by the rules in docs/batch-conversion.md.")
_PROGRESS = ("progress is streamscope's own: set progress_mode ('auto', 'line', 'operators', 'log', 'off') "
             "and enable_progress_bars; in notebooks the live widget shows every operator.")
_STATS = "Dataset.stats() always reports per-operator wall, CPU and UDF time, rows, bytes, spills and retries."
_CLUSTER = ("it tunes how Ray places work on a cluster; streamscope places tasks itself on one machine and "
            "leaves placement to Ray's scheduler on the Ray runtime (give a map scheduling_strategy= to pass "
            "one to Ray).")
_STORE = ("the local block store's size is DataContext.object_store_capacity_bytes; on the Ray runtime, "
          "size Ray's object store with ray.init(object_store_memory=...).")
_BACKPRESSURE = ("streamscope's backpressure policies (concurrency cap, output budget, downstream capacity) "
                 "decide when operators wait; tune downstream_capacity_backpressure_ratio.")


@dataclass
class RayDataTuningFields:
    """Ray Data 2.60's tuning fields, with Ray's defaults; each has no effect in streamscope and
    warns once when set to anything else (the reason is in :data:`NO_EFFECT`).

    Examples:
        >>> ctx = streamscope.DataContext()
        >>> ctx.use_push_based_shuffle, ctx.shuffle_compression
        (False, 'zstd')
    """

    streaming_read_buffer_size: int = 32 * 1024 * 1024
    enable_pandas_block: bool = True
    actor_prefetcher_enabled: bool = False
    use_push_based_shuffle: bool = False
    pipeline_push_based_shuffle_reduce_tasks: bool = True
    shuffle_compression: str = "zstd"
    hash_shuffle_reduce_batch_size: int = 16
    hash_shuffle_reduce_get_timeout_s: float = 1800.0
    shuffle_input_batch_bytes: int = 1024 * 1024 * 1024
    max_hash_shuffle_aggregators: Optional[int] = None
    min_hash_shuffle_aggregator_wait_time_in_s: int = 300
    hash_shuffle_aggregator_health_warning_interval_s: int = 30
    max_hash_shuffle_finalization_batch_size: Optional[int] = None
    join_operator_actor_num_cpus_override: Optional[float] = None
    hash_shuffle_operator_actor_num_cpus_override: Optional[float] = None
    hash_aggregate_operator_actor_num_cpus_override: Optional[float] = None
    use_disk_based_hash_shuffle: bool = False
    gpu_shuffle_num_actors: Optional[int] = None
    gpu_shuffle_rmm_pool_size: Union[int, str, None] = None
    gpu_shuffle_spill_memory_limit: Union[int, str, None] = "auto"
    gpu_shuffle_setup_timeout_s: float = 120.0
    scheduling_strategy: object = "SPREAD"
    scheduling_strategy_large_args: object = "DEFAULT"
    large_args_threshold: int = 50 * 1024 * 1024
    use_polars: bool = False
    use_polars_sort: bool = False
    use_legacy_dataset_ids: bool = False
    decoding_size_estimation: bool = True
    use_datasource_v2: bool = True
    enable_tensor_extension_casting: bool = True
    use_arrow_tensor_v2: bool = True
    verbose_stats_logs: bool = False
    accurate_map_phase_timing: bool = False
    per_stage_map_timing: bool = False
    trace_allocations: bool = False
    use_ray_tqdm: bool = True
    enable_progress_bar_name_truncation: bool = True
    enable_rich_progress_bars: bool = False
    enable_get_object_locations_for_metrics: bool = False
    write_file_retry_on_errors: tuple = ("AWS Error INTERNAL_FAILURE", "AWS Error NETWORK_CONNECTION",
                                         "AWS Error SLOW_DOWN", "AWS Error UNKNOWN (HTTP status 503)")
    warn_on_driver_memory_usage_bytes: int = 2 * 1024 * 1024 * 1024
    max_consecutive_actor_init_deaths: int = 0
    op_resource_reservation_enabled: bool = True
    op_resource_reservation_ratio: float = 0.5
    output_backpressure_guard_release_interval_s: Optional[float] = None
    log_internal_stack_trace: bool = False
    raise_original_map_exception: bool = False
    wait_for_min_actors_s: int = -1
    enable_per_node_metrics: bool = False
    enable_stats_summary_collection: bool = False
    override_object_store_memory_limit_fraction: Optional[float] = None
    memory_usage_poll_interval_s: Optional[float] = 1
    dataset_logger_id: Optional[str] = None
    isolate_read_workers: bool = False
    enable_dynamic_output_queue_size_backpressure: bool = False
    enable_lineage_reconstruction_resource_accounting: bool = True
    enforce_schemas: bool = False
    pandas_block_ignore_metadata: bool = False
    enable_arrow_backed_pandas_conversion: bool = True
    batch_to_block_arrow_format: bool = True
    custom_execution_callback_classes: list = field(default_factory=list)
    default_map_logical_memory_enabled: bool = False
    object_store_reservation_overshoot_ratio: Optional[float] = None
    object_store_memory_pressure_fraction: Optional[float] = None


NO_EFFECT: dict[str, str] = {
    **{name: _SHUFFLE for name in (
        "use_push_based_shuffle", "pipeline_push_based_shuffle_reduce_tasks", "shuffle_compression",
        "hash_shuffle_reduce_batch_size", "hash_shuffle_reduce_get_timeout_s", "shuffle_input_batch_bytes",
        "max_hash_shuffle_aggregators", "min_hash_shuffle_aggregator_wait_time_in_s",
        "hash_shuffle_aggregator_health_warning_interval_s", "max_hash_shuffle_finalization_batch_size",
        "join_operator_actor_num_cpus_override", "hash_shuffle_operator_actor_num_cpus_override",
        "hash_aggregate_operator_actor_num_cpus_override", "use_disk_based_hash_shuffle",
        "use_polars", "use_polars_sort")},
    **{name: _GPU_SHUFFLE for name in (
        "gpu_shuffle_num_actors", "gpu_shuffle_rmm_pool_size", "gpu_shuffle_spill_memory_limit",
        "gpu_shuffle_setup_timeout_s")},
    **{name: _BLOCKS for name in (
        "enable_pandas_block", "use_legacy_dataset_ids", "decoding_size_estimation", "use_datasource_v2",
        "enable_tensor_extension_casting", "use_arrow_tensor_v2", "pandas_block_ignore_metadata",
        "batch_to_block_arrow_format", "enforce_schemas", "streaming_read_buffer_size")},
    "enable_arrow_backed_pandas_conversion": ("pandas batches hold numpy dtypes (pyarrow's to_pandas), not "
                                              "Arrow-backed ones; see docs/batch-conversion.md."),
    **{name: _PROGRESS for name in (
        "use_ray_tqdm", "enable_progress_bar_name_truncation", "enable_rich_progress_bars")},
    **{name: _STATS for name in (
        "verbose_stats_logs", "accurate_map_phase_timing", "per_stage_map_timing", "trace_allocations",
        "enable_stats_summary_collection", "enable_per_node_metrics",
        "enable_get_object_locations_for_metrics")},
    "dataset_logger_id": "streamscope logs through the standard logging module (logger 'streamscope').",
    "log_internal_stack_trace": ("a failed task's error always carries the worker's traceback of the user's "
                                 "code; internal frames are not logged separately."),
    "raise_original_map_exception": ("the error a failed map raises is already an instance of the user's "
                                     "exception type (except ZeroDivisionError works), with the operator "
                                     "named and the original as __cause__."),
    **{name: _CLUSTER for name in (
        "scheduling_strategy", "scheduling_strategy_large_args", "large_args_threshold", "isolate_read_workers",
        "enable_lineage_reconstruction_resource_accounting")},
    **{name: _STORE for name in (
        "override_object_store_memory_limit_fraction", "object_store_reservation_overshoot_ratio",
        "object_store_memory_pressure_fraction", "warn_on_driver_memory_usage_bytes",
        "memory_usage_poll_interval_s")},
    **{name: _BACKPRESSURE for name in (
        "op_resource_reservation_enabled", "op_resource_reservation_ratio",
        "output_backpressure_guard_release_interval_s", "enable_dynamic_output_queue_size_backpressure",
        "default_map_logical_memory_enabled")},
    "actor_prefetcher_enabled": "actor pools queue batches per actor with max_tasks_in_flight_per_actor.",
    "max_consecutive_actor_init_deaths": ("a constructor that raises fails the run at once (after "
                                          "actor_init_max_retries when actor_init_retry_on_errors is set)."),
    "wait_for_min_actors_s": "an actor pool's first batches wait for its first actor, however long it takes.",
    "write_file_retry_on_errors": "writes retry the errors DataContext.retried_io_errors names; add patterns there.",
    "custom_execution_callback_classes": ("execution callbacks are not supported; read a run's telemetry "
                                          "snapshots (executor.buffer) or Dataset.stats() instead."),
}
"""Why each field has no effect here, and what does."""
