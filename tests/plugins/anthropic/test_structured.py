"""Structured output over the Messages API: ``output_config.format`` bodies (validated
with the official SDK's request types), the schema in the form the API takes, the forced
tool for older models, and structured_predict end to end through the HTTP runtime."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, Field

from llmplug import PromptTemplate, PydanticProgramMode
from llmplug.errors import InvalidOptionError
from llmplug.structured import output_schema
from llmplug_anthropic._schema import output_format

from . import wire_data as w
from .test_transport import Server, load


class Unit(StrEnum):
    C = "celsius"
    F = "fahrenheit"


class Reading(BaseModel):
    """One temperature reading."""

    city: str = Field(min_length=1, description="The city's name")
    degrees: float = Field(ge=-90, le=60)
    unit: Unit = Unit.C
    note: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=3)


class Report(BaseModel):
    """A weather report."""

    title: str
    readings: list[Reading]
    source: Reading | None = None


class Tree(BaseModel):
    name: str
    children: list[Tree] = Field(default_factory=list)


class Scores(BaseModel):
    scores: dict[str, int]


REPORT = Report(title="Today", readings=[Reading(city="Paris", degrees=18.5)])
PROMPT = PromptTemplate("Weather in {city}?")
# the keywords the API's structured outputs take
ALLOWED = {
    "type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "properties", "required",
    "additionalProperties", "items", "minItems", "format", "title", "description",
}  # fmt: skip


def keywords(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(keywords(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        if key in ("properties", "$defs"):
            found |= set().union(*(keywords(v) for v in value.values())) if value else set()
        elif key in ("items", "anyOf", "allOf"):
            found |= keywords(value)
    return found


@pytest.fixture
def server(sdk: Any) -> Iterator[Server]:
    server = Server(sdk)
    yield server
    assert server.open_responses == [], "a response was left open"


@pytest.mark.parametrize("output_cls", [Report, list[Reading], Reading], ids=str)
def test_output_config_format_validates_with_the_sdk(
    make: Any, build: Any, output_cls: Any
) -> None:
    llm = make(model="claude-sonnet-4-5", effort="low")
    options = llm._structured_request_kwargs(output_schema(output_cls))
    body = build(llm, "Weather?", **options).json
    config = body["output_config"]
    assert config["effort"] == "low"  # both settings of output_config kept
    fmt = config["format"]
    assert fmt["type"] == "json_schema"
    assert keywords(fmt["schema"]) <= ALLOWED
    assert fmt["schema"]["additionalProperties"] is False


def test_unsupported_keywords_become_hints() -> None:
    fmt = output_format(output_schema(Reading).strict_json_schema()[0])
    assert fmt is not None
    props = fmt["schema"]["properties"]
    assert props["city"] == {
        "type": "string",
        "title": "City",
        "description": "The city's name\n\n{minLength: 1}",
    }
    assert "minimum: -90" in props["degrees"]["description"]
    assert "maximum: 60" in props["degrees"]["description"]
    assert "maxItems: 3" in props["tags"]["description"]
    assert "default" not in str(fmt)


@pytest.mark.parametrize("output_cls", [Tree, Scores], ids=["recursive", "dict-field"])
def test_schemas_the_api_cannot_take_use_a_tool(make: Any, output_cls: Any) -> None:
    llm = make(model="claude-sonnet-4-5")
    assert llm._structured_request_kwargs(output_schema(output_cls)) is None


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-latest", "claude-opus-4-1", "claude-fable-5"])
def test_models_without_structured_outputs_use_a_tool(make: Any, model: str) -> None:
    assert make(model=model)._structured_request_kwargs(output_schema(Report)) is None


def test_output_format_as_a_plain_option(make: Any, build: Any) -> None:
    fmt = {"type": "json_schema", "schema": {"type": "object", "additionalProperties": False}}
    body = build(make(output_format=fmt), "Hi").json
    assert body["output_config"] == {"format": fmt}


# -- end to end ----------------------------------------------------------------------------------

FORMS = ["sync", "async", "stream", "astream"]


async def _predict(llm: Any, form: str) -> tuple[Any, list[Any]]:
    try:
        if form == "sync":
            return llm.structured_predict(Report, PROMPT, city="Paris"), []
        if form == "async":
            return await llm.astructured_predict(Report, PROMPT, city="Paris"), []
        if form == "stream":
            items = list(llm.stream_structured_predict(Report, PROMPT, city="Paris"))
        else:
            gen = await llm.astream_structured_predict(Report, PROMPT, city="Paris")
            items = [item async for item in gen]
        return items[-1], items[:-1]
    finally:
        await llm.aclose()


def _text_stream(text: str, size: int = 9) -> list[Any]:
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    return [
        w.start(),
        w.block_start(0, w.text("")),
        *(w.text_delta(0, piece) for piece in pieces),
        w.block_stop(0),
        w.message_delta(),
        w.STOP,
    ]


@pytest.mark.parametrize("form", FORMS)
async def test_native_end_to_end(registry: Any, server: Server, form: str) -> None:
    text = REPORT.model_dump_json()
    server.message = w.message(w.text(text))
    server.events = _text_stream(text)
    llm = load(server, "anthropic:claude-sonnet-4-5")
    result, partials = await _predict(llm, form)
    assert result == REPORT
    body = server.bodies[0]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "tools" not in body
    assert body["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    if "stream" in form:
        assert len(partials) > 3
        assert partials[-1].readings[0].city == "Paris"


@pytest.mark.parametrize("form", FORMS)
async def test_a_forced_tool_on_an_older_model(registry: Any, server: Server, form: str) -> None:
    arguments = REPORT.model_dump()
    text = REPORT.model_dump_json()
    server.message = w.message(
        {"type": "tool_use", "id": "toolu_01", "name": "Report", "input": arguments},
        stop="tool_use",
    )
    pieces = [text[i : i + 11] for i in range(0, len(text), 11)]
    server.events = [
        w.start(),
        w.block_start(0, {"type": "tool_use", "id": "toolu_01", "name": "Report", "input": {}}),
        *(w.delta(0, type="input_json_delta", partial_json=p) for p in pieces),
        w.block_stop(0),
        w.message_delta("tool_use"),
        w.STOP,
    ]
    llm = load(server, "anthropic:claude-opus-4-1")
    result, partials = await _predict(llm, form)
    assert result == REPORT
    body = server.bodies[0]
    assert "output_config" not in body
    assert body["tool_choice"]["type"] == "tool"
    assert body["tool_choice"]["name"] == "Report"
    assert body["tools"][0]["name"] == "Report"
    if "stream" in form:
        assert partials
        assert partials[-1].title == "Today"


def test_a_bad_tool_input_goes_back_as_a_tool_result(registry: Any, server: Server) -> None:
    answers = iter(
        [
            w.message(
                {"type": "tool_use", "id": "toolu_01", "name": "Report", "input": {"title": 1}},
                stop="tool_use",
            ),
            w.message(
                {
                    "type": "tool_use",
                    "id": "toolu_02",
                    "name": "Report",
                    "input": REPORT.model_dump(),
                },
                stop="tool_use",
            ),
        ]
    )

    class TwoAnswers(Server):
        def __call__(self, request: Any) -> Any:
            self.message = next(answers)
            return super().__call__(request)

    server = TwoAnswers(server.sdk)
    llm = load(server, "anthropic:claude-opus-4-1")
    assert llm.structured_predict(Report, PROMPT, city="Paris") == REPORT
    second = server.bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    result = second[2]["content"][0]
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == "toolu_01"
    assert "readings: Field required" in str(result["content"])


def test_a_native_mode_on_a_model_without_it(registry: Any, server: Server) -> None:
    llm = load(server, "anthropic:claude-3-5-sonnet-latest")
    llm.pydantic_program_mode = PydanticProgramMode.OPENAI
    with pytest.raises(InvalidOptionError, match=r"\[anthropic\].*claude-3-5-sonnet"):
        llm.structured_predict(Report, PROMPT, city="Paris")
    assert server.bodies == []


def test_a_cut_off_answer(registry: Any, server: Server) -> None:
    from llmplug.errors import StructuredOutputError

    server.message = w.message(w.text('{"title": "To'), stop="max_tokens")
    llm = load(server, "anthropic:claude-sonnet-4-5")
    with pytest.raises(StructuredOutputError, match="raise max_tokens"):
        llm.structured_predict(Report, PROMPT, city="Paris")
    assert len(server.bodies) == 1
