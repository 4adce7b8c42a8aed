"""The package's import graph: no cycles (counting imports inside functions), imports point down
the layers only, streamscope's own modules are imported at module level (a short, named list of
lazy imports excepted), and ``import streamscope`` stays free of optional and heavy packages.

The graph is read from the source with ``ast``; ``if TYPE_CHECKING:`` blocks are left out (they
never run).
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "streamscope"

# Lower rank = lower layer. A module may import its own group or a group of strictly lower rank.
# Groups are the top-level packages outside the engine, the engine's subpackages, and "root" for
# the engine's shared vocabulary (block, schema, tensor, expressions, aggregate, compute, ...).
RANKS = {
    "root": 0,
    "runtime": 1,
    "io": 2,
    "transforms": 2,
    "logical": 3,
    "physical": 4,
    "execution": 5,
    "api": 6,
    "streamscope.widgets": 7,
    "streamscope.aggregate": 7,
    "streamscope.block": 7,
    "streamscope.collate_fn": 7,
    "streamscope.datasource": 7,
    "streamscope.expressions": 7,
    "streamscope.datatype": 7,
    "streamscope.preprocessors": 7,
    "streamscope.checkpoint": 7,
    "streamscope.kernel_ext": 8,
    "streamscope": 9,
}

# The only imports of streamscope's own modules allowed inside functions, each with its reason.
LAZY_ALLOWED = {
    # the file datasources and datasinks import fsspec (~0.25 s) through io/paths.py
    ("streamscope.engine.api.read", "streamscope.engine.io."),
    ("streamscope.engine.api.writes", "streamscope.engine.io."),
    ("streamscope.engine.api.checkpointed_write", "streamscope.engine.io."),
    # a connector's Dataset write method: the connector's module (and its library) only when it is called
    ("streamscope.engine.api.connector_writes", "streamscope.engine.api.connectors."),
    # a Dataset's to_dask / to_daft: the bridge's module (and its library) only when it is called
    ("streamscope.engine.api.dataframe_bridges", "streamscope.engine.api.connectors."),
    ("streamscope.engine.api.connectors.avro", "streamscope.engine.io."),  # file readers: fsspec, as above
    ("streamscope.engine.api.connectors.orc", "streamscope.engine.io."),
    ("streamscope.engine.api.connectors.orc_write", "streamscope.engine.io."),
    ("streamscope.engine.api.connectors.webdataset", "streamscope.engine.io."),  # file readers: fsspec, as above
    ("streamscope.engine.api.connectors.tfrecords", "streamscope.engine.io."),
    ("streamscope.datasource", "streamscope.engine.io."),  # FileBasedDatasource, on first use
    ("streamscope.engine.api.connectors.media", "streamscope.engine.io."),  # audio/video datasources (fsspec)
    # a streaming_split sent to another process: the local runtime's session directories (its
    # package loads the worker pool's modules) only when the first split is pickled
    ("streamscope.engine.api.split_service", "streamscope.engine.runtime.local"),
    # the runtime factory: the local runtime brings multiprocessing and its pool; Ray is optional
    ("streamscope.engine.runtime", "streamscope.engine.runtime."),
    # the display hook (widgets only when a Dataset is displayed) and the IPython extension
    ("streamscope", "streamscope.widgets."),
    ("streamscope", "streamscope.kernel_ext"),
}


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        mods[name] = path
    return mods


def _imports(mods: dict[str, pathlib.Path]) -> list[tuple[str, str, bool, int]]:
    """(importer, imported module, inside a function, line) for every import of a package module."""
    out = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                node.body = []
        in_function = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(n) for n in ast.walk(node))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = name.split(".") if is_pkg else name.split(".")[:-1]
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in mods and target != name:
                    out.append((name, target, id(node) in in_function, node.lineno))
    return out


def _group(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "engine":
        subpackage = (PACKAGE / "engine" / parts[2]).is_dir()
        return parts[2] if subpackage else "root"
    if module == "streamscope.engine":
        return "root"
    return ".".join(parts[:2])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def imports():
    return _imports(_modules())


def test_no_import_cycles_counting_function_level_imports(imports):
    edges: dict[str, set[str]] = {}
    for importer, imported, _lazy, _line in imports:
        edges.setdefault(importer, set()).add(imported)
    assert _cycles(edges) == []


def test_imports_point_down_the_layers(imports):
    upward = []
    for importer, imported, _lazy, line in imports:
        a, b = _group(importer), _group(imported)
        assert a in RANKS and b in RANKS, f"{importer} or {imported} is in no layer; add its group to RANKS"
        if a != b and RANKS[b] >= RANKS[a]:
            upward.append(f"{importer}:{line} -> {imported}")
    assert upward == []


def test_own_modules_are_imported_at_module_level(imports):
    lazy = [f"{importer}:{line} -> {imported}" for importer, imported, is_lazy, line in imports
            if is_lazy and not any(importer == a and imported.startswith(b) for a, b in LAZY_ALLOWED)]
    assert lazy == []


def test_import_streamscope_loads_no_optional_or_heavy_package():
    heavy = ("pandas", "ray", "torch", "jax", "tensorflow", "ipywidgets", "bokeh", "jupyter_bokeh", "graphviz",
             "IPython", "fsspec",
             "streamscope.widgets", "streamscope.kernel_ext", "streamscope.engine.runtime.local.runtime")
    code = f"import sys, streamscope; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
