"""Every public name of streamscope has a docstring with a ``>>>`` example, and every example runs.

"Public" is what a notebook user reaches from ``import streamscope``: the names in
``streamscope.__all__``, ``streamscope.aggregate``, ``streamscope.preprocessors``,
``streamscope.datasource``, ``streamscope.block``, ``streamscope.collate_fn``, ``streamscope.expressions`` and
``streamscope.datatype``, and the public methods and properties of the classes users call
methods on (Dataset, MaterializedDataset, GroupedData, DataIterator, DataContext,
ExecutionResources, Schema, every preprocessor, Expr and its namespaces, DataType). A new public name without an example fails
:func:`test_every_public_name_has_an_example`; an example whose output changed fails
:func:`test_docstring_examples_run`.

The examples run as doctests on small data, on the in-process path for small plans (exchanges and
actor pools use the session's local runtime), with terminal progress off so no progress line
lands in the expected output. Examples that need an optional package (torch, Pillow) are skipped
where it is missing.
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import typing

import pytest

import streamscope
from streamscope import aggregate, block, collate_fn, datasource, datatype, expressions, preprocessors
from streamscope.engine.api.random_access import RandomAccessDataset
from streamscope.engine.context import DataContext

CLASSES_WITH_MEMBERS = (
    streamscope.Dataset,
    streamscope.MaterializedDataset,
    streamscope.GroupedData,
    streamscope.DataIterator,
    streamscope.DataContext,
    streamscope.ExecutionResources,
    streamscope.Schema,
    datasource.Datasource,
    datasource.ReadTask,
    datasource.Datasink,
    datasource.WriteResult,
    block.BlockMetadata,
    expressions.Expr,
    expressions.UnnestExpr,
    expressions._StringNamespace,
    expressions._ListNamespace,
    expressions._StructNamespace,
    expressions._MapNamespace,
    expressions._DatetimeNamespace,
    expressions._ArrayNamespace,
    datatype.DataType,
    RandomAccessDataset,
) + tuple(getattr(preprocessors, name) for name in preprocessors.__all__ if name != "PreprocessorNotFittedException")

OPTIONAL = {"torch": "torch", "read_images": "PIL", "PIL": "PIL", "dask": "dask", "daft": "daft", "jax": "jax",
            "tensorflow": "tensorflow"}
"""A word in an example -> the package it needs (skipped where that package is missing)."""

OWN_PROCESS = ("tensorflow",)
"""Words of examples that run in a fresh interpreter: TensorFlow cannot be imported into a process
that holds the ``tfrecord`` package (the TFRecord tests import it), as both register the same
protobuf names."""


def _member(cls: type, name: str):
    owner = next(k for k in cls.__mro__ if name in k.__dict__)
    if not (owner.__module__ or "").startswith("streamscope"):
        return None
    attr = owner.__dict__[name]
    if isinstance(attr, (staticmethod, classmethod)):
        attr = attr.__func__
    if isinstance(attr, property):
        attr = attr.fget
    return attr if inspect.isfunction(attr) else None  # dataclass fields (settings) are values


def public_objects() -> dict[str, object]:
    """Qualified name -> object, each object once (aliases and inherited methods collapse)."""
    found: dict[str, object] = {}
    seen: set[int] = set()

    def add(qualname: str, obj: object) -> None:
        if obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            found[qualname] = obj

    for name in streamscope.__all__:
        add(f"streamscope.{name}", getattr(streamscope, name))
    for name in aggregate.__all__:
        add(f"streamscope.aggregate.{name}", getattr(aggregate, name))
    for name in preprocessors.__all__:
        add(f"streamscope.preprocessors.{name}", getattr(preprocessors, name))
    for module in (datasource, block, collate_fn, expressions, datatype):
        for name in module.__all__:
            obj = getattr(module, name)
            if not isinstance(obj, typing.TypeVar):  # WriteReturnType: a type variable, nothing to call
                add(f"{module.__name__}.{name}", obj)
    for cls in (datasource.Partitioning, datasource.PathPartitionParser, datasource.PathPartitionFilter,
                datasource.FileShuffleConfig):
        for name in sorted(dir(cls)):
            if not name.startswith("_"):
                add(f"streamscope.datasource.{cls.__name__}.{name}", _member(cls, name))
    for cls in CLASSES_WITH_MEMBERS:
        home = next((m.__name__ for m in (streamscope, datasource, block, expressions, datatype)
                     if getattr(m, cls.__name__, None) is cls),
                    "streamscope.preprocessors")
        for name in sorted(dir(cls)):
            if not name.startswith("_"):
                add(f"{home}.{cls.__name__}.{name}", _member(cls, name))
    return found


OBJECTS = public_objects()
FINDER = doctest.DocTestFinder(recurse=False)


def _doctests(qualname: str) -> list[doctest.DocTest]:
    return [t for t in FINDER.find(OBJECTS[qualname], qualname, module=False, globs={"streamscope": streamscope})
            if t.examples]


def test_the_public_surface_is_collected():
    """A guard on the collector itself: if it finds far fewer names, the checks below mean less."""
    assert len(OBJECTS) > 140
    assert "streamscope.Dataset.map_batches" in OBJECTS and "streamscope.GroupedData.aggregate" in OBJECTS
    assert "streamscope.aggregate.Sum" in OBJECTS and "streamscope.preprocessors.StandardScaler" in OBJECTS


def test_every_public_name_has_an_example():
    missing = [name for name, obj in OBJECTS.items() if ">>>" not in (inspect.getdoc(obj) or "")]
    assert missing == []


@pytest.fixture
def doctest_context(_restore_context):
    """The engine tests' context, with the defaults a user has for small plans (inline) and no
    terminal progress (its lines would land in the expected output)."""
    ctx = _restore_context
    ctx.enable_progress_bars = False
    ctx.small_plan_inline_rows = DataContext().small_plan_inline_rows
    return ctx


@pytest.mark.parametrize("qualname", sorted(OBJECTS))
def test_docstring_examples_run(qualname, doctest_context):
    tests = _doctests(qualname)
    assert tests, f"{qualname} has no example"
    source = "".join(ex.source for t in tests for ex in t.examples)
    for word, package in OPTIONAL.items():
        if word in source and importlib.util.find_spec(package) is None:
            pytest.skip(f"the example of {qualname} needs {package}")
    if any(word in source for word in OWN_PROCESS):
        _run_in_own_process(qualname)
        return
    report: list[str] = []
    runner = doctest.DocTestRunner(verbose=False)
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def _run_in_own_process(qualname: str) -> None:
    """The examples of ``qualname`` in a fresh interpreter, with the context the fixture sets."""
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    code = (
        "import doctest, sys\n"
        "import streamscope\n"
        "from streamscope.engine.context import DataContext\n"
        "sys.path.insert(0, 'tests/engine')\n"
        "import test_docstring_examples as t\n"
        "ctx = DataContext.get_current()\n"
        "ctx.enable_progress_bars = False\n"
        "ctx.small_plan_inline_rows = DataContext().small_plan_inline_rows\n"
        "report = []\n"
        "runner = doctest.DocTestRunner(verbose=False)\n"
        f"for test in t._doctests({qualname!r}):\n"
        "    runner.run(test, out=report.append)\n"
        "print(''.join(report))\n"
        "sys.exit(1 if runner.failures else 0)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
