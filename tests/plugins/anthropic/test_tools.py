"""Tool calling over the Messages API: request bodies (validated with the official SDK's
request types), tool calls in responses and in streamed ``input_json_delta`` s, and
predict_and_call end to end through the HTTP runtime (MockTransport)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage, FunctionTool, ToolCallBlock
from llmplug.errors import InvalidOptionError, ToolCallError
from llmplug.http import STREAM_END, ServerEvent
from llmplug.tools import FunctionCallingLLM
from llmplug_anthropic import AnthropicLLM

from . import wire_data as w
from .test_transport import Server, call, load

OLD = "claude-sonnet-4-5"  # takes a thinking budget


def get_weather(location: str, unit: str = "celsius") -> str:
    """Get the current weather.

    Args:
        location: The city.
        unit: celsius or fahrenheit.
    """
    return f"18 degrees {unit} in {location}"


def get_time(zone: str) -> str:
    """The time in a zone."""
    return f"12:00 {zone}"


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_time)]


def tool_use(id: str, name: str, input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": input}


WEATHER_CALL = w.message(
    w.text("I'll check."),
    tool_use("toolu_01", "get_weather", {"location": "Paris"}),
    stop="tool_use",
)
TWO_CALLS = w.message(
    tool_use("toolu_01", "get_weather", {"location": "Paris"}),
    tool_use("toolu_02", "get_time", {"zone": "UTC"}),
    stop="tool_use",
)


def tool_stream(*calls: tuple[str, str, list[str]]) -> list[dict[str, Any]]:
    """A stream of text then tool calls, each ``(id, name, partial JSON pieces)``."""
    events = [
        w.start(),
        w.block_start(0, w.text("")),
        w.text_delta(0, "Checking."),
        w.block_stop(0),
    ]
    for index, (call_id, name, pieces) in enumerate(calls, start=1):
        events.append(w.block_start(index, tool_use(call_id, name, {})))
        events.extend(w.delta(index, type="input_json_delta", partial_json=p) for p in pieces)
        events.append(w.block_stop(index))
    return [*events, w.message_delta("tool_use"), w.STOP]


TWO_CALL_STREAM = tool_stream(
    ("toolu_01", "get_weather", ["", '{"loca', 'tion": "Par', 'is"}']),
    ("toolu_02", "get_time", ['{"zone":', ' "UTC"}']),
)


@pytest.fixture
def server(sdk: Any) -> Iterator[Server]:
    """A Messages API server that validates every request body with the SDK's types."""
    server = Server(sdk)
    yield server
    assert server.open_responses == [], "a response was left open"


def body_for(make: Any, build: Any, **kwargs: Any) -> dict[str, Any]:
    llm = make()
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, "Weather in Paris?", **kwargs)
    body: dict[str, Any] = build(llm, chat_kwargs.pop("messages"), **chat_kwargs).json
    return body


def calls_of(response: Any) -> list[ToolCallBlock]:
    return [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]


# -- request bodies ----------------------------------------------------------------------------


def test_tools_in_the_body(make: Any, build: Any) -> None:
    body = body_for(make, build)
    assert body["tools"][0] == {
        "name": "get_weather",
        "description": "get_weather(location: str, unit: str = 'celsius') -> str\n"
        "Get the current weather.\n\nArgs:\n    location: The city.\n"
        "    unit: celsius or fahrenheit.",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {"title": "Location", "type": "string", "description": "The city."},
                "unit": {
                    "title": "Unit",
                    "type": "string",
                    "default": "celsius",
                    "description": "celsius or fahrenheit.",
                },
            },
            "required": ["location"],
        },
    }
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["messages"] == [{"role": "user", "content": "Weather in Paris?"}]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, {"type": "auto", "disable_parallel_tool_use": True}, id="auto"),
        pytest.param(
            {"tool_required": True},
            {"type": "any", "disable_parallel_tool_use": True},
            id="required",
        ),
        pytest.param(
            {"tool_choice": "any"}, {"type": "any", "disable_parallel_tool_use": True}, id="any"
        ),
        pytest.param(
            {"tool_choice": "get_time"},
            {"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
            id="by-name",
        ),
        # the SDK's ToolChoiceNoneParam has no disable_parallel_tool_use (checked: extra keys
        # are refused)
        pytest.param({"tool_choice": "none"}, {"type": "none"}, id="none"),
        pytest.param(
            {"allow_parallel_tool_calls": True}, {"type": "auto"}, id="auto-parallel-allowed"
        ),
        pytest.param(
            {"allow_parallel_tool_calls": True, "tool_required": True},
            {"type": "any"},
            id="required-parallel-allowed",
        ),
        pytest.param(
            {"allow_parallel_tool_calls": True, "tool_choice": "none"},
            {"type": "none"},
            id="none-2",
        ),
        pytest.param(
            {"tool_choice": {"type": "tool", "name": "get_time"}},
            {"type": "tool", "name": "get_time"},
            id="api-object-as-given",
        ),
    ],
)
def test_tool_choice_in_the_body(make: Any, build: Any, kwargs: Any, expected: Any) -> None:
    assert body_for(make, build, **kwargs)["tool_choice"] == expected


def test_other_options_pass_through(make: Any, build: Any) -> None:
    body = body_for(make, build, model=OLD, temperature=0.0, max_tokens=100)
    assert (body["temperature"], body["max_tokens"]) == (0.0, 100)


def test_no_tools_sends_no_tool_fields(make: Any) -> None:
    chat_kwargs = make()._prepare_chat_with_tools([], "Hi", tool_required=True)
    assert set(chat_kwargs) == {"messages"}


def test_the_callers_history_is_not_changed(make: Any) -> None:
    history = [ChatMessage(role="user", content="Hi")]
    chat_kwargs = make()._prepare_chat_with_tools(TOOLS, "Weather?", chat_history=history)
    assert len(history) == 1
    assert [m.content for m in chat_kwargs["messages"]] == ["Hi", "Weather?"]


def test_a_choice_naming_no_tool(make: Any) -> None:
    with pytest.raises(InvalidOptionError, match="'get_date' is not one of the tools given"):
        make()._prepare_chat_with_tools(TOOLS, "Hi", tool_choice="get_date")


@pytest.mark.parametrize("name", ["get time", "x" * 65, "héllo", "a.b"])
def test_a_tool_name_the_api_refuses(make: Any, name: str) -> None:
    tool = FunctionTool.from_defaults(get_time, name=name)
    with pytest.raises(InvalidOptionError, match="is not one anthropic takes") as caught:
        make()._prepare_chat_with_tools([tool], "Hi")
    assert caught.value.provider == "anthropic"


def test_a_tool_without_description_sends_none(make: Any, build: Any) -> None:
    tool = FunctionTool.from_defaults(get_time)
    tool.metadata.description = ""
    llm = make()
    chat_kwargs = llm._prepare_chat_with_tools([tool], "Hi")
    body = build(llm, chat_kwargs.pop("messages"), **chat_kwargs).json
    assert set(body["tools"][0]) == {"name", "input_schema"}


def test_the_call_and_its_result_go_back(make: Any, build: Any) -> None:
    # the next turn: the model's reply as it came, then the tools' results
    llm = make()
    reply = llm.parse_response(json.loads(json.dumps(TWO_CALLS)))
    selections = llm.get_tool_calls_from_response(reply)
    results = [
        ChatMessage(role="tool", content="18C", additional_kwargs={"tool_call_id": s.tool_id})
        for s in selections
    ]
    results[1].additional_kwargs["is_error"] = True
    history = [ChatMessage(role="user", content="Weather and time?"), reply.message, *results]
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, chat_history=history)
    body = build(llm, chat_kwargs.pop("messages"), **chat_kwargs).json
    assert body["messages"][1] == {"role": "assistant", "content": TWO_CALLS["content"]}
    # both results in one user turn (the API alternates roles)
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": "18C", "is_error": True},
        ],
    }


# -- extended thinking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "kwargs", "match"),
    [
        pytest.param(
            {"thinking_budget": 2048},
            {"tool_required": True},
            r"tool_required=True forces a tool call.*\(thinking_budget=None\)",
            id="budget-required",
        ),
        pytest.param(
            {"thinking_budget": 2048},
            {"tool_choice": "get_time"},
            r"tool_choice='get_time' forces a tool call",
            id="budget-by-name",
        ),
        pytest.param(
            {},
            {"tool_required": True, "thinking_budget": 2048},
            "tool_required=True forces",
            id="budget-for-one-call",
        ),
        pytest.param(
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            {"tool_choice": "any"},
            r"tool_choice='any' forces.*\(thinking='disabled'\)",
            id="thinking-object",
        ),
    ],
)
def test_thinking_with_a_budget_cannot_force_a_call(
    make: Any, options: dict[str, Any], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidOptionError, match=match) as caught:
        make(model=OLD, **options)._prepare_chat_with_tools(TOOLS, "Hi", **kwargs)
    assert caught.value.option == "tool_choice"


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        pytest.param({"thinking_budget": 2048}, {}, id="budget-auto"),
        pytest.param({"thinking_budget": 2048}, {"tool_choice": "none"}, id="budget-none"),
        pytest.param(
            {"thinking_budget": 2048},
            {"tool_required": True, "thinking_budget": None},
            id="budget-off-for-the-call",
        ),
        # adaptive thinking may force a call (Anthropic's thinking guide)
        pytest.param({"thinking": "adaptive"}, {"tool_required": True}, id="adaptive-required"),
    ],
)
def test_thinking_allowed_with_tools(
    make: Any, build: Any, options: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    llm = make(model=OLD, **options)
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, "Hi", **kwargs)
    build(llm, chat_kwargs.pop("messages"), **chat_kwargs)


def test_the_option_check_covers_a_thinking_object(make: Any) -> None:
    thinking = {"type": "enabled", "budget_tokens": 2048}
    with pytest.raises(InvalidOptionError, match="cannot force a tool call"):
        make(model=OLD, thinking=thinking).build_request([], {"tool_choice": "any"}, stream=False)


# -- the plain tools= option -------------------------------------------------------------------


def test_tools_option_takes_function_tools(make: Any, build: Any) -> None:
    llm = make(tools=[TOOLS[0], get_time, {"name": "f", "input_schema": {"type": "object"}}])
    assert [t["name"] for t in llm.tools or ()] == ["get_weather", "get_time", "f"]
    body = build(llm).json
    assert body["tools"][1]["input_schema"]["required"] == ["zone"]


def test_tools_option_per_call(make: Any, build: Any) -> None:
    body = build(make(), tools=[TOOLS[1]], tool_choice="get_time").json
    assert body["tools"][0]["name"] == "get_time"
    assert body["tool_choice"] == {"type": "tool", "name": "get_time"}


def test_tools_option_refuses_other_things(make: Any) -> None:
    with pytest.raises(InvalidOptionError, match="a FunctionTool or a function, not int"):
        make().build_request([], {"tools": [3]}, stream=False)


def test_tools_option_checks_tool_names(registry: Any, make: Any) -> None:
    bad = FunctionTool.from_defaults(get_time, name="get time")
    with pytest.raises(InvalidOptionError, match="'get time' is not one anthropic takes") as caught:
        make().build_request([], {"tools": [bad]}, stream=False)
    assert (caught.value.provider, caught.value.option) == ("anthropic", "tools")
    with pytest.raises(InvalidOptionError, match="'get time' is not one anthropic takes"):
        llmplug.load("anthropic", api_key="k", tools=[bad])


def test_tools_option_of_dicts_loads_no_tool_machinery() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from llmplug_anthropic import AnthropicLLM\n"
        "AnthropicLLM(api_key='k', tools=[{'name': 'f', 'input_schema': {'type': 'object'}}])\n"
        "print('llmplug.tools._types' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- metadata ----------------------------------------------------------------------------------


def test_a_function_calling_llm(make: Any) -> None:
    llm = make()
    assert isinstance(llm, FunctionCallingLLM)
    assert llm.metadata.is_function_calling_model
    assert AnthropicLLM.capabilities.tools


# -- streamed tool input -----------------------------------------------------------------------


def parse_all(llm: Any, events: list[Any], sdk: Any) -> list[Any]:
    state = llm.start_stream()
    out = []
    for event in events:
        sdk.check_event(event)
        result = llm.parse_event(ServerEvent(data=json.dumps(event), event=event["type"]), state)
        if result is STREAM_END:
            return out
        if result is not None:
            out.append(result)
    raise AssertionError("no message_stop")


def test_streamed_input_is_partial_text_until_its_block_stops(make: Any, sdk: Any) -> None:
    # parsed once, at content_block_stop: not on every delta (quadratic in its length)
    llm = make()
    chunks = parse_all(llm, TWO_CALL_STREAM, sdk)
    kwargs = [[c.tool_kwargs for c in calls_of(chunk)] for chunk in chunks]
    assert kwargs[1:] == [
        [{}],  # the empty first delta: no input yet
        ['{"loca'],
        ['{"location": "Par'],
        ['{"location": "Paris"}'],  # complete, but its block has not stopped yet
        [{"location": "Paris"}, '{"zone":'],
        [{"location": "Paris"}, '{"zone": "UTC"}'],
        [{"location": "Paris"}, {"zone": "UTC"}],  # message_delta
    ]
    first = calls_of(chunks[2])[0]
    assert (first.tool_call_id, first.tool_name) == ("toolu_01", "get_weather")
    selections = llm.get_tool_calls_from_response(chunks[-1])
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("toolu_01", "get_weather", {"location": "Paris"}),
        ("toolu_02", "get_time", {"zone": "UTC"}),
    ]
    assert chunks[-1].message.content == "Checking."


def test_a_no_argument_call_streams_to_an_empty_object(make: Any, sdk: Any) -> None:
    chunks = parse_all(make(), tool_stream(("toolu_9", "now", [""])), sdk)
    assert [c.tool_kwargs for c in calls_of(chunks[-1])] == [{}]


def test_a_text_stream_stays_on_the_fast_path(make: Any) -> None:
    llm = make()
    state = llm.start_stream()
    for event in w.TEXT_STREAM[:-2]:
        llm.parse_event(ServerEvent(data=json.dumps(event)), state)
    assert state.text_only


# -- end to end --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_predict_and_call(registry: Any, server: Server, mode: str) -> None:
    server.message = WEATHER_CALL
    llm = load(server, "anthropic:claude-sonnet-4-5")
    if mode == "sync":
        result = llm.predict_and_call(TOOLS, "Weather in Paris?")
    else:
        try:
            result = await llm.apredict_and_call(TOOLS, "Weather in Paris?")
        finally:
            await llm.aclose()
    assert result.response == "18 degrees celsius in Paris"
    assert [s.is_error for s in result.sources] == [False]
    assert result.metadata["tool_calls"][0].tool_id == "toolu_01"
    body = server.bodies[0]
    assert [t["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_parallel_calls(registry: Any, server: Server, mode: str) -> None:
    server.message = TWO_CALLS
    llm = load(server, "anthropic")
    if mode == "sync":
        result = llm.predict_and_call(TOOLS, "Both?", allow_parallel_tool_calls=True)
    else:
        try:
            result = await llm.apredict_and_call(TOOLS, "Both?", allow_parallel_tool_calls=True)
        finally:
            await llm.aclose()
    assert [s.content for s in result.sources] == ["18 degrees celsius in Paris", "12:00 UTC"]
    assert server.bodies[0]["tool_choice"] == {"type": "auto"}


async def test_async_tools_run_concurrently(registry: Any, server: Server) -> None:
    # each tool waits for the other to start: only concurrent calls finish
    started = [asyncio.Event(), asyncio.Event()]

    async def weather(location: str) -> str:
        started[0].set()
        await started[1].wait()
        return f"sunny in {location}"

    async def time(zone: str) -> str:
        started[1].set()
        await started[0].wait()
        return f"noon in {zone}"

    tools = [
        FunctionTool.from_defaults(async_fn=weather, name="get_weather"),
        FunctionTool.from_defaults(async_fn=time, name="get_time"),
    ]
    server.message = TWO_CALLS
    llm = load(server, "anthropic")
    try:
        result = await asyncio.wait_for(
            llm.apredict_and_call(tools, "Both?", allow_parallel_tool_calls=True), 5
        )
    finally:
        await llm.aclose()
    assert result.response == "sunny in Paris\n\nnoon in UTC"


def test_extra_calls_dropped_without_parallel(
    registry: Any, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.message = TWO_CALLS  # the model ignored disable_parallel_tool_use
    result = load(server, "anthropic").predict_and_call(TOOLS, "Both?")
    assert [s.tool_name for s in result.sources] == ["get_weather"]
    assert "only the first (get_weather) is kept" in caplog.text


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_tool_that_raises(registry: Any, server: Server, mode: str) -> None:
    def get_weather(location: str) -> str:
        raise RuntimeError("station offline")

    tools = [FunctionTool.from_defaults(get_weather)]
    server.message = WEATHER_CALL
    llm = load(server, "anthropic")
    try:
        if mode == "sync":
            result = llm.predict_and_call(tools, "Weather?")
            with pytest.raises(ToolCallError, match="station offline") as caught:
                llm.predict_and_call(tools, "Weather?", error_on_tool_error=True)
        else:
            result = await llm.apredict_and_call(tools, "Weather?")
            with pytest.raises(ToolCallError, match="station offline") as caught:
                await llm.apredict_and_call(tools, "Weather?", error_on_tool_error=True)
    finally:
        await llm.aclose()
    (output,) = result.sources
    assert output.is_error
    assert "RuntimeError: station offline" in output.content
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_an_invented_tool_and_bad_arguments(registry: Any, server: Server) -> None:
    server.message = w.message(
        tool_use("toolu_01", "get_forecast", {"location": "Paris"}),
        tool_use("toolu_02", "get_time", {"zone": 3, "extra": True}),
        stop="tool_use",
    )
    result = load(server, "anthropic").predict_and_call(TOOLS, "?", allow_parallel_tool_calls=True)
    invented, bad = result.sources
    assert invented.is_error
    assert "there is no tool named 'get_forecast'" in invented.content
    assert bad.is_error
    assert "unexpected argument 'extra'" in bad.content


def test_no_tool_call(registry: Any, server: Server) -> None:
    server.message = w.TEXT
    llm = load(server, "anthropic")
    with pytest.raises(ToolCallError, match="the model made none; it answered: 'Hello!"):
        llm.predict_and_call(TOOLS, "Hi")
    result = llm.predict_and_call(TOOLS, "Hi", error_on_no_tool_call=False)
    assert result.response == "Hello! How can I help you today?"


def test_forced_call_with_thinking_makes_no_request(registry: Any, server: Server) -> None:
    llm = load(server, f"anthropic:{OLD}?thinking_budget=2048")
    with pytest.raises(InvalidOptionError, match="tool_required=True forces a tool call"):
        llm.predict_and_call(TOOLS, "Weather?", tool_required=True)
    assert server.requests == []


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_streamed_tool_calls_end_to_end(registry: Any, server: Server, endpoint: str) -> None:
    server.events = TWO_CALL_STREAM
    llm = load(server, "anthropic")
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, "go", allow_parallel_tool_calls=True)
    chunks = await call(llm, endpoint, chat_kwargs.pop("messages"), **chat_kwargs)
    selections = llm.get_tool_calls_from_response(chunks[-1])
    assert [(s.tool_name, s.tool_kwargs) for s in selections] == [
        ("get_weather", {"location": "Paris"}),
        ("get_time", {"zone": "UTC"}),
    ]
    assert server.bodies[0]["stream"] is True
    assert chunks[-1].additional_kwargs["stop_reason"] == "tool_use"


async def test_stream_chat_with_tools(registry: Any, server: Server) -> None:
    server.events = TWO_CALL_STREAM
    llm = load(server, "anthropic")
    chunks = list(llm.stream_chat_with_tools(TOOLS, "go", allow_parallel_tool_calls=True))
    assert any(isinstance(c.tool_kwargs, str) for chunk in chunks for c in calls_of(chunk))
    try:
        agen = await llm.astream_chat_with_tools(TOOLS, "go", tool_choice="get_time")
        achunks = [c async for c in agen]
    finally:
        await llm.aclose()
    assert calls_of(achunks[-1]) == calls_of(chunks[-1])
    assert "".join(c.delta or "" for c in chunks) == "Checking."
    assert server.bodies[0]["tool_choice"] == {"type": "auto"}
    assert server.bodies[1]["tool_choice"] == {
        "type": "tool",
        "name": "get_time",
        "disable_parallel_tool_use": True,
    }


def test_sync_tools_run_in_threads_async(registry: Any, server: Server) -> None:
    # a sync tool in apredict_and_call runs off the event loop's thread
    seen: list[str] = []

    def get_time(zone: str) -> str:
        seen.append(threading.current_thread().name)
        return zone

    server.message = w.message(tool_use("toolu_01", "get_time", {"zone": "UTC"}), stop="tool_use")
    llm = load(server, "anthropic")

    async def run() -> Any:
        try:
            return await llm.apredict_and_call([FunctionTool.from_defaults(get_time)], "?")
        finally:
            await llm.aclose()

    assert asyncio.run(run()).response == "UTC"
    assert len(seen) == 1
    assert seen[0] != threading.main_thread().name


# -- the documented example --------------------------------------------------------------------


def documented_prepare() -> Any:
    """The ``_prepare_chat_with_tools`` that docs/tools.md shows for this provider."""
    from pathlib import Path

    docs = Path(__file__).parents[3] / "docs" / "tools.md"
    blocks = docs.read_text(encoding="utf-8").split("```python\n")[1:]
    (code,) = [b.split("```")[0] for b in blocks if "class AnthropicLLM(" in b]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["AnthropicLLM"].__dict__["_prepare_chat_with_tools"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="auto"),
        pytest.param({"tool_required": True, "allow_parallel_tool_calls": True}, id="required"),
        pytest.param({"tool_choice": "get_time"}, id="by-name"),
        pytest.param({"tool_choice": "none"}, id="none"),
        pytest.param({"tool_choice": {"type": "auto"}}, id="raw"),
    ],
)
def test_the_documented_example_is_what_the_provider_does(make: Any, kwargs: Any) -> None:
    llm = make()
    assert documented_prepare()(llm, TOOLS, "Hi", **kwargs) == llm._prepare_chat_with_tools(
        TOOLS, "Hi", **kwargs
    )


def test_streamed_input_is_parsed_once_and_deep_nesting_stays_text(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmplug_anthropic import _parse

    llm = make()
    state = llm.start_stream()
    calls: list[str] = []
    real = _parse.json.loads
    monkeypatch.setattr(_parse.json, "loads", lambda text: calls.append(text) or real(text))

    def event(data: dict[str, Any]) -> Any:
        return llm.parse_event(ServerEvent(data=json.dumps(data), event=data["type"]), state)

    event(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        }
    )
    for piece in ['{"a": {"b": 1}', ', "c": {"d": 2}', ', "e": [{"f": 3}]', "}"]:
        event(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
        )
    assert calls == []  # pieces ending in "}" are not parsed either
    event({"type": "content_block_stop", "index": 0})
    assert len(calls) == 1
    assert state.blocks[0]["input"] == {"a": {"b": 1}, "c": {"d": 2}, "e": [{"f": 3}]}

    deep = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    event(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}},
        }
    )
    event(
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": deep},
        }
    )
    event({"type": "content_block_stop", "index": 1})  # no RecursionError
    assert state.blocks[1]["input"] == deep
