"""A two-node Ray cluster on one machine: tasks land on both nodes (telemetry says so) and the
result stays exact when one node's worker processes are killed mid-run (Ray retries them).

The cluster is two ``ray start --block`` process groups (head and worker, one CPU each) with a
private temp dir. Teardown ends exactly those groups, and then any process still naming that temp
dir, by pid; ``ray stop --force`` is not used because it would also stop every other Ray on the
machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from multinode_driver import REPORT_PREFIX

pytest.importorskip("ray")

HERE = os.path.dirname(os.path.abspath(__file__))
RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_naming(text: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if int(p) != os.getpid()]


@pytest.fixture
def two_node_cluster():
    temp_dir = tempfile.mkdtemp(prefix="ssray-")
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token")
    env.pop("RAY_ADDRESS", None)
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--block", "--disable-usage-stats"]
    groups = []
    try:
        groups.append(subprocess.Popen(
            [RAY, "start", "--head", f"--port={port}", f"--temp-dir={temp_dir}", "--include-dashboard=false", *common],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(os.path.join(temp_dir, "head.err"), "w")))
        _wait_for_port(port, 90)  # the GCS must answer before the second node joins
        groups.append(subprocess.Popen(
            [RAY, "start", f"--address=127.0.0.1:{port}", *common],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield f"127.0.0.1:{port}", env
    finally:
        for proc in reversed(groups):
            _end_group(proc)
        for pid in _pids_naming(temp_dir) + _pids_naming(f"127.0.0.1:{port}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(1)
        assert not _pids_naming(temp_dir), "Ray processes of the test cluster survived teardown"


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for host in ("127.0.0.1", socket.gethostbyname(socket.gethostname())):
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.5)
    raise TimeoutError(f"the Ray head did not open port {port} in {timeout_s:g}s")


def _end_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_nodes_worker_kill_mid_run(two_node_cluster):
    address, env = two_node_cluster
    out = subprocess.run([sys.executable, os.path.join(HERE, "multinode_driver.py"), address],
                         env=env, capture_output=True, text=True, timeout=200)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    assert len(lines) == 1, out.stdout[-3000:]
    report = json.loads(lines[0][len(REPORT_PREFIX):])
    print(report)
    assert len(report["nodes"]) == 2 and len(report["other"]) == 1
    assert report["cpu_total"] == 2.0
    assert set(report["span_nodes"]) == set(report["nodes"]), "tasks should run on both nodes"
    assert report["other"][0] in report["worker_nodes"]
    assert report["killed"], "the second node's workers should have been killed mid-run"
    assert report["killed_at_s"] < report["elapsed_s"]
    assert report["exact"] and report["rows"] == 800
