"""Several runs at once on the local and in-process runtimes (the cases: tests/engine/concurrent_runs_cases.py;
the same cases run on Ray in runtime/ray/test_ray_concurrent_runs.py)."""

from __future__ import annotations

import gc
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/engine

import concurrent_runs_cases as cases
from streamscope.engine.runtime import get_runtime

RUNTIMES = ["local", "inprocess"]


@pytest.fixture(params=RUNTIMES)
def rt(request, ctx):
    ctx.runtime = request.param
    return get_runtime(ctx)


def block_files(runtime) -> int:
    store = getattr(runtime, "store", None)
    if store is None:
        return 0
    names = []
    for folder in (store.directory, store.spill_dir()):
        if folder and os.path.isdir(folder):
            names += [n for n in os.listdir(folder) if not n.startswith(".")]
    return len(names)


def test_foreground_runs_finish_next_to_a_background_run(rt, tmp_path):
    cases.case_foreground_runs_finish_next_to_a_background_run(tmp_path)


def test_threads_share_sorted_grouped_and_joined_datasets(rt, tmp_path):
    cases.case_threads_share_sorted_grouped_and_joined_datasets(tmp_path)


def test_open_iterator_does_not_block_other_runs(rt):
    cases.case_open_iterator_does_not_block_other_runs()


def test_dropped_iterator_cancels_its_run(rt):
    cases.case_dropped_iterator_cancels_its_run(rt)


def test_interrupts_at_random_moments_leave_nothing_behind(rt):
    gc.collect()
    files_before = block_files(rt)
    cases.case_interrupts_at_random_moments(rt)
    assert block_files(rt) == files_before


def test_streaming_split_consumers_next_to_a_count(rt):
    cases.case_streaming_split_consumers_next_to_a_count()
