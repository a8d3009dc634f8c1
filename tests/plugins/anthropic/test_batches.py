"""Anthropic's Message Batches against a loopback server of its documented endpoints.

The create request is validated with the official SDK's ``BatchCreateParams`` (each
request's ``params`` as a ``MessageCreateParamsNonStreaming``); the server's batch
objects and result lines with the SDK's ``MessageBatch`` and
``MessageBatchIndividualResponse``, so the fixtures are realistic.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.errors import BadRequestError, InvalidOptionError, NotFoundError
from llmplug.types import BatchRequest, ProviderBatch
from llmplug_anthropic import AnthropicLLM

from ...batch.batch_servers import BatchServer, serving
from .conftest import SAMPLING_RANGES, SDKTypes, _walk

MODES = ["sync", "async"]


def _requests(*texts: str) -> list[BatchRequest]:
    return [
        BatchRequest(f"row-{i}", [ChatMessage(role="user", content=text)], {"temperature": 0})
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def server() -> Iterator[BatchServer]:
    with serving("anthropic") as running:
        yield running
        assert running.errors == []


@pytest.fixture
async def opened() -> AsyncIterator[list[AnthropicLLM]]:
    llms: list[AnthropicLLM] = []
    yield llms
    for llm in llms:
        await llm.aclose()


@pytest.fixture
def llm_for(
    make: Callable[..., AnthropicLLM], opened: list[AnthropicLLM]
) -> Callable[[BatchServer], AnthropicLLM]:
    def new(server: BatchServer) -> AnthropicLLM:
        llm = make(model="claude-haiku-4-5", base_url=server.url, max_retries=0, betas="b1")
        opened.append(llm)
        return llm

    return new


async def _call(llm: AnthropicLLM, mode: str, name: str, *args: Any) -> Any:
    if mode == "sync":
        return getattr(llm, name)(*args)
    return await getattr(llm, f"a{name}")(*args)


def _check_create(sdk: SDKTypes, body: dict[str, Any]) -> None:
    from pydantic import TypeAdapter

    params = importlib.import_module("anthropic.types.messages.batch_create_params")
    adapter = TypeAdapter(params.BatchCreateParams)
    # the sampling options are checked by sdk.check_request below (ranges, not types)
    shape = {
        "requests": [
            {**r, "params": {k: v for k, v in r["params"].items() if k not in SAMPLING_RANGES}}
            for r in body["requests"]
        ]
    }
    walked = _walk(adapter.validate_python(shape))  # while the adapter is alive
    assert [r["custom_id"] for r in walked["requests"]] == [
        r["custom_id"] for r in body["requests"]
    ]
    for request in body["requests"]:
        sdk.check_request(request["params"])


@pytest.mark.parametrize("mode", MODES)
async def test_a_batch_is_created_polled_and_its_results_read(
    mode: str, server: BatchServer, sdk: SDKTypes, llm_for: Callable[[BatchServer], AnthropicLLM]
) -> None:
    llm = llm_for(server)
    created = await _call(llm, mode, "create_batch", _requests("one", "#400 two", "three"))
    assert (created.status, created.ended, created.provider) == ("in_progress", False, "anthropic")
    (body,) = server.created
    _check_create(sdk, body)
    assert body["requests"][0]["params"]["temperature"] == 0
    assert "stream" not in body["requests"][0]["params"]
    assert set(server.keys) == {"sk-ant-test"}
    ended = await _call(llm, mode, "get_batch", created.id)
    batch_type = importlib.import_module("anthropic.types.messages").MessageBatch
    for state in (created, ended):
        batch_type.model_validate(state.raw)
    assert (ended.status, ended.ended) == ("ended", True)
    assert (ended.requests, ended.succeeded, ended.failed) == (3, 2, 1)
    results = {r.custom_id: r for r in await _call(llm, mode, "batch_results", ended)}
    assert results["row-0"].response.message.content == "echo: one"
    assert results["row-0"].response.usage.input_tokens == 1
    assert isinstance(results["row-1"].error, BadRequestError)
    assert results["row-2"].outcome == "succeeded"
    # results come from the documented path on base_url, not from another host
    assert server.log[-1] == ("GET", f"/v1/messages/batches/{created.id}/results")


def test_the_servers_result_lines_are_what_the_sdk_reads(server: BatchServer) -> None:
    line_type = importlib.import_module("anthropic.types.messages").MessageBatchIndividualResponse
    server.expire_after = 1
    batch = server.new_batch([("a", "one"), ("b", "#400"), ("c", "three")], {})
    server.advance(batch)
    for line in server.anthropic_results(batch).splitlines():
        line_type.model_validate_json(line)


@pytest.mark.parametrize("mode", MODES)
async def test_expired_and_cancelled_requests_never_ran(
    mode: str, llm_for: Callable[[BatchServer], AnthropicLLM]
) -> None:
    with serving("anthropic", expire_after=1) as server:
        llm = llm_for(server)
        created = await _call(llm, mode, "create_batch", _requests("one", "two"))
        ended = await _call(llm, mode, "get_batch", created.id)
        expired = sorted(await _call(llm, mode, "batch_results", ended), key=lambda r: r.custom_id)
        assert [r.outcome for r in expired] == ["succeeded", "expired"]
        server.expire_after = None
        second = await _call(llm, mode, "create_batch", _requests("three"))
        cancelling = await _call(llm, mode, "cancel_batch", second.id)
        assert (cancelling.status, cancelling.ended) == ("canceling", False)
        ended = await _call(llm, mode, "get_batch", second.id)
        assert [r.outcome for r in await _call(llm, mode, "batch_results", ended)] == ["cancelled"]


@pytest.mark.parametrize("mode", MODES)
async def test_bad_ids_and_unknown_batches(
    mode: str, server: BatchServer, llm_for: Callable[[BatchServer], AnthropicLLM]
) -> None:
    llm = llm_for(server)
    bad = [BatchRequest("row 1!", [ChatMessage(role="user", content="x")])]
    with pytest.raises(InvalidOptionError, match="1 to 64 letters"):
        await _call(llm, mode, "create_batch", bad)
    with pytest.raises(NotFoundError):
        await _call(llm, mode, "get_batch", "msgbatch_nope")
    pending = ProviderBatch(id="m", provider="anthropic", status="in_progress")
    with pytest.raises(ValueError, match="has not ended"):
        await _call(llm, mode, "batch_results", pending)
    assert server.created == []
