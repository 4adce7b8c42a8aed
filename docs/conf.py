"""Sphinx configuration of streamscope's documentation site (``make docs``).

Markdown pages (MyST), the tutorial notebooks and the user guide's executable pages (MyST-NB) and
an API reference written from the docstrings (autodoc, autosummary; ``_ext/apigen.py`` writes its
pages). It builds offline: no intersphinx, no remote assets. ``make docs`` builds with warnings as
errors and nitpicky references, then checks every internal link (``scripts/check_doc_links.py``).
"""

from __future__ import annotations

import os
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
# document the checkout's own streamscope (whatever else is installed), and load the local extension
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# the kernels that execute the notebooks and executable pages import streamscope from here too
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

import streamscope  # noqa: E402

project = "streamscope"
author = "the streamscope authors"
copyright = "the streamscope authors, Apache-2.0"
release = version = streamscope.__version__

extensions = [
    "myst_nb",  # MyST Markdown (it loads myst_parser) and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # the docstrings' Google-style sections (Args:, Returns:, Examples:)
    "apigen",  # writes api/generated/*.rst from the public modules' __all__
]

root_doc = "index"
exclude_patterns = [
    "_build",
    "**/.ipynb_checkpoints",
    # shown inside the user guide (user-guide/connectors.md includes it), not as a page of its own
    "connectors.md",
]
templates_path: list[str] = []

# ---- references ---------------------------------------------------------------------------------
nitpicky = True
# Third-party and standard-library types named in signatures: there is no intersphinx (the build
# is offline), so their references cannot resolve. Only such names belong here; every
# streamscope name must resolve to its page.
nitpick_ignore_regex = [
    ("py:.*", r"(pyarrow|pa)(\..*)?"),  # Tables, DataTypes, Schemas, compute expressions
    ("py:.*", r"(numpy|np)(\..*)?"),  # ndarrays, dtypes
    ("py:.*", r"(pandas|pd)(\..*)?"),  # DataFrames
    ("py:.*", r"torch(\..*)?"),  # tensors, dtypes, devices, datasets
    ("py:.*", r"fsspec(\..*)?"),  # filesystems
    ("py:.*", r"(dask|daft)(\..*)?"),  # the dataframe bridges' frames (to_dask, from_daft...)
    ("py:.*", r"(IPython|traitlets|ipywidgets|bokeh)(\..*)?"),  # the notebook views' bases
    ("py:.*", r"(ray|pyiceberg)(\..*)?"),  # optional backends named in signatures
    ("py:.*", r"(collections\.abc|concurrent\.futures|enum|threading|pathlib|os|logging|types)\..*"),  # stdlib
    ("py:mod", r"ast|argparse"),  # stdlib modules named in docstrings
    ("py:class", r"t\.Any"),  # traitlets' annotation (typing as t) of HasTraits.__new__, under DatasetMagics
]

# ---- autodoc / autosummary / napoleon -----------------------------------------------------------
autosummary_generate = False  # apigen writes the pages (it documents a re-exported object once)
autodoc_member_order = "groupwise"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True  # signatures show `DataContext()` rather than an object repr
autodoc_inherit_docstrings = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# ---- MyST and MyST-NB ---------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # `page.md#a-heading` links resolve, as on GitHub

nb_execution_mode = "force"
nb_execution_timeout = 240  # per cell; the tutorials' cells take seconds
nb_execution_raise_on_error = True  # an example that raises fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# Live views and dashboards are ipywidgets with a static HTML fallback: render the fallback (it
# works offline, with no widget JavaScript from a CDN), and leave out BokehJS's loader (megabytes
# of inline script that would only draw the interactive dashboard).
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.bokehjs_load.v0+json", None),
    ("html", "application/vnd.bokehjs_exec.v0+json", None),
    ("html", "application/javascript", None),
]
nb_ipywidgets_js: dict = {}  # no widget manager scripts from a CDN: the fallbacks need none
# the two warnings an output with nothing left to show gives (the BokehJS loader above, dropped on
# purpose); any other notebook warning still fails the build
# "ref.python": a type named `str` or `list` in a signature also matches the `.str` / `.list`
# expression namespaces (Expr.str, Expr.list); Sphinx then warns that more than one target was
# found, though it links the builtin. Only that ambiguity warning is silenced.
suppress_warnings = ["mystnb.unknown_mime_type", "mystnb.mime_priority", "ref.python"]

# ---- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"streamscope {release}"
html_static_path = ["_static"]
html_css_files = ["streamscope.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False

# ---- tutorials run elsewhere ----------------------------------------------------------------------
# `-D streamscope_executed_tutorials=DIR` renders the tutorials from executed copies in DIR (one
# file per notebook, named as in notebooks/) instead of running them again. The test suite runs
# each notebook once and asserts on its outputs; its documentation build renders that same run.
# A tutorial missing from DIR is an error: the page would otherwise show a notebook never run.


def _use_executed_tutorials(app, config) -> None:
    if config.streamscope_executed_tutorials:
        config.nb_execution_excludepatterns = [*config.nb_execution_excludepatterns, "tutorials/*"]


def _read_executed_tutorial(app, docname: str, source: list[str]) -> None:
    folder = app.config.streamscope_executed_tutorials
    if not folder or not docname.startswith("tutorials/") or docname == "tutorials/index":
        return
    executed = pathlib.Path(folder) / (docname.split("/", 1)[1] + ".ipynb")
    if not executed.is_file():
        raise FileNotFoundError(f"streamscope_executed_tutorials: no executed copy of {docname} at {executed}")
    source[0] = executed.read_text(encoding="utf-8")


def setup(app):
    app.add_config_value("streamscope_executed_tutorials", "", "env", types=[str])
    app.connect("config-inited", _use_executed_tutorials)
    app.connect("source-read", _read_executed_tutorial)
