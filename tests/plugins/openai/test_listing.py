"""Listing models: OpenAI's table, and ``GET /models`` of OpenAI and compatible services."""

from __future__ import annotations

from typing import Any

import pytest

from llmplug import Capabilities, ModelInfo
from llmplug.errors import APIError, MissingKeyError, NotFoundError
from llmplug.http.testing import MockServer, Reply
from llmplug_openai import PRESETS, OpenAILLM

MODES = ["sync", "async"]

OPENAI_LIST = {
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "gpt-4.1", "object": "model", "created": 1744316542, "owned_by": "system"},
    ],
}


async def _list(llm: OpenAILLM, mode: str) -> list[ModelInfo]:
    return llm.list_models() if mode == "sync" else await llm.alist_models()


def _with(server: MockServer, llm: OpenAILLM) -> OpenAILLM:
    return llm.model_copy(
        update={"transport": server.transport(), "async_transport": server.async_transport()}
    )


def test_the_fixture_is_what_the_spec_says(spec_errors: Any) -> None:
    assert spec_errors(OPENAI_LIST, "ListModelsResponse") == []


def test_known_models_come_from_the_table() -> None:
    known = {m.id: m for m in OpenAILLM.known_models()}
    assert known["gpt-4o-mini"].context_window == 128_000
    assert known["gpt-4o-mini"].max_output_tokens == 16_384
    assert "o3" in known
    # the compatible services and Azure have no table: any model name is theirs
    for preset in PRESETS:
        if preset.name != "openai":
            assert preset.cls.known_models() == [], preset.name


def test_every_preset_declares_listing() -> None:
    for preset in PRESETS:
        capabilities: Capabilities = preset.cls.capabilities
        assert capabilities.model_listing, preset.name


@pytest.mark.parametrize("mode", MODES)
async def test_openai_lists_with_get_models(mode: str, make: Any) -> None:
    server = MockServer(Reply(200, json=OPENAI_LIST))
    models = await _list(_with(server, make("openai")), mode)
    assert [m.id for m in models] == ["gpt-4.1", "gpt-4o-mini"]
    assert models[1].created == 1721172741
    assert models[1].owned_by == "system"
    assert models[1].raw == OPENAI_LIST["data"][0]
    (sent,) = server.requests
    assert (sent.method, str(sent.url)) == ("GET", "https://api.openai.com/v1/models")
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert server.open_bodies == []


@pytest.mark.parametrize(
    ("name", "entry", "expected"),
    [
        pytest.param(
            "groq",
            {"id": "llama-3.3-70b-versatile", "object": "model", "created": 1, "owned_by": "Meta",
             "active": True, "context_window": 131072},
            {"context_window": 131072, "owned_by": "Meta"},
            id="groq-context_window",
        ),
        pytest.param(
            "openrouter",
            {"id": "openai/gpt-4o", "name": "OpenAI: GPT-4o", "created": 2,
             "description": "GPT-4o,\n  multimodal", "context_length": 128000},
            {"context_window": 128000, "display_name": "OpenAI: GPT-4o",
             "description": "GPT-4o, multimodal"},
            id="openrouter-context_length",
        ),
        pytest.param(
            "vllm",
            {"id": "Qwen/Qwen2.5-7B", "object": "model", "created": 3, "owned_by": "vllm",
             "max_model_len": 32768},
            {"context_window": 32768},
            id="vllm-max_model_len",
        ),
    ],
)  # fmt: skip
async def test_compatible_services_add_what_they_know(
    name: str, entry: dict[str, Any], expected: dict[str, Any], make: Any
) -> None:
    server = MockServer(Reply(200, json={"object": "list", "data": [entry]}))
    (model,) = await _list(_with(server, make(name, model="m")), "sync")
    for field, value in expected.items():
        assert getattr(model, field) == value


@pytest.mark.parametrize(
    ("options", "url"),
    [
        pytest.param(
            {"azure_endpoint": "https://res.openai.azure.com"},
            "https://res.openai.azure.com/openai/models?api-version=2024-10-21",
            id="dated-api",
        ),
        pytest.param(
            {"azure_endpoint": "https://res.openai.azure.com", "api_version": "v1"},
            "https://res.openai.azure.com/openai/v1/models",
            id="v1-api",
        ),
    ],
)
async def test_azure_lists_the_resources_models(
    options: dict[str, Any], url: str, make: Any
) -> None:
    body = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created_at": 7}]}
    server = MockServer(Reply(200, json=body))
    (model,) = await _list(_with(server, make("azure", model="my-deployment", **options)), "sync")
    assert (model.id, model.created) == ("gpt-4o", 7)
    (sent,) = server.requests
    assert str(sent.url) == url
    assert sent.headers["api-key"] == "sk-test"


@pytest.mark.parametrize("mode", MODES)
async def test_errors_are_mapped(mode: str, make: Any) -> None:
    server = MockServer(Reply(404, json={"error": {"message": "no models here"}}))
    with pytest.raises(NotFoundError, match="no models here"):
        await _list(_with(server, make("openai")), mode)
    server = MockServer(Reply(200, json={"models": []}))
    with pytest.raises(APIError, match=r"not \{'data': \[\.\.\.\]\}"):
        await _list(_with(server, make("openai")), mode)


@pytest.mark.parametrize("mode", MODES)
async def test_no_key_fails_before_the_request(mode: str, make: Any) -> None:
    server = MockServer(Reply(200, json=OPENAI_LIST))
    llm = _with(server, make("groq", model="m", api_key=None))
    with pytest.raises(MissingKeyError, match="GROQ_API_KEY"):
        await _list(llm, mode)
    assert server.requests == []


async def test_a_compatible_server_elsewhere_needs_no_key(make: Any) -> None:
    server = MockServer(Reply(200, json=OPENAI_LIST))
    llm = _with(server, make("openai", api_key=None, base_url="http://127.0.0.1:9/v1"))
    assert not llm.key_required()
    assert len(await _list(llm, "sync")) == 2
    assert "authorization" not in server.requests[0].headers
