"""The real transport path: a stdlib HTTP server on 127.0.0.1, no mocks.

One chat, one stream, a dropped connection and a stalled stream, sync and async; the
connection is reused across calls (a stream is read to its end after ``[DONE]``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llmplug.errors import APITimeoutError, StreamInterruptedError
from llmplug.http import Timeout

from .conftest import CANARY, EchoLLM, deltas_into

MODES = ["sync", "async"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.auth.append(self.headers.get("authorization"))
        model = body["model"]
        if not body["stream"]:
            data = json.dumps({"text": f"hello from {model}"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.chunk(b'data: {"delta": "Hel"}\n\n')
        if model == "drop":
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # mid-body: no more chunks, no terminator
            return
        if model == "stall":
            self.server.release.wait(5)
            self.close_connection = True
            return
        self.chunk(b'data: {"delta": "lo"}\n\n')
        self.chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    connections = 0
    auth: list[str | None]
    release: threading.Event


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.auth = []
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


def llm_for(server: Server, model: str = "echo-1", **fields: Any) -> EchoLLM:
    host, port = server.server_address[:2]
    return EchoLLM(base_url=f"http://{host!s}:{port}/v1", api_key=CANARY, model=model, **fields)


@pytest.mark.parametrize("mode", MODES)
async def test_chat_and_stream_reuse_one_connection(
    server: Server, run: Any, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = llm_for(server)
    with caplog.at_level(logging.DEBUG):
        (reply,) = await run(model, "chat" if mode == "sync" else "achat")
        first = await run(model, mode)
        second = await run(model, mode)
    assert reply.message.content == "hello from echo-1"
    assert [c.delta for c in first] == ["Hel", "lo"]
    assert second[-1].message.content == "Hello"
    assert server.connections == 1  # pooled, and streams drained after [DONE]
    assert server.auth == [f"Bearer {CANARY}"] * 3
    assert all(CANARY not in r.getMessage() for r in caplog.records)
    await model.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_dropped_connection(server: Server, run: Any, mode: str) -> None:
    model = llm_for(server, "drop")
    with pytest.raises(StreamInterruptedError) as caught:
        await run(model, mode)
    assert caught.value.partial == "Hel"
    assert caught.value.__cause__ is not None
    await model.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_stalled_stream_times_out(server: Server, mode: str) -> None:
    # sync: the socket read timeout, max(rest of first_event, idle); async: the exact idle
    model = llm_for(server, "stall", timeout=Timeout(first_event=1.0, idle=0.2))
    received: list[str] = []
    with pytest.raises(APITimeoutError, match=r"Timeout\.idle"):
        await deltas_into(received, model, mode)
    assert received == ["Hel"]
    server.release.set()
    await model.aclose()
