"""Helpers shared by the local runtime tests (a unique module name: ``conftest`` is taken by
other test folders)."""

from __future__ import annotations

import os
import time

NUM_WORKERS = 2


def collect(rt, n, timeout=20.0):
    """Wait until ``n`` results arrived (or ``timeout``); return them all."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out.extend(rt.wait(min(1.0, max(0.0, deadline - time.monotonic()))))
    return out


def wait_for(predicate, timeout=10.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def is_gone(pid):
    """Dead, or a zombie nobody reaped yet."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def task_files(directory, task_id):
    return sorted(n for n in os.listdir(directory) if n.startswith(f"t{task_id}-"))
