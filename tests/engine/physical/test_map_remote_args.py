"""A map's ``ray.remote`` options: checked by Ray's rules when the map is built, checked against
the runtime when the run is planned, honoured on the local runtime where one machine gives them a
meaning (custom resources and memory limit how many tasks run at once, observed by counting the
tasks inside the UDF at the same moment), passed on to a runtime named "ray", and kept apart by
fusion as Ray Data keeps them."""

from __future__ import annotations

import os
import time
import uuid
import warnings

import pyarrow.parquet as pq
import pytest

import streamscope as ss
from streamscope.engine import remote_args as RA
from streamscope.engine import runtime as runtime_pkg
from streamscope.engine.execution.resource_check import ResourceRequestError
from streamscope.engine.logical.optimizer import optimize
from streamscope.engine.physical.operators.actor_pool_map_operator import ActorPoolMapOperator
from streamscope.engine.physical.planner import plan_physical
from streamscope.engine.runtime.base import UNLIMITED_RESTARTS
from streamscope.engine.runtime.inprocess import InProcessRuntime
from streamscope.engine.runtime.local import LocalRuntime


def ident(batch):
    return batch


class Ident:
    def __call__(self, batch):
        return batch


def _op(ds):
    return ds._plan.dag


# ---- when the map is built ---------------------------------------------------------------------
def test_an_unknown_key_is_a_type_error_naming_the_closest_valid_one():
    with pytest.raises(TypeError, match=r"Map\(ident\): 'runtime_envs' is not a Ray remote argument; did you mean 'runtime_env'"):
        ss.range(3).map(ident, runtime_envs={})
    with pytest.raises(TypeError, match="'_metadata' is not a Ray remote argument"):
        ss.range(3).map_batches(ident, _metadata={})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"resources": "gpu"}, TypeError, "keyword 'resources' must be a dict"),
    ({"resources": {"CPU": 1}}, ValueError, "instead of 'CPU' and 'GPU'"),
    ({"resources": {"X": -1}}, ValueError, "resource X cannot be negative"),
    ({"num_cpus": -1}, ValueError, "num_cpus cannot be negative"),
    ({"num_cpus": 0.00001}, ValueError, "cannot go beyond 0.0001"),
    ({"num_cpus": "1"}, TypeError, "keyword 'num_cpus' must be a number"),
    ({"max_calls": -1}, ValueError, "'max_calls' only accepts None, 0 or a positive integer"),
    ({"max_retries": "3"}, TypeError, "keyword 'max_retries' must be an int"),
    ({"max_retries": -2}, ValueError, "-1 represents infinity"),
    ({"retry_exceptions": ["oops"]}, ValueError, "boolean or a list of exceptions"),
    ({"runtime_env": "env"}, TypeError, "keyword 'runtime_env' must be a dict"),
])
def test_values_get_rays_type_and_range_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        ss.range(3).map_batches(ident, **kwargs)


@pytest.mark.parametrize("key, value", [("name", "mine"), ("num_returns", 2), ("_num_objects_per_yield", 2)])
def test_keys_no_runtime_can_honour_are_refused_naming_them(key, value):
    with pytest.raises(ValueError, match=rf"MapBatches\(ident\): {key}= is not supported"):
        ss.range(3).map_batches(ident, **{key: value})


def test_task_only_keys_on_actors_and_actor_only_keys_on_tasks_are_refused():
    with pytest.raises(ValueError, match=r"max_calls= applies only to tasks.*callable class's actors"):
        ss.range(3).map_batches(Ident, max_calls=2)
    with pytest.raises(ValueError, match=r"max_restarts= applies only to actors.*function's tasks"):
        ss.range(3).map_batches(ident, max_restarts=2)


def test_retry_arguments_are_accepted_and_kept_unchanged_for_the_retry_logic():
    with pytest.warns(DeprecationWarning, match="`ray_remote_args` is deprecated and will be removed in Ray 2.64"):
        ds = ss.range(3).map_batches(ident, max_retries=5, retry_exceptions=[ValueError, KeyError])
    assert _op(ds).ray_remote_args == {"max_retries": 5, "retry_exceptions": [ValueError, KeyError]}
    with pytest.warns(DeprecationWarning):
        ok = ss.range(3).map(lambda r: r, retry_exceptions=True, max_retries=-1)
    assert _op(ok).ray_remote_args == {"retry_exceptions": True, "max_retries": -1}


def test_named_parameters_merge_into_the_remote_args_without_a_warning_and_resources_win_as_named():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        ds = ss.range(3).map_batches(ident, runtime_env={"env_vars": {"A": "1"}}, resources={"X": 1}, num_cpus=0.5)
    op = _op(ds)
    assert op.ray_remote_args == {"runtime_env": {"env_vars": {"A": "1"}}, "resources": {"X": 1}}
    assert op.num_cpus == 0.5
    sized = ss.range(3).map_batches(ident, num_cpus=2, num_gpus=0, memory=10)
    assert (_op(sized).num_cpus, _op(sized).num_gpus, _op(sized).memory) == (2, 0, 10)
    assert _op(sized).ray_remote_args == {}


def test_ray_remote_args_fn_is_deprecated_as_in_ray():
    with pytest.warns(DeprecationWarning, match="`ray_remote_args_fn` is deprecated and will be removed in Ray 2.64"):
        ds = ss.range(3).map_batches(ident, ray_remote_args_fn=lambda: {"scheduling_strategy": "SPREAD"})
    assert _op(ds).ray_remote_args_fn() == {"scheduling_strategy": "SPREAD"}
    with pytest.raises(TypeError, match="ray_remote_args_fn must be a callable"):
        ss.range(3).map_batches(ident, ray_remote_args_fn={"a": 1})


def test_resources_given_in_a_dict_yield_to_the_named_parameters_as_in_ray():
    # Ray's merge_resources_to_ray_remote_args: a named num_cpus/num_gpus/memory wins
    assert RA.split_resources("op", 2, None, None, {"num_cpus": 1, "num_gpus": 1, "runtime_env": {}}) == \
        (2, 1, None, {"runtime_env": {}})


def test_the_rules_are_data_for_the_docs():
    rows = RA.remote_arg_rules()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert set(RA.RULES) | {"ray_remote_args_fn"} == set(keys)
    assert {r["status"] for r in rows} <= {"supported", "difference", "refused"}
    by_key = {r["key"]: r for r in rows}
    assert by_key["max_retries"]["status"] == by_key["retry_exceptions"]["status"] == "supported"
    assert by_key["name"]["status"] == "refused" and by_key["runtime_env"]["status"] == "difference"
    assert all(r["note"] for r in rows)


# ---- when the plan meets the local runtime -------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"runtime_env": {"pip": ["x"]}}, {"label_selector": {"zone": "a"}}, {"accelerator_type": "A100"},
    {"max_calls": 3}, {"fallback_strategy": [{"label_selector": {"zone": "b"}}]},
    {"placement_group_bundle_index": 0}, {"enable_task_events": False},
])
def test_ray_only_arguments_are_refused_on_the_local_runtime_before_anything_runs(ctx, kwargs, tmp_path):
    marker = tmp_path / "ran"

    def touch(batch):
        marker.write_text("x")
        return batch

    key = next(iter(kwargs))
    ds = ss.range(3).map_batches(touch, **kwargs)
    with pytest.raises(ResourceRequestError, match=rf"MapBatches\(touch\): {key}= needs the Ray runtime.*"
                                                   r"streamscope.init\(runtime='ray'\)"):
        ds.take_all()
    assert not marker.exists()


def test_a_ray_remote_args_fn_is_refused_on_the_local_runtime(ctx):
    with pytest.warns(DeprecationWarning):
        ds = ss.range(3).map_batches(ident, ray_remote_args_fn=lambda: {})
    with pytest.raises(ResourceRequestError, match="ray_remote_args_fn is not supported on the local runtime"):
        ds.take_all()


def test_values_one_machine_gives_the_same_meaning_run_and_others_are_refused(ctx):
    assert ss.range(6).map_batches(ident, scheduling_strategy="SPREAD").count() == 6
    assert ss.range(6).map_batches(Ident, max_concurrency=1, allow_out_of_order_execution=True,
                                   max_task_retries=-1, max_restarts=0).count() == 6
    with pytest.raises(ResourceRequestError, match=r"scheduling_strategy=<object.*not supported on the local runtime"):
        ss.range(6).map_batches(ident, scheduling_strategy=object()).count()
    with pytest.raises(ValueError, match=r"max_concurrency=4 is not supported.*one call at a time"):
        ss.range(6).map_batches(Ident, max_concurrency=4)  # refused when built: no runtime runs it
    with pytest.raises(ResourceRequestError, match=r"max_task_retries=2 is not supported"):
        ss.range(6).map_batches(Ident, max_task_retries=2).count()


# ---- passed on to the Ray runtime ---------------------------------------------------------------------
class RecordingRayRuntime(InProcessRuntime):
    """Runs like the in-process runtime, under the Ray runtime's name, and keeps what it was asked."""

    name = "ray"

    def __init__(self) -> None:
        super().__init__(num_threads=2)
        self.tasks: list = []
        self.actors: list = []

    def submit(self, spec):
        if spec.actor is None:
            self.tasks.append(spec)
        return super().submit(spec)

    def start_actor(self, spec):
        self.actors.append(spec)
        return super().start_actor(spec)


@pytest.fixture
def ray_named(ctx, monkeypatch):
    rt = RecordingRayRuntime()
    monkeypatch.setitem(runtime_pkg._runtimes, "ray", rt)
    ctx.runtime = "ray"
    yield rt
    rt.shutdown()


def test_ray_options_reach_the_ray_runtime_with_every_task(ray_named):
    strategy = {"scheduling_strategy": "SPREAD"}
    with pytest.warns(DeprecationWarning):
        ds = ss.range(4, override_num_blocks=2).map_batches(
            ident, runtime_env={"env_vars": {"A": "1"}}, resources={"licence": 1}, max_calls=2,
            label_selector={"zone": "a"}, max_retries=4, ray_remote_args_fn=lambda: strategy)
    assert ds.count() == 4
    mapped = [s for s in ray_named.tasks if s.operator == "MapBatches(ident)"]
    assert mapped
    for spec in mapped:
        assert spec.ray_options == {"runtime_env": {"env_vars": {"A": "1"}}, "max_calls": 2,
                                    "label_selector": {"zone": "a"}}
        assert spec.resources.custom == (("licence", 1.0),)
        assert spec.ray_options_fn() == strategy
        assert "max_retries" not in spec.ray_options  # left to the task retry logic


def test_actor_options_reach_the_ray_runtime_and_max_restarts_is_honoured(ray_named):
    ds = ss.range(4).map_batches(Ident, compute=ss.ActorPoolStrategy(size=1), max_restarts=-1,
                                 lifetime="non_detached", max_pending_calls=8)
    assert ds.count() == 4
    (spec,) = ray_named.actors
    assert spec.ray_options == {"lifetime": "non_detached", "max_pending_calls": 8}
    assert spec.max_restarts == UNLIMITED_RESTARTS


def test_max_restarts_sets_how_often_a_local_actor_is_restarted(ctx):
    ds = ss.range(4).map_batches(Ident, compute=ss.ActorPoolStrategy(size=1), max_restarts=5)
    assert ds.count() == 4
    (op,) = [o for o in ds._last_run.plan.ops if isinstance(o, ActorPoolMapOperator)]
    assert op.actor_spec.max_restarts == 5


# ---- honoured on the local runtime: custom resources and memory -------------------------------------------
def gate(batch, *, folder, want, timeout_s):
    """Enter, wait (bounded) until ``want`` tasks are inside together, record how many are."""
    me = os.path.join(folder, f"in-{os.getpid()}-{uuid.uuid4().hex}")
    open(me, "w").close()
    try:
        deadline = time.monotonic() + timeout_s
        while _inside(folder) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(os.path.join(folder, f"seen-{uuid.uuid4().hex}"), "w") as f:
            f.write(str(_inside(folder)))
    finally:
        os.remove(me)
    return batch


def _inside(folder):
    return sum(1 for n in os.listdir(folder) if n.startswith("in-"))


def _peak(folder):
    return max(int(open(os.path.join(folder, n)).read()) for n in os.listdir(folder) if n.startswith("seen-"))


@pytest.fixture(scope="module")
def declared_rt():
    rt = LocalRuntime(num_workers=2, resources={"licence": 1, "pair": 2}, memory=1000)
    rt.ensure_started()
    yield rt
    rt.shutdown()


@pytest.fixture
def declared(ctx, monkeypatch, declared_rt):
    monkeypatch.setitem(runtime_pkg._runtimes, "local", declared_rt)
    return declared_rt


def _gated(tmp_path, want, **kwargs):
    folder = tmp_path / f"gate-{uuid.uuid4().hex}"
    folder.mkdir()
    ds = ss.range(2, override_num_blocks=2).map_batches(
        gate, batch_size=1, fn_kwargs={"folder": str(folder), "want": want, "timeout_s": 3.0}, **kwargs)
    assert sorted(r["id"] for r in ds.take_all()) == [0, 1]
    return _peak(str(folder))


def test_a_custom_resource_declared_twice_lets_two_tasks_in_together(declared, tmp_path):
    assert _gated(tmp_path, 2, resources={"pair": 1}) == 2


def test_a_custom_resource_declared_once_lets_one_task_in_at_a_time(declared, tmp_path):
    assert _gated(tmp_path, 2, resources={"licence": 1}) == 1


def test_memory_requests_run_together_only_while_the_node_budget_allows(declared, tmp_path):
    assert _gated(tmp_path, 2, memory=400) == 2  # 2 x 400 <= 1000
    assert _gated(tmp_path, 2, memory=600) == 1  # 2 x 600 > 1000


def test_requests_that_can_never_fit_are_refused_when_planned(declared):
    with pytest.raises(ResourceRequestError, match=r"MapBatches\(ident\) asks for memory=2000 bytes.*offers 1000"):
        ss.range(2).map_batches(ident, memory=2000).count()
    with pytest.raises(ResourceRequestError, match=r"declares no 'gpu_licence'.*streamscope.init\(resources="):
        ss.range(2).map_batches(ident, resources={"gpu_licence": 1}).count()
    with pytest.raises(ResourceRequestError, match=r"resources=\{'licence': 2\}.*only 1 is declared"):
        ss.range(2).map_batches(ident, resources={"licence": 2}).count()
    with pytest.raises(ResourceRequestError, match=r"each x 2 actors"):
        ss.range(2).map_batches(Ident, compute=ss.ActorPoolStrategy(size=2), resources={"licence": 1}).count()
    starving = ss.range(2).map_batches(ident, resources={"pair": 1}).map_batches(
        Ident, compute=ss.ActorPoolStrategy(size=2), resources={"pair": 1})
    with pytest.raises(ResourceRequestError, match=r"MapBatches\(Ident\): its actors reserve 2 of the 2 'pair'.*"
                                                   r"MapBatches\(ident\)"):
        starving.count()


def test_an_unbounded_actor_pool_grows_only_as_far_as_a_custom_resource_allows(declared):
    ds = ss.range(200, override_num_blocks=8).map_batches(Ident, batch_size=10, resources={"licence": 1})
    assert ds.count() == 200
    (op,) = [o for o in ds._last_run.plan.ops if isinstance(o, ActorPoolMapOperator)]
    assert op.max_size == 1 and op.peak_actors == 1


def test_streamscope_init_declares_custom_resources_on_the_local_runtime():
    with pytest.raises(ValueError, match="instead of 'CPU' and 'GPU'"):
        LocalRuntime(resources={"CPU": 2})
    with pytest.raises(ValueError, match=r"resources\['X'\] must be a number >= 0"):
        LocalRuntime(resources={"X": -1})
    assert LocalRuntime(resources={"b": 1, "a": 2.5}).total_resources().custom == (("a", 2.5), ("b", 1.0))


# ---- fusion ---------------------------------------------------------------------------------------------
def _fused(ds) -> list[int]:
    return [len(op.logical_names) for op in plan_physical(optimize(ds._plan).plan).ops]


def test_maps_fuse_only_with_compatible_remote_args_as_in_ray():
    base = ss.range(10)
    assert _fused(base.map_batches(ident, resources={"X": 1}).map_batches(ident, resources={"X": 1})) == [1, 2]
    assert _fused(base.map_batches(ident).map_batches(ident, resources={"X": 1})) == [2, 1]
    assert _fused(base.map_batches(ident).map_batches(ident, resources={"X": 0})) == [3]  # 0 counts as not asked
    assert _fused(base.map_batches(ident).map_batches(ident, memory=100)) == [2, 1]
    assert _fused(base.map_batches(ident, runtime_env={"a": 1}).map_batches(ident, runtime_env={"b": 1})) == [1, 1, 1]
    # scheduling_strategy / label_selector are inherited downstream, not upstream
    assert _fused(base.map_batches(ident, scheduling_strategy="SPREAD").map_batches(ident)) == [1, 2]
    assert _fused(base.map_batches(ident).map_batches(ident, scheduling_strategy="SPREAD")) == [2, 1]
    with pytest.warns(DeprecationWarning):
        with_fn = base.map_batches(ident).map_batches(ident, ray_remote_args_fn=lambda: {})
    assert _fused(with_fn) == [2, 1]


# ---- reads and writes follow the same rules ------------------------------------------------------------
def test_writes_carry_their_remote_args_with_their_tasks(ctx, tmp_path, ray_named):
    out = tmp_path / "out"
    ss.range(10, override_num_blocks=2).write_parquet(str(out), ray_remote_args={
        "num_cpus": 0.5, "runtime_env": {"env_vars": {"A": "1"}}, "resources": {"licence": 1}})
    assert sorted(pq.read_table(str(out))["id"].to_pylist()) == list(range(10))
    writes = [s for s in ray_named.tasks if "Write" in s.operator]
    assert writes and all(s.ray_options == {"runtime_env": {"env_vars": {"A": "1"}}} for s in writes)
    assert all(s.resources.custom == (("licence", 1.0),) and s.resources.cpu == 0.5 for s in writes)


def test_a_write_spread_over_one_machine_runs_locally(ctx, tmp_path):
    out = tmp_path / "out"
    ss.range(10).write_parquet(str(out), ray_remote_args={"scheduling_strategy": "SPREAD"})
    assert pq.read_table(str(out)).num_rows == 10


def test_a_shuffle_refuses_remote_args_instead_of_dropping_them():
    with pytest.raises(TypeError, match="did you mean 'num_cpus'"):
        ss.range(4).random_shuffle(num_cpu=1)
    with pytest.raises(ValueError, match=r"random_shuffle: num_cpus not supported: the shuffle's map and reduce tasks"):
        ss.range(4).random_shuffle(num_cpus=1)


def test_map_groups_refuses_task_arguments_instead_of_dropping_them():
    grouped = ss.from_items([{"k": 1, "v": 2}]).groupby("k")
    with pytest.raises(ValueError, match=r"MapGroups\(ident\): compute, num_cpus not supported"):
        grouped.map_groups(ident, compute=ss.TaskPoolStrategy(size=1), num_cpus=2)
