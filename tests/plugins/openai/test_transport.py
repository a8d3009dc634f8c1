"""End to end through llmplug's HTTP runtime, with httpx2's MockTransport as the server.

``llmplug.load(...)`` -> ``chat`` / ``achat`` / ``stream_chat`` / ``astream_chat`` ->
the runtime -> this plugin's pure methods -> a mock server that checks each request
body against the official OpenAPI spec and answers with documented bodies and SSE
streams. No network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

import llmplug
from llmplug import ChatMessage, ChatResponse, ToolCallBlock, Usage, VideoBlock
from llmplug.errors import ContextWindowExceededError, UnsupportedContentError
from llmplug.http.testing import Body

from .wire_data import CONTEXT_ERROR, TEXT, TEXT_STREAM, TOOL_CALLS, TOOL_STREAM, chunk, sse

ENDPOINTS = ["chat", "achat", "stream_chat", "astream_chat"]
HI = [ChatMessage(role="user", content="Hi")]


class Server:
    """A Chat Completions server: checks each body, answers JSON or SSE.

    Every response body records whether the client closed it (``open_responses``).
    """

    def __init__(self, check_body: Callable[[Any], Any]) -> None:
        self.check_body = check_body
        self.requests: list[Any] = []
        self.bodies: list[dict[str, Any]] = []
        self.responses: list[Any] = []
        self.completion: Any = TEXT
        self.events: list[Any] = TEXT_STREAM
        self.status = 200

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        body = json.loads(request.content)
        self.bodies.append(body)
        if "model" in body:  # llama-server's body leaves it out, as that server allows
            self.check_body(body)
        if self.status == 200 and body.get("stream"):
            content_type, data = "text/event-stream", sse(self.events)
        else:
            content_type, data = "application/json", json.dumps(self.completion).encode()
        # a streamed body, in two pieces, as a network would deliver it
        stream = Body([data[: len(data) // 2], data[len(data) // 2 :]])
        self.responses.append(stream)
        return httpx2.Response(
            self.status, headers={"content-type": content_type}, stream=stream, request=request
        )

    @property
    def open_responses(self) -> list[Any]:
        """Response bodies the client did not close (leaked connections, for real)."""
        return [body for body in self.responses if not body.closed]

    def transports(self) -> dict[str, Any]:
        mock = httpx2.MockTransport(self)
        return {"transport": mock, "async_transport": mock}


@pytest.fixture
def server(check_body: Callable[[Any], Any]) -> Iterator[Server]:
    server = Server(check_body)
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


def load(server: Server, spec: str, **options: Any) -> Any:
    return llmplug.load(spec, **server.transports(), **options)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_openai(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    responses = await call(llm, endpoint)
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["content-type"].startswith("application/json")
    last = responses[-1]
    if "stream" in endpoint:
        assert server.bodies[0]["stream_options"] == {"include_usage": True}
        assert "".join(r.delta or "" for r in responses) == "Hello!"
        assert last.message.content == "Hello!"
        assert last.usage == Usage(
            input_tokens=1200, output_tokens=300, cached_tokens=1024, reasoning_tokens=256
        )
    else:
        assert "stream" not in server.bodies[0]
        assert last.message.content == "Hello! How can I assist you today?"
        assert last.usage == Usage(input_tokens=19, output_tokens=10)
    assert last.additional_kwargs["finish_reason"] == "stop"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_per_call_options(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server, "openai:gpt-4o-mini?temperature=0.9", api_key="sk-test")
    await call(llm, endpoint, temperature=0.0, max_tokens=20, model="gpt-4.1")
    body = server.bodies[0]
    assert (body["temperature"], body["max_completion_tokens"], body["model"]) == (
        0.0,
        20,
        "gpt-4.1",
    )
    assert llm.temperature == 0.9


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_tool_calls(registry: Any, server: Server, endpoint: str) -> None:
    server.completion, server.events = TOOL_CALLS, TOOL_STREAM
    llm = load(server, "openai", api_key="sk-test")
    last = (await call(llm, endpoint, tools=[{"type": "function", "function": {"name": "f"}}]))[-1]
    calls = [b for b in last.message.blocks if isinstance(b, ToolCallBlock)]
    assert calls[0].tool_name == "get_weather"
    assert calls[0].tool_kwargs == {"location": "Paris"}
    assert last.additional_kwargs["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_azure(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(
        server, "azure:prod-4o?azure_endpoint=https://res.openai.azure.com", api_key="az-key"
    )
    await call(llm, endpoint)
    (request,) = server.requests
    assert str(request.url) == (
        "https://res.openai.azure.com/openai/deployments/prod-4o/chat/completions"
        "?api-version=2024-10-21"
    )
    assert request.headers["api-key"] == "az-key"
    assert "authorization" not in request.headers


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_local_server_without_key(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server, "llama-server")
    await call(llm, endpoint)
    (request,) = server.requests
    assert str(request.url) == "http://127.0.0.1:8080/v1/chat/completions"
    assert "authorization" not in request.headers
    assert "model" not in server.bodies[0]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_headers(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(
        server,
        "openai?organization=org-1&project=proj_1",
        api_key="sk-test",
        extra_headers={"X-Instance": "1"},
    )
    await call(llm, endpoint, extra_headers={"X-Call": "2"})
    headers = server.requests[0].headers
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-1", "proj_1")
    assert (headers["x-instance"], headers["x-call"]) == ("1", "2")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_unsupported_block_sends_nothing(
    registry: Any, server: Server, endpoint: str
) -> None:
    llm = load(server, "openai", api_key="sk-test")
    video = [ChatMessage(role="user", blocks=[VideoBlock(url="https://example.com/v.mp4")])]
    with pytest.raises(UnsupportedContentError) as caught:
        await call(llm, endpoint, video)
    assert (caught.value.provider, caught.value.block_type) == ("openai", "video")
    assert server.requests == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_context_window_exceeded(registry: Any, server: Server, endpoint: str) -> None:
    server.status, server.completion = 400, CONTEXT_ERROR
    llm = load(server, "openai", api_key="sk-test", max_retries=0)
    with pytest.raises(ContextWindowExceededError) as caught:
        await call(llm, endpoint)
    assert caught.value.status_code == 400
    assert caught.value.provider == "openai"
    assert "sk-test" not in str(caught.value)


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_error_event_mid_stream(registry: Any, server: Server, endpoint: str) -> None:
    server.events = [chunk({"content": "Hel"}), CONTEXT_ERROR]
    llm = load(server, "openai", api_key="sk-test", max_retries=0)
    with pytest.raises(ContextWindowExceededError):
        await call(llm, endpoint)


async def test_complete_is_derived(registry: Any, server: Server) -> None:
    llm = load(server, "openai", api_key="sk-test")
    assert llm.complete("Hi").text == "Hello! How can I assist you today?"
    assert (await llm.acomplete("Hi")).text == "Hello! How can I assist you today?"
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_consumer_stops_early(registry: Any, server: Server, endpoint: str) -> None:
    llm = load(server, "openai", api_key="sk-test")
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
