"""The gateway's OpenAI Chat Completions API, driven by the official ``openai`` SDK.

The real server runs on loopback (uvicorn in a thread) in front of ``mock`` models
scripted per test; the SDK's sync and async clients both talk to it.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from llmplug import ImageBlock, TextBlock, ToolCallBlock
from llmplug.errors import (
    AllModelsFailedError,
    AuthenticationError,
    ContextWindowExceededError,
    InternalServerError,
    RateLimitError,
)
from llmplug.routing import FallbackLLM
from llmplug.testing import json_reply, scripted, tool_call

from .conftest import Running

MODES = ["sync", "async"]
HI = [{"role": "user", "content": "Hi"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@contextlib.asynccontextmanager
async def client(running: Running, mode: str = "sync", key: str | None = None) -> Any:
    """The SDK's client (sync or async) for the gateway, closed after the block."""
    options = {"base_url": running.v1, "api_key": key or running.key, "max_retries": 0}
    if mode == "sync":
        with openai.OpenAI(**options) as sync:
            yield sync
    else:
        async with openai.AsyncOpenAI(**options) as concurrent:
            yield concurrent


async def call(mode: str, result: Any) -> Any:
    return await result if mode == "async" else result


async def collect(mode: str, stream: Any) -> list[Any]:
    if mode == "async":
        return [chunk async for chunk in stream]
    return list(stream)


@pytest.mark.parametrize("mode", MODES)
async def test_chat(serve: Callable[..., Running], mode: str) -> None:
    model = scripted("Paris.")
    running = serve({"m": model})
    async with client(running, mode) as api:
        reply = await call(
            mode,
            api.chat.completions.create(
                model="m",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"},
                ],
                temperature=0.2,
                max_tokens=20,
            ),
        )
    assert reply.object == "chat.completion"
    assert reply.model == "m"
    assert reply.choices[0].message.content == "Paris."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == 5
    assert reply.usage.completion_tokens == 1
    assert reply.usage.total_tokens == 6
    sent = model.calls[0]
    assert [m.role.value for m in sent] == ["system", "user"]
    assert model.call_options[0] == {"temperature": 0.2, "max_tokens": 20}


@pytest.mark.parametrize("mode", MODES)
async def test_stream_with_usage(serve: Callable[..., Running], mode: str) -> None:
    running = serve({"m": scripted("one two three")})
    async with client(running, mode) as api:
        stream = await call(
            mode,
            api.chat.completions.create(
                model="m", messages=HI, stream=True, stream_options={"include_usage": True}
            ),
        )
        chunks = await collect(mode, stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 3
    assert all(c.usage is None for c in chunks[:-1])


async def test_stream_without_usage_has_none(serve: Callable[..., Running]) -> None:
    running = serve({"m": scripted("a b")})
    async with client(running) as api:
        chunks = list(api.chat.completions.create(model="m", messages=HI, stream=True))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
async def test_tool_call_and_result(serve: Callable[..., Running], mode: str) -> None:
    model = scripted(tool_call("get_weather", {"city": "Paris"}, tool_call_id="call_1"), "Sunny.")
    running = serve({"m": model})
    async with client(running, mode) as sdk:
        reply = await call(
            mode,
            sdk.chat.completions.create(
                model="m", messages=HI, tools=[WEATHER], tool_choice="required"
            ),
        )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call_] = choice.message.tool_calls
    assert (call_.id, call_.function.name) == ("call_1", "get_weather")
    assert json.loads(call_.function.arguments) == {"city": "Paris"}
    options = model.call_options[0]
    assert options["tools"][0]["function"]["parameters"] == WEATHER["function"]["parameters"]
    assert options["tool_choice"].mode == "required"
    # the client runs the tool and sends the result back
    follow = [
        *HI,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
    ]
    async with client(running, mode) as sdk:
        final = await call(
            mode, sdk.chat.completions.create(model="m", messages=follow, tools=[WEATHER])
        )
    assert final.choices[0].message.content == "Sunny."
    history = model.calls[1]
    assert isinstance(history[1].blocks[0], ToolCallBlock)
    assert history[1].blocks[0].tool_kwargs == {"city": "Paris"}
    assert history[2].additional_kwargs == {"tool_call_id": "call_1"}
    assert history[2].content == "18C, sunny"


@pytest.mark.parametrize("mode", MODES)
async def test_streamed_tool_calls(serve: Callable[..., Running], mode: str) -> None:
    reply = tool_call(
        "get_weather",
        {"city": "Paris"},
        tool_call_id="call_a",
        more=[
            ToolCallBlock(
                tool_call_id="call_b", tool_name="get_weather", tool_kwargs={"city": "Rome"}
            )
        ],
    )
    running = serve({"m": scripted(reply)})
    async with client(running, mode) as api:
        stream = await call(
            mode, api.chat.completions.create(model="m", messages=HI, tools=[WEATHER], stream=True)
        )
        chunks = await collect(mode, stream)
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert [c["id"] for c in calls.values()] == ["call_a", "call_b"]
    assert [json.loads(c["arguments"]) for c in calls.values()] == [
        {"city": "Paris"},
        {"city": "Rome"},
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


class City(BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("mode", MODES)
async def test_structured_output(serve: Callable[..., Running], mode: str) -> None:
    model = scripted(json_reply({"name": "Paris", "population": 2100000}), native_json_schema=True)
    running = serve({"m": model})
    async with client(running, mode) as api:
        reply = await call(
            mode, api.chat.completions.parse(model="m", messages=HI, response_format=City)
        )
    assert reply.choices[0].message.parsed == City(name="Paris", population=2100000)
    # the model was asked in its native way, with the client's schema
    response_format = model.call_options[0]["response_format"]
    assert response_format["json_schema"]["schema"]["properties"]["population"] == {
        "type": "integer",
        "title": "Population",
    }
    assert reply.usage.total_tokens > 0


async def test_structured_output_retries_then_streams(serve: Callable[..., Running]) -> None:
    model = scripted("not json", json_reply({"name": "Rome", "population": 1}))
    running = serve({"m": model})
    schema = {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema()},
    }
    async with client(running) as api:
        stream = api.chat.completions.create(
            model="m",
            messages=HI,
            response_format=schema,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert City.model_validate_json(text) == City(name="Rome", population=1)
    assert len(model.calls) == 2  # the first answer did not validate: asked again
    assert chunks[-1].usage.prompt_tokens > 0


async def test_json_object(serve: Callable[..., Running]) -> None:
    running = serve({"m": scripted('Here: {"a": 1}')})
    async with client(running) as api:
        reply = api.chat.completions.create(
            model="m", messages=HI, response_format={"type": "json_object"}
        )
    assert json.loads(reply.choices[0].message.content) == {"a": 1}


async def test_images_and_text_parts(serve: Callable[..., Running]) -> None:
    model = scripted("A pixel.")
    running = serve({"m": model})
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
    ]
    async with client(running) as api:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": parts}])
    [message] = model.calls[0]
    text, image = message.blocks
    assert isinstance(text, TextBlock)
    assert isinstance(image, ImageBlock)
    assert image.path is None
    assert image.url is None
    assert image.resolve_image().getvalue() == PNG
    assert (image.image_mimetype, image.detail) == ("image/png", "low")


async def test_remote_images_need_remote_media(serve: Callable[..., Running]) -> None:
    model = scripted("ok")
    message = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "http://10.0.0.1/x.png"}}],
    }
    running = serve({"m": model})
    async with client(running) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            api.chat.completions.create(model="m", messages=[message])
    assert caught.value.body["code"] == "remote_media_disabled"
    assert "data: URL" in caught.value.body["message"]
    assert model.calls == []
    allowed = serve({"m": model}, remote_media=True)
    async with client(allowed) as api:
        api.chat.completions.create(model="m", messages=[message])
    assert str(model.calls[0][0].blocks[0].url) == "http://10.0.0.1/x.png"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        pytest.param(None, "missing_api_key", id="no-key"),
        pytest.param("llmp-not-a-key", "invalid_api_key", id="unknown-key"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_unauthenticated_is_401(
    serve: Callable[..., Running], mode: str, key: str | None, code: str
) -> None:
    model = scripted("never")
    running = serve({"m": model})
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient() as http:
        raw = await http.post(
            running.v1 + "/chat/completions", json={"model": "m", "messages": HI}, headers=headers
        )
    assert raw.status_code == 401
    assert raw.json()["error"]["code"] == code
    async with client(running, mode, key or "llmp-wrong") as api:
        with pytest.raises(openai.AuthenticationError):
            await call(mode, api.chat.completions.create(model="m", messages=HI))
        with pytest.raises(openai.AuthenticationError):
            await call(mode, api.models.list())
    assert model.calls == []


async def test_models_and_allow_lists(serve: Callable[..., Running], keys: Any) -> None:
    running = serve({"a": scripted("from a"), "b": scripted("from b")})
    async with client(running) as api:
        assert [m.id for m in api.models.list()] == ["a", "b"]
    only_b, _ = keys.create("only b", models=["b"])
    async with client(running, "sync", only_b) as limited:
        await _only_b(limited)


async def _only_b(limited: Any) -> None:
    assert [m.id for m in limited.models.list()] == ["b"]
    assert limited.models.retrieve("b").id == "b"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        limited.chat.completions.create(model="a", messages=HI)
    assert caught.value.body["code"] == "model_not_allowed"
    with pytest.raises(openai.NotFoundError) as missing:
        limited.chat.completions.create(model="nope", messages=HI)
    assert "models: b" in missing.value.body["message"]


@pytest.mark.parametrize("mode", MODES)
async def test_over_the_rate_limit_is_429(
    serve: Callable[..., Running], keys: Any, mode: str
) -> None:
    model = scripted("ok", "ok")
    running = serve({"m": model})
    key, _ = keys.create("one a minute", rpm=1)
    async with client(running, mode, key) as sdk:
        await call(mode, sdk.chat.completions.create(model="m", messages=HI))
        with pytest.raises(openai.RateLimitError) as caught:
            await call(mode, sdk.chat.completions.create(model="m", messages=HI))
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert len(model.calls) == 1  # the refused request never reached the model


async def test_token_budget(serve: Callable[..., Running], keys: Any) -> None:
    running = serve({"m": scripted("four words right here")})
    key, _ = keys.create("tiny", budget_tokens=5)
    async with client(running, "sync", key) as sdk:
        api = sdk.chat.completions
        api.create(model="m", messages=[{"role": "user", "content": "two words"}])  # 2 + 4
        with pytest.raises(openai.RateLimitError) as caught:
            api.create(model="m", messages=HI)
    assert caught.value.body["code"] == "budget_exceeded"


UPSTREAM_ERRORS = [
    pytest.param(
        RateLimitError("slow down", status_code=429, retry_after=7),
        openai.RateLimitError,
        429,
        "7",
        id="rate-limit",
    ),
    pytest.param(
        AuthenticationError("bad key sk-CANARY", status_code=401),
        openai.InternalServerError,
        502,
        None,
        id="provider-credentials",
    ),
    pytest.param(
        InternalServerError("down", status_code=500),
        openai.InternalServerError,
        502,
        None,
        id="server-error",
    ),
    pytest.param(
        ContextWindowExceededError("too long", status_code=400),
        openai.BadRequestError,
        400,
        None,
        id="context-window",
    ),
]


@pytest.mark.parametrize(("error", "sdk_error", "status", "retry_after"), UPSTREAM_ERRORS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_upstream_errors(
    serve: Callable[..., Running],
    error: Exception,
    sdk_error: type[Exception],
    status: int,
    retry_after: str | None,
    stream: bool,
) -> None:
    running = serve({"m": scripted(error)})
    async with client(running) as api:
        with pytest.raises(sdk_error) as caught:
            api.chat.completions.create(model="m", messages=HI, stream=stream)
    response = caught.value.response  # type: ignore[attr-defined]
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert "CANARY" not in response.text  # the provider's message about its key stays inside


async def test_all_models_failed_is_503(serve: Callable[..., Running]) -> None:
    route = FallbackLLM(
        [
            scripted(RateLimitError("busy", status_code=429, retry_after=30), model="a"),
            scripted(InternalServerError("down", status_code=503), model="b"),
        ]
    )
    running = serve({"reliable": route})
    async with client(running) as api:
        with pytest.raises(openai.InternalServerError) as caught:
            api.chat.completions.create(model="reliable", messages=HI)
    assert caught.value.response.status_code == 503
    assert caught.value.response.headers["retry-after"] == "30"
    assert caught.value.body["code"] == "all_models_failed"
    assert isinstance(AllModelsFailedError, type)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"model": "m", "messages": []}, "messages", id="no-messages"),
        pytest.param(
            {"model": "m", "messages": HI, "temperature": 9}, "temperature", id="temperature"
        ),
        pytest.param({"model": "m", "messages": HI, "n": 2}, "n", id="n"),
        pytest.param(
            {"model": "m", "messages": HI, "logprobs": True}, "logprobs", id="unsupported"
        ),
        pytest.param(
            {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
            id="role",
        ),
        pytest.param({"messages": HI}, "model", id="no-model"),
        pytest.param(
            {"model": "m", "messages": HI, "tools": [{"type": "web"}]}, "tools[0]", id="tool"
        ),
    ],
)
def test_bad_requests_name_the_field(
    serve: Callable[..., Running], body: dict[str, Any], param: str
) -> None:
    model = scripted("never")
    running = serve({"m": model})
    raw = httpx.post(
        running.v1 + "/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {running.key}"},
    )
    assert raw.status_code == 400
    error = raw.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert model.calls == []


def test_body_too_large_and_not_json(serve: Callable[..., Running]) -> None:
    running = serve({"m": scripted("x")}, max_request_bytes=2048)
    headers = {"authorization": f"Bearer {running.key}"}
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}
    assert (
        httpx.post(running.v1 + "/chat/completions", json=big, headers=headers).status_code == 413
    )
    bad = httpx.post(running.v1 + "/chat/completions", content=b"{", headers=headers)
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["error"]["message"]


async def test_a_model_without_tools_says_so(serve: Callable[..., Running]) -> None:
    from llmplug.llm import ChatLLM  # a chat model that cannot call tools

    class Plain(ChatLLM):
        @property
        def metadata(self) -> Any:
            from llmplug import LLMMetadata

            return LLMMetadata(is_chat_model=True)

        def chat(self, messages: Any, **kwargs: Any) -> Any:
            raise AssertionError("not called")

        def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
            raise AssertionError("not called")

    running = serve({"plain": Plain()})
    async with client(running) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            api.chat.completions.create(model="plain", messages=HI, tools=[WEATHER])
    assert caught.value.body["code"] == "tools_unsupported"


async def test_error_mid_stream_is_an_error_event(serve: Callable[..., Running]) -> None:
    from .test_anthropic_api import BreaksMidStream

    running = serve({"m": BreaksMidStream(responses=["one two three"])})
    received: list[str] = []

    def read_all(api: openai.OpenAI) -> None:
        for chunk in api.chat.completions.create(model="m", messages=HI, stream=True):
            received.append(chunk.choices[0].delta.content or "")

    async with client(running) as api:
        with pytest.raises(openai.APIError) as caught:
            read_all(api)
    assert "upstream fell over" in str(caught.value)
    assert "one" in received  # what came before the failure was delivered
