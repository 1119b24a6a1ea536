"""A threaded HTTP/1.1 server on 127.0.0.1 that runs the sandbox's WSGI app.

http.server rather than wsgiref: wsgiref speaks HTTP/1.0 (a new connection per request, which
halves the request rate) and cannot close a connection without answering, which the `drop`
and `lost` faults need.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runner.sandbox.app import DropConnection
from runner.sandbox.emulator import Sandbox

IDLE_TIMEOUT_S = 30.0  # a keep-alive connection idle this long is closed


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_TIMEOUT_S

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[name] = value
        try:
            reply = self.server.sandbox.app.handle(environ)
        except DropConnection:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        # One write for head and body: two small writes meet Nagle's algorithm and the
        # client's delayed ACK, which costs 40 ms a request on loopback.
        head = [
            f"HTTP/1.1 {reply.status_line}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
        ]
        head += [f"{name}: {value}" for name, value in reply.headers]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many clients open a burst of connections at once; the default backlog of 5 drops some.
    request_queue_size = 128

    def __init__(self, sandbox: Sandbox, port: int, verbose: bool) -> None:
        self.sandbox = sandbox
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Server:
    """A running sandbox server; `url` is its base URL ("http://127.0.0.1:PORT")."""

    def __init__(self, sandbox: Sandbox, port: int = 0, *, verbose: bool = False) -> None:
        self.sandbox = sandbox
        self._httpd = _Server(sandbox, port, verbose)
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        sandbox.base_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )

    def start(self) -> Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open connection, and stop the job worker."""
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self.sandbox.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve(sandbox: Sandbox, port: int = 0, *, verbose: bool = False) -> Iterator[Server]:
    """Serve `sandbox` on 127.0.0.1 (port 0: a free one) in a background thread."""
    server = Server(sandbox, port, verbose=verbose).start()
    try:
        yield server
    finally:
        server.stop()
