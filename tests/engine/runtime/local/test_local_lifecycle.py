"""Shutdown leaves nothing behind; a killed driver's workers die and its directory is swept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from local_runtime_helpers import is_gone, wait_for
from streamscope.engine.runtime.local import session_dir

SHUTDOWN_SCRIPT = textwrap.dedent(
    """
    import json, os, psutil
    import numpy as np, pyarrow as pa
    from streamscope.engine.runtime.base import TaskSpec
    from streamscope.engine.runtime.local import LocalRuntime

    def fn(payload, blocks, ctx):
        yield pa.table({"pid": [os.getpid()]})

    # No `if __name__ == "__main__"` guard on purpose: workers must not re-run the driver script.
    rt = LocalRuntime(num_workers=2, store_capacity=1 << 20)
    rt.ensure_started()
    for _ in range(3):
        rt.put(pa.table({"v": np.zeros(100_000)}))  # forces a spill dir into existence
    rt.submit(TaskSpec(rt.register_function(fn), operator="Map"))
    results = []
    while not results:
        results = rt.wait(1.0)
    assert results[0][1].error is None, results[0][1].error
    dirs = [rt.store.directory] + rt.store.spill_dirs()
    pids = [w.pid for w in rt.workers()]
    rt.shutdown()
    rt.shutdown()
    children = [c.pid for c in psutil.Process().children(recursive=True)
                if "resource_tracker" not in " ".join(c.cmdline())]
    print(json.dumps({"dirs": dirs, "pids": pids, "children": children,
                      "left": [d for d in dirs if os.path.exists(d)]}))
    """
)

KILLED_DRIVER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from streamscope.engine.runtime.local import LocalRuntime
    rt = LocalRuntime(num_workers=2)
    rt.ensure_started()
    print(json.dumps({"dir": rt.store.directory, "pids": [w.pid for w in rt.workers()]}), flush=True)
    time.sleep(120)
    """
)


def _run(script, tmp_path):
    path = tmp_path / "driver.py"
    path.write_text(script)
    return path


def test_shutdown_leaves_no_process_and_no_directory(tmp_path):
    path = _run(SHUTDOWN_SCRIPT, tmp_path)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["dirs"]) == 2  # the session dir and a spill dir existed
    assert report["left"] == []
    assert report["children"] == []
    assert all(is_gone(pid) for pid in report["pids"])


def test_killed_driver_workers_exit_and_next_session_sweeps(tmp_path, make_rt):
    path = _run(KILLED_DRIVER_SCRIPT, tmp_path)
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert os.path.isdir(info["dir"])
    assert os.path.basename(info["dir"]).endswith(f"-{proc.pid}")
    assert wait_for(lambda: all(is_gone(pid) for pid in info["pids"]), timeout=5)
    make_rt()  # a new session sweeps the dead driver's directory
    assert not os.path.exists(info["dir"])
    assert session_dir.sweep_dead_sessions(["/dev/shm"], session_dir.current_user()) == []
