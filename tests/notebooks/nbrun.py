"""Execute a notebook with nbclient the way the test suite (and the binder check) does, and report
what a reader would see as failures: error outputs, and /dev/shm session directories that a kernel
left behind."""

from __future__ import annotations

import os
import sys
import time

from streamscope.engine.runtime.local.session_dir import is_leftover

SHM = "/dev/shm"


def shm_dirs() -> set[str]:
    try:
        return {d for d in os.listdir(SHM) if d.startswith("streamscope-")}
    except FileNotFoundError:
        return set()


def leaked_dirs(before: set[str], wait_s: float = 5.0) -> list[str]:
    """Session directories created since ``before`` whose owning process is gone."""
    deadline = time.time() + wait_s
    while True:
        leaked = sorted(d for d in shm_dirs() - before if is_leftover(os.path.join(SHM, d)))
        if not leaked or time.time() > deadline:
            return leaked
        time.sleep(0.2)


def execute(path: str, timeout: int = 120, kernel_name: str = "python3"):
    """Run every cell; returns (notebook, errors) where errors are 'cell N: Ename: value'."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    saved = os.environ.get("PATH")
    os.environ["PATH"] = env_path
    try:
        from jupyter_client.manager import KernelManager

        # a loaded machine can need more than the default 5 s to stop the engine's workers
        km = KernelManager(kernel_name=kernel_name, shutdown_wait_time=60.0)
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        # nbclient shuts a kernel down only when it created the KernelManager itself; this one is
        # ours, so ask for the shutdown, or the kernel outlives the run (and the leak check)
        client.execute(cleanup_kc=True)
    finally:
        os.environ["PATH"] = saved or ""
    errors = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in out.get("text", ""):
                errors.append(f"cell {i}: traceback on stderr: {out['text'][-500:]}")
    return nb, errors


if __name__ == "__main__":  # used by the binder check inside its own virtual environment
    status = 0
    for nb_path in sys.argv[1:]:
        before = shm_dirs()
        start = time.time()
        _, errs = execute(nb_path)
        leaked = leaked_dirs(before)
        print(f"{nb_path}: {time.time() - start:.1f}s, {len(errs)} error(s), leaked {leaked}")
        for e in errs:
            print("  " + e)
        status |= bool(errs or leaked)
    sys.exit(status)
