"""Structured output: ``responseJsonSchema`` (Gemini 2.5+), the older ``responseSchema``
subset (Gemini 2.0, 1.5), the forced function call for what the subset cannot hold, and
structured_predict end to end, sync, async and streamed."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, Field

from llmplug import PromptTemplate
from llmplug.http.testing import FakeClock, MockServer, Reply
from llmplug.structured import output_schema
from llmplug_gemini._schema import response_schema

from . import wire_data as w


class Unit(StrEnum):
    C = "celsius"
    F = "fahrenheit"


class Reading(BaseModel):
    """One temperature reading."""

    city: str = Field(min_length=1, description="The city's name")
    degrees: float = Field(ge=-90, le=60)
    unit: Unit = Unit.C
    note: str | None = None


class Report(BaseModel):
    """A weather report."""

    title: str
    readings: list[Reading]


class Tree(BaseModel):
    name: str
    children: list[Tree] = Field(default_factory=list)


REPORT = Report(title="Today", readings=[Reading(city="Paris", degrees=18.5)])
PROMPT = PromptTemplate("Weather in {city}?")


def answer(text: str, *, stream: bool = False) -> Reply:
    data = {
        **w.TEXT,
        "candidates": [
            {**w.TEXT["candidates"][0], "content": {"role": "model", "parts": [{"text": text}]}}
        ],
    }
    if not stream:
        return Reply(200, json=data)
    half = len(text) // 2
    chunks = [
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text[:half]}]}, "index": 0}
            ]
        },
        {
            **data,
            "candidates": [
                {
                    **data["candidates"][0],
                    "content": {"role": "model", "parts": [{"text": text[half:]}]},
                }
            ],
        },
    ]
    return Reply(200, body=w.sse(chunks), headers={"content-type": "text/event-stream"})


def llm_with(make: Any, *replies: Reply, **options: Any) -> tuple[Any, MockServer]:
    server = MockServer(*replies)
    llm = make(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),
        **options,
    )
    return llm, server


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_json_schema_models(make: Any, sdk: Any, mode: str) -> None:
    llm, server = llm_with(make, answer(REPORT.model_dump_json()))
    if mode == "sync":
        report = llm.structured_predict(Report, PROMPT, city="Paris")
    else:
        report = await llm.astructured_predict(Report, PROMPT, city="Paris")
    assert report == REPORT
    body = json.loads(server.requests[0].content)
    sdk.check_request(body)
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == Report.model_json_schema()
    assert "tools" not in body


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_older_models_get_the_openapi_subset(make: Any, sdk: Any, mode: str) -> None:
    llm, server = llm_with(make, answer(REPORT.model_dump_json()), model="gemini-2.0-flash")
    if mode == "sync":
        report = llm.structured_predict(Report, PROMPT, city="Paris")
    else:
        report = await llm.astructured_predict(Report, PROMPT, city="Paris")
    assert report == REPORT
    body = json.loads(server.requests[0].content)
    validated = sdk.check_request(body)  # responseSchema is the SDK's typed Schema
    assert validated["generationConfig"].response_schema.type == "OBJECT"
    schema = body["generationConfig"]["responseSchema"]
    reading = schema["properties"]["readings"]["items"]
    assert schema["propertyOrdering"] == ["title", "readings"]
    assert reading["properties"]["unit"] == {
        "enum": ["celsius", "fahrenheit"],
        "title": "Unit",
        "type": "STRING",
        "format": "enum",
    }
    assert reading["properties"]["note"]["nullable"] is True
    assert reading["properties"]["degrees"]["minimum"] == -90


def test_the_subset_cannot_hold_a_recursive_schema(make: Any) -> None:
    assert response_schema(Tree.model_json_schema()) is None
    llm = make(model="gemini-2.0-flash")
    assert llm._structured_request_kwargs(output_schema(Tree)) is None  # a forced call instead


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_streamed_structured_output(make: Any, mode: str) -> None:
    llm, _ = llm_with(make, answer(REPORT.model_dump_json(), stream=True))
    if mode == "sync":
        items = list(llm.stream_structured_predict(Report, PROMPT, city="Paris"))
    else:
        items = [
            i async for i in await llm.astream_structured_predict(Report, PROMPT, city="Paris")
        ]
    assert items[-1] == REPORT
