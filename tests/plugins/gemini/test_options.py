"""Options: each one's wire form, validation, per-call overrides, keys and registration."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import llmplug
from llmplug.errors import ConfigError, InvalidOptionError
from llmplug_gemini import GeminiLLM, VertexLLM

SAFETY_ALL = [
    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"},
]


@pytest.mark.parametrize(
    ("options", "config"),
    [
        pytest.param({"temperature": 0.3}, {"temperature": 0.3}, id="temperature"),
        pytest.param({"top_p": 0.9, "top_k": 40}, {"topP": 0.9, "topK": 40}, id="top-p-k"),
        pytest.param({"max_tokens": 100}, {"maxOutputTokens": 100}, id="max-tokens"),
        pytest.param({"stop_sequences": "END"}, {"stopSequences": ["END"]}, id="one-stop"),
        pytest.param({"stop_sequences": ["a", "b"]}, {"stopSequences": ["a", "b"]}, id="stops"),
        pytest.param({"seed": 7}, {"seed": 7}, id="seed"),
        pytest.param(
            {"presence_penalty": 0.5, "frequency_penalty": -0.5},
            {"presencePenalty": 0.5, "frequencyPenalty": -0.5},
            id="penalties",
        ),
        pytest.param(
            {"logprobs": True, "top_logprobs": 3},
            {"responseLogprobs": True, "logprobs": 3},
            id="logprobs",
        ),
        pytest.param(
            {"thinking_budget": 1024, "include_thoughts": True},
            {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
            id="thinking-budget",
        ),
        pytest.param(
            {"model": "gemini-3-pro-preview", "thinking_level": "Low"},
            {"thinkingConfig": {"thinkingLevel": "LOW"}},
            id="thinking-level",
        ),
        pytest.param(
            {"thinking_budget": -1}, {"thinkingConfig": {"thinkingBudget": -1}}, id="dynamic"
        ),
        pytest.param(
            {"response_mime_type": "text/x.enum"}, {"responseMimeType": "text/x.enum"}, id="mime"
        ),
        pytest.param(
            {"response_json_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}},
            {
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object", "properties": {"a": {"type": "integer"}}},
            },
            id="json-schema",
        ),
        pytest.param(
            {"response_schema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}},
            {
                "responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}},
            },
            id="openapi-schema",
        ),
        pytest.param({"candidate_count": 1}, None, id="candidate-count-1"),
    ],
)
def test_generation_config(build: Any, make: Any, options: dict[str, Any], config: Any) -> None:
    body = build(make(**options)).json
    assert body.get("generationConfig") == config
    # the same options given per call
    model = options.pop("model", None)
    llm = make(model=model) if model else make()
    assert build(llm, **options).json.get("generationConfig") == config


def test_unset_options_are_not_sent(build: Any, make: Any) -> None:
    assert build(make()).json == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        pytest.param(SAFETY_ALL, SAFETY_ALL, id="list"),
        pytest.param(
            {"harassment": "block_none", "HARM_CATEGORY_DANGEROUS_CONTENT": "BLOCK_ONLY_HIGH"},
            SAFETY_ALL,
            id="mapping",
        ),
        pytest.param(
            '{"hate_speech": "off"}',
            [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
            id="json-text",
        ),
    ],
)
def test_safety_settings(build: Any, make: Any, value: Any, sent: Any) -> None:
    assert build(make(safety_settings=value)).json["safetySettings"] == sent


def test_cached_content_and_extra_body(build: Any, make: Any) -> None:
    body = build(make(cached_content="abc123", extra_body={"generationConfig": {"seed": 1}})).json
    assert body["cachedContent"] == "cachedContents/abc123"
    assert body["generationConfig"] == {"seed": 1}
    assert (
        build(make(cached_content="cachedContents/x")).json["cachedContent"] == "cachedContents/x"
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"temperature": 3}, "temperature", id="temperature"),
        pytest.param({"top_p": 1.5}, "top_p", id="top-p"),
        pytest.param({"max_tokens": 0}, "max_tokens", id="max-tokens"),
        pytest.param({"candidate_count": 2}, "candidate_count=1", id="candidates"),
        pytest.param({"stop_sequences": list("abcdef")}, "at most 5", id="stops"),
        pytest.param({"top_logprobs": 21}, "top_logprobs", id="top-logprobs-range"),
        pytest.param({"thinking_level": "extreme"}, "thinking_level", id="level"),
        pytest.param({"safety_settings": {"harassment": "maybe"}}, "threshold", id="threshold"),
        pytest.param(
            {"safety_settings": [{"category": "harassment"}]}, "category and a threshold", id="half"
        ),
        pytest.param(
            {"safety_settings": {"harassment": "off", "HARM_CATEGORY_HARASSMENT": "off"}},
            "set twice",
            id="twice",
        ),
        pytest.param({"tool_choice": "call me maybe"}, "tool_choice", id="tool-choice"),
        pytest.param({"api_version": "v2"}, "api_version", id="api-version"),
    ],
)
def test_bad_values_are_refused_at_load(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GeminiLLM(api_key="k", **options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"top_logprobs": 2}, "needs logprobs=True", id="top-logprobs-alone"),
        pytest.param({"tool_choice": "auto"}, "no tools given", id="choice-without-tools"),
        pytest.param(
            {"response_json_schema": {}, "response_schema": {}}, "not both", id="two-schemas"
        ),
        pytest.param(
            {"model": "gemini-3-pro-preview", "thinking_budget": 10, "thinking_level": "low"},
            "not both",
            id="budget-and-level",
        ),
        pytest.param(
            {"model": "gemini-2.0-flash", "thinking_budget": 100},
            "does not think",
            id="no-thinking",
        ),
        pytest.param({"thinking_level": "low"}, "not a level", id="level-on-2.5"),
        pytest.param(
            {"model": "gemini-2.5-pro", "thinking_budget": 0},
            "cannot turn its thinking off",
            id="pro-off",
        ),
        pytest.param(
            {
                "safety_settings": [
                    {"category": "harassment", "threshold": "off", "method": "severity"}
                ]
            },
            "Vertex AI only",
            id="method-on-gemini",
        ),
    ],
)
def test_combinations_the_api_refuses_fail_before_sending(
    make: Any, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidOptionError, match=match) as info:
        make(**options).build_request([llmplug.ChatMessage(content="x")], {}, stream=False)
    assert info.value.provider == "gemini"


def test_unknown_future_models_are_refused_nothing(build: Any, make: Any) -> None:
    body = build(make(model="gemini-9-ultra", thinking_level="high")).json
    assert body["generationConfig"] == {"thinkingConfig": {"thinkingLevel": "HIGH"}}
    assert build(make(model="gemini-9-ultra", thinking_budget=0)).json


def test_per_call_options_are_checked(make: Any) -> None:
    llm = make()
    with pytest.raises(InvalidOptionError, match="temperatur"):
        llm.build_request([llmplug.ChatMessage(content="x")], {"temperatur": 1}, stream=False)
    with pytest.raises(InvalidOptionError, match="temperature"):
        llm.build_request([llmplug.ChatMessage(content="x")], {"temperature": 9}, stream=False)
    assert llm.temperature is None  # the instance is unchanged


def test_paths_and_api_versions(make: Any) -> None:
    hi = [llmplug.ChatMessage(content="x")]
    assert (
        make().build_request(hi, {}, stream=False).path
        == "/v1beta/models/gemini-2.5-flash:generateContent"
    )
    request = make(api_version="v1", model="models/gemini-2.0-flash").build_request(
        hi, {}, stream=True
    )
    assert request.path == "/v1/models/gemini-2.0-flash:streamGenerateContent"
    assert request.params == {"alt": "sse"}
    tuned = make(model="tunedModels/my-model-abc").build_request(hi, {}, stream=False)
    assert tuned.path == "/v1beta/tunedModels/my-model-abc:generateContent"


# -- the API key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "key"),
    [
        pytest.param({"GEMINI_API_KEY": "from-gemini"}, "from-gemini", id="gemini"),
        pytest.param({"GOOGLE_API_KEY": "from-google"}, "from-google", id="google"),
        pytest.param(
            {"GEMINI_API_KEY": "from-gemini", "GOOGLE_API_KEY": "from-google"},
            "from-gemini",
            id="both",
        ),
    ],
)
def test_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], key: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    llm = GeminiLLM()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == key
    assert llm.headers()["x-goog-api-key"] == key
    assert GeminiLLM(api_key="given").api_key.get_secret_value() == "given"  # type: ignore[union-attr]
    assert GeminiLLM.key_env == "GEMINI_API_KEY"  # the core's one variable keeps its meaning
    assert key not in repr(llm)


def test_no_key_is_a_clear_error_before_sending() -> None:
    llm = GeminiLLM()
    with pytest.raises(ConfigError, match="set GEMINI_API_KEY \\(or GOOGLE_API_KEY\\)"):
        llm.build_request([llmplug.ChatMessage(content="x")], {}, stream=False)
    # a proxy of one's own may take no key
    assert GeminiLLM(base_url="http://127.0.0.1:9/gemini").build_request(
        [llmplug.ChatMessage(content="x")], {}, stream=False
    )


# -- registration, load, metadata ---------------------------------------------------------


def test_load_and_config_strings(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    llm = llmplug.load(
        "gemini:gemini-2.5-pro?temperature=0.2&stop_sequences=[%22x%22]&safety_settings="
        "%7B%22harassment%22:%22off%22%7D&thinking_budget=512&include_thoughts=true"
    )
    assert isinstance(llm, GeminiLLM)
    assert (llm.model, llm.temperature, llm.stop_sequences) == ("gemini-2.5-pro", 0.2, ["x"])
    assert llm.safety_settings == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}]
    assert llm.provider_label == "gemini"
    vertex = llmplug.load("vertex:gemini-2.5-flash?project=p&location=europe-west4&access_token=t")
    assert isinstance(vertex, VertexLLM)
    assert vertex.base_url == "https://europe-west4-aiplatform.googleapis.com"
    with pytest.raises(InvalidOptionError, match="labels"):
        llmplug.load("gemini:gemini-2.5-flash?labels=%7B%7D")  # Vertex AI only


def test_both_providers_are_listed(registry: Any) -> None:
    names = {p.name for p in llmplug.providers()}
    assert {"gemini", "vertex"} <= names


def test_capabilities_and_metadata(make: Any) -> None:
    caps = GeminiLLM.capabilities
    assert caps.tools
    assert caps.json_schema
    assert caps.vision
    assert caps.audio
    assert caps.video
    assert caps.documents
    assert caps.model_listing
    assert caps.native_async
    meta = make(model="gemini-2.0-flash").metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        1_048_576,
        8_192,
        True,
    )
    assert make(model="gemma-3-27b-it").metadata.is_function_calling_model is False
    unknown = make(model="gemini-9-ultra", context_window=5, max_tokens=7).metadata
    assert (unknown.context_window, unknown.num_output) == (5, 7)
    known = GeminiLLM.known_models()
    assert "gemini-2.5-flash" in {m.id for m in known}
    assert all(m.context_window for m in known)


def test_importing_the_plugin_stays_light() -> None:
    code = (
        "import sys, llmplug_gemini\n"
        "assert 'llmplug.http' not in sys.modules\n"
        "assert not [m for m in sys.modules if m.startswith('google')], 'google imported'\n"
        "from llmplug_gemini import GeminiLLM\n"
        "GeminiLLM(api_key='k').build_request([], {}, stream=False)\n"
        "assert not [m for m in sys.modules if m.startswith('google')], 'google imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
