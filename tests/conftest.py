"""Fixtures more than one test directory uses."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebooks"))


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """The tutorial notebooks, each executed once this session (``executed.ExecutedNotebooks``)."""
    from executed import ExecutedNotebooks

    return ExecutedNotebooks(tmp_path_factory.mktemp("executed-notebooks"))
