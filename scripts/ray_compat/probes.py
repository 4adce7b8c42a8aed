"""How each Ray Data name is called when the compatibility table is made.

A *probe* calls a streamscope name the way Ray Data code would, with one optional argument set to
a plausible non-default value, and lets planning run (``Dataset._explain``), so a refusal made
at plan time is seen. What happens is recorded: accepted, or the error raised (its type and
message). :data:`PROBE_VALUES` holds the value tried for each argument name; :func:`templates`
builds, per name, the call with its required arguments filled in. The connectors' inputs, values
and templates are in :mod:`connector_probes` and merged in here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ray_compat.connector_probes import CONNECTOR_VALUES, ConnectorInputs, connector_templates
from ray_compat.connector_probes import made as _connector_made


def _identity_batch(batch):
    return batch


def _identity_row(row):
    return row


def _keep_row(row):
    return True


class _Sentinel:
    """A value no streamscope code treats specially (for arguments whose type we only forward)."""

    def __repr__(self) -> str:
        return "<probe>"


PROBE_VALUES: dict[str, Any] = {
    # per-task arguments of Ray Data's map/read/write functions
    "num_cpus": 0.5, "num_gpus": 0, "memory": 1024, "concurrency": 2, "compute": "taskpool",
    "label_selector": {"zone": "a"}, "fallback_strategy": [{"label_selector": {"zone": "b"}}],
    "max_calls": 2, "resources": {"probe_resource": 1}, "accelerator_type": "A100",
    "runtime_env": {"env_vars": {"PROBE": "1"}}, "ray_remote_args": {"num_cpus": 1},
    "ray_remote_args_fn": lambda: {"num_cpus": 1}, "udf_modifying_row_count": True,
    "aggregator_ray_remote_args": {"num_cpus": 1},
    # map arguments
    "batch_size": 2, "batch_format": "pandas", "zero_copy_batch": False, "fn_args": (), "fn_kwargs": {},
    "fn_constructor_args": None, "fn_constructor_kwargs": None, "expr": None, "fn": _keep_row,
    # reads
    "parallelism": 2, "override_num_blocks": 2, "filesystem": "local", "columns": ["id"],
    # a real option of pyarrow's open_input_stream / open_output_stream, valid for any file ({} would
    # pass as "no options" and hide a refusal)
    "arrow_open_stream_args": {"buffer_size": 1 << 16}, "arrow_open_file_args": {}, "partition_filter": "partition_filter", "partitioning": "hive",
    "include_paths": True, "ignore_missing_paths": True, "shuffle": "files", "file_extensions": ["parquet", "csv", "json", "txt", "npy", "png"],
    "tensor_column_schema": "tensor_schema", "include_row_hash": True, "skip_paths": [], "catalog": _Sentinel(),
    "encoding": "utf-8", "drop_empty_lines": False, "lines": False, "allow_pickle": True, "size": (4, 4),
    "mode": "overwrite", "read_args": None,
    # writes
    "try_create_dir": True, "filename_provider": "provider", "min_rows_per_file": 2, "num_rows_per_file": 2,
    "max_rows_per_file": 4, "min_bytes_per_file": 1, "partition_cols": ["group"], "arrow_parquet_args_fn": lambda: {},
    "arrow_csv_args_fn": lambda: {}, "pandas_json_args_fn": lambda: {}, "arrow_parquet_args": None,
    "arrow_csv_args": None, "arrow_json_args": None, "pandas_json_args": None, "numpy_load_args": None,
    # consumption
    "prefetch_batches": 2, "drop_last": True, "local_shuffle_buffer_size": 4, "local_shuffle_seed": 1,
    "_collate_fn": None, "collate_fn": None, "dtypes": None, "device": "cpu", "pin_memory": False,
    "paddings": 0, "synchronize_batches": True,
    "limit": 3, "fetch_if_missing": False, "equal": True, "locality_hints": None,
    # all-to-all and structure
    "seed": 7, "num_blocks": 2, "descending": True, "boundaries": None, "num_partitions": 2,
    "target_num_rows_per_block": 2, "shuffle_": None, "keys": None, "sort": False, "strict": True,
    "join_type": "inner", "left_suffix": "_l", "right_suffix": "_r", "right_on": None,
    "partition_size_hint": 2, "validate_schemas": True, "stratify": None, "test_size": 0.5,
    "fraction": 0.5, "ignore_nulls": False, "ddof": 0, "alias_name": "probe", "encode_lists": False,
    "on": "id", "local_read": False,
    # strategies and options
    "size_": None, "min_size": 1, "max_size": 2, "initial_size": 1, "max_tasks_in_flight_per_actor": 2,
    "max_concurrent_calls_per_actor": 1, "enable_true_multi_threading": False,
    "resource_limits": None, "exclude_resources": None, "preserve_order": True,
    "actor_locality_enabled": False, "verbose_progress": True, "cpu": 1.0, "gpu": 0.0,
    "object_store_memory": 1e6, "override_dtype_agg_mapping": None, "exprs": None, "more_exprs": None,
    "column_name": None, "shape": (2,), "blocks": None, "dataset": None,
}
"""The value tried for each optional argument, by name (``None`` means: leave it out)."""

PER_NAME_VALUES: dict[tuple[str, str], Any] = {
    ("TaskPoolStrategy", "size"): 2, ("ActorPoolStrategy", "size"): 2,
    ("read_images", "mode"): "L", ("repartition", "shuffle"): True, ("repartition", "keys"): None,
    ("write_numpy", "column"): None, ("to_numpy_refs", "column"): "id", ("unique", "column"): None, ("ExecutionResources", "memory"): 1e6,
    ("ExecutionOptions", "label_selector"): {"zone": "a"},
    ("Dataset", "dataset_name"): None,
    ("mix", "weights"): [0.25, 0.75], ("mix", "stopping_condition"): "stop_on_shortest",
    ("to_random_access_dataset", "num_workers"): 2,
    ("to_dask", "meta"): {"id": "int64", "group": "str", "x": "float64"}, ("to_dask", "verify_meta"): False,
}
"""Values that depend on the name as well as the argument."""


class _Names:
    """A filename provider in Ray Data's shape (names carry the write uuid, as append needs)."""

    def get_filename_for_block(self, block, write_uuid, task_index, block_index):
        return f"probe-{write_uuid}-{task_index}-{block_index}"


def _made(value: Any) -> Any:
    """Values that are objects are made at probe time (each probe gets its own)."""
    if value == "local":
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem()
    if value == "provider":
        return _Names()
    if value == "taskpool":
        import streamscope

        return streamscope.TaskPoolStrategy()
    if value == "hive":
        import streamscope.datasource

        return streamscope.datasource.Partitioning("hive")
    if value == "partition_filter":
        import streamscope.datasource

        return streamscope.datasource.PathPartitionFilter.of(lambda partitions: True, style="hive")
    if value == "stop_on_shortest":
        import streamscope

        return streamscope.MixStoppingCondition.STOP_ON_SHORTEST
    if value == "tensor_schema":
        return {"id": (np.int64, (1,))}
    return value


def probe_value(api: str, param: str, fixtures: "Fixtures") -> Any:
    """The value tried for ``param`` of ``api``; KeyError when none is declared (add one)."""
    if (api, param) in CONNECTOR_VALUES:
        return _connector_made(CONNECTOR_VALUES[(api, param)], fixtures.connectors)
    if (api, param) in PER_NAME_VALUES:
        return _made(PER_NAME_VALUES[(api, param)])
    return _made(PROBE_VALUES[param])


class Fixtures:
    """Small inputs every probe may read: one file of each format under ``root``; the connectors'
    inputs (tables, catalogs, shards) are ``connectors``, made on first use."""

    def __init__(self, root: Path):
        self.root = root
        table = pa.table({"id": [1, 2, 3, 4], "group": ["a", "b", "a", "b"]})
        (root / "parquet").mkdir()
        pq.write_table(table, root / "parquet" / "part.parquet")
        (root / "csv").mkdir()
        (root / "csv" / "part.csv").write_text("id,group\n1,a\n2,b\n")
        (root / "json").mkdir()
        (root / "json" / "part.json").write_text('{"id": 1}\n{"id": 2}\n')
        (root / "text").mkdir()
        (root / "text" / "part.txt").write_text("one\ntwo\n")
        (root / "numpy").mkdir()
        np.save(root / "numpy" / "part.npy", np.arange(4))
        (root / "images").mkdir()
        from PIL import Image

        Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(root / "images" / "a.png")
        self._writes = 0
        self.connectors = ConnectorInputs(root / "connectors")

    def path(self, kind: str) -> str:
        return str(self.root / kind)

    def out(self) -> str:
        """A fresh output directory for each write probe."""
        self._writes += 1
        return os.path.join(str(self.root), f"out{self._writes}")


Call = Callable[..., Any]


def templates(ss: Any, fx: Fixtures) -> dict[tuple[str, str], Call]:
    """``(section, name) -> call(**kwargs)``: the name called with its required arguments."""
    from streamscope.engine.api.grouped_data import GroupedData  # noqa: F401  (section home)
    from streamscope.expressions import col as _col

    def ds():
        return ss.from_items([{"id": i, "group": "ab"[i % 2], "x": float(i)} for i in range(8)])

    pq_path = fx.path("parquet")
    t: dict[tuple[str, str], Call] = {
        ("module", "read_parquet"): lambda **kw: ss.read_parquet(pq_path, **kw),
        ("module", "read_csv"): lambda **kw: ss.read_csv(fx.path("csv"), **kw),
        ("module", "read_json"): lambda **kw: ss.read_json(fx.path("json"), **kw),
        ("module", "read_text"): lambda **kw: ss.read_text(fx.path("text"), **kw),
        ("module", "read_binary_files"): lambda **kw: ss.read_binary_files(fx.path("text"), **kw),
        ("module", "read_numpy"): lambda **kw: ss.read_numpy(fx.path("numpy"), **kw),
        ("module", "read_images"): lambda **kw: ss.read_images(fx.path("images"), **kw),
        ("module", "range"): lambda **kw: ss.range(8, **kw),
        ("module", "range_tensor"): lambda **kw: ss.range_tensor(8, **kw),
        ("module", "from_items"): lambda **kw: ss.from_items([{"a": 1}, {"a": 2}], **kw),
        ("module", "from_pandas"): lambda **kw: ss.from_pandas(__import__("pandas").DataFrame({"a": [1, 2]}), **kw),
        ("module", "from_arrow"): lambda **kw: ss.from_arrow(pa.table({"a": [1, 2]}), **kw),
        ("module", "from_numpy"): lambda **kw: ss.from_numpy(np.arange(4), **kw),
        ("module", "from_arrow_refs"): lambda **kw: ss.from_arrow_refs([ss.ObjectRef(pa.table({"a": [1, 2]}))], **kw),
        ("module", "from_pandas_refs"): lambda **kw: ss.from_pandas_refs(
            [ss.ObjectRef(__import__("pandas").DataFrame({"a": [1, 2]}))], **kw),
        ("module", "from_numpy_refs"): lambda **kw: ss.from_numpy_refs([ss.ObjectRef(np.arange(4))], **kw),
        ("module", "TaskPoolStrategy"): lambda **kw: ss.TaskPoolStrategy(**kw),
        ("module", "ActorPoolStrategy"): lambda **kw: ss.ActorPoolStrategy(**kw),
        ("module", "ExecutionResources"): lambda **kw: ss.ExecutionResources(**kw),
        ("module", "ExecutionOptions"): lambda **kw: ss.ExecutionOptions(**kw),
        ("Dataset", "map"): lambda **kw: ds().map(_identity_row, **kw),
        ("Dataset", "map_batches"): lambda **kw: ds().map_batches(_identity_batch, **kw),
        ("Dataset", "flat_map"): lambda **kw: ds().flat_map(lambda row: [row], **kw),
        ("Dataset", "filter"): lambda **kw: ds().filter(_keep_row, **kw),
        ("Dataset", "add_column"): lambda **kw: ds().add_column("y", lambda df: df["id"], **kw),
        ("Dataset", "select_columns"): lambda **kw: ds().select_columns(["id"], **kw),
        ("Dataset", "drop_columns"): lambda **kw: ds().drop_columns(["x"], **kw),
        ("Dataset", "rename_columns"): lambda **kw: ds().rename_columns({"x": "z"}, **kw),
        ("Dataset", "repartition"): lambda **kw: ds().repartition(2, **kw),
        ("Dataset", "random_shuffle"): lambda **kw: ds().random_shuffle(**kw),
        ("Dataset", "randomize_block_order"): lambda **kw: ds().randomize_block_order(**kw),
        ("Dataset", "mix"): lambda **kw: ds().mix(ds(), **kw),
        ("Dataset", "to_random_access_dataset"): lambda **kw: ds().to_random_access_dataset("id", **kw),
        ("Dataset", "random_sample"): lambda **kw: ds().random_sample(0.5, **kw),
        ("Dataset", "sort"): lambda **kw: ds().sort("id", **kw),
        ("Dataset", "groupby"): lambda **kw: ds().groupby("group", **kw).count(),
        ("Dataset", "join"): lambda **kw: ds().join(ds(), on=("id",), **{"join_type": "inner", **kw}),
        ("Dataset", "unique"): lambda **kw: ds().unique("group", **kw),
        ("Dataset", "sum"): lambda **kw: ds().sum("id", **kw),
        ("Dataset", "min"): lambda **kw: ds().min("id", **kw),
        ("Dataset", "max"): lambda **kw: ds().max("id", **kw),
        ("Dataset", "mean"): lambda **kw: ds().mean("id", **kw),
        ("Dataset", "std"): lambda **kw: ds().std("id", **kw),
        ("Dataset", "take"): lambda **kw: ds().take(**kw),
        ("Dataset", "take_all"): lambda **kw: ds().take_all(**kw),
        ("Dataset", "take_batch"): lambda **kw: ds().take_batch(**kw),
        ("Dataset", "show"): lambda **kw: ds().show(**kw),
        ("Dataset", "limit"): lambda **kw: ds().limit(3, **kw),
        ("Dataset", "schema"): lambda **kw: ds().schema(**kw),
        ("Dataset", "columns"): lambda **kw: ds().columns(**kw),
        ("Dataset", "iter_batches"): lambda **kw: list(ds().iter_batches(**kw)),
        ("Dataset", "iter_torch_batches"): lambda **kw: list(ds().select_columns(["id", "x"]).iter_torch_batches(**kw)),
        ("Dataset", "iter_jax_batches"): lambda **kw: list(ds().select_columns(["id", "x"]).iter_jax_batches(**kw)),
        ("Dataset", "iter_rows"): lambda **kw: list(ds().iter_rows(**kw)),
        ("Dataset", "split"): lambda **kw: ds().split(2, **kw),
        ("Dataset", "streaming_split"): lambda **kw: ds().streaming_split(2, **kw),
        ("Dataset", "split_at_indices"): lambda **kw: ds().split_at_indices([2], **kw),
        ("Dataset", "split_proportionately"): lambda **kw: ds().split_proportionately([0.5], **kw),
        ("Dataset", "train_test_split"): lambda **kw: ds().train_test_split(**{"test_size": 0.5, **kw}),
        ("Dataset", "write_parquet"): lambda **kw: ds().write_parquet(fx.out(), **kw),
        ("Dataset", "write_csv"): lambda **kw: ds().write_csv(fx.out(), **kw),
        ("Dataset", "write_json"): lambda **kw: ds().write_json(fx.out(), **kw),
        ("Dataset", "write_numpy"): lambda **kw: ds().write_numpy(fx.out(), **{"column": "id", **kw}),
        ("Dataset", "to_pandas"): lambda **kw: ds().to_pandas(**kw),
        ("Dataset", "to_dask"): lambda **kw: ds().to_dask(**kw),
        ("Dataset", "summary"): lambda **kw: ds().summary(**kw),
        ("Dataset", "with_column"): lambda **kw: ds().with_column("y", _col("id") + 1, **kw),
        ("Dataset", "with_columns"): lambda **kw: ds().with_columns({"y": _col("id") + 1}, **kw),
        ("Dataset", "to_arrow"): lambda **kw: ds().to_arrow(**kw),
        ("Dataset", "to_torch"): lambda **kw: ds().to_torch(**kw),
        ("Dataset", "materialize"): lambda **kw: ds().materialize(**kw),
        ("Dataset", "to_arrow_refs"): lambda **kw: ds().to_arrow_refs(**kw),
        ("Dataset", "to_pandas_refs"): lambda **kw: ds().to_pandas_refs(**kw),
        ("Dataset", "to_numpy_refs"): lambda **kw: ds().to_numpy_refs(**kw),
        ("Dataset", "get_internal_block_refs"): lambda **kw: ds().get_internal_block_refs(**kw),
        ("Dataset", "iter_internal_ref_bundles"): lambda **kw: list(ds().iter_internal_ref_bundles(**kw)),
        ("GroupedData", "map_groups"): lambda **kw: ds().groupby("group").map_groups(_identity_batch, **kw),
        ("GroupedData", "sum"): lambda **kw: ds().groupby("group").sum("id", **kw),
        ("GroupedData", "min"): lambda **kw: ds().groupby("group").min("id", **kw),
        ("GroupedData", "max"): lambda **kw: ds().groupby("group").max("id", **kw),
        ("GroupedData", "mean"): lambda **kw: ds().groupby("group").mean("id", **kw),
        ("GroupedData", "std"): lambda **kw: ds().groupby("group").std("id", **kw),
    }
    t.update(connector_templates(ss, fx))
    return t
