"""Loopback servers that fail in scripted ways, and fixtures for the routing tests.

:class:`Loopback` is a stdlib HTTP server on 127.0.0.1 (in a thread) speaking OpenAI's
Chat Completions (``POST /v1/chat/completions``) and Anthropic's Messages
(``POST /v1/messages``). Each model name has a script: the acts it plays for its next
requests, in order (answer, HTTP error with headers, hang, drop mid-stream); once the
script is used up, it answers ``"<model> says hi"``. Every request is logged as
``(model, stream)`` in arrival order, so a test asserts the exact sequence of attempts.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.http.testing import FakeClock
from llmplug.routing import RoutingState
from llmplug.testing import fake_entry_point, isolated_registry, isolated_routing

CANARY = "sk-CANARY-routing-5d1e"
HI = [ChatMessage(role="user", content="Hi")]
MODES = ["sync", "async"]


@dataclass
class Act:
    """What the server does for one request.

    Attributes:
        kind: ``"ok"``, ``"status"`` (an HTTP error), ``"hang"`` (wait for the release,
            then answer), ``"drop"`` (stream ``chunks`` chunks, then cut the connection),
            ``"tool"`` (call ``tool`` with ``arguments``).
    """

    kind: str = "ok"
    text: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    chunks: int = 1
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


def ok(text: str) -> Act:
    return Act("ok", text=text)


def status(code: int, /, *, retry_after: float | None = None, **error: Any) -> Act:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    body = {"message": f"scripted {code}", "type": "server_error", **error}
    return Act("status", status=code, headers=headers, error=body)


def hang() -> Act:
    return Act("hang")


def drop(after: int = 1, text: str = "one two three four") -> Act:
    return Act("drop", text=text, chunks=after)


def tool(name: str, /, **arguments: Any) -> Act:
    return Act("tool", tool=name, arguments=arguments)


class Loopback(ThreadingHTTPServer):
    """The scripted server (see the module docstring)."""

    daemon_threads = True
    request_queue_size = 256  # concurrent callers open many connections at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scripts: dict[str, deque[Act]] = {}
        self.log: list[tuple[str, bool]] = []
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str | None] = []
        self.release = threading.Event()
        self.arrived = threading.Event()  # set by the first request
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out (the hang tests) closed its end: nothing to report
        pass

    def script(self, model: str, *acts: Act) -> None:
        """Queue ``acts`` for ``model``'s next requests."""
        with self.lock:
            self.scripts.setdefault(model, deque()).extend(acts)

    def next_act(self, model: str) -> Act:
        with self.lock:
            queue = self.scripts.get(model)
            return queue.popleft() if queue else Act("ok")

    def models(self) -> list[str]:
        """The model of every request so far, in arrival order."""
        return [model for model, _ in self.log]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Loopback

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        model = body["model"]
        anthropic = self.path.endswith("/messages")
        with self.server.lock:
            self.server.log.append((model, bool(body.get("stream"))))
            self.server.arrived.set()
            self.server.bodies.append(body)
            self.server.keys.append(
                self.headers.get("x-api-key") if anthropic else self.headers.get("authorization")
            )
        act = self.server.next_act(model)
        if act.kind == "hang":
            self.server.release.wait(10)
            act = Act("ok")
        if act.kind == "status":
            self._json({"error": act.error}, act.status, act.headers)
            return
        text = act.text if act.text is not None else f"{model} says hi"
        if anthropic:
            self._json(_anthropic_message(model, text, act))
        elif not body.get("stream"):
            self._json(_openai_completion(model, text, act))
        else:
            self._openai_stream(model, text, act)

    def _json(self, data: Any, code: int = 200, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _openai_stream(self, model: str, text: str, act: Act) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        words = text.split(" ")
        if act.kind == "drop" and act.chunks == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # headers only, no chunk
            return
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            self._chunk(_sse(_openai_chunk(model, {"content": piece})))
            if act.kind == "drop" and i + 1 >= act.chunks:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-body, no terminator
                return
        self._chunk(_sse(_openai_chunk(model, {}, finish="stop")))
        usage_chunk = _openai_chunk(model, {})
        usage_chunk["choices"] = []
        usage_chunk["usage"] = _openai_usage(len(words))
        self._chunk(_sse(usage_chunk))
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def _openai_usage(words: int) -> dict[str, int]:
    return {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words}


def _openai_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _openai_completion(model: str, text: str, act: Act) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish = "stop"
    if act.kind == "tool":
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{act.tool}",
                    "type": "function",
                    "function": {"name": act.tool, "arguments": json.dumps(act.arguments)},
                }
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _openai_usage(len(text.split(" "))),
    }


def _anthropic_message(model: str, text: str, act: Act) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    stop = "end_turn"
    if act.kind == "tool":
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_{act.tool}",
                "name": act.tool,
                "input": act.arguments,
            }
        ]
        stop = "tool_use"
    return {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": len(text.split(" "))},
    }


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[Loopback]:
    httpd = Loopback()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Only core's providers, the routes, openai and anthropic; no config, keys: the canary."""
    for name in ("LLMPLUG_MODEL", "LLMPLUG_PLUGINS", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    monkeypatch.delenv("LLMPLUG_CONFIG", raising=False)
    eps = [
        fake_entry_point("openai", "llmplug_openai", dist="llmplug-openai"),
        fake_entry_point("anthropic", "llmplug_anthropic", dist="llmplug-anthropic"),
    ]
    with isolated_registry(eps, with_routes=True):
        yield


@pytest.fixture(autouse=True)
def routing() -> Iterator[RoutingState]:
    """A fresh routing state (real clock) for each test."""
    with isolated_routing() as state:
        yield state


@pytest.fixture
def clock(routing: RoutingState) -> Iterator[FakeClock]:
    """A fresh routing state on a fake clock (cooldowns and limits without waiting)."""
    fake = FakeClock()
    with isolated_routing(fake):
        yield fake


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """``config_file(toml)``: write the config file and point ``LLMPLUG_CONFIG`` at it."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("LLMPLUG_CONFIG", str(path))
        return path

    return write


def openai(server: Loopback, model: str, **options: Any) -> str:
    """A config string for ``model`` on the loopback server (no retries unless asked)."""
    options.setdefault("max_retries", 0)
    query = "&".join(f"{k}={v}" for k, v in {"base_url": server.url, **options}.items())
    return f"openai:{model}?{query}"


async def call(llm: Any, endpoint: str, messages: Any = HI, **options: Any) -> list[Any]:
    """The response of a plain endpoint, or every chunk of a streaming one, as a list."""
    if endpoint in ("chat", "complete"):
        arg = messages if endpoint == "chat" else "Hi"
        return [getattr(llm, endpoint)(arg, **options)]
    if endpoint in ("achat", "acomplete"):
        arg = messages if endpoint == "achat" else "Hi"
        return [await getattr(llm, endpoint)(arg, **options)]
    if endpoint in ("stream_chat", "stream_complete"):
        arg = messages if endpoint == "stream_chat" else "Hi"
        return list(getattr(llm, endpoint)(arg, **options))
    arg = messages if endpoint == "astream_chat" else "Hi"
    gen = await getattr(llm, endpoint)(arg, **options)
    return [chunk async for chunk in gen]


def text_of(chunks: list[Any]) -> str:
    """The answer's text: a response's, or a stream's deltas joined."""
    if len(chunks) == 1 and chunks[0].delta is None:
        only = chunks[0]
        return str(only.message.content if hasattr(only, "message") else only.text)
    return "".join(c.delta or "" for c in chunks)


@pytest.fixture
async def closing() -> Any:
    """``closing(route)`` returns the route, closed (sync and async clients) after the test."""
    opened: list[Any] = []

    def track(llm: Any) -> Any:
        opened.append(llm)
        return llm

    yield track
    for llm in opened:
        await llm.aclose()


@pytest.fixture
def run() -> Callable[..., Any]:
    """``await run(llm, endpoint)``: see :func:`call`."""
    return call
