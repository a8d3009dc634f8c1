"""Listing Claude models: the table, and the Models API's pages (``GET /v1/models``)."""

from __future__ import annotations

from typing import Any

import pytest

from llmplug import ModelInfo
from llmplug.errors import APIError, AuthenticationError, MissingKeyError
from llmplug.http.testing import MockServer, Reply
from llmplug_anthropic import AnthropicLLM

anthropic_types = pytest.importorskip("anthropic.types", reason="the anthropic SDK (test group)")

MODES = ["sync", "async"]


def _entry(model_id: str, name: str, created: str, context: int, output: int) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": name,
        "created_at": created,
        "max_input_tokens": context,
        "max_tokens": output,
        "lifecycle": "active",
    }


SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
PAGE_1 = {
    "data": [
        _entry(SONNET, "Claude Sonnet 4.5", "2025-09-29T00:00:00Z", 200000, 64000),
        _entry(HAIKU, "Claude Haiku 4.5", "2025-10-01T00:00:00Z", 200000, 64000),
    ],
    "has_more": True,
    "first_id": SONNET,
    "last_id": HAIKU,
}  # fmt: skip
PAGE_2 = {
    "data": [
        _entry("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", 200000, 4096)
    ],
    "has_more": False,
    "first_id": "claude-3-haiku-20240307",
    "last_id": "claude-3-haiku-20240307",
}  # fmt: skip


def test_the_fixtures_are_what_the_sdk_reads() -> None:
    for page in (PAGE_1, PAGE_2):
        for entry in page["data"]:
            anthropic_types.ModelInfo.model_validate(entry)


async def _list(llm: AnthropicLLM, mode: str) -> list[ModelInfo]:
    return llm.list_models() if mode == "sync" else await llm.alist_models()


def _with(server: MockServer, llm: AnthropicLLM) -> AnthropicLLM:
    return llm.model_copy(
        update={"transport": server.transport(), "async_transport": server.async_transport()}
    )


def test_known_models_come_from_the_table() -> None:
    known = {m.id: m for m in AnthropicLLM.known_models()}
    assert known["claude-sonnet-4-5"].context_window == 200_000
    assert known["claude-sonnet-4-5"].max_output_tokens == 64_000
    assert AnthropicLLM.capabilities.model_listing


@pytest.mark.parametrize("mode", MODES)
async def test_every_page_is_read(mode: str, make: Any) -> None:
    server = MockServer(Reply(200, json=PAGE_1), Reply(200, json=PAGE_2))
    models = await _list(_with(server, make()), mode)
    assert [m.id for m in models] == [
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-3-haiku-20240307",
    ]
    first = models[0]
    assert first.display_name == "Claude Sonnet 4.5"
    assert (first.context_window, first.max_output_tokens) == (200000, 64000)
    assert first.created == 1759104000  # 2025-09-29T00:00:00Z
    first_request, second_request = server.requests
    assert first_request.method == "GET"
    assert str(first_request.url) == "https://api.anthropic.com/v1/models?limit=1000"
    assert str(second_request.url).endswith("?limit=1000&after_id=claude-haiku-4-5-20251001")
    for request in server.requests:
        assert request.headers["x-api-key"] == "sk-ant-test"
        assert request.headers["anthropic-version"] == "2023-06-01"
    assert server.open_bodies == []


async def test_a_server_that_never_stops_paging_is_cut_off(make: Any) -> None:
    server = MockServer(Reply(200, json=PAGE_1))  # the same page, always "has_more"
    models = await _list(_with(server, make()), "sync")
    assert len(server.requests) == 100
    assert len(models) == 200


@pytest.mark.parametrize("mode", MODES)
async def test_errors(mode: str, make: Any) -> None:
    error = {"type": "authentication_error", "message": "invalid x-api-key"}
    server = MockServer(Reply(401, json={"type": "error", "error": error}))
    with pytest.raises(AuthenticationError, match="invalid x-api-key"):
        await _list(_with(server, make()), mode)
    server = MockServer(Reply(200, json=["not", "a", "page"]))
    with pytest.raises(APIError, match=r"not \{'data'"):
        await _list(_with(server, make()), mode)


@pytest.mark.parametrize("mode", MODES)
async def test_no_key_fails_before_the_request(mode: str, make: Any) -> None:
    server = MockServer(Reply(200, json=PAGE_2))
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY") as caught:
        await _list(_with(server, make(api_key=None)), mode)
    assert "llmplug keys set ANTHROPIC_API_KEY" in str(caught.value)
    assert server.requests == []


def test_a_proxy_elsewhere_needs_no_key(make: Any) -> None:
    assert not make(api_key=None, base_url="http://127.0.0.1:4000").key_required()
    assert make(api_key=None).key_required()
