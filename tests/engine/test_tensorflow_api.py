"""TensorFlow integration: the cases in ``tensorflow_cases.py`` run against the real TensorFlow in a
fresh interpreter (TensorFlow and the ``tfrecord`` package, imported by the TFRecord tests of this
suite, register the same protobuf names, so one process cannot hold both); each case is reported
here as its own test. The missing-TensorFlow error is checked in this process."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import streamscope as ss

CASES_FILE = pathlib.Path(__file__).with_name("tensorflow_cases.py")
CASES = [node.name for node in ast.parse(CASES_FILE.read_text()).body
         if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
ROOT = CASES_FILE.parents[2]


@pytest.fixture(scope="module")
def case_results(tmp_path_factory):
    """``case name -> failure text`` ('' when it passed) from one run of the cases file."""
    report = tmp_path_factory.mktemp("tf") / "report.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES_FILE),
                          f"--junitxml={report}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if not report.exists():
        pytest.fail(f"the TensorFlow cases did not run:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problems = [el for el in case if el.tag in ("failure", "error", "skipped")]
        results[case.get("name")] = "\n".join(f"{el.tag}: {el.get('message')}\n{el.text or ''}" for el in problems)
    return results


@pytest.mark.parametrize("case", CASES)
def test_tensorflow_case(case, case_results):
    assert case in case_results, f"{case} did not run"
    assert case_results[case] == "", case_results[case]


def test_missing_tensorflow_names_the_extra(ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[tf\]'"):
        ss.range(5).to_tf("id", "id")
    with pytest.raises(ImportError, match=r"pip install 'streamscope\[tf\]'"):
        ss.range(5).iterator().iter_tf_batches()
    with pytest.warns(DeprecationWarning), pytest.raises(ImportError, match=r"pip install 'streamscope\[tf\]'"):
        ss.range(5).iter_tf_batches()  # deprecated (it warns first, as Ray Data's does)
