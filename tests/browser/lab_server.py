"""A throwaway JupyterLab for browser tests: 127.0.0.1, a random token and port, temporary HOME,
XDG and Jupyter directories, notebook windowing off (settings overrides file, so every cell is in
the DOM), and the app exposed to the page. On exit it shuts kernels down through the REST API
(so each kernel's engine cleans up its /dev/shm directory), stops the server, and kills anything
of its process tree still alive."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

OVERRIDES = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
             "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    def __init__(self, root_dir: str, home: str):
        self.root_dir = root_dir
        self.home = home
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(home, "jupyterlab.log")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def _api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            return json.loads(body) if body else None

    def __enter__(self) -> "LabServer":
        dirs = {name: os.path.join(self.home, sub) for name, sub in (
            ("JUPYTER_CONFIG_DIR", ".jupyter"), ("JUPYTER_DATA_DIR", ".local/share/jupyter"),
            ("JUPYTER_RUNTIME_DIR", ".local/share/jupyter/runtime"), ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share"), ("IPYTHONDIR", ".ipython"))}
        for d in dirs.values():
            os.makedirs(d, exist_ok=True)
        settings = os.path.join(self.home, "lab-app-settings")
        os.makedirs(settings, exist_ok=True)
        with open(os.path.join(settings, "overrides.json"), "w") as f:
            json.dump(OVERRIDES, f)
        env = dict(os.environ, HOME=self.home, **dirs)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               f"--ServerApp.root_dir={self.root_dir}", f"--IdentityProvider.token={self.token}",
               "--LabApp.expose_app_in_browser=True", f"--LabApp.app_settings_dir={settings}",
               f"--LabApp.user_settings_dir={os.path.join(self.home, 'lab-user-settings')}",
               f"--LabApp.workspaces_dir={os.path.join(self.home, 'lab-workspaces')}",
               "--ServerApp.open_browser=False", "--KernelManager.shutdown_wait_time=20", "--LabApp.news_url=", "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log()}")
            try:
                self._api("api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def _tree(self) -> list:
        try:
            import psutil

            return psutil.Process(self.proc.pid).children(recursive=True)
        except Exception:
            return []

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        children = self._tree()
        try:
            for kernel in self._api("api/kernels") or []:
                self._api(f"api/kernels/{kernel['id']}", method="DELETE")
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for child in children:  # kernels run in their own sessions: make sure none survives
            try:
                child.wait(3)
            except Exception:
                try:
                    child.kill()
                except Exception:
                    pass
        self._log.close()
        self.proc = None
