"""The provider names: entry points, registration, base URLs, keys, Azure's URL shapes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import llmplug
from llmplug import ChatMessage
from llmplug.errors import InvalidOptionError
from llmplug_openai import (
    PRESETS,
    VLLM,
    XAILLM,
    AzureOpenAILLM,
    DeepSeekLLM,
    FireworksLLM,
    GroqLLM,
    LlamaServerLLM,
    LMStudioLLM,
    MistralLLM,
    OpenAILLM,
    OpenRouterLLM,
    TogetherLLM,
)

PYPROJECT = Path(__file__).parents[3] / "plugins" / "openai" / "pyproject.toml"

# name, class, base URL, key env var (from each service's documentation)
TABLE = [
    ("openai", OpenAILLM, "https://api.openai.com/v1", "OPENAI_API_KEY"),
    ("azure", AzureOpenAILLM, "", "AZURE_OPENAI_API_KEY"),
    ("vllm", VLLM, "http://localhost:8000/v1", None),
    ("llama-server", LlamaServerLLM, "http://127.0.0.1:8080/v1", None),
    ("lmstudio", LMStudioLLM, "http://localhost:1234/v1", None),
    ("groq", GroqLLM, "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    ("together", TogetherLLM, "https://api.together.ai/v1", "TOGETHER_API_KEY"),
    ("openrouter", OpenRouterLLM, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    ("deepseek", DeepSeekLLM, "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
    ("mistral", MistralLLM, "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    ("fireworks", FireworksLLM, "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    ("xai", XAILLM, "https://api.x.ai/v1", "XAI_API_KEY"),
]
NAMES = [row[0] for row in TABLE]
HOSTED = [row for row in TABLE if row[3] and row[0] != "azure"]
LOCAL = [row for row in TABLE if row[3] is None]
AZURE = {"azure_endpoint": "https://res.openai.azure.com"}


def test_presets_table() -> None:
    assert [(p.name, p.cls, p.base_url, p.key_env) for p in PRESETS] == TABLE
    assert all(p.description for p in PRESETS)


def test_one_entry_point_per_name() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    entry_points = project["entry-points"]["llmplug.providers"]
    assert entry_points == dict.fromkeys(NAMES, "llmplug_openai")
    assert project["dependencies"] == ["llmplug>=0.1,<1"]


def test_installed_entry_points() -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("llmplug-openai")
    except PackageNotFoundError:
        pytest.skip("llmplug-openai is not installed (pip install -e plugins/openai)")
    eps = {ep.name: ep.value for ep in dist.entry_points if ep.group == "llmplug.providers"}
    assert eps == dict.fromkeys(NAMES, "llmplug_openai")


def test_register_providers(plugin: Any) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    plugin.register_providers(lambda *args, **kwargs: calls.append((args, kwargs)))
    paths = [(name, f"{cls.__module__}:{cls.__name__}") for name, cls, _, _ in TABLE]
    assert [args for args, _ in calls] == paths  # by import path: imported when loaded
    for (_, kwargs), (_, _, base_url, key_env) in zip(calls, TABLE, strict=True):
        assert kwargs["key_env"] == key_env
        assert kwargs["description"]
        assert kwargs["defaults"] == ({"base_url": base_url} if base_url else None)
    assert plugin.LLMPLUG_PLUGIN_API == 1


def test_listed_without_import(registry: Any) -> None:
    infos = {info.name: info for info in llmplug.providers()}
    assert sorted(infos) == sorted(NAMES)
    assert {info.distribution for info in infos.values()} == {"llmplug-openai"}
    assert {info.status for info in infos.values()} == {"available"}


@pytest.mark.parametrize(
    ("name", "cls", "base_url", "key_env"), [pytest.param(*r, id=r[0]) for r in TABLE]
)
def test_load_each_name(
    registry: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    cls: type,
    base_url: str,
    key_env: str | None,
) -> None:
    if key_env:
        monkeypatch.setenv(key_env, f"key-of-{name}")
    options = AZURE if name == "azure" else {}
    llm = llmplug.load(f"{name}:some-model", **options)
    assert type(llm) is cls
    assert llm.provider_label == name
    assert llm.model == "some-model"  # type: ignore[attr-defined]
    expected_url = "https://res.openai.azure.com/openai/deployments/some-model"
    assert llm.base_url == (base_url or expected_url)  # type: ignore[attr-defined]
    key = llm.api_key  # type: ignore[attr-defined]
    if key_env:
        assert key.get_secret_value() == f"key-of-{name}"
        assert f"key-of-{name}" not in repr(llm)
    else:
        assert key is None


@pytest.mark.parametrize(
    ("name", "cls", "base_url", "key_env"), [pytest.param(*r, id=r[0]) for r in TABLE]
)
def test_base_url_can_be_changed(
    registry: Any, name: str, cls: type, base_url: str, key_env: str | None
) -> None:
    llm = llmplug.load(f"{name}:m?base_url=http://10.0.0.5:9000/v1", api_key="k")
    assert llm.base_url == "http://10.0.0.5:9000/v1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "cls", "base_url", "key_env"), [pytest.param(*r, id=r[0]) for r in HOSTED]
)
def test_bearer_auth(make: Any, name: str, cls: type, base_url: str, key_env: str) -> None:
    assert make(name, model="m").auth_headers("sk-x") == {"Authorization": "Bearer sk-x"}


@pytest.mark.parametrize(
    ("name", "cls", "base_url", "key_env"), [pytest.param(*r, id=r[0]) for r in LOCAL]
)
def test_local_servers_need_no_key(
    registry: Any, build: Any, name: str, cls: type, base_url: str, key_env: None
) -> None:
    llm = llmplug.load(f"{name}:qwen2.5-0.5b-instruct")
    assert llm.api_key is None  # type: ignore[attr-defined]
    request = build(llm)
    assert request.json["model"] == "qwen2.5-0.5b-instruct"
    assert llm.capabilities.vision
    assert llm.capabilities.audio


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("openai", "llama-server")])
def test_model_is_required(registry: Any, name: str) -> None:
    options = AZURE if name == "azure" else {}
    with pytest.raises(InvalidOptionError, match=r"model|deployment name"):
        llmplug.load(name, api_key="k", **options)


def test_llama_server_serves_its_own_model(
    registry: Any, spec_errors: Any, check_body: Any
) -> None:
    llm = llmplug.load("llama-server")
    body = llm.build_request([ChatMessage("Hi")], {}, stream=False).json  # type: ignore[attr-defined]
    # llama-server answers with the model it was started with: no model is sent, which
    # OpenAI's spec requires and llama-server does not
    assert "model" not in body
    assert spec_errors(body) == ["<root>: 'model' is a required property"]
    check_body({"model": "x", **body})


def test_mistral_dialect(make: Any, build: Any) -> None:
    body = build(make("mistral", model="mistral-small-latest", seed=7), stream=True).json
    assert body["random_seed"] == 7
    assert "seed" not in body
    assert body["stream"] is True
    assert "stream_options" not in body


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("mistral",)])
def test_stream_usage_asked_for(make: Any, build: Any, name: str) -> None:
    llm = make(name, model="m", **(AZURE if name == "azure" else {}))
    assert build(llm, stream=True).json["stream_options"] == {"include_usage": True}


# -- Azure ---------------------------------------------------------------------------------


def azure(**options: Any) -> AzureOpenAILLM:
    return AzureOpenAILLM(api_key="k", **options)


def test_azure_request(build: Any) -> None:
    llm = azure(model="gpt4o-prod", **AZURE)
    assert llm.base_url == "https://res.openai.azure.com/openai/deployments/gpt4o-prod"
    request = build(llm, max_tokens=10)
    assert request.path == "/chat/completions"
    assert dict(request.params) == {"api-version": "2024-10-21"}
    assert request.json["model"] == "gpt4o-prod"
    assert request.json["max_completion_tokens"] == 10
    assert llm.auth_headers("azure-key") == {"api-key": "azure-key"}


def test_azure_config_string(registry: Any, monkeypatch: pytest.MonkeyPatch, build: Any) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    llm = llmplug.load(
        "azure:my-deployment?base_url=https://res.openai.azure.com/openai/deployments/"
        "my-deployment&api_version=2025-04-01-preview"
    )
    assert isinstance(llm, AzureOpenAILLM)
    assert dict(build(llm).params) == {"api-version": "2025-04-01-preview"}
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "azure-key"


def test_azure_endpoint_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env-res.openai.azure.com/")
    llm = azure(model="dep")
    assert llm.base_url == "https://env-res.openai.azure.com/openai/deployments/dep"


def test_azure_deployment_from_base_url() -> None:
    llm = azure(base_url="https://res.openai.azure.com/openai/deployments/from-url")
    assert (llm.model, llm.azure_endpoint) == ("from-url", "https://res.openai.azure.com")


def test_azure_v1_api(build: Any) -> None:
    llm = azure(model="gpt-4.1-nano", api_version="v1", **AZURE)
    assert llm.base_url == "https://res.openai.azure.com/openai/v1"
    request = build(llm, model="other-deployment")
    assert (request.path, dict(request.params)) == ("/chat/completions", {})
    assert request.json["model"] == "other-deployment"
    given = azure(model="d", base_url="https://res.openai.azure.com/openai/v1/")
    assert dict(build(given).params) == {}


def test_azure_other_deployment_per_call(build: Any) -> None:
    llm = azure(model="dep-a", **AZURE)
    request = build(llm, model="dep-b")
    assert request.path == (
        "https://res.openai.azure.com/openai/deployments/dep-b/chat/completions"
    )
    assert build(llm).path == "/chat/completions"


def test_azure_url_follows_the_model() -> None:
    llm = azure(model="dep-a", **AZURE)
    llm.model = "dep b"
    assert llm.base_url == "https://res.openai.azure.com/openai/deployments/dep%20b"


@pytest.mark.parametrize(
    ("api_version", "role"),
    [
        pytest.param(None, "system", id="default-ga"),
        pytest.param("2024-10-21", "system", id="ga"),
        pytest.param("2024-12-01-preview", "developer", id="2024-12-preview"),
        pytest.param("2025-04-01-preview", "developer", id="2025-preview"),
        pytest.param("v1", "developer", id="v1"),
    ],
)
def test_azure_developer_role(build: Any, api_version: str | None, role: str) -> None:
    llm = azure(model="o3-mini", api_version=api_version, **AZURE)
    messages = [ChatMessage(role="system", content="Rules"), ChatMessage("Hi")]
    assert build(llm, messages).json["messages"][0]["role"] == role


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"model": "dep"}, id="no-endpoint"),
        pytest.param({**AZURE}, id="no-deployment"),
    ],
)
def test_azure_needs_endpoint_and_deployment(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="azure needs"):
        azure(**options)


def test_azure_error_through_load(registry: Any) -> None:
    with pytest.raises(InvalidOptionError, match="AZURE_OPENAI_ENDPOINT"):
        llmplug.load("azure:dep", api_key="k")


def test_listed_with_key_env_once_loaded(registry: Any) -> None:
    llmplug.load("groq:m", api_key="k")
    infos = {info.name: info for info in llmplug.providers()}
    assert {info.status for info in infos.values()} == {"loaded"}
    assert (infos["groq"].key_env, infos["vllm"].key_env) == ("GROQ_API_KEY", None)
    assert infos["azure"].description.startswith("Azure OpenAI")


def test_registrations_agree_with_the_classes() -> None:
    # registered by import path (nothing imported); the row must say what the class says
    from llmplug_openai import REGISTRATIONS

    assert [r.name for r in REGISTRATIONS] == NAMES
    for row, preset in zip(REGISTRATIONS, PRESETS, strict=True):
        module, _, attr = row.cls.partition(":")
        assert (preset.cls.__module__, preset.cls.__name__) == (module, attr)
        assert (row.key_env, row.base_url, row.description) == (
            preset.key_env,
            preset.base_url,
            preset.description,
        )


def test_loading_openai_builds_no_preset_class(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, llmplug; llmplug.load('openai:gpt-4o-mini', api_key='x'); "
        "print('llmplug_openai._presets' in sys.modules); "
        "llmplug.load('groq:m', api_key='x'); print('llmplug_openai._presets' in sys.modules)"
    )
    env = {"LLMPLUG_PLUGINS": "llmplug-openai", "PATH": "", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True"]
