"""A loopback OpenAI-compatible chat server for batch jobs: fast, scriptable by prompt.

``POST /v1/chat/completions`` answers ``"echo: <the last message's text>"`` with usage
(words in, words out), from an asyncio server in a thread of its own, so thousands of
rows go through it in seconds. Markers in the prompt script a row's fate:

* ``#400``: a 400 ``invalid_request_error`` (the row's own error);
* ``#401``: a 401 (every row would fail: the job stops);
* ``#503x<N>``: 503 for the first ``N`` requests with that prompt, then an answer;
* ``#429``: 429 with ``retry-after: 0`` every time.

:meth:`Stub.after` gives an event set once that many requests arrived (to kill a job
at a chosen point without sleeping).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from typing import Any

__all__ = ["Stub"]

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_FLAKY = re.compile(r"#503x(\d+)")


def _response(status: str, body: dict[str, Any], extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\n{extra}\r\n"
    )
    return head.encode() + data


def _error(status: str, message: str, kind: str, extra: str = "") -> bytes:
    return _response(status, {"error": {"message": message, "type": kind}}, extra)


def answer(text: str) -> str:
    """What the stub answers to a prompt (tests compare outputs with it)."""
    return f"echo: {text}"


class Stub:
    """The server (see the module docstring); ``with Stub() as stub: stub.url``."""

    def __init__(self) -> None:
        self.requests = 0
        self.seen: Counter[str] = Counter()
        self._events: list[tuple[int, threading.Event]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0
        self.connections: set[_Connection] = set()

    @property
    def url(self) -> str:
        """The base URL for ``openai:MODEL?base_url=...``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def spec(self, model: str = "stub", **options: Any) -> str:
        """A config string for the stub (no retries of its own unless asked)."""
        options.setdefault("max_retries", 0)
        query = "&".join(f"{k}={v}" for k, v in {"base_url": self.url, **options}.items())
        return f"openai:{model}?{query}"

    def after(self, count: int) -> threading.Event:
        """An event set once ``count`` requests have arrived."""
        event = threading.Event()
        with self._lock:
            if self.requests >= count:
                event.set()
            else:
                self._events.append((count, event))
        return event

    def __enter__(self) -> Stub:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await self._loop.create_server(
            lambda: _Connection(self), "127.0.0.1", 0, backlog=1024
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            # close the clients' connections too: the loop is closed next
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await asyncio.sleep(0)

    def respond(self, body: bytes) -> bytes:
        """The whole HTTP response to one request body."""
        with self._lock:
            self.requests += 1
            count = self.requests
            due = [event for n, event in self._events if n <= count]
            self._events = [(n, e) for n, e in self._events if n > count]
        for event in due:
            event.set()
        request = json.loads(body)
        text = str(request["messages"][-1]["content"])
        with self._lock:
            self.seen[text] += 1
            seen = self.seen[text]
        if "#401" in text:
            return _error("401 Unauthorized", "bad key", "invalid_request_error")
        if "#400" in text:
            return _error("400 Bad Request", "this row is refused", "invalid_request_error")
        if "#429" in text:
            return _error("429 Too Many Requests", "slow down", "rate_limit", "retry-after: 0\r\n")
        flaky = _FLAKY.search(text)
        if flaky and seen <= int(flaky.group(1)):
            return _error("503 Service Unavailable", "busy", "server_error")
        reply = answer(text)
        return _response(
            "200 OK",
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": 1,
                "model": request.get("model", "stub"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(text.split()),
                    "completion_tokens": len(reply.split()),
                    "total_tokens": len(text.split()) + len(reply.split()),
                },
            },
        )


class _Connection(asyncio.Protocol):
    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stub.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(bytes(self.buffer[:end]))
            size = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + size:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + size])
            del self.buffer[: end + 4 + size]
            self.transport.write(self.stub.respond(body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.stub.connections.discard(self)
