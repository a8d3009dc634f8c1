"""Options: how each one is sent, per-call overrides, validation, config strings, metadata.

Every body built here is checked against the official OpenAPI spec (``build``).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import llmplug
from llmplug import Capabilities, ChatMessage, MessageRole
from llmplug.errors import InvalidOptionError
from llmplug_openai import OpenAILLM

SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "strict": True,
    },
}
TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_default_body(make: Any, build: Any) -> None:
    request = build(make())
    assert request.json == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    assert (request.method, request.path) == ("POST", "/chat/completions")
    assert dict(request.headers) == {}
    assert dict(request.params) == {}


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        pytest.param({"temperature": 0.0}, {"temperature": 0.0}, id="temperature"),
        pytest.param({"top_p": 0.9}, {"top_p": 0.9}, id="top_p"),
        pytest.param({"stop": "END"}, {"stop": "END"}, id="stop-str"),
        pytest.param({"stop": ["a", "b"]}, {"stop": ["a", "b"]}, id="stop-list"),
        pytest.param({"seed": 42}, {"seed": 42}, id="seed"),
        pytest.param({"logprobs": True}, {"logprobs": True}, id="logprobs"),
        pytest.param(
            {"logprobs": True, "top_logprobs": 3},
            {"logprobs": True, "top_logprobs": 3},
            id="top_logprobs",
        ),
        pytest.param(
            {"response_format": {"type": "json_object"}},
            {"response_format": {"type": "json_object"}},
            id="json-mode",
        ),
        pytest.param({"response_format": SCHEMA}, {"response_format": SCHEMA}, id="json-schema"),
        pytest.param({"tools": [TOOL]}, {"tools": [TOOL]}, id="tools"),
        pytest.param(
            {"tools": [TOOL], "tool_choice": "required", "parallel_tool_calls": False},
            {"tools": [TOOL], "tool_choice": "required", "parallel_tool_calls": False},
            id="tool-choice",
        ),
        pytest.param(
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "weather"}}},
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "weather"}}},
            id="named-tool",
        ),
        pytest.param({"tools": []}, {}, id="no-tools"),
        pytest.param(
            {"model": "o4-mini", "reasoning_effort": "high"},
            {"model": "o4-mini", "reasoning_effort": "high"},
            id="reasoning-effort",
        ),
        pytest.param({"user": "user-1234"}, {"user": "user-1234"}, id="user"),
        pytest.param({"max_tokens": 64}, {"max_completion_tokens": 64}, id="max-tokens"),
        pytest.param({"n": 1}, {}, id="n-1-not-sent"),
        pytest.param(
            {"extra_body": {"service_tier": "flex", "store": False}},
            {"service_tier": "flex", "store": False},
            id="extra-body",
        ),
        pytest.param(
            {"temperature": 0.5, "extra_body": {"temperature": 0.1}},
            {"temperature": 0.1},
            id="extra-body-wins",
        ),
    ],
)
@pytest.mark.parametrize("per_call", [False, True], ids=["instance", "per-call"])
def test_option_in_body(
    make: Any, build: Any, options: dict[str, Any], sent: dict[str, Any], per_call: bool
) -> None:
    request = build(make(), **options) if per_call else build(make(**options))
    expected = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], **sent}
    assert request.json == expected


@pytest.mark.parametrize(
    ("options", "headers"),
    [
        pytest.param({"organization": "org-1"}, {"OpenAI-Organization": "org-1"}, id="org"),
        pytest.param({"project": "proj_1"}, {"OpenAI-Project": "proj_1"}, id="project"),
        pytest.param(
            {"organization": "org-1", "project": "proj_1"},
            {"OpenAI-Organization": "org-1", "OpenAI-Project": "proj_1"},
            id="both",
        ),
    ],
)
def test_organization_and_project_headers(
    make: Any, build: Any, options: dict[str, Any], headers: dict[str, str]
) -> None:
    assert dict(build(make(**options)).headers) == headers
    assert dict(build(make(), **options).headers) == headers


def test_extra_headers_per_call(make: Any, build: Any) -> None:
    llm = make(extra_headers={"X-Instance": "1"})
    # the instance's extra_headers are sent by the runtime itself, on every request
    assert dict(build(llm).headers) == {}
    assert dict(build(llm, extra_headers={"X-Call": "2"}).headers) == {"X-Call": "2"}


def test_stream_request(make: Any, build: Any) -> None:
    body = build(make(), stream=True).json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("provider", "options", "field"),
    [
        pytest.param("openai", {}, "max_completion_tokens", id="openai"),
        pytest.param(
            "openai", {"base_url": "http://localhost:9000/v1"}, "max_tokens", id="openai-elsewhere"
        ),
        pytest.param(
            "openai",
            {"base_url": "http://localhost:9000/v1", "max_tokens_param": "max_completion_tokens"},
            "max_completion_tokens",
            id="forced-new",
        ),
        pytest.param("openai", {"max_tokens_param": "max_tokens"}, "max_tokens", id="forced-old"),
        pytest.param(
            "azure",
            {"model": "dep", "azure_endpoint": "https://r.openai.azure.com"},
            "max_completion_tokens",
            id="azure",
        ),
        *(
            pytest.param(name, {"model": "m"}, "max_tokens", id=name)
            for name in ("vllm", "llama-server", "lmstudio", "groq", "together")
        ),
        *(
            pytest.param(name, {"model": "m"}, "max_tokens", id=name)
            for name in ("openrouter", "deepseek", "mistral", "fireworks", "xai")
        ),
    ],
)
def test_max_tokens_field(
    make: Any, build: Any, provider: str, options: dict[str, Any], field: str
) -> None:
    body = build(make(provider, max_tokens=100, **options)).json
    assert body[field] == 100
    assert {"max_tokens", "max_completion_tokens"} & set(body) == {field}


# -- per-call options -------------------------------------------------------------------


def test_per_call_options_do_not_change_the_instance(make: Any, build: Any) -> None:
    llm = make(temperature=0.7)
    assert build(llm, temperature=0.1, model="gpt-4.1").json["temperature"] == 0.1
    assert (llm.temperature, llm.model) == (0.7, "gpt-4o-mini")
    assert build(llm).json == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.7,
    }


def test_per_call_model_changes_the_model_decisions(make: Any, build: Any) -> None:
    messages = [ChatMessage(role="system", content="S"), ChatMessage("Hi")]
    body = build(make(max_tokens=5), messages, model="o3").json
    assert body["messages"][0]["role"] == "developer"
    assert body["model"] == "o3"


@pytest.mark.parametrize(
    ("options", "match", "option"),
    [
        pytest.param({"temprature": 0}, "did you mean 'temperature'", "temprature", id="typo"),
        pytest.param({"colour": "red"}, "per-call options: model, temperature", "colour", id="x"),
        pytest.param({"base_url": "http://x"}, "only be set when loading", "base_url", id="load"),
        pytest.param({"api_key": "sk-other"}, "only be set when loading", "api_key", id="key"),
    ],
)
def test_unknown_per_call_option(
    make: Any, options: dict[str, Any], match: str, option: str
) -> None:
    with pytest.raises(InvalidOptionError, match=match) as caught:
        make().build_request([ChatMessage("Hi")], options, stream=False)
    error = caught.value
    assert (error.provider, error.option) == ("openai", option)
    assert "temperature" in error.valid_options
    assert "max_tokens" in error.valid_options
    assert "base_url" not in error.valid_options
    assert "sk-other" not in str(error)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"temperature": 5}, id="temperature"),
        pytest.param({"top_p": -1}, id="top_p"),
        pytest.param({"max_tokens": 0}, id="max_tokens"),
        pytest.param({"top_logprobs": 21}, id="top_logprobs"),
        pytest.param({"reasoning_effort": "extreme"}, id="reasoning_effort"),
        pytest.param({"n": 2}, id="n"),
        pytest.param({"system_role": "boss"}, id="system_role"),
    ],
)
def test_bad_per_call_value(make: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match="invalid option value for a call") as caught:
        make().build_request([ChatMessage("Hi")], options, stream=False)
    assert caught.value.option == next(iter(options))


def test_only_one_choice(make: Any) -> None:
    with pytest.raises(ValidationError, match="only n=1 is supported"):
        make(n=3)


@pytest.mark.parametrize("option", [pytest.param(o, id=o) for o in ("logprobs", "top_logprobs")])
def test_groq_refuses_logprobs_up_front(make: Any, option: str) -> None:
    value: Any = True if option == "logprobs" else 2
    with pytest.raises(InvalidOptionError, match="groq does not support") as caught:
        make("groq", model="m").build_request([ChatMessage("Hi")], {option: value}, stream=False)
    assert caught.value.provider == "groq"
    assert option not in caught.value.valid_options


# -- config strings (through llmplug.load and this plugin's entry points) ---------------


def test_config_string_options(registry: Any) -> None:
    llm = llmplug.load(
        "openai:gpt-4.1?temperature=0.2&max_tokens=5&stop=%5B%22a%22%2C%22b%22%5D"
        "&logprobs=true&top_logprobs=2&seed=7&tool_choice=none"
        '&response_format={"type":"json_object"}&extra_body={"store":false}',
        api_key="sk-test",
    )
    assert isinstance(llm, OpenAILLM)
    assert (llm.model, llm.temperature, llm.max_tokens, llm.seed) == ("gpt-4.1", 0.2, 5, 7)
    assert llm.stop == ["a", "b"]
    assert (llm.logprobs, llm.top_logprobs, llm.tool_choice) == (True, 2, "none")
    assert llm.response_format == {"type": "json_object"}
    assert llm.extra_body == {"store": False}


def test_config_string_json_tool_choice(registry: Any) -> None:
    spec = 'openai?tool_choice={"type":"function","function":{"name":"f"}}'
    llm = llmplug.load(spec, api_key="sk-test")
    assert llm.tool_choice == {"type": "function", "function": {"name": "f"}}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param("openai?temprature=0", "did you mean 'temperature'", id="unknown"),
        pytest.param("openai?n=2", "only n=1 is supported", id="n"),
        pytest.param("openai?temperature=hot", "temperature", id="bad-value"),
    ],
)
def test_config_string_errors(registry: Any, spec: str, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match) as caught:
        llmplug.load(spec, api_key="sk-test")
    assert "max_tokens" in caught.value.valid_options


# -- metadata and capabilities -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "context", "output", "tools"),
    [
        pytest.param("gpt-4o-mini", 128_000, 16_384, True, id="gpt-4o-mini"),
        pytest.param("gpt-4o-2024-08-06", 128_000, 16_384, True, id="dated-snapshot"),
        pytest.param("gpt-4.1-nano", 1_047_576, 32_768, True, id="gpt-4.1-family"),
        pytest.param("o3-mini", 200_000, 100_000, True, id="o3-mini"),
        pytest.param("o1-mini", 128_000, 65_536, False, id="o1-mini"),
        pytest.param("gpt-5.5", 400_000, 128_000, True, id="new-minor-version"),
        pytest.param("gpt-3.5-turbo-0125", 16_385, 4_096, True, id="gpt-3.5"),
        pytest.param("my-finetune", 3_900, 256, False, id="unknown"),
        pytest.param("", 3_900, 256, False, id="empty"),
    ],
)
def test_metadata(make: Any, model: str, context: int, output: int, tools: bool) -> None:
    meta = make(model=model).metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        context,
        output,
        tools,
    )
    assert meta.is_chat_model
    assert meta.model_name == model


def test_metadata_overrides(make: Any) -> None:
    meta = make("vllm", model="Qwen/Qwen2.5-7B", context_window=32_768, max_tokens=512).metadata
    assert (meta.context_window, meta.num_output, meta.system_role) == (
        32_768,
        512,
        MessageRole.SYSTEM,
    )


def test_capabilities_before_instantiation() -> None:
    caps = OpenAILLM.capabilities
    assert isinstance(caps, Capabilities)
    assert caps.chat
    assert caps.streaming
    assert caps.tools
    assert caps.json_schema
    assert caps.vision
    assert caps.audio
    assert caps.documents
    assert not caps.video


def test_key_from_env(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    llm = make(api_key=None)
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(llm)
    assert "sk-from-env" not in str(llm.model_dump())
    assert llm.auth_headers("sk-from-env") == {"Authorization": "Bearer sk-from-env"}


@pytest.mark.parametrize(
    "options",
    [
        {"tool_choice": "none"},
        {"parallel_tool_calls": False},
        {"tool_choice": "auto", "parallel_tool_calls": True},
    ],
    ids=["tool-choice", "parallel", "both"],
)
def test_tool_options_without_tools_are_refused(
    make: Any, build: Any, options: dict[str, Any]
) -> None:
    # the API answers 400 to them: refused before any request, saying what to do
    with pytest.raises(InvalidOptionError, match=r"set but no tools given: pass tools=") as err:
        build(make("openai", model="gpt-4o-mini"), **options)
    assert err.value.option == next(iter(options))
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    sent = build(make("openai", model="gpt-4o-mini"), tools=[tool], **options).json
    assert {k: sent[k] for k in options} == options
