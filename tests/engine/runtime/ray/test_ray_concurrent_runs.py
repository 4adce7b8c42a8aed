"""Several runs at once on the Ray runtime: the cases of tests/engine/concurrent_runs_cases.py
(shared with the local and in-process runtimes), on the session's local two-CPU Ray."""

from __future__ import annotations

import pytest

import concurrent_runs_cases as cases


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
def test_interrupts_at_random_moments_leave_nothing_behind_on_ray(runtime):
    cases.case_interrupts_at_random_moments(runtime)
