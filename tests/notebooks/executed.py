"""Each tutorial notebook executed once per test session, in this environment, and the result kept
for every test that reads it: the notebook tests assert on its outputs, and the documentation build
renders those same outputs instead of running the notebooks a second time.

Running a notebook is the most expensive thing the suite does (kernels, worker pools, a CNN trained
in one of them), and running it twice in one environment proves nothing the first run did not.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

from nbrun import execute, leaked_dirs, shm_dirs


@dataclasses.dataclass(frozen=True)
class NotebookRun:
    """One execution: the executed notebook, the errors a reader would see, the /dev/shm session
    directories its kernel left behind, and where the executed copy was saved."""

    notebook: dict
    errors: list[str]
    leaked: list[str]
    saved: pathlib.Path


class ExecutedNotebooks:
    """Runs a notebook the first time a test asks for it, and answers every later request from that
    run. ``saved_dir`` receives each executed notebook under its own file name.

    Example::

        run = executed_notebooks.run("notebooks/01_quickstart.ipynb")
        assert not run.errors
    """

    def __init__(self, saved_dir: pathlib.Path):
        self._saved_dir = pathlib.Path(saved_dir)
        self._runs: dict[str, NotebookRun] = {}

    @property
    def folder(self) -> pathlib.Path:
        """Where the executed copies are saved, each under its notebook's file name."""
        return self._saved_dir

    def run(self, path: str) -> NotebookRun:
        key = os.path.abspath(path)
        if key not in self._runs:
            import nbformat

            before = shm_dirs()
            nb, errors = execute(key)
            leaked = leaked_dirs(before)
            saved = self._saved_dir / os.path.basename(key)
            nbformat.write(nb, str(saved))
            self._runs[key] = NotebookRun(notebook=nb, errors=errors, leaked=leaked, saved=saved)
        return self._runs[key]
