"""The engine's Dataset API modules (``tests/engine/test_dataset_*.py``), collected again here so
that every test in them runs on the Ray runtime: their ``runtime`` fixture resolves to this
folder's override (see conftest.py), which sets ``DataContext.runtime = "ray"``.

On by default (about 30 s on two cores); ``STREAMSCOPE_TEST_RAY_SUITES=0`` leaves them out, and
the representative cross-runtime checks in ``test_ray_dataset_api.py`` still run. Tests that do
not ask for ``runtime`` run on Ray too (the override is autouse here).
"""

from __future__ import annotations

import glob
import importlib
import os
import sys

import pytest

ENGINE_TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENABLED = os.environ.get("STREAMSCOPE_TEST_RAY_SUITES", "1") not in ("", "0")

if ENABLED:
    if ENGINE_TESTS not in sys.path:
        sys.path.append(ENGINE_TESTS)
    for _path in sorted(glob.glob(os.path.join(ENGINE_TESTS, "test_dataset_*.py"))):
        _name = os.path.splitext(os.path.basename(_path))[0]
        _module = importlib.import_module(_name)
        for _attr, _value in vars(_module).items():
            if _attr.startswith("test_") and callable(_value):
                globals()[f"{_attr}__{_name[len('test_dataset_'):]}"] = _value
            elif not _attr.startswith("_") and _attr not in globals():
                globals()[_attr] = _value  # module-level fixtures and helpers the tests use
else:
    def test_suites_on_ray_are_opt_in():
        pytest.skip("STREAMSCOPE_TEST_RAY_SUITES=0: tests/engine/test_dataset_*.py not re-run on Ray")


# Behaviour that is the local runtime's by design, not a difference in results.
LOCAL_ONLY = {
    "test_memory_filesystem_paths__creation":
        "memory:// files exist only in the driver process; on Ray the plan's tasks run elsewhere",
    "test_quickstart_filter_and_count__quickstart":
        "asserts that small plans run inline on the local runtime",
}


@pytest.fixture(autouse=True)
def _on_ray(request):
    if ENABLED:
        reason = LOCAL_ONLY.get(request.node.name)
        if reason:
            pytest.skip(reason)
        request.getfixturevalue("runtime")
