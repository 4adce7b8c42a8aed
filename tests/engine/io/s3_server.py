"""A real local S3 server for the object-store tests: moto in server mode on 127.0.0.1, and a
small HTTP proxy in front of it that can answer chosen requests with an S3 error (``503
SlowDown``, ``500 InternalError``) before forwarding the rest, so a transient failure of one GET or
PUT can be injected exactly.

Why a proxy and not moto's own fault hooks: the client (s3fs/botocore or pyarrow's S3) sees a real
HTTP error response on the wire, with S3's XML error body, just as it would from AWS; nothing in
the client or in streamscope is patched.

Everything binds port 0 on 127.0.0.1 (the OS picks a free port) and :meth:`S3Server.stop` shuts
both servers and their threads down; the module fixture calls it even when a test fails.
"""

from __future__ import annotations

import http.client
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import unquote, urlsplit

import s3fs

KEY, SECRET, REGION = "testing-key", "testing-secret", "eu-west-1"

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}


def s3_error_body(code: str, message: str, resource: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<Resource>{resource}</Resource><RequestId>streamscope-test</RequestId></Error>").encode()


@dataclass
class Fault:
    """Answer requests with ``method`` whose unquoted URL path is ``path`` (or, with
    ``prefix=True``, starts with it, and contains none of ``unless``) with an S3 error: the first
    ``skip`` such requests pass, the next ``times`` get the error, the rest pass again."""

    method: str
    path: str
    times: int = 1
    status: int = 503
    code: str = "SlowDown"
    message: str = "Please reduce your request rate."
    prefix: bool = False
    unless: tuple[str, ...] = ()
    skip: int = 0
    seen: int = 0
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        if not (path.startswith(self.path) if self.prefix else path == self.path):
            return False
        return not any(u in path for u in self.unless)


@dataclass
class FaultProxy:
    """Forwards every request to ``target`` (host, port) except those a :class:`Fault` claims."""

    target: tuple[str, int]
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Optional[ThreadingHTTPServer] = None
    _thread: Optional[threading.Thread] = None

    def fail(self, method: str, path: str, times: int = 1, *, status: int = 503, code: str = "SlowDown",
             message: str = "Please reduce your request rate.", prefix: bool = False, unless: tuple[str, ...] = (),
             skip: int = 0) -> Fault:
        """Inject errors for ``method`` on the URL path ``path`` (``/bucket/key``, unquoted:
        ``/b/part=1/x.parquet``); see :class:`Fault`."""
        fault = Fault(method.upper(), path, times, status, code, message, prefix, tuple(unless), skip)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def count(self, method: str, path: str) -> int:
        """Requests seen (injected or forwarded) with ``method`` on URL path ``path``."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method.upper() and p == path)

    def _claim(self, method: str, path: str) -> Optional[Fault]:
        with self._lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.seen += 1
                    if fault.skip < fault.seen <= fault.skip + fault.times:
                        fault.injected += 1
                        return fault
        return None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                path = unquote(urlsplit(self.path).path)
                fault = proxy._claim(self.command, path)
                if fault is not None:
                    payload = s3_error_body(fault.code, fault.message, path)
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(*proxy.target, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    if body or self.command in ("PUT", "POST"):
                        headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP_BY_HOP and not (k.lower() == "content-length" and self.command != "HEAD"):
                            self.send_header(k, v)
                    if self.command != "HEAD":
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class S3Server:
    """moto's S3 (and IAM/STS) in server mode, plus a :class:`FaultProxy` in front of it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.proxy = FaultProxy((host, port))
        try:
            self.proxy.start()
        except BaseException:
            self._moto.stop()
            raise

    def stop(self) -> None:
        try:
            self.proxy.stop()
        finally:
            self._moto.stop()


def closed_port_endpoint() -> str:
    """An endpoint nothing listens on: a port the OS gave us, closed again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class NoRetryS3FileSystem(s3fs.S3FileSystem):
    """s3fs with its own retry loop off (``retries = 1``: one try): with botocore's retries also
    off (``total_max_attempts: 1``), a 503 reaches streamscope's retry layer, which is what the
    tests prove. At module level so worker processes unpickle it by reference."""

    retries = 1


def s3fs_filesystem(endpoint: str, *, key: str = KEY, secret: str = SECRET, retries_off: bool = True,
                    connect_timeout: float = 2, read_timeout: float = 20):
    """An s3fs filesystem on ``endpoint`` with short timeouts and (by default) no retries of its own."""
    cls = NoRetryS3FileSystem if retries_off else s3fs.S3FileSystem
    config = {"connect_timeout": connect_timeout, "read_timeout": read_timeout}
    if retries_off:
        config["retries"] = {"total_max_attempts": 1, "mode": "standard"}
    return cls(endpoint_url=endpoint, key=key, secret=secret, client_kwargs={"region_name": REGION},
               config_kwargs=config, skip_instance_cache=True)

