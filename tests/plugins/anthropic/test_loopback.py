"""The real transport path: a stdlib Messages API server on 127.0.0.1, no mocks.

Sync and async: a chat and two streams share one pooled connection (each stream is read
to its end after ``message_stop``), and pings keep a slow stream within its ``idle``
timeout while silence of the same length times out.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llmplug import ChatMessage, ChatResponse
from llmplug.errors import APITimeoutError
from llmplug.http import Timeout
from llmplug_anthropic import AnthropicLLM

from . import wire_data as w

CANARY = "sk-ant-CANARY-loopback"
HI = [ChatMessage(role="user", content="Hi")]
MODES = ["sync", "async"]
GAP = 0.45  # seconds between the first chunk and the rest of the answer


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
        self.server.keys.append(self.headers.get("x-api-key"))
        if not body.get("stream"):
            data = json.dumps(w.TEXT).encode()
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
        head, tail = w.TEXT_STREAM[:4], w.TEXT_STREAM[4:]
        for event in head:
            self.chunk(w.sse([event]))
        if body["model"] == "pings":
            for _ in range(5):
                time.sleep(GAP / 5)
                self.chunk(w.sse([w.PING]))
        elif body["model"] == "silent":
            time.sleep(GAP)
        for event in tail:
            self.chunk(w.sse([event]))
        self.chunk(b"")  # the chunked terminator

    def chunk(self, data: bytes) -> None:
        if self.close_connection:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError:  # the client gave up (the timeout test)
            self.close_connection = True


class Server(ThreadingHTTPServer):
    connections = 0
    keys: list[str | None]


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.keys = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def llm_for(server: Server, model: str = "claude-haiku-5-5", **fields: Any) -> AnthropicLLM:
    host, port = server.server_address[:2]
    return AnthropicLLM(base_url=f"http://{host!s}:{port}", api_key=CANARY, model=model, **fields)


async def stream(llm: AnthropicLLM, mode: str, received: list[str]) -> list[ChatResponse]:
    chunks: list[ChatResponse] = []
    if mode == "sync":
        for chunk in llm.stream_chat(HI):
            chunks.append(chunk)
            received.append(chunk.delta or "")
    else:
        async for chunk in await llm.astream_chat(HI):
            chunks.append(chunk)
            received.append(chunk.delta or "")
    return chunks


@pytest.mark.parametrize("mode", MODES)
async def test_chat_and_streams_share_one_connection(
    server: Server, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = llm_for(server)
    with caplog.at_level(logging.DEBUG):
        reply = llm.chat(HI) if mode == "sync" else await llm.achat(HI)
        first = await stream(llm, mode, [])
        second = await stream(llm, mode, [])
    assert reply.message.content == "Hello! How can I help you today?"
    assert [c.delta for c in first] == ["Hello", "!", ""]
    assert second[-1].additional_kwargs["stop_reason"] == "end_turn"
    assert server.connections == 1  # pooled, and streams drained after message_stop
    assert server.keys == [CANARY] * 3
    assert all(CANARY not in record.getMessage() for record in caplog.records)
    await llm.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_pings_keep_a_slow_stream_alive(server: Server, mode: str) -> None:
    # sync reads wait max(rest of first_event, idle); async times idle exactly: either
    # way a gap of GAP seconds is too long, a ping every GAP/5 seconds is not
    timeout = Timeout(first_event=0.3, idle=0.25)
    pinging = llm_for(server, "pings", timeout=timeout, max_retries=0)
    received: list[str] = []
    chunks = await stream(pinging, mode, received)
    assert received == ["Hello", "!", ""]
    assert chunks[-1].usage is not None
    await pinging.aclose()

    silent = llm_for(server, "silent", timeout=timeout, max_retries=0)
    received = []
    with pytest.raises(APITimeoutError, match=r"Timeout\.idle"):
        await stream(silent, mode, received)
    assert received == ["Hello"]
    await silent.aclose()
