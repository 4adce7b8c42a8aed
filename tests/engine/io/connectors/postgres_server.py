"""A throwaway PostgreSQL server for the read_sql/write_sql tests: a fresh cluster in a temp dir,
listening on 127.0.0.1 on a free port (its socket in the same dir), password authentication
(scram-sha-256) so a wrong password is really refused, stopped and removed afterwards whatever
happened.

initdb and the server refuse to run as root, so as root (CI) they run as the unprivileged
``postgres`` user the Debian package creates (``runuser -u postgres --``; ``nobody`` through
``setpriv`` if that user is missing), with the temp dir owned by it. The server programs come
from /usr/lib/postgresql/*/bin or PATH; without them the tests fail naming
``scripts/check_system.sh``, which installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Iterator, Optional

import pytest

USER = "streamscope"
PASSWORD = "s3cret-pw"
DBNAME = "postgres"


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def conninfo(self, **overrides) -> str:
        params = {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                  "dbname": self.dbname, "connect_timeout": 5, **overrides}
        return " ".join(f"{k}={v}" for k, v in params.items())


def server_bin_dir() -> str:
    """The directory holding initdb and pg_ctl; fails the test run when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(initdb)
    pytest.fail("PostgreSQL's server programs (initdb, pg_ctl) are not installed: run scripts/check_system.sh "
                "(it installs the postgresql package), or install it yourself (sudo apt-get install postgresql)",
                pytrace=False)


def _version_key(path: str) -> tuple:
    part = path.split("/")[-3]
    return tuple(int(p) for p in part.split(".") if p.isdigit())


def _run_as() -> tuple[list[str], Optional[int], Optional[int]]:
    """(command prefix, uid, gid) to run the server programs unprivileged."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
        return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid
    except KeyError:
        user = pwd.getpwnam("nobody")
        return (["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"],
                user.pw_uid, user.pw_gid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = server_bin_dir()
    prefix, uid, gid = _run_as()
    root = tempfile.mkdtemp(prefix="ss-pg-")
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    started = False
    try:
        pwfile = os.path.join(root, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(root, 0o700)
        if uid is not None:
            for path in (root, pwfile):
                os.chown(path, uid, gid)
        init = _run(prefix + [f"{bindir}/initdb", "-D", data, "-U", USER, f"--pwfile={pwfile}",
                              "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "-N"], cwd=root, timeout=120)
        if init.returncode != 0:
            pytest.fail(f"initdb failed ({init.returncode}): {init.stderr.strip() or init.stdout.strip()}", pytrace=False)
        port = free_port()
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=40")
        start = _run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
                     cwd=root, timeout=90)
        started = True
        if start.returncode != 0:
            tail = open(log).read()[-2000:] if os.path.exists(log) else ""
            pytest.fail(f"pg_ctl start failed ({start.returncode}): {start.stderr.strip()}\n{tail}", pytrace=False)
        yield PostgresServer("127.0.0.1", port, USER, PASSWORD, DBNAME)
    finally:
        if started:
            _stop(prefix, bindir, data, root)
        shutil.rmtree(root, ignore_errors=True)


def _stop(prefix: list[str], bindir: str, data: str, root: str) -> None:
    """``pg_ctl stop -m immediate``; if that fails, SIGKILL the postmaster named in its pid file."""
    try:
        stop = _run(prefix + [f"{bindir}/pg_ctl", "-D", data, "stop", "-m", "immediate", "-w", "-t", "30"],
                    cwd=root, timeout=45)
        if stop.returncode == 0:
            return
    except subprocess.TimeoutExpired:
        pass
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            pid = int(f.readline())
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    except (OSError, ValueError):
        pass
