"""A loopback OpenAI-compatible stub for the client benchmarks: canned answers, little CPU.

``POST /v1/chat/completions`` answers a ``chat.completion`` JSON body, or, when the
request body asks for ``"stream": true``, a chunked ``text/event-stream`` of ``--tokens``
``chat.completion.chunk`` events (one per HTTP chunk, as OpenAI sends them), a finish
chunk, a usage chunk and ``data: [DONE]``. Both answers are built once at start-up and
written with a single ``write`` per request, so the server does far less work per request
than any client; ``GET /stats`` reports its own CPU time and request count so the
benchmark can show that. HTTP/1.1 keep-alive; requests may be pipelined.

Run by ``bench_openai.py`` in a separate process::

    python bench/_stub_server.py --tokens 256     # prints the port, then serves

It binds 127.0.0.1 on a free port, prints the port on stdout, and exits when stdin
is a pipe that closes (the benchmark holds it: the stub never outlives it) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import stat
import sys
import time

MODEL = "gpt-4o-mini-2024-07-18"
CREATED = 1_763_000_000
COMPLETION_ID = "chatcmpl-Bench0123456789abcdefghijklmn"
FINGERPRINT = "fp_560af6e559"
# the request asks for a stream: the SDK and httpx2 write `"stream":true` or `"stream": true`
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


def tokens(n: int) -> list[str]:
    """``n`` word-sized tokens of plain English (what a reply streams)."""
    words = ("The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while")
    return [(" " if i else "") + words[i % len(words)] for i in range(n)]


def completion(n: int) -> dict[str, object]:
    """A non-streaming ``chat.completion`` body whose reply is ``n`` tokens."""
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(tokens(n)),
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage(n),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def usage(n: int) -> dict[str, object]:
    """The usage object OpenAI reports for a short prompt and an ``n``-token reply."""
    return {
        "prompt_tokens": 12,
        "completion_tokens": n,
        "total_tokens": 12 + n,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chunk(delta: dict[str, object], finish: str | None = None, **extra: object) -> bytes:
    """One ``chat.completion.chunk`` event as OpenAI encodes it (compact JSON)."""
    body: dict[str, object] = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
        **extra,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream_events(n: int) -> list[bytes]:
    """The SSE events of a streamed ``n``-token reply with usage, ending in ``[DONE]``."""
    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": text}) for text in tokens(n)]
    events.append(chunk({}, "stop"))
    last = json.loads(chunk({})[6:])
    last["choices"] = []
    last["usage"] = usage(n)
    events.append(b"data: " + json.dumps(last, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _head(status: str, content_type: str, length: int | None) -> bytes:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"HTTP/1.1 {status}\r\ndate: Mon, 17 Nov 2025 12:00:00 GMT\r\n"
        f"content-type: {content_type}\r\n{framing}\r\n"
        "x-request-id: req_bench0123456789\r\nopenai-processing-ms: 1\r\n\r\n"
    ).encode()


def responses(n: int) -> tuple[bytes, bytes]:
    """The whole non-streaming and streaming HTTP responses, bytes ready to write."""
    body = json.dumps(completion(n), separators=(",", ":")).encode()
    plain = _head("200 OK", "application/json", len(body)) + body
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in stream_events(n))
    streamed = _head("200 OK", "text/event-stream; charset=utf-8", None) + chunks + b"0\r\n\r\n"
    return plain, streamed


class Stats:
    """Requests served so far."""

    requests = 0


class _Connection(asyncio.Protocol):
    def __init__(self, plain: bytes, streamed: bytes) -> None:
        self.plain = plain
        self.streamed = streamed
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            match = _CONTENT_LENGTH.search(head)
            size = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + size:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + size])
            del self.buffer[: end + 4 + size]
            self.respond(head, body)

    def respond(self, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"GET /stats"):
            stats = json.dumps({"cpu": time.process_time(), "requests": Stats.requests}).encode()
            self.transport.write(_head("200 OK", "application/json", len(stats)) + stats)
        elif head.startswith(b"POST ") and b"/chat/completions " in head.split(b"\r\n", 1)[0]:
            Stats.requests += 1
            self.transport.write(self.streamed if _STREAM.search(body) else self.plain)
        else:
            self.transport.write(_head("404 Not Found", "text/plain", 9) + b"not found")
        if _CLOSE.search(head):
            self.transport.close()
            self.transport = None


async def serve(n: int) -> None:
    """Serve until stdin closes or SIGTERM/SIGINT arrives."""
    loop = asyncio.get_running_loop()
    plain, streamed = responses(n)
    server = await loop.create_server(
        lambda: _Connection(plain, streamed), "127.0.0.1", 0, backlog=2048
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    stdin = sys.stdin.fileno()

    def stdin_readable() -> None:
        if not os.read(stdin, 1):
            done.set()

    if stat.S_ISFIFO(os.fstat(stdin).st_mode):
        # the parent holds the other end of our stdin: when it dies, we read EOF and stop
        loop.add_reader(stdin, stdin_readable)
    async with server:
        await done.wait()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=256, help="tokens per reply")
    asyncio.run(serve(parser.parse_args().tokens))


if __name__ == "__main__":
    main()
