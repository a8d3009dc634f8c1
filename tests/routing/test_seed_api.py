"""The seed API through routes: tools and structured output in each model's own format,
predict and stream, and what hooks see of a route's decisions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

import llmplug
from llmplug import ChatMessage, FunctionTool, PromptTemplate
from llmplug.errors import AllModelsFailedError, InternalServerError
from llmplug.routing import (
    RESPONSE_KEY,
    STATE_KEY,
    BalancedLLM,
    FallbackLLM,
    RouteRecord,
    current_attempt,
)
from llmplug.testing import recording_hooks, scripted

from .conftest import HI, MODES, Loopback, ok, openai, status, tool

GPT = "gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-latest"  # no native JSON schema: structured output uses a tool
CLAUDE_NATIVE = "claude-haiku-4-5"


class City(BaseModel):
    name: str
    country: str


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def anthropic(server: Loopback, model: str) -> str:
    return f"anthropic:{model}?base_url={server.url.removesuffix('/v1')}&max_retries=0"


def cross_provider(server: Loopback, closing: Any, claude: str = CLAUDE) -> FallbackLLM:
    route: FallbackLLM = closing(FallbackLLM([openai(server, GPT), anthropic(server, claude)]))
    return route


@pytest.mark.parametrize("mode", MODES)
async def test_a_chain_of_providers_calls_tools_natively_each_in_its_own_format(
    server: Loopback, closing: Any, mode: str
) -> None:
    route = cross_provider(server, closing)
    assert route.metadata.is_function_calling_model
    server.script(GPT, status(503))
    server.script(CLAUDE, tool("add", a=2, b=3))
    tools = [FunctionTool.from_defaults(add)]
    if mode == "sync":
        result = route.predict_and_call(tools, "What is 2 + 3?")
    else:
        result = await route.apredict_and_call(tools, "What is 2 + 3?")
    assert result.response == "5"
    assert server.models() == [GPT, CLAUDE]
    openai_body, anthropic_body = server.bodies
    assert openai_body["tools"][0]["type"] == "function"  # OpenAI's format
    assert openai_body["tools"][0]["function"]["name"] == "add"
    assert anthropic_body["tools"][0]["name"] == "add"  # Anthropic's format
    assert "input_schema" in anthropic_body["tools"][0]


def test_a_model_that_cannot_call_tools_is_passed_over_for_tool_calls(
    server: Loopback, closing: Any
) -> None:
    route = closing(
        FallbackLLM([openai(server, "plain", function_calling="false"), openai(server, GPT)])
    )
    assert not route.metadata.is_function_calling_model  # predict_and_call would use ReAct
    server.script(GPT, tool("add", a=1, b=1))
    response = route.chat_with_tools([FunctionTool.from_defaults(add)], "1 + 1?")
    assert route.get_tool_calls_from_response(response)[0].tool_kwargs == {"a": 1, "b": 1}
    record = response.additional_kwargs[RESPONSE_KEY]
    assert [(a.outcome, a.reason) for a in record.attempts] == [
        ("skipped", "no_tools"),
        ("ok", None),
    ]
    assert server.models() == [GPT]


def test_a_chain_with_a_model_that_cannot_call_tools_uses_react(
    server: Loopback, closing: Any
) -> None:
    route = closing(
        FallbackLLM([openai(server, "plain", function_calling="false"), openai(server, GPT)])
    )
    react = 'Thought: I need a tool.\nAction: add\nAction Input: {"a": 20, "b": 22}'
    server.script("plain", ok(react))
    assert route.predict_and_call([FunctionTool.from_defaults(add)], "20 + 22?").response == "42"


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_structured_output_uses_a_tool_in_each_models_format(
    server: Loopback, closing: Any, mode: str
) -> None:
    route = cross_provider(server, closing)
    server.script(GPT, status(503))
    server.script(CLAUDE, tool("City", name="Paris", country="France"))
    prompt = PromptTemplate("The capital of {country}?")
    if mode == "sync":
        city = route.structured_predict(City, prompt, country="France")
    elif mode == "async":
        city = await route.astructured_predict(City, prompt, country="France")
    elif mode == "stream":
        city = list(route.stream_structured_predict(City, prompt, country="France"))[-1]
    else:
        city = [
            c async for c in await route.astream_structured_predict(City, prompt, country="France")
        ][-1]
    assert city == City(name="Paris", country="France")
    bodies = {body["model"]: body for body in server.bodies}
    assert bodies[GPT]["tool_choice"]["function"]["name"] == "City"
    assert (bodies[CLAUDE]["tool_choice"]["type"], bodies[CLAUDE]["tool_choice"]["name"]) == (
        "tool",
        "City",
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_native_structured_output_is_asked_for_in_each_models_format(
    server: Loopback, closing: Any, mode: str
) -> None:
    route = cross_provider(server, closing, claude=CLAUDE_NATIVE)
    server.script(GPT, status(429))
    server.script(CLAUDE_NATIVE, ok(json.dumps({"name": "Rome", "country": "Italy"})))
    if mode == "sync":
        city = route.structured_predict(City, "The capital of Italy?")
    else:
        city = await route.astructured_predict(City, "The capital of Italy?")
    assert city == City(name="Rome", country="Italy")
    gpt_body, claude_body = server.bodies
    assert gpt_body["response_format"]["type"] == "json_schema"
    assert "response_format" not in claude_body
    assert claude_body["output_config"]["format"]["type"] == "json_schema"


async def test_predict_stream_and_structured_llm_go_through_the_route() -> None:
    boom = InternalServerError("down", status_code=503)
    route = FallbackLLM(
        [scripted(boom, boom, boom, boom, model="p1"), scripted(model="p2")], cooldown=0
    )
    prompt = PromptTemplate("Say {what}")
    assert route.predict(prompt, what="hello") == "Say hello"
    assert list(route.stream(prompt, what="a b")) == ["Say", " a", " b"]
    assert await route.apredict(prompt, what="x") == "Say x"
    assert [t async for t in await route.astream(prompt, what="y")] == ["Say", " y"]
    structured = FallbackLLM(
        [scripted(json.dumps({"name": "Oslo", "country": "Norway"}), model="s1")]
    ).as_structured_llm(City)
    assert structured.complete("Capital of Norway?").raw == City(name="Oslo", country="Norway")


def test_the_system_prompt_is_applied_once() -> None:
    member = scripted(model="sp")
    route = FallbackLLM([member], system_prompt="Be brief.")
    route.chat(HI)
    route.complete("Hi")  # a completion prompt gets it as a prefix, as on any LLM
    assert [[str(m) for m in call] for call in member.calls] == [
        ["system: Be brief.", "user: Hi"],
        ["user: Be brief.\n\nHi"],
    ]


@pytest.mark.parametrize("endpoint", ["chat", "stream_chat", "achat", "astream_chat"])
async def test_hooks_see_each_attempt_and_the_routes_record(endpoint: str, run: Any) -> None:
    boom = InternalServerError("down", status_code=503)
    route = FallbackLLM([scripted(boom, model="h1"), scripted(model="h2")])
    attempts: list[Any] = []

    class Watcher:
        @llmplug.hookimpl
        def before_call(self, call: Any) -> None:
            attempt = current_attempt()
            attempts.append(None if attempt is None else (attempt.index, attempt.model))

    name = llmplug.register_plugin(Watcher())
    try:
        with recording_hooks() as recorder:
            chunks = await run(route, endpoint)
    finally:
        llmplug.unregister_plugin(name)
    assert attempts == [None, (0, "mock:h1"), (1, "mock:h2")]
    providers = [(e.hook, e.call.llm.metadata.model_name) for e in recorder.events]
    assert providers[0] == ("before_call", "h1")  # the route's own call
    assert ("on_call_error", "h1") in providers
    route_end = recorder.events[-1]
    assert (route_end.hook, route_end.call.llm) == ("after_call", route)
    record = route_end.call.state[STATE_KEY]
    assert isinstance(record, RouteRecord)
    assert [(a.model, a.outcome) for a in record.attempts] == [
        ("mock:h1", "failed"),
        ("mock:h2", "ok"),
    ]
    assert chunks[0].additional_kwargs[RESPONSE_KEY] is record


async def test_hooks_see_the_error_of_a_route_that_failed() -> None:
    boom = InternalServerError("down", status_code=503)
    route = BalancedLLM([scripted(boom, model="e1"), scripted(boom, model="e2")])
    with recording_hooks() as recorder, pytest.raises(AllModelsFailedError):
        await route.achat(HI)
    end = recorder.events[-1]
    assert end.hook == "on_call_error"
    assert end.call.llm is route
    assert len(end.payload.attempts) == 2
    assert end.call.state[STATE_KEY].attempts == end.payload.attempts


def test_the_callers_messages_are_never_changed() -> None:
    route = FallbackLLM([scripted(model="m")], system_prompt="sys")
    messages = [ChatMessage(role="user", content="Hi")]
    route.chat(messages)
    assert [m.role.value for m in messages] == ["user"]
