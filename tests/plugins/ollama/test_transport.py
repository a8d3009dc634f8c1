"""Every endpoint over a scripted server (``MockServer``), sync and async: answers,
streams, usage and timings, thinking, tool calls, faults, model details, listing, pulls."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from pydantic import BaseModel

from llmplug import ChatMessage, FunctionTool, ThinkingBlock, ToolCallBlock
from llmplug.errors import (
    APIConnectionError,
    APIError,
    BadRequestError,
    IncompleteStreamError,
    InternalServerError,
)
from llmplug.http.testing import FakeClock, MockServer, Reply
from llmplug.testing import recording_hooks
from llmplug_ollama import ModelNotPulledError, OllamaLLM, PullProgress

from . import wire_data as w

MODES = ["sync", "async"]
HI = [ChatMessage(role="user", content="Hi")]


def _llm(make: Any, server: MockServer, **options: Any) -> OllamaLLM:
    llm: OllamaLLM = make(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),
        **options,
    )
    return llm


def _sent(server: MockServer, i: int = -1) -> Any:
    return json.loads(server.requests[i].content)


async def chat(llm: OllamaLLM, mode: str, messages: Any = HI, **options: Any) -> Any:
    if mode == "sync":
        return llm.chat(messages, **options)
    return await llm.achat(messages, **options)


async def stream_chat(llm: OllamaLLM, mode: str, messages: Any = HI, **options: Any) -> list[Any]:
    if mode == "sync":
        return list(llm.stream_chat(messages, **options))
    return [chunk async for chunk in await llm.astream_chat(messages, **options)]


async def complete(llm: OllamaLLM, mode: str, prompt: str, **options: Any) -> Any:
    if mode == "sync":
        return llm.complete(prompt, **options)
    return await llm.acomplete(prompt, **options)


async def stream_complete(llm: OllamaLLM, mode: str, prompt: str, **options: Any) -> list[Any]:
    if mode == "sync":
        return list(llm.stream_complete(prompt, **options))
    return [c async for c in await llm.astream_complete(prompt, **options)]


@pytest.mark.parametrize("mode", MODES)
async def test_chat(make: Any, sdk: Any, mode: str) -> None:
    server = MockServer(Reply(200, json=w.CHAT))
    reply = await chat(_llm(make, server), mode)
    assert reply.message.content == "Hello! How are you today?"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (26, 298)
    extra = reply.additional_kwargs
    assert extra["done_reason"] == "stop"
    assert extra["total_duration"] == 5191566416
    assert extra["load_duration"] == 2154458
    assert extra["prompt_eval_duration"] == 383809000
    assert extra["eval_duration"] == 4799921000
    assert extra["tokens_per_second"] == pytest.approx(298 / 4.799921)
    request = server.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/chat")
    sdk.check_chat(_sent(server))
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_stream_chat(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, body=w.ndjson(*w.CHAT_STREAM)))
    chunks = await stream_chat(_llm(make, server), mode)
    assert [c.delta for c in chunks] == ["The", " sky", " is blue.", ""]
    assert chunks[-1].message.content == "The sky is blue."
    assert chunks[-1].usage.output_tokens == 282
    assert chunks[-1].additional_kwargs["done_reason"] == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert _sent(server)["stream"] is True
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_thinking(make: Any, mode: str) -> None:
    server = MockServer(
        Reply(200, json=w.CHAT_THINKING), Reply(200, body=w.ndjson(*w.THINKING_STREAM))
    )
    llm = _llm(make, server, think=True)
    reply = await chat(llm, mode)
    thinking, _ = reply.message.blocks
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.content.startswith("Let me count")
    assert reply.message.content == "There are 3 r's in strawberry."
    chunks = await stream_chat(llm, mode)
    assert [c.additional_kwargs.get("thinking_delta") for c in chunks[:2]] == ["17 * 23", " = 391"]
    assert chunks[-1].message.blocks[0].content == "17 * 23 = 391"
    assert chunks[-1].message.content == "391"
    assert _sent(server)["think"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_tool_calls(make: Any, mode: str) -> None:
    server = MockServer(
        Reply(200, json=w.CHAT_TOOL_CALL), Reply(200, body=w.ndjson(*w.TOOL_STREAM))
    )
    llm = _llm(make, server)
    (call,) = (await chat(llm, mode)).message.blocks
    assert isinstance(call, ToolCallBlock)
    assert (call.tool_call_id, call.tool_name) == ("call_0", "get_current_weather")
    assert call.tool_kwargs == {"format": "celsius", "location": "Paris, FR"}
    chunks = await stream_chat(llm, mode)
    calls = [b for b in chunks[-1].message.blocks if isinstance(b, ToolCallBlock)]
    assert [(c.tool_call_id, c.tool_name) for c in calls] == [
        ("call_0", "get_temperature"),
        ("call_1", "get_conditions"),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_predict_and_call_round_trip(make: Any, sdk: Any, mode: str) -> None:
    def get_current_weather(location: str, format: str) -> str:
        """Get the current weather for a location."""
        return f"18 degrees {format} in {location}"

    tool = FunctionTool.from_defaults(get_current_weather)
    server = MockServer(Reply(200, json=w.CHAT_TOOL_CALL), Reply(200, json=w.CHAT))
    llm = _llm(make, server)
    if mode == "sync":
        result = llm.predict_and_call([tool], "Weather in Paris?")
    else:
        result = await llm.apredict_and_call([tool], "Weather in Paris?")
    assert result.response == "18 degrees celsius in Paris, FR"
    body = _sent(server, 0)
    sdk.check_chat(body)
    assert [t["function"]["name"] for t in body["tools"]] == ["get_current_weather"]
    # the reply and the tool's answer sent back: the result names its tool
    reply = result.metadata["chat_response"].message
    answer = ChatMessage(
        role="tool", content=result.response, additional_kwargs={"tool_call_id": "call_0"}
    )
    await chat(llm, mode, [*HI, reply, answer])
    messages = _sent(server)["messages"]
    sdk.check_chat(_sent(server))
    assert messages[-1] == {
        "role": "tool",
        "content": "18 degrees celsius in Paris, FR",
        "tool_name": "get_current_weather",
    }


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        pytest.param("auto", ["a", "b"], id="auto"),
        pytest.param("required", ["a", "b"], id="required"),
        pytest.param("b", ["b"], id="named"),
        pytest.param("none", None, id="none"),
    ],
)
def test_tool_choice(make: Any, choice: str, sent: list[str] | None) -> None:
    def a() -> str:
        """A."""
        return "a"

    def b() -> str:
        """B."""
        return "b"

    server = MockServer(Reply(200, json=w.CHAT))
    llm = _llm(make, server)
    tools = [FunctionTool.from_defaults(a), FunctionTool.from_defaults(b)]
    llm.chat_with_tools(tools, "Hi", tool_choice=choice)
    body = _sent(server)
    assert ([t["function"]["name"] for t in body["tools"]] if "tools" in body else None) == sent


@pytest.mark.parametrize("mode", MODES)
async def test_structured_predict_sends_the_schema_as_format(make: Any, mode: str) -> None:
    from llmplug import PromptTemplate

    class Person(BaseModel):
        age: int
        available: bool

    server = MockServer(Reply(200, json=w.CHAT_STRUCTURED))
    llm = _llm(make, server)
    prompt = PromptTemplate("Ollama is 22 years old and busy saving the world.")
    if mode == "sync":
        person = llm.structured_predict(Person, prompt)
    else:
        person = await llm.astructured_predict(Person, prompt)
    assert person == Person(age=22, available=False)
    fmt = _sent(server)["format"]
    assert fmt["properties"] == {
        "age": {"title": "Age", "type": "integer"},
        "available": {"title": "Available", "type": "boolean"},
    }


@pytest.mark.parametrize("mode", MODES)
async def test_complete_uses_generate(make: Any, sdk: Any, mode: str) -> None:
    server = MockServer(Reply(200, json=w.GENERATE_SUFFIX))
    llm = _llm(make, server, model="codellama:code", system_prompt="You write Python.")
    reply = await complete(llm, mode, "def compute_gcd(a, b):", suffix="    return result")
    assert reply.text.startswith("\n  if a == 0:")
    assert reply.usage.output_tokens == 63
    assert reply.additional_kwargs["done_reason"] == "stop"
    body = _sent(server)
    sdk.check_generate(body)
    assert server.requests[0].url.path == "/api/generate"
    assert body["system"] == "You write Python."  # not pasted into the prompt
    assert body["prompt"] == "def compute_gcd(a, b):"


@pytest.mark.parametrize("hooked", [False, True], ids=["no-hooks", "hooks"])
@pytest.mark.parametrize("mode", MODES)
async def test_stream_complete_with_and_without_hooks(make: Any, mode: str, hooked: bool) -> None:
    server = MockServer(Reply(200, body=w.ndjson(*w.GENERATE_STREAM)))
    llm = _llm(make, server)
    if hooked:
        with recording_hooks() as seen:
            chunks = await stream_complete(llm, mode, "Why is the sky blue?")
        hooks = seen.hooks()
        assert (hooks[0], hooks[-1]) == ("before_call", "after_call")
        assert hooks.count("on_stream_chunk") == 3
        assert seen.events[0].endpoint == (
            "stream_complete" if mode == "sync" else "astream_complete"
        )
    else:
        chunks = await stream_complete(llm, mode, "Why is the sky blue?")
    assert [c.delta for c in chunks] == ["The", " sky", ""]
    assert chunks[-1].text == "The sky"
    assert chunks[-1].usage.input_tokens == 26
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_stream_left_early_closes_its_response(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, body=w.ndjson(*w.GENERATE_STREAM)))
    llm = _llm(make, server)
    if mode == "sync":
        gen = llm.stream_complete("Hi")
        next(gen)
        gen.close()
    else:
        agen = await llm.astream_complete("Hi")
        await agen.__anext__()
        await agen.aclose()
    assert server.open_bodies == []


async def _collect(llm: OllamaLLM, mode: str, seen: list[str]) -> None:
    if mode == "sync":
        seen.extend(chunk.delta for chunk in llm.stream_complete("Hi"))
    else:
        async for chunk in await llm.astream_complete("Hi"):
            seen.append(chunk.delta)


async def _pull(llm: OllamaLLM, mode: str) -> list[PullProgress]:
    if mode == "sync":
        return list(llm.pull_model())
    return [e async for e in llm.apull_model()]


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_model_not_pulled_says_how_to_pull_it(make: Any, mode: str) -> None:
    server = MockServer(Reply(404, json=w.NOT_PULLED))
    with pytest.raises(ModelNotPulledError, match=r"ollama pull llama3\.2:1b") as caught:
        await chat(_llm(make, server, model="llama3.2:1b"), mode)
    assert caught.value.status_code == 404
    assert caught.value.model == "llama3.2:1b"
    assert "auto_pull=true" in str(caught.value)
    assert len(server.requests) == 1  # a 404 is not retried


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        pytest.param(
            Reply(400, json=w.NO_TOOLS), BadRequestError, "does not support tools", id="400"
        ),
        pytest.param(
            Reply(500, json={"error": "model runner has unexpectedly stopped"}),
            InternalServerError,
            "unexpectedly stopped",
            id="500",
        ),
    ],
)
async def test_error_bodies(make: Any, reply: Reply, error: type, match: str) -> None:
    server = MockServer(reply)
    with pytest.raises(error, match=match):
        _llm(make, server, max_retries=0).chat(HI)


@pytest.mark.parametrize("mode", MODES)
async def test_an_error_object_in_the_stream(make: Any, mode: str) -> None:
    body = w.ndjson(w.generate_chunk(" Yes"), w.generate_chunk("."), w.STREAM_ERROR)
    server = MockServer(Reply(200, body=body))
    seen: list[str] = []
    with pytest.raises(APIError, match="an error was encountered while running the model"):
        await _collect(_llm(make, server), mode, seen)
    assert seen == [" Yes", "."]  # what came before the error reached the caller
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_stream_without_its_last_object_is_incomplete(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, body=w.ndjson(*w.CHAT_STREAM[:2])))
    with pytest.raises(IncompleteStreamError, match='"done": true'):
        await stream_chat(_llm(make, server), mode)


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("mode", MODES)
async def test_no_server_on_this_machine_says_to_start_ollama_serve(make: Any, mode: str) -> None:
    llm = make(base_url=f"127.0.0.1:{_refused_port()}", max_retries=0)
    with pytest.raises(APIConnectionError, match="ollama serve"):
        await chat(llm, mode)
    with pytest.raises(APIConnectionError, match="ollama serve"):
        await stream_complete(llm, mode, "Hi")


def test_no_server_elsewhere_says_to_check_where(make: Any) -> None:
    assert "OLLAMA_HOST" in make(base_url="https://user:pw@gpu-box:8080").unreachable_hint()
    assert "pw" not in make(base_url="https://user:pw@gpu-box:8080").unreachable_hint()


# -- models --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_metadata_from_show_fetched_once_per_model(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, json=w.SHOW_TOOLS))
    llm = _llm(make, server, model="qwen3:8b", fetch_metadata=True)
    if mode == "async":
        await llm.amodel_details()
    meta = llm.metadata
    assert meta.context_window == 4096  # the server's default, below the model's 40,960
    assert meta.is_function_calling_model is True
    assert meta.model_name == "qwen3:8b"
    assert llm.metadata == meta
    assert _llm(make, server, model="qwen3:8b", fetch_metadata=True).metadata == meta
    assert len(server.requests) == 1  # cached per server and model
    assert _sent(server) == {"model": "qwen3:8b"}
    assert server.requests[0].url.path == "/api/show"


def test_metadata_reads_the_modelfiles_num_ctx_and_capabilities(make: Any) -> None:
    server = MockServer(Reply(200, json=w.SHOW))
    llm = _llm(make, server, model="gemma4", fetch_metadata=True)
    meta = llm.metadata
    assert meta.context_window == 2048  # PARAMETER num_ctx 2048
    assert meta.is_function_calling_model is False  # no "tools" capability
    details = llm.model_details()
    assert (details.context_length, details.family) == (131072, "gemma4")
    assert details.supports("vision")
    assert (
        _llm(
            make, server, model="gemma4", num_ctx=8192, fetch_metadata=True
        ).metadata.context_window
        == 8192
    )


def test_metadata_offline_defaults_without_asking_again(make: Any) -> None:
    llm = make(base_url=f"127.0.0.1:{_refused_port()}", fetch_metadata=True)
    meta = llm.metadata
    assert (meta.context_window, meta.is_function_calling_model) == (4096, True)
    server = MockServer(Reply(200, json=w.SHOW))
    quiet = _llm(make, server)  # fetch_metadata=False: never asks
    assert quiet.metadata.context_window == 4096
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_list_models(make: Any, mode: str) -> None:
    server = MockServer(
        Reply(200, json=w.TAGS), Reply(200, json=w.SHOW), Reply(404, json=w.SHOW_NOT_FOUND)
    )
    llm = _llm(make, server)
    models = llm.list_models() if mode == "sync" else await llm.alist_models()
    assert [m.id for m in models] == ["gemma4", "qwen3:8b"]
    assert models[0].context_window == 131072
    assert "8.0B" in models[0].description
    assert "vision" in models[0].description
    assert models[1].context_window is None  # its /api/show failed: listed all the same
    assert server.requests[0].method == "GET"
    assert server.requests[0].url.path == "/api/tags"
    assert type(llm).capabilities.model_listing


def test_known_models_name_how_to_pull_them() -> None:
    known = OllamaLLM.known_models()
    assert "llama3.2" in [m.id for m in known]
    assert all(f"ollama pull {m.id}" in m.description for m in known)


@pytest.mark.parametrize("mode", MODES)
async def test_pull_model_yields_progress(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, body=w.ndjson(*w.PULL_STREAM)))
    llm = _llm(make, server, model="llama3.2:1b")
    events = await _pull(llm, mode)
    assert events[0].status == "pulling manifest"
    assert events[-1] == PullProgress(model="llama3.2:1b", status="success")
    assert events[1].fraction == pytest.approx(241970 / 2142590208)
    assert events[2].fraction == 1.0
    assert _sent(server) == {"model": "llama3.2:1b", "stream": True}
    assert server.requests[0].url.path == "/api/pull"
    assert server.open_bodies == []


@pytest.mark.parametrize(
    ("body", "match"),
    [
        pytest.param(
            w.ndjson({"status": "pulling manifest"}, w.PULL_ERROR),
            "file does not exist",
            id="error",
        ),
        pytest.param(w.ndjson({"status": "pulling manifest"}), "ended before", id="cut-short"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_pull(make: Any, mode: str, body: list[bytes], match: str) -> None:
    llm = _llm(make, MockServer(Reply(200, body=body)), model="nope")
    with pytest.raises(APIError, match=match):
        await _pull(llm, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_auto_pull_pulls_a_missing_model_first(make: Any, mode: str) -> None:
    server = MockServer(
        Reply(404, json=w.SHOW_NOT_FOUND),
        Reply(200, body=w.ndjson(*w.PULL_STREAM)),
        Reply(200, json=w.CHAT),
        Reply(200, json=w.CHAT),
    )
    progress: list[PullProgress] = []
    llm = _llm(make, server, model="llama3.2:1b", auto_pull=True, on_pull_progress=progress.append)
    reply = await chat(llm, mode)
    assert reply.message.content == "Hello! How are you today?"
    assert [r.url.path for r in server.requests] == ["/api/show", "/api/pull", "/api/chat"]
    assert [e.status for e in progress] == [e["status"] for e in w.PULL_STREAM]
    await chat(llm, mode)
    assert [r.url.path for r in server.requests][-1] == "/api/chat"
    assert len(server.requests) == 4  # not checked again


@pytest.mark.parametrize("mode", MODES)
async def test_auto_pull_leaves_a_model_that_is_there(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, json=w.SHOW_TOOLS), Reply(200, body=w.ndjson(*w.CHAT_STREAM)))
    llm = _llm(make, server, model="qwen3:8b", auto_pull=True)
    chunks = await stream_chat(llm, mode)
    assert chunks[-1].message.content == "The sky is blue."
    assert [r.url.path for r in server.requests] == ["/api/show", "/api/chat"]
