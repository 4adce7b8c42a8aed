"""The dependency declarations agree: pyproject.toml states ranges (no exact pins in its extras),
scripts/bootstrap.sh pins an exact version inside each range and installs torch first and pinned,
binder/ pins inside the same ranges, and every declared dependency is used by some code."""

from __future__ import annotations

import pathlib
import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BOOTSTRAP = (ROOT / "scripts" / "bootstrap.sh").read_text()

IMPORT_NAMES = {"pillow": "PIL", "pylance": "lance", "scikit-learn": "sklearn", "nvidia-ml-py": "pynvml", "jupyter-bokeh": "jupyter_bokeh"}
"""Distributions whose import name differs from their name."""
USED_OTHERWISE = {"pytest-timeout": "the pytest plugin behind `timeout =` in pyproject.toml and @pytest.mark.timeout",
                  "jaxlib": "jax's compiled backend, which jax imports (pinned with jax so the two versions match)"}


def declared() -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("streamscope[")]
    return reqs


CPU_BUILDS = {"tensorflow-cpu": "tensorflow"}
"""CPU-only distributions bootstrap.sh installs for a library an extra names (the same library
and versions, without the GPU runtime; torch's CPU build comes from its own version instead)."""


def bootstrap_pins() -> dict[str, str]:
    block = BOOTSTRAP.split("CONSTRAINTS='", 1)[1].split("'", 1)[0]
    pins = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in block.split()}
    return {CPU_BUILDS.get(name, name): version for name, version in pins.items()}


def test_extras_state_ranges_not_pins():
    for name, extra in PROJECT["optional-dependencies"].items():
        for req in extra:
            assert "==" not in req, f"extra {name!r}: {req} (exact pins belong in scripts/bootstrap.sh)"
    assert PROJECT["optional-dependencies"]["gpu"] == ["nvidia-ml-py>=12"]
    assert "gpu" in PROJECT["optional-dependencies"]["dev"][0]


def test_bootstrap_pins_every_dependency_inside_its_range():
    pins = bootstrap_pins()
    reqs = declared()
    for req in reqs:
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"scripts/bootstrap.sh pins no version of {req.name}"
        assert req.specifier.contains(pin), f"{req.name}=={pin} is outside pyproject.toml's {req.specifier}"
    assert set(pins) == {canonicalize_name(r.name) for r in reqs}, "a pin for something pyproject.toml does not declare"


def test_bootstrap_installs_pinned_torch_before_the_dev_extra():
    torch_pin = bootstrap_pins()["torch"]
    assert f'TORCH="torch=={torch_pin}"' in BOOTSTRAP
    torch_step = BOOTSTRAP.index('pip install --quiet "$TORCH"')
    dev_step = BOOTSTRAP.index('pip install --quiet -c "$constraints" -e ".[dev]"')
    assert torch_step < dev_step
    (torch_range,) = [Requirement(r) for r in PROJECT["optional-dependencies"]["torch"]]
    assert torch_range.specifier.contains(torch_pin) and "<" in str(torch_range.specifier)  # never open-ended


def test_binder_pins_lie_inside_pyproject_ranges():
    ranges = {canonicalize_name(r.name): r.specifier for r in declared()}
    lines = [l for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert lines[0] == f"torch=={bootstrap_pins()['torch']}"
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in ranges, f"binder installs {req.name}, which pyproject.toml does not declare"
        for spec in req.specifier:
            if spec.operator == "==":
                assert ranges[name].contains(spec.version), f"binder's {line} is outside pyproject.toml's range"


def test_every_declared_dependency_is_used():
    texts = []
    for folder in ("streamscope", "tests", "benchmarks", "notebooks"):
        texts += [p.read_text(errors="replace") for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".ipynb")]
    code = "\n".join(texts)
    for req in declared():
        name = canonicalize_name(req.name)
        if name in USED_OTHERWISE:
            continue
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        used = re.search(rf"(^|[\s\"'(])(import|from) {re.escape(module)}\b|importorskip\(\"{re.escape(module)}\b", code, re.M)
        assert used, f"{req.name} is declared but nothing imports {module}"
