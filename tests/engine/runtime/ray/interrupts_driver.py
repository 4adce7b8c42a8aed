"""Driver run by test_ray_concurrent_runs.py in its own process: on a fresh local Ray, sends
KeyboardInterrupts at random moments into runs (``concurrent_runs_cases.case_interrupts_at_random_moments``)
and prints the outcome as JSON on a line starting with ``REPORT_PREFIX``.

Why a process of its own: an interrupt that lands inside Ray's driver code can make Ray end the
driver process itself (seen in about one full-suite run in three, never alone). In its own
process that shows as this test failing with the driver's output, instead of the whole test
session vanishing without a word.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_TESTS = os.path.dirname(os.path.dirname(HERE))
REPORT_PREFIX = "STREAMSCOPE-REPORT "


def main() -> None:
    for path in (HERE, ENGINE_TESTS):
        if path not in sys.path:
            sys.path.insert(0, path)
    import ray

    import streamscope
    from streamscope.engine.context import DataContext
    from streamscope.engine.runtime import shutdown_all

    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    try:
        rt = streamscope.init(runtime="ray")
        ctx = DataContext.get_current()
        ctx.runtime, ctx.enable_progress_bars, ctx.small_plan_inline_rows = "ray", False, 0
        import concurrent_runs_cases as cases

        try:
            cases.case_interrupts_at_random_moments(rt)
            report = {"ok": True}
        except AssertionError:
            report = {"ok": False, "error": traceback.format_exc()}
        print(REPORT_PREFIX + json.dumps(report), flush=True)
    finally:
        shutdown_all()
        ray.shutdown()


if __name__ == "__main__":
    main()
