"""Options: validated at load time and per call, sent where the API wants them."""

from __future__ import annotations

from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage, LLMMetadata
from llmplug.errors import InvalidOptionError
from llmplug_anthropic import AnthropicLLM

# a tool, for options that need one (tool_choice)
_F = {"tools": [{"name": "f", "input_schema": {"type": "object"}}]}

OLD = "claude-sonnet-4-5"  # takes sampling options and a thinking budget
NEW = "claude-opus-5-5"  # takes neither: adaptive thinking


def test_default_request(make: Any, build: Any) -> None:
    request = build(make(), "Hi")
    assert request.path == "/v1/messages"
    assert request.method == "POST"
    assert request.json == {
        "model": "claude-haiku-5-5",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert dict(request.headers) == {"anthropic-version": "2023-06-01"}


def test_auth_and_version_headers(make: Any, build: Any) -> None:
    llm = make(api_key="sk-ant-123")
    headers = llm.headers(build(llm), stream=True)
    assert headers["x-api-key"] == "sk-ant-123"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["Accept"] == "text/event-stream"
    assert not any(name.lower() == "authorization" for name in headers)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"max_tokens": 300}, {"max_tokens": 300}, id="max-tokens"),
        pytest.param({"temperature": 0.0}, {"temperature": 0.0}, id="temperature"),
        pytest.param({"top_p": 0.9}, {"top_p": 0.9}, id="top-p"),
        pytest.param({"top_k": 40}, {"top_k": 40}, id="top-k"),
        pytest.param(
            {"stop_sequences": ["\n\nHuman:"]}, {"stop_sequences": ["\n\nHuman:"]}, id="stop"
        ),
        pytest.param({"stop_sequences": "END"}, {"stop_sequences": ["END"]}, id="one-stop"),
        pytest.param(
            {"thinking_budget": 2048},
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 8192 + 2048},
            id="thinking-budget",
        ),
        pytest.param(
            {"thinking_budget": 2048, "max_tokens": 4096},
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096},
            id="thinking-budget-and-max-tokens",
        ),
        pytest.param(
            {"thinking": "disabled"}, {"thinking": {"type": "disabled"}}, id="thinking-off"
        ),
        pytest.param({"effort": "low"}, {"output_config": {"effort": "low"}}, id="effort"),
        pytest.param(
            {"tools": [{"name": "f", "input_schema": {"type": "object"}}]},
            {"tools": [{"name": "f", "input_schema": {"type": "object"}}]},
            id="tools",
        ),
        pytest.param(
            {**_F, "tool_choice": "any"},
            {**_F, "tool_choice": {"type": "any"}},
            id="tool-choice-any",
        ),
        pytest.param(
            {**_F, "tool_choice": "none"},
            {**_F, "tool_choice": {"type": "none"}},
            id="tool-choice-none",
        ),
        pytest.param(
            {**_F, "tool_choice": "get_weather"},
            {**_F, "tool_choice": {"type": "tool", "name": "get_weather"}},
            id="tool-choice-name",
        ),
        pytest.param(
            {**_F, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
            {**_F, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
            id="tool-choice-object",
        ),
        pytest.param({"user_id": "u-42"}, {"metadata": {"user_id": "u-42"}}, id="user-id"),
        pytest.param(
            {"extra_body": {"service_tier": "auto"}}, {"service_tier": "auto"}, id="extra-body"
        ),
    ],
)
@pytest.mark.parametrize("per_call", [False, True], ids=["instance", "per-call"])
def test_option_in_body(
    make: Any, build: Any, options: dict[str, Any], expected: dict[str, Any], per_call: bool
) -> None:
    if per_call:
        sent = build(make(model=OLD), **options).json
    else:
        sent = build(make(model=OLD, **options)).json
    for key, value in expected.items():
        assert sent[key] == value, key


@pytest.mark.parametrize("model", [NEW, "claude-sonnet-5", "claude-opus-4-7", "claude-fable-5-2"])
def test_adaptive_thinking(make: Any, build: Any, model: str) -> None:
    sent = build(make(model=model, thinking="adaptive", effort="high")).json
    assert sent["thinking"] == {"type": "adaptive"}
    assert sent["output_config"] == {"effort": "high"}


def test_stream_request(make: Any, build: Any) -> None:
    assert build(make(), stream=True).json["stream"] is True
    assert "stream" not in build(make()).json


def test_betas_and_version_headers(make: Any, build: Any) -> None:
    llm = make(betas="context-1m-2025-08-07, fast-mode-2026-02-01", anthropic_version="2024-01-01")
    headers = build(llm).headers
    assert headers["anthropic-beta"] == "context-1m-2025-08-07,fast-mode-2026-02-01"
    assert headers["anthropic-version"] == "2024-01-01"
    assert build(llm, betas=["x-1"]).headers["anthropic-beta"] == "x-1"


def test_extra_headers(make: Any, build: Any) -> None:
    llm = make(extra_headers={"X-Instance": "1"})
    request = build(llm, extra_headers={"X-Call": "2"})
    merged = llm.headers(request)
    assert (merged["X-Instance"], merged["X-Call"]) == ("1", "2")


def test_per_call_options_do_not_change_the_instance(make: Any, build: Any) -> None:
    llm = make(model=OLD, temperature=0.5)
    assert build(llm, temperature=0.1, model="claude-opus-4-6").json["model"] == "claude-opus-4-6"
    assert (llm.temperature, llm.model) == (0.5, OLD)
    assert build(llm).json["temperature"] == 0.5


@pytest.mark.parametrize("option", ["temperature", "top_p", "top_k"])
@pytest.mark.parametrize("model", [NEW, "claude-opus-4-7", "claude-haiku-5-5"])
def test_sampling_refused_up_front_by_newer_models(make: Any, option: str, model: str) -> None:
    with pytest.raises(InvalidOptionError, match=f"does not take '{option}'") as caught:
        make(model=model).build_request([], {option: 1}, stream=False)
    assert caught.value.option == option


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"model": NEW, "thinking_budget": 2048}, "thinks adaptively", id="no-budget"),
        pytest.param(
            {"model": OLD, "thinking_budget": 2048, "thinking": "adaptive"}, "not both", id="both"
        ),
        pytest.param(
            {"model": OLD, "thinking_budget": 4096, "max_tokens": 4096},
            "less than max_tokens",
            id="budget-over-max",
        ),
        pytest.param(
            # max_tokens unset: the one sent is capped at the model's output (32,000)
            {"model": "claude-opus-4-1", "thinking_budget": 32000},
            "lower thinking_budget, or set max_tokens",
            id="budget-over-model-output",
        ),
        pytest.param(
            {"model": OLD, "thinking_budget": 2048, "temperature": 0.5},
            "does not take 'temperature'",
            id="budget-and-temperature",
        ),
        pytest.param(
            {"model": OLD, "thinking_budget": 2048, "top_k": 5},
            "does not take 'top_k'",
            id="budget-and-top-k",
        ),
        pytest.param(
            {"model": OLD, "thinking_budget": 2048, "tool_choice": "any"},
            "cannot force a tool call",
            id="budget-and-forced-tool",
        ),
    ],
)
def test_thinking_refused(make: Any, options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        make().build_request([], options, stream=False)


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n) for n in ("temprature", "maxtokens", "api_key", "base_url")]
)
def test_unknown_per_call_option(make: Any, name: str) -> None:
    with pytest.raises(InvalidOptionError, match="per-call options") as caught:
        make().build_request([], {name: 1}, stream=False)
    assert caught.value.provider == "anthropic"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"temperature": 1.5}, id="temperature"),
        pytest.param({"top_k": 0}, id="top-k"),
        pytest.param({"thinking_budget": 100}, id="small-budget"),
        pytest.param({"thinking": "sometimes"}, id="thinking-mode"),
        pytest.param({"effort": "extreme"}, id="effort"),
        pytest.param({"max_tokens": -1}, id="max-tokens"),
    ],
)
def test_bad_per_call_value(make: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match="invalid option value"):
        make(model=OLD).build_request([], options, stream=False)


def test_config_string_options(registry: Any, build: Any) -> None:
    llm = llmplug.load(
        "anthropic:claude-sonnet-4-5?top_p=0.95&max_tokens=2048&thinking_budget=1024"
        '&stop_sequences=["END"]&tool_choice=auto&betas=a-1,b-2&user_id=u1',
        api_key="k",
    )
    assert isinstance(llm, AnthropicLLM)
    sent = build(llm, **_F).json
    assert sent["model"] == "claude-sonnet-4-5"
    assert (sent["top_p"], sent["max_tokens"], sent["stop_sequences"]) == (0.95, 2048, ["END"])
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["tool_choice"] == {"type": "auto"}
    assert sent["metadata"] == {"user_id": "u1"}
    assert llm.betas == ["a-1", "b-2"]


def test_config_string_json_options(registry: Any) -> None:
    llm = llmplug.load(
        'anthropic:claude-opus-5-5?thinking={"type": "adaptive"}'
        '&tool_choice={"type": "tool", "name": "f"}',
        api_key="k",
    )
    assert llm.thinking == {"type": "adaptive"}
    assert llm.tool_choice == {"type": "tool", "name": "f"}


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param("anthropic?temprature=0", "did you mean 'temperature'", id="typo"),
        pytest.param("anthropic?temperature=hot", "temperature", id="bad-value"),
    ],
)
def test_config_string_errors(registry: Any, spec: str, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        llmplug.load(spec)


@pytest.mark.parametrize(
    ("model", "context", "output"),
    [
        pytest.param("claude-haiku-5-5", 1_000_000, 8192, id="haiku-5-5"),
        pytest.param("claude-sonnet-4-5-20250929", 200_000, 8192, id="dated-snapshot"),
        pytest.param("claude-3-haiku-20240307", 200_000, 4096, id="small-output"),
        pytest.param("claude-opus-4-6", 1_000_000, 8192, id="opus-4-6"),
        pytest.param("my-proxy-model", 200_000, 8192, id="unknown"),
    ],
)
def test_metadata(make: Any, model: str, context: int, output: int) -> None:
    assert make(model=model).metadata == LLMMetadata(
        context_window=context,
        num_output=output,
        is_chat_model=True,
        is_function_calling_model=True,
        model_name=model,
    )


def test_metadata_follows_options(make: Any) -> None:
    metadata = make(model=OLD, max_tokens=100, context_window=50_000).metadata
    assert (metadata.num_output, metadata.context_window) == (100, 50_000)
    assert make(model=OLD, thinking_budget=2048).metadata.num_output == 8192 + 2048


def test_capabilities_before_instantiation() -> None:
    caps = AnthropicLLM.capabilities
    assert caps.chat
    assert caps.streaming
    assert caps.native_async
    assert caps.tools
    assert caps.vision
    assert caps.documents
    assert not caps.audio
    assert not caps.video


def test_key_from_env_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-CANARY")
    llm = AnthropicLLM()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "sk-ant-CANARY"
    assert "CANARY" not in repr(llm)
    assert "CANARY" not in str(llm.model_dump())


def test_registered_with_its_key_env(plugin: Any) -> None:
    calls: list[tuple[Any, ...]] = []
    plugin.register_providers(lambda *args, **kwargs: calls.append((args, kwargs)))
    ((args, kwargs),) = calls
    assert args == ("anthropic", AnthropicLLM)
    assert kwargs["key_env"] == "ANTHROPIC_API_KEY"


def test_importing_the_plugin_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, llmplug, llmplug_anthropic; "
        "print('llmplug_anthropic._llm' in sys.modules, 'llmplug_anthropic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    code = "import sys, llmplug; print('llmplug_anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # import llmplug never imports the plugin


def test_entry_point_and_dependencies() -> None:
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).parents[3] / "plugins" / "anthropic" / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["llmplug.providers"] == {"anthropic": "llmplug_anthropic"}
    assert project["dependencies"] == ["llmplug>=0.1,<1"]  # no vendor SDK at run time


def test_installed_entry_point() -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("llmplug-anthropic")
    except PackageNotFoundError:
        pytest.skip("llmplug-anthropic is not installed (pip install -e plugins/anthropic)")
    eps = {ep.name: ep.value for ep in dist.entry_points if ep.group == "llmplug.providers"}
    assert eps == {"anthropic": "llmplug_anthropic"}


def test_listed_without_import(registry: Any) -> None:
    (info,) = llmplug.providers()
    assert (info.name, info.distribution, info.status) == (
        "anthropic",
        "llmplug-anthropic",
        "available",
    )


def test_budget_just_under_the_model_output_leaves_room(make: Any) -> None:
    body = (
        make(model="claude-opus-4-1", thinking_budget=31999)
        .build_request([ChatMessage(role="user", content="Hi")], {}, stream=False)
        .json
    )
    assert body["max_tokens"] == 32000 > body["thinking"]["budget_tokens"]


@pytest.mark.parametrize("per_call", [False, True], ids=["instance", "per-call"])
def test_tool_choice_without_tools_is_refused(make: Any, build: Any, per_call: bool) -> None:
    # the API answers 400 to it: refused before any request, saying what to do
    llm, options = (make(), {"tool_choice": "any"}) if per_call else (make(tool_choice="any"), {})
    with pytest.raises(InvalidOptionError, match=r"tool_choice set but no tools given") as err:
        build(llm, **options)
    assert err.value.option == "tool_choice"
