"""A real HTTP/1.1 server on 127.0.0.1 whose answers each test scripts.

The handler runs ``server.script(handler)`` for every POST, with helpers to write a
JSON head, SSE chunks (chunked encoding) and to wait without sleeping past the test
(``handler.wait``). The server counts the connections open, so a test can wait until
the client closed them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Handler", "Server", "serving"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        with self.server.changed:
            self.server.open += 1
            self.server.changed.notify_all()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.changed:
                self.server.open -= 1
                self.server.changed.notify_all()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.body = self.rfile.read(int(self.headers["content-length"]))
        try:
            self.server.script(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up: what a timeout does

    # -- what a script writes ---------------------------------------------------------

    def json_head(self, size: int) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(size))
        self.end_headers()

    def stream_head(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def wait(self, seconds: float) -> bool:
        """Wait, unless the test is over; whether it is."""
        return self.server.release.wait(seconds)


class Server(ThreadingHTTPServer):
    """Answers each POST with ``script(handler)``; counts the connections open."""

    daemon_threads = True
    open: int
    changed: threading.Condition
    release: threading.Event
    script: Callable[[Handler], None]

    def url(self, path: str = "") -> str:
        """``http://127.0.0.1:PORT`` followed by ``path``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def wait_all_closed(self, timeout: float = 5.0) -> bool:
        """Wait until the client closed every connection; whether it did."""
        with self.changed:
            return self.changed.wait_for(lambda: self.open == 0, timeout)


@contextmanager
def serving() -> Iterator[Server]:
    """A :class:`Server` on 127.0.0.1 for the ``with`` block (``script`` set by the test)."""
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.open = 0
    httpd.changed = threading.Condition()
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
