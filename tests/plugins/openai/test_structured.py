"""Structured output over the Chat Completions wire: ``response_format`` bodies checked
against the official OpenAPI spec, and structured_predict end to end, sync, async and
streamed, through the HTTP runtime."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

from llmplug import PromptTemplate, PydanticProgramMode
from llmplug.errors import InvalidOptionError, StructuredOutputError
from llmplug.structured import output_schema

from .test_transport import Server, load
from .wire_data import REFUSAL, chunk, completion


class Unit(StrEnum):
    C = "celsius"
    F = "fahrenheit"


class Reading(BaseModel):
    """One temperature reading."""

    city: str
    degrees: float
    unit: Unit = Unit.C
    note: str | None = None


class Report(BaseModel):
    """A weather report."""

    title: str
    readings: list[Reading]
    source: Reading | None = None


class Scores(BaseModel):
    scores: dict[str, int]


REPORT = Report(title="Today", readings=[Reading(city="Paris", degrees=18.5)])
PROMPT = PromptTemplate("Weather in {city}?")


@pytest.fixture
def server(check_body: Callable[[Any], Any]) -> Iterator[Server]:
    server = Server(check_body)
    yield server
    assert server.open_responses == [], "a response was left open"


def native_body(make: Any, build: Any, output_cls: Any, model: str = "gpt-4o-mini") -> Any:
    llm = make(model=model)
    options = llm._structured_request_kwargs(output_schema(output_cls))
    return build(llm, "Weather?", **options).json


@pytest.mark.parametrize("output_cls", [Report, list[Reading], Reading], ids=str)
def test_response_format_matches_the_spec(make: Any, build: Any, output_cls: Any) -> None:
    body = native_body(make, build, output_cls)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    spec = fmt["json_schema"]
    assert spec["strict"] is True
    schema = spec["schema"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(schema["properties"])
    for definition in schema.get("$defs", {}).values():
        if definition.get("type") == "object":
            assert definition["additionalProperties"] is False


def test_names_and_descriptions(make: Any, build: Any) -> None:
    spec = native_body(make, build, list[Reading])["response_format"]["json_schema"]
    assert spec["name"] == "ReadingList"
    assert spec["description"] == "A list of items, each: One temperature reading."
    assert spec["schema"]["required"] == ["items"]


def test_a_dict_field_is_sent_without_strict(make: Any, build: Any) -> None:
    spec = native_body(make, build, Scores)["response_format"]["json_schema"]
    assert spec["strict"] is False
    assert spec["schema"] == Scores.model_json_schema()


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4-turbo", "gpt-4o-2024-05-13"])
def test_models_without_structured_outputs_use_a_tool(make: Any, model: str) -> None:
    assert make(model=model)._structured_request_kwargs(output_schema(Report)) is None


def test_presets(make: Any) -> None:
    schema = output_schema(Report)
    assert make("llama-server")._structured_request_kwargs(schema) is not None
    assert not make("deepseek", model="deepseek-chat").capabilities.json_schema


# -- end to end ----------------------------------------------------------------------------------


def _stream_of(text: str, size: int = 7) -> list[Any]:
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": text[i : i + size]}) for i in range(0, len(text), size)]
    events.append(chunk({}, finish="stop"))
    return events


async def _predict(llm: Any, form: str, output_cls: Any = Report) -> tuple[Any, list[Any]]:
    try:
        if form == "sync":
            return llm.structured_predict(output_cls, PROMPT, city="Paris"), []
        if form == "async":
            return await llm.astructured_predict(output_cls, PROMPT, city="Paris"), []
        if form == "stream":
            items = list(llm.stream_structured_predict(output_cls, PROMPT, city="Paris"))
        else:
            gen = await llm.astream_structured_predict(output_cls, PROMPT, city="Paris")
            items = [item async for item in gen]
        return items[-1], items[:-1]
    finally:
        await llm.aclose()


FORMS = ["sync", "async", "stream", "astream"]


@pytest.mark.parametrize("form", FORMS)
async def test_native_end_to_end(registry: Any, server: Server, form: str) -> None:
    text = REPORT.model_dump_json()
    server.completion = completion({"content": text})
    server.events = _stream_of(text)
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    result, partials = await _predict(llm, form)
    assert result == REPORT
    body = server.bodies[0]
    assert body["response_format"]["json_schema"]["name"] == "Report"
    assert body["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert "tools" not in body
    if "stream" in form:
        assert len(partials) > 3
        assert partials[-1].readings[0].city == "Paris"


@pytest.mark.parametrize("form", FORMS)
async def test_a_forced_tool_on_an_older_model(registry: Any, server: Server, form: str) -> None:
    arguments = REPORT.model_dump_json()
    call = {"id": "call_1", "type": "function", "function": {"name": "Report"}}
    server.completion = completion(
        {"tool_calls": [{**call, "function": {**call["function"], "arguments": arguments}}]},
        finish="tool_calls",
    )
    server.events = [
        chunk({"role": "assistant", "content": None}),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, **call, "function": {**call["function"], "arguments": ""}}
                ]
            }
        ),
        *(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 9]}}]})
            for i in range(0, len(arguments), 9)
        ),
        chunk({}, finish="tool_calls"),
    ]
    llm = load(server, "openai:gpt-4-turbo", api_key="sk-test")
    result, partials = await _predict(llm, form)
    assert result == REPORT
    body = server.bodies[0]
    assert "response_format" not in body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Report"}}
    assert body["tools"][0]["function"]["name"] == "Report"
    if "stream" in form:
        assert partials
        assert partials[-1].title == "Today"


async def test_a_retry_goes_back_as_a_conversation(registry: Any, server: Server) -> None:
    bad = json.dumps({"title": "Today", "readings": [{"city": "Paris", "degrees": "warm"}]})
    replies = iter(
        [completion({"content": bad}), completion({"content": REPORT.model_dump_json()})]
    )

    class TwoAnswers(Server):
        def __call__(self, request: Any) -> Any:
            self.completion = next(replies)
            return super().__call__(request)

    server = TwoAnswers(server.check_body)
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    assert llm.structured_predict(Report, PROMPT, city="Paris") == REPORT
    second = server.bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == bad
    assert "readings.0.degrees" in second[2]["content"]


async def test_a_refusal_is_not_retried(registry: Any, server: Server) -> None:
    server.completion = REFUSAL
    llm = load(server, "openai:gpt-4o-mini", api_key="sk-test")
    with pytest.raises(StructuredOutputError, match="refused") as caught:
        llm.structured_predict(Report, PROMPT, city="Paris")
    assert caught.value.raw == "I can't help with that."
    assert len(server.bodies) == 1


def test_openai_mode_on_a_model_without_structured_outputs(registry: Any, server: Server) -> None:
    llm = load(server, "openai:gpt-3.5-turbo", api_key="sk-test")
    llm.pydantic_program_mode = PydanticProgramMode.OPENAI
    with pytest.raises(InvalidOptionError, match=r"\[openai\].*'gpt-3.5-turbo'"):
        llm.structured_predict(Report, PROMPT, city="Paris")
    assert server.bodies == []
