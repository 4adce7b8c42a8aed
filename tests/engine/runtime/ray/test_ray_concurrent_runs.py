"""Several runs at once on the Ray runtime: the cases of tests/engine/concurrent_runs_cases.py
(shared with the local and in-process runtimes), on the session's local two-CPU Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import concurrent_runs_cases as cases
from interrupts_driver import ENGINE_TESTS, HERE, REPORT_PREFIX


def test_foreground_runs_finish_next_to_a_background_run_on_ray(runtime, tmp_path):
    cases.case_foreground_runs_finish_next_to_a_background_run(tmp_path)


def test_threads_share_sorted_grouped_and_joined_datasets_on_ray(runtime, tmp_path):
    cases.case_threads_share_sorted_grouped_and_joined_datasets(tmp_path, threads=3, rounds=1)


def test_open_iterator_does_not_block_other_runs_on_ray(runtime):
    cases.case_open_iterator_does_not_block_other_runs()


def test_dropped_iterator_cancels_its_run_on_ray(runtime):
    cases.case_dropped_iterator_cancels_its_run(runtime)


def test_streaming_split_consumers_next_to_a_count_on_ray(runtime):
    cases.case_streaming_split_consumers_next_to_a_count()


@pytest.mark.slow  # each interrupt ends a Ray worker process (force-cancel): about 4 s apiece here
@pytest.mark.timeout(420)
def test_interrupts_at_random_moments_leave_nothing_behind_on_ray():
    """The random-interrupts case on a fresh Ray in a process of its own (interrupts_driver.py
    says why): every later run exact, nothing left over."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, ENGINE_TESTS, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run([sys.executable, os.path.join(HERE, "interrupts_driver.py")], env=env,
                         capture_output=True, text=True, timeout=400)
    reports = [line for line in out.stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    assert reports, f"the driver ended without a report (exit code {out.returncode}):\n{out.stderr[-4000:]}"
    report = json.loads(reports[-1][len(REPORT_PREFIX):])
    assert report["ok"], report.get("error")
