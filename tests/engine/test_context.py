"""DataContext never ignores a setting silently: unknown names are refused with the closest field,
fields without effect warn once per process and say what does, every other field is read by the
engine, and the fields mirrored from Ray Data keep Ray Data's names and defaults."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import pathlib
import re
import textwrap
import warnings

import pytest

import streamscope
from streamscope.engine import context as context_module
from streamscope.engine import context_fields
from streamscope.engine.context import DataContext, ExecutionOptions, ExecutionResources

from executor_output import drain

SRC = pathlib.Path(streamscope.__file__).parent


@pytest.fixture
def fresh_warnings():
    """Forget which fields already warned in this process (the rule is once per process), and
    let every warning through."""
    saved = set(context_fields._warned)
    context_fields._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    context_fields._warned.clear()
    context_fields._warned.update(saved)


def no_effect_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, context_module.SettingHasNoEffectWarning)]


# ---- unknown names ------------------------------------------------------------------------------
def test_an_unknown_attribute_names_the_closest_field():
    ctx = DataContext()
    with pytest.raises(AttributeError, match=re.escape(
            "DataContext has no field 'target_max_blok_size'; did you mean 'target_max_block_size'?")):
        ctx.target_max_blok_size = 1
    assert ctx.target_max_block_size == 128 << 20
    with pytest.raises(AttributeError, match="ExecutionOptions has no field 'preserve_ordr'; did you mean 'preserve_order'"):
        ctx.execution_options.preserve_ordr = True
    with pytest.raises(AttributeError, match="ExecutionResources has no field 'cpus'; did you mean 'cpu'"):
        ExecutionResources().cpus = 2
    with pytest.raises(AttributeError, match="DataContext has no field 'zzz_setting'. streamscope declares"):
        ctx.zzz_setting = True  # no close match
    with pytest.raises(AttributeError, match="Ray Data's autoscaling_config holds a Ray configuration object"):
        ctx.autoscaling_config = object()
    with pytest.raises(TypeError):
        DataContext(target_max_blok_size=1)  # the dataclass constructor refuses it too


def test_set_by_dotted_name_refuses_unknown_names_with_a_suggestion():
    ctx = DataContext()
    with pytest.raises(AttributeError, match="no field 'execution_options.preserve_ordr'; did you mean "
                                             "'execution_options.preserve_order'"):
        ctx.set("execution_options.preserve_ordr", "true")
    with pytest.raises(AttributeError, match="no field 'num_worker'; did you mean 'num_workers'"):
        ctx.set("num_worker", "2")
    with pytest.raises(AttributeError, match="no field 'runtime.name'"):
        ctx.set("runtime.name", "x")  # runtime is a string, not a group of settings
    ctx.set("execution_options.resource_limits.cpu", "2")
    assert ctx.execution_options.resource_limits.cpu == 2


def test_set_converts_text_to_the_declared_type():
    ctx = DataContext()
    ctx.set("downstream_capacity_backpressure_ratio", "none")
    ctx.set("downstream_capacity_backpressure_ratio", "2.5")  # a float field, though it was None
    assert ctx.downstream_capacity_backpressure_ratio == 2.5
    ctx.set("object_store_capacity_bytes", "64MiB")
    assert ctx.object_store_capacity_bytes == 64 << 20
    with pytest.raises(ValueError, match="num_workers expects a whole number"):
        ctx.set("num_workers", "2.5")
    ctx.set("retried_io_errors", "AWS Error SLOW_DOWN, Throttled")  # a list, not one string of characters
    assert ctx.retried_io_errors == ["AWS Error SLOW_DOWN", "Throttled"]
    ctx.set("retried_map_errors", "true")  # True or a list of patterns
    assert ctx.retried_map_errors is True
    ctx.set("retried_map_errors", "Throttled, 429")
    assert ctx.retried_map_errors == ["Throttled", "429"]


# ---- fields without effect ----------------------------------------------------------------------
def test_a_field_without_effect_warns_once_per_process_and_says_what_works(fresh_warnings):
    ctx = DataContext()
    ctx.execution_no_progress_timeout_s = 1800  # its default: nothing to say
    assert no_effect_warnings(fresh_warnings) == []
    ctx.execution_no_progress_timeout_s = 60
    ctx.execution_no_progress_timeout_s = 90
    DataContext().execution_no_progress_timeout_s = 30  # another context object, same process
    (message,) = no_effect_warnings(fresh_warnings)
    assert "DataContext.execution_no_progress_timeout_s = 60 has no effect" in message and "stall_timeout_s" in message
    ctx.execution_options.exclude_resources = ExecutionResources(cpu=1, gpu=0, object_store_memory=0, memory=0)
    ctx.execution_options.actor_locality_enabled = False
    messages = no_effect_warnings(fresh_warnings)[1:]
    assert [m.split(" = ")[0] for m in messages] == [
        "DataContext.execution_options.exclude_resources", "DataContext.execution_options.actor_locality_enabled"]
    assert "resource_limits" in messages[0]


def test_map_retry_settings_act_so_they_never_warn(fresh_warnings):
    ctx = DataContext()
    ctx.max_map_retries = 3
    ctx.retried_map_errors = ["Throttled"]
    ctx.actor_task_retry_on_errors = [ConnectionError]
    ctx.actor_init_retry_on_errors = True
    assert no_effect_warnings(fresh_warnings) == []


def test_fields_that_work_never_warn(fresh_warnings):
    ctx = DataContext()
    changed = {name: _other_value(name, value) for name, value in vars(DataContext()).items()
               if name not in DataContext._NO_EFFECT and name not in DataContext._DEPRECATED}
    for name, value in changed.items():
        setattr(ctx, name, value)
        assert getattr(ctx, name) == value and value != getattr(DataContext(), name), name
    ctx.execution_options.preserve_order = True
    ctx.execution_options.verbose_progress = True
    ctx.execution_options.resource_limits = ExecutionResources(cpu=1, memory=1 << 30)
    assert no_effect_warnings(fresh_warnings) == [] and not [w for w in fresh_warnings if w.category is FutureWarning]
    ctx.warn_unused("local")
    assert no_effect_warnings(fresh_warnings) == []
    ctx.execution_no_progress_timeout_s = 5  # while one that does nothing does warn
    assert len(no_effect_warnings(fresh_warnings)) == 1


def _other_value(name, value):
    if name in _OTHER_TEXT:
        return _OTHER_TEXT[name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, ExecutionOptions):
        return ExecutionOptions(preserve_order=True)
    return 7  # None-valued settings (resolved at use time)


_OTHER_TEXT = {"runtime": "ray", "progress_mode": "log", "spill_dir": "/tmp/elsewhere"}


def test_local_only_fields_warn_when_a_run_starts_on_ray(fresh_warnings):
    ctx = DataContext()
    ctx.num_workers = 2
    ctx.object_store_capacity_bytes = 1 << 30
    ctx.small_plan_inline_rows = 0  # "never inline" is what Ray does anyway
    ctx.warn_unused("local")
    assert no_effect_warnings(fresh_warnings) == []
    ctx.warn_unused("ray")
    ctx.warn_unused("ray")
    messages = no_effect_warnings(fresh_warnings)
    assert len(messages) == 2
    assert messages[0].startswith("DataContext.object_store_capacity_bytes = 1073741824 has no effect on the Ray runtime")
    assert "object_store_memory" in messages[0]
    assert messages[1].startswith("DataContext.num_workers = 2 has no effect on the Ray runtime")


def test_a_run_warns_for_a_setting_changed_in_place(runtime, ctx, fresh_warnings):
    ctx.execution_options.exclude_resources.cpu = 1  # no attribute of a context was assigned
    assert no_effect_warnings(fresh_warnings) == []
    assert streamscope.range(10).map_batches(lambda b: b).count() == 10
    (message,) = no_effect_warnings(fresh_warnings)
    assert message.startswith("DataContext.execution_options.exclude_resources = ExecutionResources(cpu=1")


def test_min_parallelism_is_ray_datas_deprecated_alias(fresh_warnings, runtime, ctx):
    ctx.target_min_block_size = 1 << 10  # 800 KB of ids: enough for hundreds of read tasks
    ctx.min_parallelism = 10
    (deprecation,) = [str(w.message) for w in fresh_warnings if w.category is FutureWarning]
    assert "min_parallelism is deprecated" in deprecation and "read_op_min_num_blocks" in deprecation
    ds = streamscope.range(100_000).map_batches(lambda b: b)
    ds.materialize()
    assert ds.stats().operators[0].tasks == 10
    ctx.read_op_min_num_blocks = 12  # set explicitly, it wins
    ds.materialize()
    assert ds.stats().operators[0].tasks == 12


def test_default_hash_shuffle_parallelism_sets_partitions_of_hash_exchanges(runtime, ctx):
    from streamscope.engine.physical.operators.exchange_operator import ExchangeOperator

    def partitions(ds):
        ds.materialize()
        (op,) = [op for op in ds._last_run.plan.ops if isinstance(op, ExchangeOperator)]
        return op.num_partitions

    ds = streamscope.range(1000, override_num_blocks=4).map(lambda r: {"k": r["id"] % 7, "v": r["id"]})
    automatic = partitions(ds.groupby("k").count())
    ctx.default_hash_shuffle_parallelism = automatic + 3
    counted = ds.groupby("k").count()
    assert partitions(counted) == automatic + 3
    assert sorted(r["count()"] for r in counted.take_all()) == [142] + [143] * 6
    assert partitions(ds.groupby("k", num_partitions=2).count()) == 2  # the user's number wins
    assert partitions(ds.sort("v")) == automatic  # a range exchange: not a hash shuffle


def test_downstream_capacity_backpressure_ratio_is_declared_with_ray_datas_default(runtime, ctx):
    assert DataContext().downstream_capacity_backpressure_ratio == 2.0
    ctx.downstream_capacity_backpressure_ratio = 3.5
    ds = streamscope.range(10).map_batches(lambda b: b)
    executor = ds._start_execution("test")
    assert drain(executor) == 10
    assert [p.ratio for p in executor.policies if p.name == "DownstreamCapacity"] == [3.5]


def test_every_field_is_read_by_the_engine_or_warns():
    """The audit: a field nothing reads and that does not warn would be ignored silently. A field
    counts as read when engine code outside context.py reads it, or calls a ``resolved_*`` method
    of DataContext that reads it."""
    attributes = set()  # every ``x.name`` in engine code (docstrings and comments do not count)
    for path in SRC.rglob("*.py"):
        if path.name != "context.py":
            attributes |= {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
    via_resolved = set()
    for name, method in vars(DataContext).items():
        if name.startswith("resolved_") and name in attributes:
            via_resolved |= {n.attr for n in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(method))))
                             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"}
    assert {"num_workers", "read_op_min_num_blocks", "min_parallelism", "default_hash_shuffle_parallelism"} <= via_resolved
    for owner in (DataContext, ExecutionOptions):
        for f in dataclasses.fields(owner):
            read = f.name in attributes or (owner is DataContext and f.name in via_resolved)
            warns = f.name in owner._NO_EFFECT
            assert read != warns, f"{owner.__name__}.{f.name}: read={read}, warns={warns}"
            if f.name in owner._DEPRECATED:
                assert read, f"{owner.__name__}.{f.name} is a deprecated alias, so it must be read"


def test_mirrored_fields_have_ray_datas_defaults():
    ray_data = pytest.importorskip("ray.data")
    ours, theirs = DataContext(), ray_data.DataContext()
    mirrored = [f.name for f in dataclasses.fields(DataContext) if hasattr(theirs, f.name)]
    assert len(mirrored) >= 18
    differ = {name: (getattr(ours, name), getattr(theirs, name)) for name in mirrored
              if name not in ("execution_options", "enable_progress_bars") and getattr(ours, name) != getattr(theirs, name)}
    assert differ == {}
    assert ours.execution_options.preserve_order == theirs.execution_options.preserve_order
    assert ours.execution_options.actor_locality_enabled == theirs.execution_options.actor_locality_enabled


# ---- Ray Data's tuning fields -------------------------------------------------------------------
def test_every_ray_data_tuning_field_exists_with_rays_default_and_warns_once_when_changed():
    """Ray Data code that sets them runs; each says why it changes nothing here, once."""
    import dataclasses
    import warnings

    from streamscope.engine import context_fields
    from streamscope.engine.context_ray_fields import NO_EFFECT, RayDataTuningFields

    names = [f.name for f in dataclasses.fields(RayDataTuningFields)]
    assert sorted(names) == sorted(NO_EFFECT)  # every field has its reason, and only those
    ctx = DataContext()
    assert (ctx.use_push_based_shuffle, ctx.shuffle_compression, ctx.hash_shuffle_reduce_batch_size) == (False, "zstd", 16)
    assert ctx.scheduling_strategy == "SPREAD" and ctx.custom_execution_callback_classes == []
    context_fields._warned.discard("use_push_based_shuffle")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx.use_push_based_shuffle = False  # the default: silent
        ctx.use_push_based_shuffle = True
        ctx.use_push_based_shuffle = True  # once only
    messages = [str(w.message) for w in caught if issubclass(w.category, context_fields.SettingHasNoEffectWarning)]
    assert len(messages) == 1 and "use_push_based_shuffle = True has no effect" in messages[0]
    assert "default_hash_shuffle_parallelism" in messages[0]  # says what does have the effect
