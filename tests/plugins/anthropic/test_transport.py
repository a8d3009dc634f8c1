"""End to end through llmplug's HTTP runtime, with httpx2's MockTransport as the server.

``llmplug.load(...)`` -> ``chat`` / ``achat`` / ``stream_chat`` / ``astream_chat`` ->
the runtime -> this plugin's pure methods -> a mock server that validates each request
body with the official SDK's types and answers with documented bodies and SSE streams.
No network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

import llmplug
from llmplug import (
    CacheControl,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
    VideoBlock,
)
from llmplug.errors import ContextWindowExceededError, UnsupportedContentError
from llmplug.http.testing import Body

from . import wire_data as w

ENDPOINTS = ["chat", "achat", "stream_chat", "astream_chat"]
HI = [ChatMessage(role="user", content="Hi")]


class Server:
    """A Messages API server: validates each body with the SDK, answers JSON or SSE.

    Every response body records whether the client closed it (``open_responses``).
    """

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self.requests: list[Any] = []
        self.bodies: list[dict[str, Any]] = []
        self.responses: list[Any] = []
        self.message: Any = w.TEXT
        self.events: list[Any] = w.TEXT_STREAM
        self.status = 200

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        body = json.loads(request.content)
        self.bodies.append(body)
        self.sdk.check_request(body)
        if self.status == 200 and body.get("stream"):
            content_type, data = "text/event-stream", w.sse(self.events)
        else:
            content_type, data = "application/json", json.dumps(self.message).encode()
        # a streamed body, in two pieces, as a network would deliver it
        stream = Body([data[: len(data) // 2], data[len(data) // 2 :]])
        self.responses.append(stream)
        headers = {"content-type": content_type, "request-id": "req_018EeWyXxfu5pfWkrYcMdjWG"}
        return httpx2.Response(self.status, headers=headers, stream=stream, request=request)

    @property
    def open_responses(self) -> list[Any]:
        """Response bodies the client did not close (leaked connections, for real)."""
        return [body for body in self.responses if not body.closed]

    def transports(self) -> dict[str, Any]:
        mock = httpx2.MockTransport(self)
        return {"transport": mock, "async_transport": mock}


@pytest.fixture
def server(sdk: Any) -> Iterator[Server]:
    server = Server(sdk)
    yield server
    assert server.open_responses == [], "a response was left open"


async def call(llm: Any, endpoint: str, messages: Any = HI, **options: Any) -> list[ChatResponse]:
    """Call one of the four endpoints; the response, or every chunk of the stream."""
    if endpoint == "chat":
        return [llm.chat(messages, **options)]
    if endpoint == "stream_chat":
        return list(llm.stream_chat(messages, **options))
    try:
        if endpoint == "achat":
            return [await llm.achat(messages, **options)]
        chunks = await llm.astream_chat(messages, **options)
        return [chunk async for chunk in chunks]
    finally:
        await llm.aclose()  # the connections of this test's event loop


def load(server: Server, spec: str = "anthropic", **options: Any) -> Any:
    options.setdefault("api_key", "sk-ant-test")
    return llmplug.load(spec, **server.transports(), **options)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_anthropic(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server, "anthropic:claude-sonnet-4-5?temperature=0")
    responses = await call(llm, endpoint)
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.headers["content-type"].startswith("application/json")
    body = server.bodies[0]
    assert (body["model"], body["max_tokens"], body["temperature"]) == (
        "claude-sonnet-4-5",
        8192,
        0,
    )
    last = responses[-1]
    if "stream" in endpoint:
        assert body["stream"] is True
        assert request.headers["accept"] == "text/event-stream"
        assert "".join(r.delta or "" for r in responses) == "Hello!"
        assert last.message.content == "Hello!"
        assert last.usage == Usage(input_tokens=12, output_tokens=15)
    else:
        assert "stream" not in body
        assert last.message.content == "Hello! How can I help you today?"
        assert last.usage == Usage(input_tokens=12, output_tokens=6)
    assert last.additional_kwargs["stop_reason"] == "end_turn"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_system_prompt_and_per_call_options(
    registry: Any, server: Server, endpoint: str
) -> None:
    llm = load(server, "anthropic:claude-sonnet-4-5?temperature=0.9&system_prompt=Be brief.")
    await call(llm, endpoint, temperature=0.0, max_tokens=20, model="claude-opus-4-6")
    body = server.bodies[0]
    assert body["system"] == "Be brief."
    assert (body["temperature"], body["max_tokens"], body["model"]) == (0.0, 20, "claude-opus-4-6")
    assert llm.temperature == 0.9


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_thinking_and_tool_calls(registry: Any, server: Server, endpoint: str) -> None:
    server.events = w.THINKING_TOOL_STREAM
    server.message = w.message(w.THINKING["content"][0], *w.TOOL_USE["content"], stop="tool_use")
    llm = load(server, "anthropic:claude-sonnet-4-5?thinking_budget=1024")
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    last = (await call(llm, endpoint, tools=tools, tool_choice="auto"))[-1]
    assert server.bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert server.bodies[0]["tool_choice"] == {"type": "auto"}
    thinking = [b for b in last.message.blocks if isinstance(b, ThinkingBlock)]
    assert thinking[0].signature == w.SIGNATURE
    (tool_call,) = [b for b in last.message.blocks if isinstance(b, ToolCallBlock)]
    assert tool_call.tool_name == "get_weather"
    assert isinstance(tool_call.tool_kwargs, dict)
    assert last.additional_kwargs["stop_reason"] == "tool_use"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_tool_loop_round_trip(registry: Any, server: Server, endpoint: str) -> None:
    # the reply, sent back with the tool's result, is a body the API takes (checked)
    server.events = w.THINKING_TOOL_STREAM
    server.message = w.message(w.THINKING["content"][0], *w.TOOL_USE["content"], stop="tool_use")
    llm = load(server, "anthropic:claude-sonnet-4-5")
    reply = (await call(llm, endpoint))[-1].message
    (tool_call,) = [b for b in reply.blocks if isinstance(b, ToolCallBlock)]
    result = ChatMessage(
        role="tool", content="18C", additional_kwargs={"tool_call_id": tool_call.tool_call_id}
    )
    await call(llm, endpoint, [*HI, reply, result])
    sent = server.bodies[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0]["signature"] == w.SIGNATURE
    assert sent[2]["content"][0]["tool_use_id"] == tool_call.tool_call_id


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_citations_and_cache(registry: Any, server: Server, endpoint: str) -> None:
    server.events, server.message = w.CITATION_STREAM, w.CITATIONS
    llm = load(server)
    source = CitableBlock(
        title="Handbook", source="https://example.com/handbook", content="The grass is green."
    )
    cache = CachePoint(cache_control=CacheControl(type="ephemeral", ttl="1h"))
    question = ChatMessage(role="user", blocks=[source, cache, TextBlock(text="Grass colour?")])
    last = (await call(llm, endpoint, [question]))[-1]
    part = server.bodies[0]["messages"][0]["content"][0]
    assert part["type"] == "search_result"
    assert part["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    citations = [b for b in last.message.blocks if isinstance(b, CitationBlock)]
    assert citations[0].source == "https://example.com/handbook"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_every_block_type(registry: Any, server: Server, endpoint: str) -> None:
    # one conversation holding every block the API takes; the server checks the body
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    cache = CachePoint(cache_control=CacheControl(type="ephemeral"))
    messages = [
        ChatMessage(role="system", blocks=[TextBlock(text="Be brief."), cache]),
        ChatMessage(
            role="user",
            blocks=[
                TextBlock(text="Look:"),
                ImageBlock(image=png),
                ImageBlock(url="https://example.com/cat.jpg"),
                DocumentBlock(data=b"%PDF-1.4 tiny", document_mimetype="application/pdf"),
                DocumentBlock(url="https://example.com/paper.pdf"),
                DocumentBlock(data=b"plain notes", title="notes"),
                CitableBlock(title="Handbook", source="h", content="Grass is green."),
                cache,
            ],
        ),
        ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="Hm.", signature=w.SIGNATURE),
                ThinkingBlock.from_redacted(w.REDACTED),
                TextBlock(text="Checking."),
                ToolCallBlock(tool_call_id="toolu_1", tool_name="look", tool_kwargs={"x": 1}),
            ],
        ),
        ChatMessage(role="tool", content="done", additional_kwargs={"tool_call_id": "toolu_1"}),
        ChatMessage(role="user", content="And?"),
    ]
    await call(load(server, "anthropic:claude-sonnet-4-5"), endpoint, messages)
    sent = server.bodies[0]
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}
    kinds = [[part["type"] for part in m["content"]] for m in sent["messages"]]
    assert kinds == [
        ["text", "image", "image", "document", "document", "document", "search_result"],
        ["thinking", "redacted_thinking", "text", "tool_use"],
        ["tool_result", "text"],
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_cache_usage(registry: Any, server: Server, endpoint: str) -> None:
    server.events, server.message = w.CACHED_STREAM, w.CACHED
    last = (await call(load(server), endpoint))[-1]
    assert last.usage is not None
    assert (last.usage.cached_tokens, last.usage.cache_creation_tokens) == (1024, 188086)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_headers(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(
        server,
        "anthropic?betas=context-1m-2025-08-07",
        extra_headers={"X-Instance": "1"},
    )
    await call(llm, endpoint, extra_headers={"X-Call": "2"})
    headers = server.requests[0].headers
    assert headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert (headers["x-instance"], headers["x-call"]) == ("1", "2")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_base_url(registry: Any, server: Server, endpoint: str) -> None:
    await call(load(server, "anthropic?base_url=http://127.0.0.1:4000/"), endpoint)
    assert str(server.requests[0].url) == "http://127.0.0.1:4000/v1/messages"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_unsupported_block_sends_nothing(
    registry: Any, server: Server, endpoint: str
) -> None:
    video = [ChatMessage(role="user", blocks=[VideoBlock(url="https://example.com/v.mp4")])]
    with pytest.raises(UnsupportedContentError) as caught:
        await call(load(server), endpoint, video)
    assert (caught.value.provider, caught.value.block_type) == ("anthropic", "video")
    assert server.requests == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_context_window_exceeded(registry: Any, server: Server, endpoint: str) -> None:
    server.status, server.message = 400, w.CONTEXT_ERROR
    with pytest.raises(ContextWindowExceededError) as caught:
        await call(load(server), endpoint)
    assert caught.value.status_code == 400
    assert caught.value.request_id == "req_018EeWyXxfu5pfWkrYcMdjWG"
    assert "sk-ant-test" not in str(caught.value)


async def test_complete_is_derived(registry: Any, server: Server) -> None:
    llm = load(server)
    assert llm.complete("Hi").text == "Hello! How can I help you today?"
    assert (await llm.acomplete("Hi")).text == "Hello! How can I help you today?"
    assert [c.delta for c in llm.stream_complete("Hi")] == ["Hello", "!", ""]
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Hi"}]
    await llm.aclose()


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_consumer_stops_early(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server)
    if endpoint == "stream_chat":
        chunks = llm.stream_chat(HI)
        first = next(chunks)
        chunks.close()
    else:
        achunks = await llm.astream_chat(HI)
        first = await anext(achunks)
        await achunks.aclose()
        await llm.aclose()
    assert first.delta == "Hello"
    # the server fixture asserts the response was closed
