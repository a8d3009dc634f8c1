"""Function calling: declarations, the tool choice, predict_and_call and chat_with_tools."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplug import ChatMessage, FunctionTool, ToolCallBlock
from llmplug.errors import InvalidOptionError
from llmplug.http.testing import FakeClock, MockServer, Reply

from . import wire_data as w


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"18 C in {city}"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


WEATHER = FunctionTool.from_defaults(get_weather)
ADD = FunctionTool.from_defaults(add)


def llm_with(make: Any, *replies: Reply) -> tuple[Any, MockServer]:
    server = MockServer(*replies)
    llm = make(
        transport=server.transport(), async_transport=server.async_transport(), clock=FakeClock()
    )
    return llm, server


def body_of(server: MockServer, sdk: Any, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(server.requests[index].content)
    sdk.check_request(body)
    return body


@pytest.mark.parametrize(
    ("kwargs", "config"),
    [
        pytest.param({}, {"mode": "AUTO"}, id="auto"),
        pytest.param({"tool_required": True}, {"mode": "ANY"}, id="required"),
        pytest.param({"tool_choice": "none"}, {"mode": "NONE"}, id="none"),
        pytest.param(
            {"tool_choice": "add"}, {"mode": "ANY", "allowedFunctionNames": ["add"]}, id="named"
        ),
        pytest.param(
            {"tool_choice": {"mode": "VALIDATED"}}, {"mode": "VALIDATED"}, id="raw-config"
        ),
    ],
)
def test_declarations_and_tool_choice(
    build: Any, make: Any, kwargs: dict[str, Any], config: dict[str, Any]
) -> None:
    llm = make()
    options = llm._prepare_chat_with_tools([WEATHER, ADD], "Hi", **kwargs)
    messages = options.pop("messages")
    body = build(llm, messages, **options).json
    weather, adder = body["tools"][0]["functionDeclarations"]
    assert weather["name"] == "get_weather"
    assert "The weather in a city." in weather["description"]
    assert weather["parametersJsonSchema"]["properties"]["city"]["type"] == "string"
    assert weather["parametersJsonSchema"]["required"] == ["city"]
    assert adder["name"] == "add"
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tools_option_takes_the_apis_own_tools(build: Any, make: Any) -> None:
    llm = make(tools=[{"googleSearch": {}}, get_weather], tool_choice="auto")
    body = build(llm).json
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert body["tools"][1] == {"googleSearch": {}}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_bad_function_names_are_refused(make: Any) -> None:
    bad = FunctionTool.from_defaults(add, name="1-add")
    with pytest.raises(InvalidOptionError, match="letter or '_' first"):
        make()._prepare_chat_with_tools([bad], "Hi")
    with pytest.raises(InvalidOptionError, match="tool_choice"):
        make()._prepare_chat_with_tools([ADD], "Hi", tool_choice="nope")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_predict_and_call(make: Any, sdk: Any, mode: str) -> None:
    llm, server = llm_with(make, Reply(200, json=w.CALL_NO_ID))
    if mode == "sync":
        result = llm.predict_and_call([ADD], "What is 2+3?")
    else:
        result = await llm.apredict_and_call([ADD], "What is 2+3?")
    assert result.response == "5"
    assert result.sources[0].tool_name == "add"
    body = body_of(server, sdk)
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_tool_loop_round_trip(make: Any, sdk: Any, mode: str) -> None:
    """Call, answer, and the answer goes back with the call's id, name and signature."""
    llm, server = llm_with(make, Reply(200, json=w.CALLS), Reply(200, json=w.TEXT))
    history = [ChatMessage(content="Weather in Paris and London?")]
    if mode == "sync":
        reply = llm.chat_with_tools([WEATHER], chat_history=history, allow_parallel_tool_calls=True)
    else:
        reply = await llm.achat_with_tools(
            [WEATHER], chat_history=history, allow_parallel_tool_calls=True
        )
    selections = llm.get_tool_calls_from_response(reply)
    assert [(s.tool_id, s.tool_kwargs) for s in selections] == [
        ("fc-paris", {"city": "Paris"}),
        ("fc-london", {"city": "London"}),
    ]
    results = [
        ChatMessage(
            role="tool",
            content=get_weather(**s.tool_kwargs),
            additional_kwargs={"tool_call_id": s.tool_id},
        )
        for s in selections
    ]
    messages = [*history, reply.message, *results]
    if mode == "sync":
        final = llm.chat_with_tools([WEATHER], chat_history=messages)
    else:
        final = await llm.achat_with_tools([WEATHER], chat_history=messages)
    assert final.message.content == "Hello! How can I help you today?"
    body = body_of(server, sdk)
    assert body["contents"][1] == w.CALLS["candidates"][0]["content"]
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"output": "18 C in Paris"},
                    "id": "fc-paris",
                }
            },
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"output": "18 C in London"},
                    "id": "fc-london",
                }
            },
        ],
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_only_the_first_call_is_kept_without_parallel_calls(make: Any, mode: str) -> None:
    llm, _ = llm_with(make, Reply(200, json=w.CALLS))
    if mode == "sync":
        reply = llm.chat_with_tools([WEATHER], "Weather?")
    else:
        reply = await llm.achat_with_tools([WEATHER], "Weather?")
    calls = [b for b in reply.message.blocks if isinstance(b, ToolCallBlock)]
    assert [c.tool_call_id for c in calls] == ["fc-paris"]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_streamed_tool_calls(make: Any, mode: str) -> None:
    llm, _ = llm_with(
        make,
        Reply(
            200, body=w.sse(w.THOUGHT_CALL_STREAM), headers={"content-type": "text/event-stream"}
        ),
    )
    if mode == "sync":
        chunks = list(llm.stream_chat_with_tools([WEATHER], "Weather in Paris?"))
    else:
        chunks = [
            c async for c in await llm.astream_chat_with_tools([WEATHER], "Weather in Paris?")
        ]
    (selection,) = llm.get_tool_calls_from_response(chunks[-1])
    assert (selection.tool_name, selection.tool_kwargs) == ("get_weather", {"city": "Paris"})
