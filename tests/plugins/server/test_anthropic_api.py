"""The gateway's Anthropic Messages API, driven by the official ``anthropic`` SDK.

The same models answer both APIs: an OpenAI-style provider (here ``mock``) is reachable
through Anthropic's API, and the SDK's own stream accumulator reads the gateway's events.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from llmplug import DocumentBlock, ImageBlock, ToolCallBlock
from llmplug.errors import InternalServerError, RateLimitError
from llmplug.mock import MockChatLLM
from llmplug.testing import json_reply, scripted, tool_call

from .conftest import Running

MODES = ["sync", "async"]
HI = [{"role": "user", "content": "Hi"}]
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@contextlib.asynccontextmanager
async def client(running: Running, mode: str = "sync", key: str | None = None) -> Any:
    """The SDK's client (sync or async) for the gateway, closed after the block."""
    options = {"base_url": running.url, "api_key": key or running.key, "max_retries": 0}
    if mode == "sync":
        with anthropic.Anthropic(**options) as sync:
            yield sync
    else:
        async with anthropic.AsyncAnthropic(**options) as concurrent:
            yield concurrent


async def call(mode: str, result: Any) -> Any:
    return await result if mode == "async" else result


@pytest.mark.parametrize("mode", MODES)
async def test_message(serve: Callable[..., Running], mode: str) -> None:
    model = scripted("Paris.")
    running = serve({"claude": model})
    async with client(running, mode) as api:
        reply = await call(
            mode,
            api.messages.create(
                model="claude",
                max_tokens=50,
                system="Be brief.",
                messages=[{"role": "user", "content": "Capital of France?"}],
                stop_sequences=["END"],
                extra_body={"temperature": 0.5},  # older clients still send it
            ),
        )
    assert reply.type == "message"
    assert reply.role == "assistant"
    assert [b.text for b in reply.content] == ["Paris."]
    assert reply.stop_reason == "end_turn"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (5, 1)
    assert [m.role.value for m in model.calls[0]] == ["system", "user"]
    assert model.call_options[0] == {"max_tokens": 50, "temperature": 0.5, "stop": ["END"]}


@pytest.mark.parametrize("mode", MODES)
async def test_stream_events(serve: Callable[..., Running], mode: str) -> None:
    running = serve({"claude": scripted("one two three")})
    async with client(running, mode) as api:
        if mode == "sync":
            with api.messages.stream(model="claude", max_tokens=50, messages=HI) as stream:
                events = [event.type for event in stream]
                final = stream.get_final_message()
        else:
            async with api.messages.stream(model="claude", max_tokens=50, messages=HI) as stream:
                events = [event.type async for event in stream]
                final = await stream.get_final_message()
    raw = [e for e in events if e not in ("text",)]
    assert raw[0] == "message_start"
    assert raw[1] == "content_block_start"
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert [b.text for b in final.content] == ["one two three"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3
    assert final.usage.input_tokens == 1


@pytest.mark.parametrize("mode", MODES)
async def test_tool_use_and_result(serve: Callable[..., Running], mode: str) -> None:
    model = scripted(tool_call("get_weather", {"city": "Paris"}, tool_call_id="toolu_1"), "Sunny.")
    running = serve({"claude": model})
    async with client(running, mode) as api:
        reply = await call(
            mode,
            api.messages.create(
                model="claude",
                max_tokens=50,
                messages=HI,
                tools=[WEATHER],
                tool_choice={"type": "tool", "name": "get_weather"},
            ),
        )
        assert reply.stop_reason == "tool_use"
        [use] = reply.content
        assert (use.type, use.id, use.name, use.input) == (
            "tool_use",
            "toolu_1",
            "get_weather",
            {"city": "Paris"},
        )
        assert model.call_options[0]["tool_choice"].name == "get_weather"
        follow = [
            *HI,
            {"role": "assistant", "content": [use.model_dump()]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ]
        final = await call(
            mode,
            api.messages.create(model="claude", max_tokens=50, messages=follow, tools=[WEATHER]),
        )
    assert final.content[0].text == "Sunny."
    history = model.calls[1]
    assert [m.role.value for m in history] == ["user", "assistant", "tool", "user"]
    assert isinstance(history[1].blocks[0], ToolCallBlock)
    assert history[2].additional_kwargs == {"tool_call_id": "toolu_1"}
    assert (history[2].content, history[3].content) == ("18C", "And tomorrow?")


@pytest.mark.parametrize("mode", MODES)
async def test_streamed_tool_use(serve: Callable[..., Running], mode: str) -> None:
    reply = tool_call("get_weather", {"city": "Paris"}, tool_call_id="toolu_9", text="Let me see.")
    running = serve({"claude": scripted(reply)})
    async with client(running, mode) as api:
        if mode == "sync":
            with api.messages.stream(
                model="claude", max_tokens=50, messages=HI, tools=[WEATHER]
            ) as stream:
                final = stream.get_final_message()
        else:
            async with api.messages.stream(
                model="claude", max_tokens=50, messages=HI, tools=[WEATHER]
            ) as stream:
                final = await stream.get_final_message()
    text, use = final.content
    assert text.text == "Let me see."
    assert (use.id, use.name, use.input) == ("toolu_9", "get_weather", {"city": "Paris"})
    assert final.stop_reason == "tool_use"


async def test_structured_output(serve: Callable[..., Running]) -> None:
    model = scripted(json_reply({"city": "Paris", "rank": 1}))
    running = serve({"claude": model})
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["city", "rank"],
        "additionalProperties": False,
    }
    async with client(running) as api:
        reply = api.messages.create(
            model="claude",
            max_tokens=100,
            messages=HI,
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
    assert json.loads(reply.content[0].text) == {"city": "Paris", "rank": 1}


async def test_images_and_documents(serve: Callable[..., Running]) -> None:
    model = scripted("ok")
    running = serve({"claude": model})
    content = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(PNG).decode(),
            },
        },
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Hi"}},
        {"type": "text", "text": "Describe both.", "cache_control": {"type": "ephemeral"}},
    ]
    async with client(running) as api:
        api.messages.create(
            model="claude", max_tokens=10, messages=[{"role": "user", "content": content}]
        )
    image, document, text, cache = model.calls[0][0].blocks
    assert isinstance(image, ImageBlock)
    assert image.resolve_image().getvalue() == PNG
    assert isinstance(document, DocumentBlock)
    assert document.resolve_document().getvalue() == b"Hi"
    assert text.text == "Describe both."
    assert cache.block_type == "cache"


@pytest.mark.parametrize("mode", MODES)
async def test_errors_in_anthropic_shape(serve: Callable[..., Running], mode: str) -> None:
    running = serve(
        {"claude": scripted(RateLimitError("slow down", status_code=429, retry_after=3))}
    )
    async with client(running, mode) as api:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await call(mode, api.messages.create(model="claude", max_tokens=5, messages=HI))
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
        "request_id": None,
    }
    assert caught.value.response.headers["retry-after"] == "3"
    async with client(running, mode, "llmp-wrong") as api:
        with pytest.raises(anthropic.AuthenticationError) as denied:
            await call(mode, api.messages.create(model="claude", max_tokens=5, messages=HI))
    assert denied.value.body["error"]["type"] == "authentication_error"


async def test_missing_max_tokens_and_unknown_fields(serve: Callable[..., Running]) -> None:
    running = serve({"claude": scripted("never")})
    headers = {"x-api-key": running.key, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient() as http:
        missing = await http.post(
            running.url + "/v1/messages", json={"model": "claude", "messages": HI}, headers=headers
        )
        extra = await http.post(
            running.url + "/v1/messages",
            json={"model": "claude", "messages": HI, "max_tokens": 5, "bogus": 1},
            headers=headers,
        )
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert extra.status_code == 400
    assert "bogus" in extra.json()["error"]["message"]


class BreaksMidStream(MockChatLLM):
    """A mock whose stream fails after its first chunk."""

    def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
        stream = super().stream_chat(messages, **kwargs)
        yield next(stream)
        raise InternalServerError("upstream fell over", status_code=500)


async def test_error_mid_stream_is_an_error_event(serve: Callable[..., Running]) -> None:
    running = serve({"claude": BreaksMidStream(responses=["one two three"])})

    def read_all(api: anthropic.Anthropic) -> None:
        with api.messages.stream(model="claude", max_tokens=5, messages=HI) as stream:
            for _ in stream:
                pass

    async with client(running) as api:
        with pytest.raises(anthropic.APIStatusError) as caught:
            read_all(api)
    assert "upstream fell over" in str(caught.value)


async def test_models_listing_in_anthropic_shape(serve: Callable[..., Running]) -> None:
    running = serve({"claude": scripted(), "haiku": scripted()})
    async with client(running) as api:
        page = api.models.list()
        assert [m.id for m in page.data] == ["claude", "haiku"]
        assert api.models.retrieve("haiku").type == "model"
