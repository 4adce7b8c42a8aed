"""Fixtures for running engine tests on the Ray runtime.

One real Ray instance (``num_cpus=2``, no dashboard, loopback) is started for the session on
first use and shut down at the end; nothing here connects to a Ray someone else started
(``address="local"``). Test modules are importable by Ray workers because ``PYTHONPATH`` names
their folders before Ray starts (workers inherit the raylet's environment), so functions
defined in tests pickle by reference just as they do for the local runtime's workers.

Opt-in for other engine test modules: a test in this folder that asks for ``runtime`` gets the
Ray runtime (and ``DataContext.runtime = "ray"``) instead of the session's local one; see
``test_ray_engine_suites.py``, which re-collects the Dataset API modules that way.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_TESTS = os.path.dirname(os.path.dirname(HERE))

ray = pytest.importorskip("ray", reason="the Ray runtime tests need Ray: pip install 'streamscope[ray]'")


def _send_rays_driver_messages_to_the_real_stderr():
    """Ray's driver prints task-retry and worker-death notices from a background thread
    (``listen_error_messages`` -> ``print_to_stdstream``) to whatever ``sys.stdout`` is when they
    arrive, which can be a later test's captured stdout (``log_to_driver=False`` does not stop
    them). They are Ray's, not streamscope's output: this sends them to the process's real stderr,
    where the CI log still shows them, so no test's ``capsys`` output depends on Ray's timing."""
    from ray._private import worker as ray_worker

    def to_real_stderr(data, ignore_prefix):
        ray_worker.print_worker_logs(data, sys.__stderr__, ignore_prefix)

    ray_worker.print_to_stdstream = to_real_stderr


@pytest.fixture(scope="session")
def ray_runtime():
    """The session's RayRuntime on a local two-CPU Ray."""
    import streamscope
    from streamscope.engine.runtime import shutdown_all

    paths = [HERE, ENGINE_TESTS, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    for p in (HERE, ENGINE_TESTS):
        if p not in sys.path:
            sys.path.append(p)
    os.environ.pop("RAY_ADDRESS", None)
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    _send_rays_driver_messages_to_the_real_stderr()
    try:
        rt = streamscope.init(runtime="ray")
        from streamscope.engine.context import DataContext

        DataContext.get_current().runtime = "local"  # each test opts in through a fixture
        yield rt
    finally:
        shutdown_all()
        ray.shutdown()


@pytest.fixture(params=["local", "ray"])
def engine(request, ctx):
    """Runs the test once on each runtime: ``DataContext.runtime`` set, the runtime returned."""
    from streamscope.engine.runtime import get_runtime

    if request.param == "ray":
        request.getfixturevalue("ray_runtime")
    ctx.runtime = request.param
    return get_runtime(ctx)


@pytest.fixture
def runtime(ray_runtime, ctx):
    """Opt-in override of the engine suite's ``runtime`` fixture: the test runs on Ray."""
    ctx.runtime = "ray"
    return ray_runtime
