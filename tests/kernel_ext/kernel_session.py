"""A real IPython kernel (jupyter_client) for the extension tests: run code, collect what the
front end would receive (streams, displays, errors, widget comm messages) until the kernel is
idle, and shut down gracefully so the engine removes its /dev/shm session directory."""

from __future__ import annotations

import os
import queue
import sys
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Reply:
    stdout: str = ""
    stderr: str = ""
    kinds: list = field(default_factory=list)
    """msg_type of each entry in ``displays``."""
    displays: list = field(default_factory=list)
    """``data`` dicts of display_data / execute_result / update_display_data messages."""
    errors: list = field(default_factory=list)
    comms: list = field(default_factory=list)
    """``(msg_type, content)`` of comm_open / comm_msg messages."""
    result: dict = field(default_factory=dict)

    def html(self) -> str:
        return "\n".join(d.get("text/html", "") for d in self.displays)

    def widget_views(self) -> int:
        """New widget views displayed (updates of an existing display are not counted)."""
        return sum(1 for d, k in zip(self.displays, self.kinds)
                   if k != "update_display_data" and "application/vnd.jupyter.widget-view+json" in d)


class KernelSession:
    def __init__(self):
        from jupyter_client.manager import start_new_kernel

        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        saved = os.environ.get("PATH")
        os.environ["PATH"] = path
        try:
            # a loaded machine can need more than the default 5 s to stop the engine's workers
            self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=ROOT)
            self.km.shutdown_wait_time = 20.0
        finally:
            os.environ["PATH"] = saved or ""
        self.pending: list = []

    def execute(self, code: str, timeout: float = 60.0, raise_errors: bool = True) -> Reply:
        msg_id = self.kc.execute(code)
        reply = Reply()
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise TimeoutError(f"kernel did not finish within {timeout}s:\n{code}")
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # a late update from an earlier cell's view thread
            self._collect(msg, reply, msg_id)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        reply.result = self.kc.get_shell_msg(timeout=10)["content"]
        if raise_errors and reply.errors:
            raise AssertionError("kernel error:\n" + "\n".join("\n".join(e["traceback"]) for e in reply.errors))
        return reply

    def drain(self, seconds: float) -> Reply:
        """Messages that arrive while no cell runs (background threads' widget updates)."""
        reply = Reply()
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            self._collect(msg, reply, None)
        return reply

    @staticmethod
    def _collect(msg: dict, reply: Reply, msg_id) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            if content["name"] == "stdout":
                reply.stdout += content["text"]
            else:
                reply.stderr += content["text"]
        elif kind in ("display_data", "execute_result", "update_display_data"):
            reply.displays.append(content["data"])
            reply.kinds.append(kind)
        elif kind == "error":
            reply.errors.append(content)
        elif kind in ("comm_open", "comm_msg"):
            reply.comms.append((kind, content))

    def value(self, expr: str):
        """Evaluate ``expr`` in the kernel and return ``repr`` of it, parsed back with literal_eval."""
        import ast

        reply = self.execute(f"print(repr({expr}))")
        return ast.literal_eval(reply.stdout.strip().splitlines()[-1])

    def interrupt(self) -> None:
        self.km.interrupt_kernel()

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)
