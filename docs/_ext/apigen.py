"""Write the API reference's reST pages from the public modules' ``__all__``, before Sphinx reads.

Why not autosummary's own stub generation: streamscope re-exports the same object under several
public names (``streamscope.Datasource`` and ``streamscope.datasource.Datasource``,
``DatasetContext`` for ``DataContext``...). Documenting each name with autodoc would describe the
same canonical object twice (a duplicate-object warning, fatal under ``-W``); a module template
cannot tell a re-export from an original. Here each object is documented once, under its first
public name in ``MODULES`` order, and every other name gets a short entry pointing to it.

The pages still come from the docstrings: each class page is an ``autoclass`` with an explicit
member list (the public members streamscope itself defines, inherited ones included, so a
Dataset's mixin methods appear and a widget's ipywidgets internals do not) and ``autosummary``
tables; each module page holds the module docstring, summary tables and its functions.

Files are rewritten only when their text changes, so an incremental build rereads only what moved.
The output folder (``api/generated``) is build output: .gitignore lists it.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import pathlib
import re
import typing
from dataclasses import dataclass, field

MODULES = [
    # (module, title, what it is)
    ("streamscope", "streamscope", "The top-level package: creating datasets, the Dataset classes, settings, strategies and errors."),
    ("streamscope.aggregate", "streamscope.aggregate", "Aggregations for ``groupby(...).aggregate`` and ``Dataset.aggregate``."),
    ("streamscope.preprocessors", "streamscope.preprocessors", "Fit-then-transform preprocessors."),
    ("streamscope.datasource", "streamscope.datasource", "Interfaces for custom datasources and datasinks, partitioning."),
    ("streamscope.block", "streamscope.block", "Blocks and their metadata."),
    ("streamscope.expressions", "streamscope.expressions", "Column expressions for ``with_column`` and ``filter(expr=...)``."),
    ("streamscope.datatype", "streamscope.datatype", "Data types for expressions (``udf(return_dtype=...)``, ``cast``)."),
    ("streamscope.checkpoint", "streamscope.checkpoint", "Checkpoint and resume of file writes."),
    ("streamscope.kernel_ext.magics", "streamscope.kernel_ext.magics", "The ``%dataset`` / ``%%dataset`` magics."),
    ("streamscope.widgets", "streamscope.widgets", "The notebook views' public entry points."),
]

EXTRA_NAMES = {"streamscope": ["DatasetIterator", "DatasetSummary"]}
"""Names Ray Data exports (``ray.data.DatasetSummary``...) that streamscope's top level has but its
``__all__`` does not list; documented with the rest."""

TOP_LEVEL_GROUPS = [
    # (heading, predicate on (name, obj)) for the top-level page; first match wins
    ("Creating datasets", lambda n, o: inspect.isfunction(o) and (n.startswith(("read_", "from_")) or n.startswith("range"))),
    ("References to blocks", lambda n, o: n in ("ObjectRef", "get")),
    ("Session and reports", lambda n, o: inspect.isfunction(o)),
    ("Datasets and iterators", lambda n, o: n in ("Dataset", "MaterializedDataset", "GroupedData", "DataIterator",
                                                 "DatasetIterator", "Schema", "DatasetSummary")),
    ("Settings", lambda n, o: n in ("DataContext", "DatasetContext", "ExecutionOptions", "ExecutionResources")),
    ("Compute strategies", lambda n, o: n.endswith("Strategy")),
    ("Errors", lambda n, o: inspect.isclass(o) and issubclass(o, BaseException)),
    ("Datasources, datasinks and writes", lambda n, o: True),
]


@dataclass
class Entry:
    module: str
    name: str
    obj: object
    primary: "Entry | None" = None  # set when this name re-exports an object documented elsewhere
    kind: str = ""

    @property
    def fullname(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def page(self) -> str:
        return f"generated/{self.fullname}"


@dataclass
class ModulePage:
    module: str
    title: str
    blurb: str
    entries: list = field(default_factory=list)


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def collect() -> list[ModulePage]:
    pages: list[ModulePage] = []
    seen: dict[int, Entry] = {}
    for modname, title, blurb in MODULES:
        module = importlib.import_module(modname)
        page = ModulePage(modname, title, blurb)
        for name in [*module.__all__, *EXTRA_NAMES.get(modname, [])]:
            obj = getattr(module, name)
            entry = Entry(modname, name, obj, kind=_kind(obj))
            primary = seen.get(id(obj)) if entry.kind != "data" else None
            if primary is not None:
                entry.primary = primary
            elif entry.kind != "data":
                seen[id(obj)] = entry
            page.entries.append(entry)
        pages.append(page)
    return pages


def _own_class(cls: type) -> bool:
    return (getattr(cls, "__module__", "") or "").startswith("streamscope")


def class_members(cls: type) -> tuple[list[str], list[str]]:
    """(methods, attributes): public members defined by streamscope classes in ``cls``'s MRO."""
    methods, attributes = [], []
    annotations: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        if _own_class(klass):
            annotations.update(getattr(klass, "__annotations__", {}))
    for name in sorted(set(dir(cls)) | set(annotations)):
        if name.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
        if owner is None:  # an annotated field without a class attribute (a dataclass field with a factory)
            owner = next(k for k in cls.__mro__ if name in getattr(k, "__annotations__", {}))
        if not _own_class(owner):
            continue
        attr = owner.__dict__.get(name)
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr):
            methods.append(name)
        elif isinstance(attr, property):
            attributes.append(name)
        elif isinstance(cls, enum.EnumMeta) and name in cls.__members__:
            attributes.append(name)
        elif name in annotations and not _is_classvar(annotations[name]):
            attributes.append(name)
    return methods, attributes


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "ClassVar" in text or typing.get_origin(annotation) is typing.ClassVar


def _heading(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def _summary(prefix: str, names: list[str]) -> str:
    """An autosummary table; ``prefix`` is relative to the page's current module ("" or a class)."""
    lines = [".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   ~{prefix}{n}" for n in names]
    return "\n".join(lines) + "\n"


def _alias_directive(entry: Entry) -> str:
    primary = entry.primary
    role = "exc" if primary.kind == "exception" else "class" if primary.kind == "class" else "func"
    directive = {"class": "py:class", "exception": "py:exception", "function": "py:function"}[primary.kind]
    what = "Another name for" if entry.module == primary.module else "Re-exported here:"
    return (f".. {directive}:: {entry.name}\n   :module: {entry.module}\n\n"
            f"   {what} :{role}:`{primary.fullname}` (the same object).\n")


def public_bases(cls: type, public_ids: set[int]) -> list[type]:
    """The bases a reader can look up: public streamscope classes and other libraries' classes
    (a Dataset's private mixins or a field-checking base are implementation, with no page)."""
    return [b for b in cls.__bases__ if b is not object and (not _own_class(b) or id(b) in public_ids)]


def class_page(entry: Entry, public_ids: set[int]) -> str:
    cls = entry.obj
    methods, attributes = class_members(cls)
    out = [_heading(entry.fullname, "="), f".. currentmodule:: {entry.module}\n"]
    options = ["   :show-inheritance:"] if public_bases(cls, public_ids) else []
    members = attributes + methods
    if members:
        options += [f"   :members: {', '.join(members)}", "   :undoc-members:"]
    directive = "autoexception" if entry.kind == "exception" else "autoclass"
    out.append(f".. {directive}:: {entry.name}\n" + "".join(f"{o}\n" for o in options))
    # the tables go inside the class's directive, so their summaries resolve names in its scope
    # a dataclass field made by a factory has no class attribute for autosummary to import: then
    # the fields are listed only in full, below the tables
    tables = [("Methods", methods)]
    if all(hasattr(cls, name) for name in attributes):
        tables.insert(0, ("Attributes", attributes))
    for title, names in tables:
        if names:
            out.append(f"   .. rubric:: {title}\n\n" + _indent(_summary("", names)))
    return "\n".join(out)


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" if line else "" for line in text.splitlines()) + "\n"


def supporting_page(public_ids: set[int]) -> str:
    """Internal classes, functions and modules that public signatures and docstrings name."""
    objects: list[str] = []
    modules: list[str] = []
    for target in SUPPORTING:
        modname, _, name = target.rpartition(".")
        try:
            obj = getattr(importlib.import_module(modname), name)
        except AttributeError:
            obj = importlib.import_module(target)
        if inspect.ismodule(obj):
            summary = _plain((inspect.getdoc(obj) or "").split("\n\n")[0])
            modules.append(_heading(f"``{target}``", "~") + f".. py:module:: {target}\n\n{summary}\n")
        elif id(obj) not in public_ids:  # one that became public is documented on its own page
            directive = {"class": "autoclass", "exception": "autoexception", "function": "autofunction"}[_kind(obj)]
            objects.append(f".. {directive}:: {target}\n")
    out = [_heading("Internals named in the reference", "="), SUPPORTING_INTRO]
    if objects:
        out += [_heading("Types and functions", "-"), *objects]
    if modules:
        out += [_heading("Modules", "-"), *modules]
    return "\n".join(out)


def _plain(text: str) -> str:
    """reST roles as literals: a summary shown without the names it links to."""
    return re.sub(r":[\w:]+:`~?([^`]+)`", r"``\1``", text)


SUPPORTING_INTRO = """
These are not public API: they may change without notice, and user code has no need to import
them. Public signatures and docstrings name them (what a view reads, what a method returns), so
each is described here.
"""

SUPPORTING = [
    "streamscope.engine.logical.plan.LogicalPlan",
    "streamscope.engine.runtime.base.TaskContext",
    "streamscope.engine.execution.telemetry.ExecutionSnapshot",
    "streamscope.engine.execution.telemetry.SnapshotBuffer",
    "streamscope.engine.plan_graph.PlanGraph",
    "streamscope.widgets.plan_decoration.NodeDecoration",
    "streamscope.widgets.plan_decoration.EdgeDecoration",
    "streamscope.widgets.graphviz_render.GraphvizUnavailable",
    "streamscope.engine.expression_core.ColumnNotFoundError",
    "streamscope.engine.expression_core.EvalContext",
    "streamscope.engine.expression_parser.parse",
    "streamscope.engine.expressions",
    "streamscope.engine.remote_args",
    "streamscope.engine.api.refs.RefBundle",
]
"""Fully qualified names; a module's name documents its docstring."""


def _groups(page: ModulePage) -> list[tuple[str, list[Entry]]]:
    if page.module != "streamscope":
        order = [("Classes", "class"), ("Functions", "function"), ("Exceptions", "exception"), ("Data", "data")]
        return [(title, [e for e in page.entries if e.kind == kind]) for title, kind in order]
    groups: dict[str, list[Entry]] = {title: [] for title, _ in TOP_LEVEL_GROUPS}
    for entry in page.entries:
        for title, pred in TOP_LEVEL_GROUPS:
            if pred(entry.name, entry.obj):
                groups[title].append(entry)
                break
    return list(groups.items())


def module_page(page: ModulePage) -> str:
    out = [_heading(page.title, "="), f".. automodule:: {page.module}\n   :no-members:\n",
           f".. currentmodule:: {page.module}\n"]
    toc: list[str] = []
    for title, entries in _groups(page):
        if not entries:
            continue
        out.append(_heading(title, "-"))
        out.append(_summary("", [e.name for e in entries]))
        for entry in entries:
            if entry.primary is not None:
                out.append(_alias_directive(entry))
            elif has_own_page(entry):
                toc.append(entry.page)
            elif entry.kind == "exception":
                out.append(f".. autoexception:: {entry.name}\n   :show-inheritance:\n")
            elif entry.kind == "function":
                out.append(f".. autofunction:: {entry.name}\n")
            else:
                out.append(f".. autodata:: {entry.name}\n   :no-value:\n")
    if toc:
        out.append(".. toctree::\n   :hidden:\n\n" + "\n".join(f"   {p.split('/')[-1]}" for p in toc) + "\n")
    return "\n".join(out)


def has_own_page(entry: Entry) -> bool:
    """Classes get a page each; exceptions only when they have methods of their own."""
    return entry.kind == "class" or (entry.kind == "exception" and bool(class_members(entry.obj)[0]))


def _write(path: pathlib.Path, text: str, written: set[pathlib.Path]) -> None:
    written.add(path)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def generate(api_dir: pathlib.Path) -> list[ModulePage]:
    pages = collect()
    written: set[pathlib.Path] = set()
    out_dir = api_dir / "generated"
    public_ids = {id(e.obj) for p in pages for e in p.entries if e.primary is None}
    for page in pages:
        _write(out_dir / f"{page.module}.rst", module_page(page), written)
        for entry in page.entries:
            if entry.primary is None and has_own_page(entry):
                _write(out_dir / f"{entry.fullname}.rst", class_page(entry, public_ids), written)
    _write(out_dir / "internals.rst", supporting_page(public_ids), written)
    for stale in out_dir.glob("*.rst"):  # a name removed from __all__ loses its page
        if stale not in written:
            stale.unlink()
    return pages


_PUBLIC: dict[int, str] = {}
"""id(object) -> its documented public name, filled when the pages are written."""


def _on_builder_inited(app) -> None:
    for page in generate(pathlib.Path(app.srcdir) / "api"):
        for entry in page.entries:
            if entry.primary is None:
                _PUBLIC.setdefault(id(entry.obj), entry.fullname)


def _public_bases(app, name, obj, options, bases: list) -> None:
    """``Bases:`` lines list public classes only (see :func:`public_bases`)."""
    bases[:] = [b for b in bases if not _own_class(b) or id(b) in _PUBLIC]


def _napoleon_except_attributes(app) -> None:
    """Napoleon reads an attribute's or property's docstring as ``type: description`` (its inline
    attribute syntax); streamscope's are prose ("Terminal progress: ..."), so they skip it."""
    from sphinx.ext.napoleon import _process_docstring

    listeners = app.events.listeners.get("autodoc-process-docstring", [])
    for listener in list(listeners):
        if listener.handler is _process_docstring:
            app.disconnect(listener.id)

    def process(app, what, name, obj, options, lines):
        if what not in ("attribute", "property", "data"):
            _process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process)


def _resolve_internal_path(app, env, node, contnode):
    """A reference to a public object by the path of the module that defines it (how signatures
    name a type: ``streamscope.engine.io.datasink.WriteReturnType``) goes to its public entry."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    modname, _, name = target.rpartition(".")
    if not modname.startswith("streamscope"):
        return None
    try:
        obj = getattr(importlib.import_module(modname), name)
    except (ImportError, AttributeError, ValueError):
        return None
    public = _PUBLIC.get(id(obj))
    if public is None or public == target:
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, "obj", public, node, contnode)


MAX_SIGNATURE_FIELDS = 12
"""A dataclass with more fields than this shows ``(...)`` for its constructor: ``DataContext``'s
~100 fields would fill a screen, and each is documented below it with its type and default."""


def _short_signatures(app, what, name, obj, options, signature, return_annotation):
    """Internal classes show no constructor signature (it would name more internals, and code
    never constructs them); a settings dataclass with many fields shows ``(...)``."""
    if what != "class":
        return None
    if name in SUPPORTING:
        return "", None
    if dataclasses.is_dataclass(obj) and len(dataclasses.fields(obj)) > MAX_SIGNATURE_FIELDS:
        return "(...)", None
    return None


def _resolve_in_defining_module(app, env, node, contnode):
    """A short name in a method's docstring (``:class:`ColumnNotFoundError```) means a name of the
    module that wrote it, also when the class is documented under a re-exported name."""
    if node.get("refdomain") != "py" or "." in node.get("reftarget", ""):
        return None
    modname, clsname = node.get("py:module"), node.get("py:class")
    if not (modname and clsname):
        return None
    try:
        cls = getattr(importlib.import_module(modname), clsname.split(".")[0])
    except (ImportError, AttributeError):
        return None
    home = getattr(cls, "__module__", None)
    if not home or home == modname:
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                             f"{home}.{node['reftarget']}", node, contnode)


def setup(app):
    app.setup_extension("sphinx.ext.napoleon")
    _napoleon_except_attributes(app)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _resolve_internal_path)
    app.connect("missing-reference", _resolve_in_defining_module)
    app.connect("autodoc-process-signature", _short_signatures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
