"""Tool calling over the Chat Completions wire: request bodies (checked against the
official OpenAPI spec), tool calls in responses and in streamed deltas, and
predict_and_call end to end through the HTTP runtime."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmplug import ChatMessage, FunctionTool, ToolCallBlock
from llmplug.errors import InvalidOptionError
from llmplug.http import ServerEvent

from .test_transport import Server, call, load
from .wire_data import TEXT_STREAM, chunk, completion


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
WEATHER_CALL = completion(
    {
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
            }
        ]
    },
    finish="tool_calls",
)


@pytest.fixture
def server(check_body: Callable[[Any], Any]) -> Iterator[Server]:
    server = Server(check_body)
    yield server
    assert server.open_responses == [], "a response was left open"


def body_for(make: Any, build: Any, **kwargs: Any) -> dict[str, Any]:
    llm = make()
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, "Weather in Paris?", **kwargs)
    messages = chat_kwargs.pop("messages")
    body: dict[str, Any] = build(llm, messages, **chat_kwargs).json
    return body


# -- request bodies ----------------------------------------------------------------------------


def test_tools_in_the_body(make: Any, build: Any) -> None:
    body = body_for(make, build)
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "get_weather(location: str, unit: str = 'celsius') -> str\n"
            "Get the current weather.\n\nArgs:\n    location: The city.\n"
            "    unit: celsius or fahrenheit.",
            "parameters": {
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
        },
    }
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("auto", False)
    assert body["messages"] == [{"role": "user", "content": "Weather in Paris?"}]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"tool_required": True}, "required", id="required"),
        pytest.param({"tool_choice": "none"}, "none", id="none"),
        pytest.param(
            {"tool_choice": "get_time"},
            {"type": "function", "function": {"name": "get_time"}},
            id="by-name",
        ),
        pytest.param(
            {
                "tool_choice": {
                    "type": "allowed_tools",
                    "allowed_tools": {
                        "mode": "auto",
                        "tools": [{"type": "function", "function": {"name": "get_time"}}],
                    },
                }
            },
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "auto",
                    "tools": [{"type": "function", "function": {"name": "get_time"}}],
                },
            },
            id="api-dict-as-given",
        ),
    ],
)
def test_tool_choice_in_the_body(make: Any, build: Any, kwargs: Any, expected: Any) -> None:
    assert body_for(make, build, **kwargs)["tool_choice"] == expected


def test_parallel_calls_allowed(make: Any, build: Any) -> None:
    assert body_for(make, build, allow_parallel_tool_calls=True)["parallel_tool_calls"] is True


def test_other_options_pass_through(make: Any, build: Any) -> None:
    assert body_for(make, build, temperature=0.0)["temperature"] == 0.0


def test_no_tools_sends_no_tool_fields(make: Any, build: Any) -> None:
    llm = make()
    chat_kwargs = llm._prepare_chat_with_tools([], "Hi", tool_required=True)
    assert set(chat_kwargs) == {"messages"}


def test_a_choice_naming_no_tool(make: Any) -> None:
    with pytest.raises(InvalidOptionError, match="'get_date' is not one of the tools given"):
        make()._prepare_chat_with_tools(TOOLS, "Hi", tool_choice="get_date")


def test_history_with_the_call_and_its_result(make: Any, build: Any) -> None:
    # the next turn: the model's call, then the tool's answer as a role=tool message
    llm = make()
    reply = llm.parse_response(copy.deepcopy(WEATHER_CALL))
    [selection] = llm.get_tool_calls_from_response(reply)
    result = ChatMessage(
        role="tool",
        content="18 degrees celsius in Paris",
        additional_kwargs={"tool_call_id": selection.tool_id},
    )
    history = [ChatMessage(role="user", content="Weather in Paris?"), reply.message, result]
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, chat_history=history)
    body = build(llm, chat_kwargs.pop("messages"), **chat_kwargs).json
    assert body["messages"][1] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
            }
        ],
    }
    assert body["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "18 degrees celsius in Paris",
    }


def test_metadata_function_calling_override(make: Any) -> None:
    assert make(model="gpt-4o-mini").metadata.is_function_calling_model
    assert not make("llama-server", model="smollm2").metadata.is_function_calling_model
    assert make(
        "llama-server", model="smollm2", function_calling=True
    ).metadata.is_function_calling_model
    assert not make(model="gpt-4o-mini", function_calling=False).metadata.is_function_calling_model


# -- streamed tool-call deltas ----------------------------------------------------------------


def call_delta(
    index: int, *, id: str | None = None, name: str | None = None, args: str = ""
) -> Any:
    entry: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id is not None:
        entry["id"] = id
        entry["type"] = "function"
        entry["function"]["name"] = name
    return chunk({"tool_calls": [entry]})


INTERLEAVED = [
    chunk({"role": "assistant", "content": None}),
    call_delta(0, id="call_a", name="get_weather"),
    call_delta(1, id="call_b", name="get_time"),
    call_delta(0, args='{"loc'),
    call_delta(1, args='{"zone": '),
    call_delta(0, args='ation": "Paris"}'),
    call_delta(1, args='"UTC"}'),
    chunk({}, finish="tool_calls"),
]


def parse_all(llm: Any, events: list[Any]) -> list[Any]:
    state = llm.start_stream()
    out = []
    for event in events:
        result = llm.parse_event(ServerEvent(data=json.dumps(event)), state)
        if result is not None:
            out.append(result)
    return out


def calls_of(response: Any) -> list[ToolCallBlock]:
    return [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]


def test_interleaved_parallel_deltas_accumulate_by_index(make: Any, spec_errors: Any) -> None:
    for event in INTERLEAVED:
        assert spec_errors(event, "CreateChatCompletionStreamResponse") == []
    chunks = parse_all(make(), INTERLEAVED)
    # partial blocks while the arguments are incomplete: raw text so far
    assert [c.tool_kwargs for c in calls_of(chunks[3])] == ['{"loc', '{"zone": ']
    assert [(c.tool_call_id, c.tool_name) for c in calls_of(chunks[3])] == [
        ("call_a", "get_weather"),
        ("call_b", "get_time"),
    ]
    last = chunks[-1]
    assert [c.tool_kwargs for c in calls_of(last)] == [{"location": "Paris"}, {"zone": "UTC"}]
    selections = make().get_tool_calls_from_response(last)
    assert [s.tool_id for s in selections] == ["call_a", "call_b"]


def test_a_text_stream_keeps_no_tool_state(make: Any) -> None:
    llm = make()
    state = llm.start_stream()
    for event in TEXT_STREAM:
        llm.parse_event(ServerEvent(data=json.dumps(event)), state)
    assert state.tools == {}


# -- end to end ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_predict_and_call(registry: Any, server: Server, mode: str) -> None:
    server.completion = WEATHER_CALL
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    if mode == "sync":
        result = llm.predict_and_call(TOOLS, "Weather in Paris?")
    else:
        try:
            result = await llm.apredict_and_call(TOOLS, "Weather in Paris?")
        finally:
            await llm.aclose()
    assert result.response == "18 degrees celsius in Paris"
    body = server.bodies[0]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("auto", False)


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_streamed_tool_calls_end_to_end(registry: Any, server: Server, endpoint: str) -> None:
    server.events = INTERLEAVED
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    chat_kwargs = llm._prepare_chat_with_tools(TOOLS, "go", allow_parallel_tool_calls=True)
    chunks = await call(llm, endpoint, chat_kwargs.pop("messages"), **chat_kwargs)
    selections = llm.get_tool_calls_from_response(chunks[-1])
    assert [(s.tool_name, s.tool_kwargs) for s in selections] == [
        ("get_weather", {"location": "Paris"}),
        ("get_time", {"zone": "UTC"}),
    ]
    assert server.bodies[0]["stream"] is True


async def test_stream_chat_with_tools(registry: Any, server: Server) -> None:
    server.events = INTERLEAVED
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    chunks = list(llm.stream_chat_with_tools(TOOLS, "go", allow_parallel_tool_calls=True))
    assert len(calls_of(chunks[-1])) == 2
    try:
        agen = await llm.astream_chat_with_tools(TOOLS, "go", allow_parallel_tool_calls=True)
        achunks = [c async for c in agen]
    finally:
        await llm.aclose()
    assert calls_of(achunks[-1]) == calls_of(chunks[-1])


def test_a_long_description_is_sent(make: Any, build: Any) -> None:
    tool = FunctionTool.from_defaults(get_time, description="x" * 2000)
    llm = make()
    chat_kwargs = llm._prepare_chat_with_tools([tool], "Hi")
    body = build(llm, chat_kwargs.pop("messages"), **chat_kwargs).json
    assert len(body["tools"][0]["function"]["description"]) == 2000


@pytest.mark.parametrize("name", ["get time", "x" * 65, "héllo", ""])
def test_a_tool_name_the_api_refuses(make: Any, name: str) -> None:
    tool = FunctionTool.from_defaults(get_time, name=name or None)
    if not name:
        tool.metadata.name = ""
    with pytest.raises(InvalidOptionError, match="is not one openai takes"):
        make()._prepare_chat_with_tools([tool], "Hi")
