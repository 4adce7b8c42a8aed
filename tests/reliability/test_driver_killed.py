"""A driver killed with SIGKILL mid-run (the OOM killer, a kernel restart) leaves no process
behind: its forkserver, resource tracker and workers all exit (``PR_SET_PDEATHSIG`` and the
workers' watchdog). Its store directory on /dev/shm and its spill directory cannot be removed by
the dead driver; the next session that starts streamscope removes them (``session_dir.py``'s
sweep of this user's directories whose driver pid is dead).

The drivers run in processes of their own (``driver_script.py``); the test only waits for
events (a report line, pids vanishing, a process ending) with generous deadlines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from chaos import gone

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "driver_script.py")
REPORT_PREFIX = "STREAMSCOPE-REPORT "
VANISH_S = 20.0


def _env() -> dict:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(HERE))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_driver(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=_env(), cwd=HERE)


def read_report(proc: subprocess.Popen, timeout: float = 120.0) -> dict:
    """The driver's report line; fails with its output if it ends (or times out) without one."""
    lines: list[str] = []
    found: dict = {}

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(REPORT_PREFIX):
                found["report"] = json.loads(line[len(REPORT_PREFIX):])
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    if "report" not in found:
        proc.kill()
        proc.wait()
        pytest.fail("driver gave no report:\n" + "".join(lines))
    return found["report"]


def run_driver(*args: str, timeout: float = 240.0) -> dict:
    proc = start_driver(*args)
    try:
        report = read_report(proc, timeout)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"driver exited with {proc.returncode}:\n{rest}"
        return report
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(0.05)
    return True


def test_a_killed_driver_leaves_no_process_and_the_next_session_sweeps_its_directories(tmp_path):
    spill_parent = str(tmp_path / "spill")
    proc = start_driver("killme", spill_parent)
    try:
        report = read_report(proc)
    finally:
        proc.kill()  # SIGKILL, mid-run: its workers are busy, its store holds spilled blocks
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(report["workers"]) >= 1 and set(report["workers"]) <= set(report["children"])
    # every process the driver started ends on its own (the pass condition is "vanished")
    assert wait_until(lambda: all(gone(pid) for pid in report["children"]), VANISH_S), \
        [pid for pid in report["children"] if not gone(pid)]

    dead_dirs = [report["store_dir"], *report["spill_dirs"]]
    assert report["store_dir"].startswith("/dev/shm/") and report["spill_dirs"]
    assert all(os.path.isdir(d) for d in dead_dirs)  # nobody could clean up after a SIGKILL
    assert os.listdir(report["spill_dirs"][0])  # it held spilled blocks

    # the next session sweeps them, and cleans up after itself when it ends normally
    swept = run_driver("sweep", spill_parent, *dead_dirs)
    assert swept["existing"] == []
    assert swept["store_dir"] != report["store_dir"] and not os.path.exists(swept["store_dir"])
