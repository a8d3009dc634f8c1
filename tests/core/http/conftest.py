"""A tiny provider speaking a simple JSON protocol, and the helpers every HTTP test uses.

The protocol: ``POST /chat`` with ``{"model", "messages", "stream", **options}``;
answers ``{"text": ..., "usage": {"in": n, "out": m}}``, or for a stream SSE (or
NDJSON) events ``{"delta": "..."}``, an ``{"end": true}`` event for NDJSON, and
``{"error": {"type", "message"}}`` for an in-stream error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Literal

import pytest

from llmplug import ChatMessage, ChatResponse, LLMMetadata, MessageRole, Usage
from llmplug.errors import ContextWindowExceededError, InvalidOptionError
from llmplug.http import STREAM_END, ChunkResult, HTTPChatLLM, HTTPRequest, ServerEvent
from llmplug.http.testing import FakeClock, MockServer, Reply
from llmplug.testing import isolated_registry

from .providers import PROVIDERS, Provider, provider_named

CANARY = "sk-CANARY-7f3a9e1d5c"
HI = [ChatMessage(role="user", content="Hi")]


class EchoLLM(HTTPChatLLM):
    """The test provider."""

    key_env: ClassVar[str | None] = "LLMPLUG_TEST_KEY"

    base_url: str = "https://api.example.test/v1"
    model: str = "echo-1"
    temperature: float | None = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True, model_name=self.model)

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        unknown = set(options) - {"temperature", "header"}
        if unknown:
            raise InvalidOptionError(f"unknown option(s) {sorted(unknown)}", option=None)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role.value, "content": m.content} for m in messages],
            "stream": stream,
        }
        temperature = options.get("temperature", self.temperature)
        if temperature is not None:
            body["temperature"] = temperature
        headers = {"x-test": options["header"]} if "header" in options else {}
        return HTTPRequest("/chat", json=body, headers=headers)

    def parse_response(self, data: Any) -> ChatResponse:
        usage = data.get("usage") or {}
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=data["text"]),
            usage=Usage(input_tokens=usage.get("in", 0), output_tokens=usage.get("out", 0)),
        )

    def start_stream(self) -> Any:
        return {"text": ""}

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        if event.event == "ping":
            return None
        data = event.json()
        if "error" in data:
            raise self.error_from_body(data)
        if data.get("end"):
            return STREAM_END
        delta = data["delta"]
        state["text"] += delta
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=state["text"]), delta=delta
        )

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        if "context length" in message:
            return ContextWindowExceededError
        return None


class NDJSONEchoLLM(EchoLLM):
    stream_format: ClassVar[Literal["sse", "ndjson"]] = "ndjson"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LLMPLUG_TEST_KEY", raising=False)
    with isolated_registry():
        yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Provider:
    """Each in-repo HTTP provider plugin in turn (openai, anthropic), with no key in the env."""
    found = provider_named(request.param)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLMPLUG_MODEL", "LLMPLUG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return found


Make = Callable[..., tuple[EchoLLM, MockServer]]


@pytest.fixture
def make(clock: FakeClock) -> Make:
    """``make(*replies, **fields) -> (llm, server)``: an EchoLLM answered by a MockServer."""

    def factory(*replies: Reply, cls: type[EchoLLM] = EchoLLM, **fields: Any) -> Any:
        server = MockServer(*replies)
        fields.setdefault("api_key", CANARY)
        fields.setdefault("clock", clock)
        llm = cls(transport=server.transport(), async_transport=server.async_transport(), **fields)
        return llm, server

    return factory


async def call(llm: EchoLLM, mode: str, messages: Any = HI, **options: Any) -> list[ChatResponse]:
    """The response of ``chat``/``achat``, or every chunk of ``stream_chat``/``astream_chat``."""
    if mode == "chat":
        return [llm.chat(messages, **options)]
    if mode == "achat":
        return [await llm.achat(messages, **options)]
    if mode in ("sync", "stream_chat"):
        return list(llm.stream_chat(messages, **options))
    gen = await llm.astream_chat(messages, **options)
    return [chunk async for chunk in gen]


async def deltas_into(received: list[str], llm: EchoLLM, mode: str) -> None:
    """Stream, appending each delta to ``received`` as it arrives (kept if it raises)."""
    if mode == "sync":
        for chunk in llm.stream_chat(HI):
            received.append(chunk.delta or "")
    else:
        async for chunk in await llm.astream_chat(HI):
            received.append(chunk.delta or "")


@pytest.fixture
def run() -> Callable[..., Any]:
    """``await run(llm, mode, ...)``: see :func:`call`."""
    return call
