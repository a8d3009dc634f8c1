"""structured_predict and its async/streaming forms, every mode, on the mock provider."""

from __future__ import annotations

import itertools
import json
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, Field

import llmplug
from llmplug import (
    ChatMessage,
    ChatPromptTemplate,
    FlexibleModel,
    MessageRole,
    PromptTemplate,
    PydanticProgramMode,
    StructuredLLM,
    ToolCallBlock,
)
from llmplug.errors import InvalidOptionError, StructuredOutputError
from llmplug.mock import MockChatLLM
from llmplug.testing import json_reply, recording_hooks, scripted, tool_call


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    """Where someone lives."""

    city: str
    zip: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int
    color: Color = Color.RED
    nickname: str | None = None
    address: Address | None = None
    pets: list[str] = Field(default_factory=list)


ADA = Person(name="Ada", age=36, color=Color.GREEN, address=Address(city="London"), pets=["cat"])
ADA_JSON = ADA.model_dump(mode="json")
PROMPT = PromptTemplate("Tell me about {who}.")

MODES = ["sync", "async", "stream", "astream"]
NATIVE_MODES = [
    PydanticProgramMode.OPENAI,
    PydanticProgramMode.GUIDANCE,
    PydanticProgramMode.LM_FORMAT_ENFORCER,
]


async def run(llm: Any, form: str, output_cls: Any = Person, **kwargs: Any) -> tuple[Any, list]:
    """Run one form; return the result and the partials a stream yielded before it."""
    kwargs.setdefault("who", "Ada")
    if form == "sync":
        return llm.structured_predict(output_cls, PROMPT, **kwargs), []
    if form == "async":
        return await llm.astructured_predict(output_cls, PROMPT, **kwargs), []
    if form == "stream":
        items = list(llm.stream_structured_predict(output_cls, PROMPT, **kwargs))
    else:
        gen = await llm.astream_structured_predict(output_cls, PROMPT, **kwargs)
        items = [item async for item in gen]
    assert items, "a stream yields at least the final object"
    return items[-1], items[:-1]


def text_llm(*replies: Any, **options: Any) -> MockChatLLM:
    return scripted(*replies, echo=False, **options)


def native_llm(*replies: Any, **options: Any) -> MockChatLLM:
    return scripted(*replies, echo=False, native_json_schema=True, **options)


def function_llm(*replies: Any, **options: Any) -> MockChatLLM:
    return scripted(*replies, echo=False, function_calling=True, **options)


# -- the path each mode takes ---------------------------------------------------------------


@pytest.mark.parametrize("form", MODES)
async def test_default_on_a_plain_model_puts_the_schema_in_the_prompt(form: str) -> None:
    llm = text_llm(json_reply(ADA))
    result, _ = await run(llm, form)
    assert result == ADA
    sent = llm.calls[0]
    assert sent[-1].role == MessageRole.USER
    assert sent[-1].content.startswith("Tell me about Ada.\n\nAnswer with a JSON object")
    assert '"required": ["name", "age"]' in sent[-1].content
    assert "response_format" not in llm.call_options[0]
    assert "tools" not in llm.call_options[0]


@pytest.mark.parametrize("form", MODES)
async def test_default_prefers_the_native_path(form: str) -> None:
    llm = native_llm(json_reply(ADA), function_calling=True)
    result, _ = await run(llm, form)
    assert result == ADA
    fmt = llm.call_options[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    # no schema in the prompt: the provider enforces it
    assert llm.calls[0][-1].content == "Tell me about Ada."
    assert "tools" not in llm.call_options[0]


@pytest.mark.parametrize("form", MODES)
async def test_default_on_a_function_calling_model_forces_a_tool(form: str) -> None:
    llm = function_llm(tool_call("Person", ADA_JSON))
    result, _ = await run(llm, form)
    assert result == ADA
    options = llm.call_options[0]
    assert [t["function"]["name"] for t in options["tools"]] == ["Person"]
    assert options["tool_choice"].mode == "tool"
    assert options["tool_choice"].name == "Person"
    assert "A person." in options["tools"][0]["function"]["description"]
    assert llm.calls[0][-1].content == "Tell me about Ada."


@pytest.mark.parametrize("form", MODES)
async def test_llm_mode_forces_the_prompt_path(form: str) -> None:
    llm = native_llm(json_reply(ADA, "fence"), function_calling=True)
    llm.pydantic_program_mode = PydanticProgramMode.LLM
    result, _ = await run(llm, form)
    assert result == ADA
    assert "response_format" not in llm.call_options[0]
    assert "tools" not in llm.call_options[0]
    assert "JSON schema" in llm.calls[0][-1].content


@pytest.mark.parametrize("form", MODES)
async def test_function_mode_forces_a_tool_even_with_a_native_path(form: str) -> None:
    llm = native_llm(tool_call("Person", ADA_JSON), function_calling=True)
    llm.pydantic_program_mode = PydanticProgramMode.FUNCTION
    result, _ = await run(llm, form)
    assert result == ADA
    assert "tools" in llm.call_options[0]
    assert "response_format" not in llm.call_options[0]


@pytest.mark.parametrize("mode", NATIVE_MODES)
@pytest.mark.parametrize("form", MODES)
async def test_native_modes_map_to_the_native_path(mode: PydanticProgramMode, form: str) -> None:
    llm = native_llm(json_reply(ADA), pydantic_program_mode=mode)
    result, _ = await run(llm, form)
    assert result == ADA
    assert llm.call_options[0]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("mode", NATIVE_MODES)
@pytest.mark.parametrize("form", MODES)
async def test_native_modes_without_a_native_path_name_the_provider(
    mode: PydanticProgramMode, form: str
) -> None:
    llm = text_llm(json_reply(ADA), pydantic_program_mode=mode)
    with pytest.raises(InvalidOptionError, match=r"\[mock\].*does not offer") as caught:
        await run(llm, form)
    assert caught.value.option == "pydantic_program_mode"
    assert caught.value.valid_options == ["default", "llm"]
    assert llm.calls == []  # refused before any call


@pytest.mark.parametrize("form", MODES)
async def test_function_mode_on_a_model_without_tools_is_refused(form: str) -> None:
    llm = text_llm(json_reply(ADA), pydantic_program_mode=PydanticProgramMode.FUNCTION)
    with pytest.raises(InvalidOptionError, match="needs a model that calls tools") as caught:
        await run(llm, form)
    assert caught.value.provider == "mock"
    assert llm.calls == []


def test_a_provider_declaring_no_json_schema_gets_no_native_path() -> None:
    class NoNative(MockChatLLM):
        capabilities = MockChatLLM.capabilities._replace(json_schema=False)

    llm = NoNative(responses=[json_reply(ADA)], native_json_schema=True)
    assert llm.structured_predict(Person, PROMPT, who="Ada") == ADA
    assert "response_format" not in llm.call_options[0]


def test_mode_from_a_config_string() -> None:
    llm = llmplug.load("mock?pydantic_program_mode=llm&structured_output_retries=0")
    assert llm.pydantic_program_mode == PydanticProgramMode.LLM
    assert llm.structured_output_retries == 0


# -- reading answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(json_reply(ADA), id="bare"),
        pytest.param(json_reply(ADA, indent=2), id="indented"),
        pytest.param(json_reply(ADA, "prose"), id="prose"),
        pytest.param(json_reply(ADA, "fence"), id="fence"),
        pytest.param(
            "Thinking: use {curly} words... " + json_reply(ADA, "fence"), id="braces-before"
        ),
        pytest.param(
            "{'name': 'Ada', 'age': 36, 'color': 'green', 'address': {'city': 'London'},"
            " 'pets': ['cat',],}",
            id="python-literal",
        ),
    ],
)
@pytest.mark.parametrize("form", MODES)
async def test_json_is_found_in_what_models_write(reply: str, form: str) -> None:
    result, _ = await run(text_llm(reply), form)
    assert result == ADA


@pytest.mark.parametrize("form", MODES)
async def test_list_of_models(form: str) -> None:
    people = [ADA, Person(name="Bob", age=7)]
    for llm in (
        text_llm(json_reply(people, "fence")),  # a bare array
        text_llm(json_reply({"items": [p.model_dump(mode="json") for p in people]})),
        native_llm(json_reply({"items": [p.model_dump(mode="json") for p in people]})),
        function_llm(tool_call("PersonList", {"items": [p.model_dump() for p in people]})),
    ):
        result, partials = await run(llm, form, list[Person])
        assert result == people
        for partial in partials:
            assert isinstance(partial, list)
            assert all(isinstance(p, FlexibleModel) for p in partial)
    schema = llm.call_options[0]["tools"][0]["function"]["parameters"]
    assert schema["required"] == ["items"]


@pytest.mark.parametrize("form", MODES)
async def test_tool_arguments_given_as_text(form: str) -> None:
    llm = function_llm(tool_call("Person", json.dumps(ADA_JSON)))
    result, _ = await run(llm, form)
    assert result == ADA


async def test_llm_kwargs_go_to_the_provider() -> None:
    llm = native_llm(json_reply(ADA), json_reply(ADA))
    llm.structured_predict(Person, PROMPT, llm_kwargs={"temperature": 0.5}, who="Ada")
    gen = await llm.astream_structured_predict(Person, PROMPT, {"max_tokens": 9}, who="Ada")
    _ = [item async for item in gen]
    assert llm.call_options[0]["temperature"] == 0.5
    assert llm.call_options[1]["max_tokens"] == 9
    assert "response_format" in llm.call_options[1]


def test_a_chat_template_and_a_str_prompt() -> None:
    llm = text_llm(json_reply(ADA), json_reply(ADA))
    chat = ChatPromptTemplate.from_messages(
        [("system", "You extract people."), ("user", "Text: {text}")]
    )
    assert llm.structured_predict(Person, chat, text="Ada, 36") == ADA
    system, user = llm.calls[0]
    assert system.content.startswith("You extract people.\n\nAnswer with a JSON object")
    assert user.content == "Text: Ada, 36"
    assert llm.structured_predict(Person, "Who is {who}?", who="Ada") == ADA
    assert llm.calls[1][-1].content.startswith("Who is Ada?")


def test_the_system_prompt_is_applied() -> None:
    llm = text_llm(json_reply(ADA), system_prompt="Be exact.")
    llm.structured_predict(Person, PROMPT, who="Ada")
    assert [m.role for m in llm.calls[0]] == [MessageRole.SYSTEM, MessageRole.USER]


def test_hooks_see_the_structured_call() -> None:
    llm = native_llm(json_reply(ADA))
    with recording_hooks() as recorder:
        llm.structured_predict(Person, PROMPT, who="Ada")
    before = recorder.events[0]
    assert before.hook == "before_call"
    assert before.call.kwargs["response_format"]["json_schema"]["name"] == "Person"
    assert recorder.hooks()[-1] == "after_call"


# -- retries and errors -----------------------------------------------------------------------

BAD_AGE = json_reply({"name": "Ada", "age": "thirty-six"})


@pytest.mark.parametrize("form", MODES)
@pytest.mark.parametrize("path", ["text", "native"])
async def test_a_bad_answer_is_retried_with_the_errors(form: str, path: str) -> None:
    make = text_llm if path == "text" else native_llm
    llm = make(BAD_AGE, json_reply(ADA))
    result, _ = await run(llm, form)
    assert result == ADA
    assert len(llm.calls) == 2
    first, second = llm.calls
    assert second[: len(first)] == first  # the conversation goes on
    answer, feedback = second[len(first) :]
    assert (answer.role, answer.content) == (MessageRole.ASSISTANT, BAD_AGE)
    assert feedback.role == MessageRole.USER
    assert "- age: Input should be a valid integer" in feedback.content
    assert "corrected JSON" in feedback.content
    assert llm.call_options[1] == llm.call_options[0]


@pytest.mark.parametrize("form", MODES)
async def test_a_bad_tool_call_is_answered_with_the_errors(form: str) -> None:
    llm = function_llm(
        tool_call("Person", {"name": "Ada"}, tool_call_id="c1"), tool_call("Person", ADA_JSON)
    )
    result, _ = await run(llm, form)
    assert result == ADA
    answer, feedback = llm.calls[1][-2:]
    assert [b.tool_call_id for b in answer.blocks if isinstance(b, ToolCallBlock)] == ["c1"]
    assert feedback.role == MessageRole.TOOL
    assert feedback.additional_kwargs["tool_call_id"] == "c1"
    assert "- age: Field required" in feedback.content


@pytest.mark.parametrize("form", MODES)
async def test_no_tool_call_is_retried(form: str) -> None:
    llm = function_llm("I'd rather chat.", tool_call("Person", ADA_JSON))
    result, _ = await run(llm, form)
    assert result == ADA
    assert "Call the tool Person" in llm.calls[1][-1].content


@pytest.mark.parametrize("form", MODES)
async def test_still_bad_after_the_retries_raises_with_raw_and_errors(form: str) -> None:
    llm = text_llm("not json at all", BAD_AGE)
    with pytest.raises(StructuredOutputError) as caught:
        await run(llm, form)
    error = caught.value
    assert error.provider == "mock"
    assert error.raw == BAD_AGE
    assert [e["loc"] for e in error.errors] == [("age",)]
    assert error.errors[0]["type"] == "int_parsing"
    assert "does not match Person after 2 attempts (text path)" in str(error)
    assert "thirty-six" in str(error)


@pytest.mark.parametrize("form", MODES)
@pytest.mark.parametrize(
    "reply",
    [
        # a small model looping on "[[[[" until max_tokens
        pytest.param('{"name": "Ada", "age": ' + "[" * 5000, id="unclosed"),
        pytest.param('{"name": "Ada", "age": ' + "[" * 5000 + "]" * 5000 + "}", id="closed"),
    ],
)
async def test_deeply_nested_output_is_retried_not_a_recursion_error(form: str, reply: str) -> None:
    llm = text_llm(reply, json_reply(ADA))
    result, partials = await run(llm, form)
    assert result == ADA
    assert len(llm.calls) == 2
    assert all(isinstance(partial, FlexibleModel) for partial in partials)


@pytest.mark.parametrize("retries", [0, 3])
def test_retries_are_configurable(retries: int) -> None:
    llm = text_llm(*[BAD_AGE] * 5, structured_output_retries=retries)
    with pytest.raises(StructuredOutputError, match=f"after {retries + 1} attempt"):
        llm.structured_predict(Person, PROMPT, who="Ada")
    assert len(llm.calls) == retries + 1


def test_no_json_in_the_answer() -> None:
    llm = text_llm("I cannot help with that.", structured_output_retries=0)
    with pytest.raises(StructuredOutputError, match="holds no JSON object") as caught:
        llm.structured_predict(Person, PROMPT, who="Ada")
    assert caught.value.errors[0]["type"] == "json_invalid"
    assert caught.value.raw == "I cannot help with that."


def test_a_cut_off_answer_says_so() -> None:
    cut = llmplug.ChatResponse(
        message=ChatMessage(role="assistant", content='{"name": "Ada", "ag'),
        additional_kwargs={"finish_reason": "length"},
    )
    llm = text_llm(cut)
    with pytest.raises(StructuredOutputError, match=r"cut off: raise max_tokens") as caught:
        llm.structured_predict(Person, PROMPT, who="Ada")
    assert caught.value.errors[0]["type"] == "json_incomplete"
    assert len(llm.calls) == 1  # the same budget would cut it again: no retry


def test_not_a_model_class() -> None:
    with pytest.raises(TypeError, match="pydantic model class or list"):
        text_llm().structured_predict(dict, PROMPT, who="Ada")


def test_the_callers_messages_are_not_changed() -> None:
    llm = text_llm(BAD_AGE, json_reply(ADA))
    messages = [ChatMessage(role="user", content="Ada, 36")]
    structured = llm.as_structured_llm(Person)
    structured.chat(messages)
    assert messages == [ChatMessage(role="user", content="Ada, 36")]


@pytest.mark.parametrize("form", ["chat", "achat", "stream_chat", "astream_chat"])
async def test_structured_llm_answers_carry_the_usage_of_every_attempt(form: str) -> None:
    llm = text_llm(BAD_AGE, json_reply(ADA))
    structured = llm.as_structured_llm(Person)
    messages = [ChatMessage(role="user", content="Ada, 36")]
    if form == "chat":
        answer = structured.chat(messages)
    elif form == "achat":
        answer = await structured.achat(messages)
    elif form == "stream_chat":
        answer = list(structured.stream_chat(messages))[-1]
    else:
        answer = [chunk async for chunk in await structured.astream_chat(messages)][-1]
    assert Person.model_validate_json(answer.message.content or "") == ADA
    # the mock counts words: both attempts (the retry included) are in the answer's usage
    assert answer.usage is not None
    assert answer.usage.output_tokens == len(BAD_AGE.split()) + len(json_reply(ADA).split())
    assert answer.usage.input_tokens > 4  # two prompts of two words, and more


# -- streaming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["stream", "astream"])
@pytest.mark.parametrize("path", ["text", "native", "function"])
async def test_partials_fill_in_as_the_answer_streams(form: str, path: str) -> None:
    if path == "function":
        llm = function_llm(tool_call("Person", ADA_JSON))
    else:
        make = text_llm if path == "text" else native_llm
        llm = make(json_reply(ADA, "fence"), stream_unit="char")
    result, partials = await run(llm, form)
    assert result == ADA
    assert isinstance(result, Person)
    assert len(partials) > 5
    assert all(type(p).__name__ == "FlexiblePerson" for p in partials)
    assert all(isinstance(p, FlexibleModel) for p in partials)
    names = [p.name for p in partials]
    assert names[0] is None or "Ada".startswith(names[0])
    assert names[-1] == "Ada"
    # a field once complete stays; fields arrive in order
    ages = [p.age for p in partials]
    first_age = ages.index(36)
    assert all(a == 36 for a in ages[first_age:])
    assert all(a is None for a in ages[:first_age])
    last = partials[-1]
    assert last.address is not None
    assert last.address.city == "London"
    assert isinstance(last.address, FlexibleModel)
    assert last.pets == ["cat"]


def test_a_string_grows_as_it_streams() -> None:
    llm = text_llm(json_reply({"name": "Ada Lovelace", "age": 36}), stream_unit="char")
    partials = list(llm.stream_structured_predict(Person, PROMPT, who="Ada"))[:-1]
    names = [p.name for p in partials if p.name is not None]
    # partials are paced (a small object gets one every chunk or two): prefixes that grow
    assert len(set(names)) >= 5
    assert all(b.startswith(a) for a, b in itertools.pairwise(names))
    assert len(names[0]) <= 1
    assert names[-1] == "Ada Lovelace"


def test_a_retried_stream_starts_over() -> None:
    llm = text_llm(BAD_AGE, json_reply(ADA))
    items = list(llm.stream_structured_predict(Person, PROMPT, who="Ada"))
    assert items[-1] == ADA
    ages = [getattr(item, "age", None) for item in items[:-1]]
    assert "thirty-six" in ages  # partials are not validated


def test_stream_errors_come_before_iteration() -> None:
    llm = text_llm(pydantic_program_mode=PydanticProgramMode.OPENAI)
    with pytest.raises(InvalidOptionError):
        llm.stream_structured_predict(Person, PROMPT, who="Ada")


async def test_async_stream_is_a_coroutine_returning_an_async_generator() -> None:
    llm = text_llm(json_reply(ADA))
    pending = llm.astream_structured_predict(Person, PROMPT, who="Ada")
    gen = await pending
    assert hasattr(gen, "__anext__")
    assert [item async for item in gen][-1] == ADA


# -- StructuredLLM --------------------------------------------------------------------------------

CHAT = [ChatMessage(role="user", content="Ada is 36.")]


async def test_structured_llm_answers_with_the_object() -> None:
    llm = text_llm(*[json_reply(ADA, "prose")] * 7)
    structured = llm.as_structured_llm(Person)
    assert isinstance(structured, StructuredLLM)
    assert structured.class_name() == "structured_llm"
    assert structured.metadata == llm.metadata
    assert structured.provider_label == "mock"
    expected = ADA.model_dump_json()
    for response in (
        structured.chat(CHAT),
        await structured.achat(CHAT),
        structured.complete("Ada is 36."),
        await structured.acomplete("Ada is 36."),
    ):
        assert response.raw == ADA
        text = getattr(response, "text", None) or response.message.content
        assert text == expected
    chunks = list(structured.stream_chat(CHAT))
    assert chunks[-1].raw == ADA
    assert chunks[-1].message.content == expected
    assert isinstance(chunks[0].raw, FlexibleModel)
    assert json.loads(chunks[0].message.content)["name"] in (None, "Ada")
    gen = await structured.astream_chat(CHAT)
    achunks = [chunk async for chunk in gen]
    assert achunks[-1].raw == ADA
    completions = list(structured.stream_complete("Ada is 36."))
    assert completions[-1].raw == ADA
    assert completions[-1].text == expected


def test_structured_llm_passes_options_and_a_list_output() -> None:
    llm = native_llm(json_reply({"items": [ADA_JSON]}))
    structured = llm.as_structured_llm(list[Person])
    response = structured.chat(CHAT, temperature=0.2)
    assert response.raw == [ADA]
    assert json.loads(response.message.content) == [ADA_JSON]
    assert llm.call_options[0]["temperature"] == 0.2


# -- the parts -----------------------------------------------------------------------------------


def test_strict_schema() -> None:
    from llmplug.structured import output_schema, strict_json_schema

    schema, strict = output_schema(Person).strict_json_schema()
    assert strict
    assert schema["required"] == list(Person.model_fields)
    assert schema["additionalProperties"] is False
    address = schema["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city", "zip"]
    assert "default" not in address["properties"]["zip"]
    assert Person.model_json_schema()["required"] == ["name", "age"]  # not changed

    class WithDict(BaseModel):
        scores: dict[str, int]

    _, strict = strict_json_schema(WithDict.model_json_schema())
    assert not strict


def test_pydantic_output_parser() -> None:
    from llmplug import PydanticOutputParser

    parser = PydanticOutputParser(Person, excluded_schema_keys_from_format=["title"])
    assert parser.output_cls is Person
    assert '"title"' not in parser.format_string.split("```json")[1].split("\n")[1][:10]
    assert parser.format("Q").startswith("Q\n\nAnswer with a JSON object")
    assert "{{" in parser.get_format_string()
    assert parser.parse(json_reply(ADA, "fence")) == ADA
    with pytest.raises(StructuredOutputError, match="age") as caught:
        parser.parse(BAD_AGE)
    assert caught.value.raw == BAD_AGE


def test_flexible_model() -> None:
    from llmplug.structured import create_flexible_model

    flexible = create_flexible_model(Person)
    assert issubclass(flexible, FlexibleModel)
    assert flexible.__name__ == "FlexiblePerson"
    assert flexible() == flexible(name=None, age=None)
    assert flexible(name="Ada", extra=1).model_extra == {"extra": 1}
    assert create_flexible_model(Person) is flexible


def test_import_llmplug_loads_no_structured_module() -> None:
    import subprocess
    import sys

    modules = (
        "llmplug.structured._run",
        "llmplug.structured._output_schema",
        "llmplug.structured._pydantic_parser",
        "llmplug.structured._partial_objects",
        "llmplug.structured._structured_llm",
        "llmplug.structured._incremental_json",
        "llmplug.tools._types",
        "llmplug.tools._function_tool",
    )
    probe = (
        "import sys, llmplug\nfrom llmplug.mock import MockChatLLM\nMockChatLLM()\n"
        f"print([m for m in {modules!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("output_cls", [Person, list[Person]], ids=["model", "list"])
def test_earlier_partials_do_not_change(output_cls: Any) -> None:
    from llmplug.structured import PartialBuilder, PartialJSONParser, output_schema

    value: Any = [ADA_JSON, ADA_JSON] if output_cls is not Person else ADA_JSON
    if output_cls is Person:
        value = {**ADA_JSON, "extra": {"a": [1, {"b": "c"}]}, "pets": ["cat", "dog", "owl"]}
    text = json.dumps(value)
    parser = PartialJSONParser()
    builder = PartialBuilder(output_schema(output_cls))
    seen = []
    for ch in text:
        parser.feed(ch)
        partial = builder.build(parser.value, parser.closed)
        dump = (
            [p.model_dump() for p in partial] if isinstance(partial, list) else partial.model_dump()
        )
        seen.append((partial, json.dumps(dump, default=str)))
    for partial, dump in seen:
        now = (
            [p.model_dump() for p in partial] if isinstance(partial, list) else partial.model_dump()
        )
        assert json.dumps(now, default=str) == dump
    last = seen[-1][0]
    final = [p.model_dump() for p in last] if isinstance(last, list) else last.model_dump()
    assert json.loads(json.dumps(final, default=str)) == json.loads(text)


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Pair(BaseModel):
    left: Person
    right: Person


@pytest.mark.parametrize(
    ("model", "recursive"),
    [
        pytest.param(Node, True, id="tree"),
        pytest.param(Pair, False, id="shared-definition"),
        pytest.param(Person, False, id="flat"),
    ],
)
def test_is_recursive(model: type[BaseModel], recursive: bool) -> None:
    from llmplug.structured import is_recursive

    assert is_recursive(model.model_json_schema()) is recursive
