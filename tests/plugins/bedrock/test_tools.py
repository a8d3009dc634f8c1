"""Tools and structured output over Converse, end to end: ``toolConfig`` bodies (checked
by botocore), tool calls in answers and streams, ``predict_and_call``, and
``structured_predict`` through ``outputConfig.textFormat`` or a forced tool."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from llmplug import FunctionTool
from llmplug.errors import InvalidOptionError

from . import wire_data as w
from .conftest import ENDPOINTS

NOVA = "amazon.nova-pro-v1:0"  # no native JSON-schema output: a forced tool


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
WEATHER = w.tool_call("get_weather", {"location": "Paris"})


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str
    population: int | None = None


def weather_stream() -> bytes:
    return w.stream(
        [
            w.START,
            (
                "contentBlockStart",
                {
                    "start": {"toolUse": {"toolUseId": w.TOOL_ID, "name": "get_weather"}},
                    "contentBlockIndex": 0,
                },
            ),
            (
                "contentBlockDelta",
                {"delta": {"toolUse": {"input": '{"location": '}}, "contentBlockIndex": 0},
            ),
            (
                "contentBlockDelta",
                {"delta": {"toolUse": {"input": '"Paris"}'}}, "contentBlockIndex": 0},
            ),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("messageStop", {"stopReason": "tool_use"}),
            w.metadata(),
        ]
    )


@pytest.mark.parametrize(
    ("choice", "required", "expected"),
    [
        pytest.param(None, False, {"auto": {}}, id="auto"),
        pytest.param(None, True, {"any": {}}, id="required"),
        pytest.param("any", False, {"any": {}}, id="any"),
        pytest.param("get_time", False, {"tool": {"name": "get_time"}}, id="named"),
        pytest.param(
            {"tool": {"name": "get_weather"}}, False, {"tool": {"name": "get_weather"}}, id="raw"
        ),
    ],
)
def test_tool_config(
    make: Any, check_body: Any, choice: Any, required: bool, expected: Any
) -> None:
    llm = make()
    options = llm._prepare_chat_with_tools(
        TOOLS, "Weather?", tool_choice=choice, tool_required=required
    )
    messages = options.pop("messages")
    request = llm.build_request(messages, options, stream=False)
    check_body(request.json, path=request.path)
    config = request.json["toolConfig"]
    assert config["toolChoice"] == expected
    spec = config["tools"][0]["toolSpec"]
    assert spec["name"] == "get_weather"
    assert "Get the current weather." in spec["description"]
    assert spec["inputSchema"]["json"]["required"] == ["location"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"tool_choice": "none"}, "no tool_choice 'none'", id="none"),
        pytest.param({"tool_choice": "get_news"}, "not one of the tools", id="unknown-tool"),
        pytest.param(
            {"tool_required": True, "thinking_budget": 2048}, "extended thinking", id="thinking"
        ),
    ],
)
def test_tool_choices_converse_refuses(make: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        make()._prepare_chat_with_tools(TOOLS, "Weather?", **kwargs)


def test_a_tool_name_converse_refuses(make: Any) -> None:
    bad = FunctionTool.from_defaults(get_time, name="get time")
    with pytest.raises(InvalidOptionError, match="not one Bedrock takes"):
        make()._prepare_chat_with_tools([bad], "?")


def test_function_tools_as_an_option_are_converted(make: Any, build: Any) -> None:
    body = build(make(tools=[get_weather]), tool_choice="auto").json
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_predict_and_call(make: Any, server: Any, endpoint: str) -> None:
    server.reply(200, WEATHER)
    llm = make(**server.transports())
    if endpoint == "chat":
        result = llm.predict_and_call(TOOLS, user_msg="Weather in Paris?")
    else:
        result = await llm.apredict_and_call(TOOLS, user_msg="Weather in Paris?")
        await llm.aclose()
    assert result.response == "18 degrees celsius in Paris"
    (output,) = result.sources
    assert output.tool_name == "get_weather"
    assert output.raw_input == {"args": (), "kwargs": {"location": "Paris"}}
    assert server.bodies[0]["toolConfig"]["toolChoice"] == {"auto": {}}


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_stream_chat_with_tools(make: Any, server: Any, endpoint: str) -> None:
    server.reply(200, weather_stream())
    llm = make(**server.transports())
    if endpoint == "stream_chat":
        chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg="Weather?"))
    else:
        chunks = [c async for c in await llm.astream_chat_with_tools(TOOLS, user_msg="Weather?")]
        await llm.aclose()
    (call,) = llm.get_tool_calls_from_response(chunks[-1])
    assert (call.tool_name, call.tool_kwargs) == ("get_weather", {"location": "Paris"})


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_structured_output_natively_on_claude(make: Any, server: Any, endpoint: str) -> None:
    server.reply(
        200,
        w.converse(
            {"text": json.dumps({"name": "Paris", "country": "France", "population": None})}
        ),
    )
    llm = make(**server.transports())
    if endpoint == "chat":
        city = llm.structured_predict(City, "Name a city in {country}.", country="France")
    else:
        city = await llm.astructured_predict(City, "Name a city in {country}.", country="France")
        await llm.aclose()
    assert city == City(name="Paris", country="France")
    body = server.bodies[0]
    assert "toolConfig" not in body
    structure = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert structure["name"] == "City"
    schema = json.loads(structure["schema"])
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "country", "population"]


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_structured_output_through_a_forced_tool_on_nova(
    make: Any, server: Any, endpoint: str
) -> None:
    server.reply(200, w.tool_call("City", {"name": "Lyon", "country": "France"}))
    llm = make(model=NOVA, **server.transports())
    if endpoint == "chat":
        city = llm.structured_predict(City, "Name a city in France.")
    else:
        city = await llm.astructured_predict(City, "Name a city in France.")
        await llm.aclose()
    assert city == City(name="Lyon", country="France")
    config = server.bodies[0]["toolConfig"]
    assert config["toolChoice"] == {"tool": {"name": "City"}}
    assert "outputConfig" not in server.bodies[0]


def test_a_schema_outside_the_native_subset_uses_a_forced_tool(make: Any, server: Any) -> None:
    class Scores(BaseModel):
        values: dict[str, int]  # arbitrary keys: no strict schema

    server.reply(200, w.tool_call("Scores", {"values": {"a": 1}}))
    scores = make(**server.transports()).structured_predict(Scores, "Scores?")
    assert scores.values == {"a": 1}
    assert server.bodies[0]["toolConfig"]["toolChoice"] == {"tool": {"name": "Scores"}}


@pytest.mark.parametrize("endpoint", ENDPOINTS[2:])
async def test_streamed_structured_output(make: Any, server: Any, endpoint: str) -> None:
    text = json.dumps({"name": "Nice", "country": "France", "population": 340000})
    server.reply(200, w.stream(w.text_events(text[:10], text[10:25], text[25:])))
    llm = make(**server.transports())
    if endpoint == "stream_chat":
        outputs = list(llm.stream_structured_predict(City, "A city?"))
    else:
        outputs = [o async for o in await llm.astream_structured_predict(City, "A city?")]
        await llm.aclose()
    assert outputs[-1] == City(name="Nice", country="France", population=340000)
    assert len(outputs) > 1
