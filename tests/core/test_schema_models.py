"""Output schemas as data: the concise syntax, and JSON schemas as pydantic models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from llmplug.structured import concise_schema, schema_model
from llmplug.testing import scripted


@pytest.mark.parametrize(
    ("text", "properties"),
    [
        pytest.param("name", {"name": {"type": "string"}}, id="one"),
        pytest.param(
            "name, age int, bio: a one-line bio",
            {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "bio": {"type": "string", "description": "a one-line bio"},
            },
            id="commas",
        ),
        pytest.param(
            "score float: from 0, to 1\nok bool\n\n",
            {
                "score": {"type": "number", "description": "from 0, to 1"},
                "ok": {"type": "boolean"},
            },
            id="lines-allow-commas",
        ),
    ],
)
def test_concise_syntax(text: str, properties: dict[str, Any]) -> None:
    assert concise_schema(text) == {
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("name, age integer", "unknown type 'integer'", id="type"),
        pytest.param("first name", "unknown type 'name'", id="two-words-not-a-type"),
        pytest.param("a b c", "cannot read the field", id="three-words"),
        pytest.param("9lives", "cannot read the field", id="bad-name"),
        pytest.param("a, a int", "given twice", id="twice"),
        pytest.param(" , ", "names no field", id="empty"),
    ],
)
def test_concise_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        concise_schema(text)


def test_a_json_schema_becomes_a_validating_model() -> None:
    schema = {
        "title": "Person",
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "full name", "minLength": 1},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
            "pet": {"$ref": "#/$defs/Pet"},
            "kind": {"enum": ["a", "b"]},
            "nick": {"type": ["string", "null"]},
            "class": {"type": "string"},
            "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["name", "age", "pet"],
        "$defs": {
            "Pet": {"type": "object", "properties": {"n": {"type": "string"}}, "required": ["n"]}
        },
    }
    model = schema_model(schema)
    assert model.__name__ == "Person"
    value = {
        "name": "Ann",
        "age": 3,
        "tags": ["x"],
        "pet": {"n": "Rex"},
        "kind": "a",
        "nick": None,
        "class": "c",
        "extra": {"k": 1},
    }
    assert model.model_validate(value).model_dump(mode="json", by_alias=True) == value
    produced = model.model_json_schema(by_alias=True)
    assert produced["properties"]["name"]["description"] == "full name"
    assert "class" in produced["properties"]  # a keyword kept as the property's name
    for bad in (
        {**value, "age": -1},
        {**value, "name": ""},
        {**value, "kind": "c"},
        {k: v for k, v in value.items() if k != "pet"},
        {**value, "pet": {}},
        {**value, "tags": "x"},
    ):
        with pytest.raises(ValidationError):
            model.model_validate(bad)


def test_closed_objects_refuse_other_keys() -> None:
    model = schema_model(
        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    )
    with pytest.raises(ValidationError):
        model.model_validate({"a": 1, "b": 2})


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        pytest.param({"type": "array"}, "must describe a JSON object", id="not-object"),
        pytest.param([], "a JSON schema is an object", id="not-dict"),
        pytest.param(
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}},
            "does not define",
            id="missing-ref",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"n": {"$ref": "#/$defs/Node"}},
                "$defs": {
                    "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
                },
            },
            "recursive",
            id="recursive",
        ),
        pytest.param(
            {"type": "object", "properties": {"a": {"type": "decimal"}}},
            "unknown JSON schema type",
            id="unknown-type",
        ),
    ],
)
def test_schemas_it_cannot_take_say_why(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schema_model(schema)


async def test_structured_output_runs_on_the_model_sync_and_async() -> None:
    model = schema_model(concise_schema("name, age int"))
    answer = json.dumps({"name": "Ann", "age": 3})
    llm = scripted("not JSON at all", answer, answer)
    structured = llm.as_structured_llm(model)
    first = structured.chat([])  # retried once with the validation error, then valid
    assert first.raw.model_dump() == {"name": "Ann", "age": 3}
    second = await structured.achat([])
    assert second.raw.model_dump() == {"name": "Ann", "age": 3}
