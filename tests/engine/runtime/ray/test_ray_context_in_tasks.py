"""Tasks on Ray see their run's DataContext: Ray's workers are processes with their own default
context, so without the context travelling with each task they would read the defaults. The
checks are the local and in-process runtimes' (``context_task_helpers``)."""

from __future__ import annotations

from context_task_helpers import (
    check_actor_sees_user_setting,
    check_read_block_sizes_follow_setting,
    check_retried_io_errors_apply_in_tasks,
    check_udf_sees_user_setting,
)


def test_a_user_function_sees_the_users_setting(runtime, ctx):
    check_udf_sees_user_setting("ray", ctx)


def test_an_actor_sees_the_users_setting_in_its_constructor_and_calls(runtime, ctx):
    check_actor_sees_user_setting("ray", ctx)


def test_target_max_block_size_sizes_the_blocks_a_read_task_makes(runtime, ctx):
    check_read_block_sizes_follow_setting("ray", ctx)


def test_retried_io_errors_decide_what_a_read_task_retries(runtime, ctx, tmp_path):
    check_retried_io_errors_apply_in_tasks("ray", ctx, tmp_path)
