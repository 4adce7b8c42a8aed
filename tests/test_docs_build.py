"""The documentation site (``make docs``) builds offline with warnings as errors and nitpicky
references, documents every public name, and every internal link of the built pages resolves.

The build executes the user guide's examples, so it also fails when one of them stops running. The
tutorials are rendered from the session's one run of each notebook (``tests/notebooks/executed.py``),
which the notebook tests check, so a tutorial that stops running fails both. The link checker
itself is tested on a small hand-made site, so a checker that found nothing would fail here too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("myst_nb")
pytest.importorskip("pydata_sphinx_theme")

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLIC_MODULES = (
    "streamscope", "streamscope.aggregate", "streamscope.preprocessors", "streamscope.datasource",
    "streamscope.block", "streamscope.expressions", "streamscope.datatype", "streamscope.checkpoint", "streamscope.kernel_ext.magics",
    "streamscope.widgets",
)


def _link_checker():
    spec = importlib.util.spec_from_file_location("check_doc_links", ROOT / "scripts" / "check_doc_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_link_checker_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "style.css").write_text("")
    (tmp_path / "_static" / "template.html").write_text('<a href="{{ pathto(x) }}">not a page</a>')
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "page.html").write_text(
        '<h1 id="top">x</h1><a name="old-style"></a><a href="../index.html#intro">back</a>')
    (tmp_path / "index.html").write_text("""
        <link href="_static/style.css?v=1" rel="stylesheet">
        <h1 id="intro">streamscope</h1>
        <a href="guide/page.html#top">ok</a> <a href="guide/page.html#old-style">ok</a>
        <a href="guide/">a folder: its index.html is missing</a>
        <a href="#intro">ok</a> <a href="#">ok</a> <a href="https://example.com/x.html">external</a>
        <a href="mailto:a@b.c">external</a> <img src="data:image/png;base64,AAAA">
        <a href="guide/page.html#nowhere">bad anchor</a> <a href="missing.html">missing file</a>
        <a href="../outside.html">outside</a> <img src="images/gone.png">
        <svg><a xlink:href="guide/page.html#top"></a><a xlink:href="#lost"></a></svg>
    """)
    problems = _link_checker().check(str(tmp_path))
    assert len(problems) == 6, problems
    expected = ["guide/: no such file guide/index.html", "no id 'nowhere' in guide/page.html",
                "no such file missing.html", "points outside the site", "no such file images/gone.png",
                "no id 'lost' in index.html"]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert all(p.startswith("index.html:") for p in problems)


def _inventory_names(objects_inv: pathlib.Path) -> set[str]:
    from sphinx.util.inventory import InventoryFile

    with open(objects_inv, "rb") as f:
        inventory = InventoryFile.load(f, "", os.path.join)
    return {name for kind, entries in inventory.items() if kind.startswith("py:") for name in entries}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_docs_build_offline_with_warnings_as_errors_and_links_resolve(tmp_path, executed_notebooks):
    out = tmp_path / "html"
    # the tutorials are rendered from this session's run of each notebook (the notebook tests
    # assert on the same run); a run with an error output would put that error on a page
    runs = [executed_notebooks.run(str(p)) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert all(not run.errors for run in runs), [run.errors for run in runs if run.errors]
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-q", "-j", "auto",
         "-D", f"streamscope_executed_tutorials={executed_notebooks.folder}",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=840,
    )
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stderr[-8000:]}"

    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_doc_links.py"), str(out)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout[-8000:] + check.stderr

    documented = _inventory_names(out / "objects.inv")
    missing = [f"{module}.{name}" for module in PUBLIC_MODULES
               for name in importlib.import_module(module).__all__ if f"{module}.{name}" not in documented]
    assert missing == [], f"public names without an API entry: {missing}"
    assert "streamscope.Dataset.map_batches" in documented and "streamscope.DataContext.num_workers" in documented

    # the tutorials and the executable pages ran: their outputs are in the pages
    quickstart = (out / "tutorials" / "01_quickstart.html").read_text()
    assert "streamscope-live" in quickstart and "done 100%" in quickstart
    assert "[{'id': 102}, {'id': 104}" in (out / "index.html").read_text()
