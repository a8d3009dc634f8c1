"""A loopback OpenAI-compatible upstream that sees its clients go away.

An asyncio server on 127.0.0.1 (in a thread) answering ``POST /v1/chat/completions``:

* not streamed: a ``chat.completion`` saying ``"upstream says hi"``; with the model
  ``"slow"`` it first waits for :attr:`Upstream.release` (a client that leaves before
  is recorded);
* with the model ``"unauthorized"``: a 401 whose message echoes the request's headers
  (the provider key included), as careless servers do;
* streamed: a ``chat.completion.chunk`` per word of :attr:`Upstream.words`, one every
  ``interval`` seconds (``"slow"``: every 50 ms, 400 words); a client that closes the
  connection before the last one is recorded.

:attr:`Upstream.dropped` is set (a :class:`threading.Event`) when a client went away
before its answer ended: the observation the gateway's cancellation tests wait for.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

__all__ = ["Upstream"]

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
    body = {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }
    data = b"data: " + json.dumps(body).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Connection(asyncio.Protocol):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # an answer is being written
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.upstream.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.upstream.connections.discard(self)
        if self.busy:
            self.upstream.dropped.set()
        if self.task is not None:
            self.task.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        match = _LENGTH.search(self.buffer[:end])
        size = int(match.group(1)) if match else 0
        if len(self.buffer) < end + 4 + size:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        body = json.loads(bytes(self.buffer[end + 4 : end + 4 + size]))
        del self.buffer[: end + 4 + size]
        if body.get("model") == "unauthorized":  # a 401 echoing the key it was sent
            echoed = json.dumps({"error": {"message": f"bad key in: {head}"}}).encode()
            self.write(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(echoed), echoed)
            )
            return
        self.upstream.requests.append(body)
        self.upstream.received.set()
        self.busy = True
        self.task = asyncio.get_running_loop().create_task(self.answer(body))

    async def answer(self, body: dict[str, Any]) -> None:
        slow = body.get("model") == "slow"
        if body.get("stream"):
            await self.stream(slow)
        else:
            if slow:
                await self.upstream.wait_release()
            text = json.dumps(
                {
                    "id": "chatcmpl-up",
                    "object": "chat.completion",
                    "created": 1,
                    "model": "up",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "upstream says hi"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
                }
            ).encode()
            self.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(text), text)
            )
        self.busy = False

    async def stream(self, slow: bool) -> None:
        words = self.upstream.words * (100 if slow else 1)
        self.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        self.write(_chunk({"role": "assistant", "content": ""}))
        for i, word in enumerate(words):
            self.write(_chunk({"content": word if i == 0 else " " + word}))
            if slow:
                await asyncio.sleep(0.05)
            if self.transport is None:
                return
        self.write(_chunk({}, "stop"))
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": len(words),
            "total_tokens": 5 + len(words),
        }
        self.write(_chunk({}, None, usage))
        data = b"data: [DONE]\n\n"
        self.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)


class Upstream:
    """The server (see the module docstring); ``url`` is its ``.../v1`` base URL."""

    def __init__(self) -> None:
        self.words = ["upstream", "streams", "words"]
        self.requests: list[dict[str, Any]] = []
        self.connections: set[_Connection] = set()
        self.dropped = threading.Event()
        self.received = threading.Event()
        self._release: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._release = asyncio.Event()
            self._server = await self._loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
            ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def wait_release(self) -> None:
        """Wait until :meth:`release` is called."""
        assert self._release is not None
        await self._release.wait()

    def release(self) -> None:
        """Let ``slow`` non-streamed answers go."""
        assert self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def close(self) -> None:
        """Stop the server and close every connection it holds."""

        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for connection in list(self.connections):
                connection.busy = False  # closing it ourselves is no client going away
                if connection.transport is not None:
                    connection.transport.close()
            await self._server.wait_closed()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
