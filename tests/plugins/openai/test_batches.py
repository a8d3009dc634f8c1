"""OpenAI's Batch API against a loopback server implementing its documented endpoints.

The upload, the batch request and each line's body are checked against the official
OpenAPI spec; the server's batch objects against its ``Batch`` schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.errors import APIError, BadRequestError, NotFoundError, UnsupportedFeatureError
from llmplug.types import BatchRequest, BatchResult, ProviderBatch
from llmplug_openai import OpenAILLM

from ...batch.batch_servers import BatchServer, serving

MODES = ["sync", "async"]


def _requests(*texts: str) -> list[BatchRequest]:
    return [
        BatchRequest(f"row-{i}", [ChatMessage(role="user", content=text)], {"temperature": 0})
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def server() -> Iterator[BatchServer]:
    with serving("openai") as running:
        yield running
        assert running.errors == []


@pytest.fixture
async def opened() -> AsyncIterator[list[OpenAILLM]]:
    """The LLMs a test made, closed after it (their pooled connections)."""
    llms: list[OpenAILLM] = []
    yield llms
    for llm in llms:
        await llm.aclose()


def _llm(server: BatchServer, opened: list[OpenAILLM]) -> OpenAILLM:
    llm = OpenAILLM(model="gpt-4o-mini", base_url=server.url, api_key="sk-test", max_retries=0)
    llm._provider = "openai"  # as load("openai:...") names it
    opened.append(llm)
    return llm


async def _call(llm: OpenAILLM, mode: str, name: str, *args: Any) -> Any:
    if mode == "sync":
        return getattr(llm, name)(*args)
    return await getattr(llm, f"a{name}")(*args)


async def _until_ended(llm: OpenAILLM, mode: str, batch: ProviderBatch) -> list[ProviderBatch]:
    seen = [batch]
    while not seen[-1].ended:
        seen.append(await _call(llm, mode, "get_batch", batch.id))
    return seen


@pytest.mark.parametrize("mode", MODES)
async def test_a_batch_is_uploaded_created_polled_and_its_results_read(
    mode: str, server: BatchServer, spec_errors: Callable[..., list[str]], opened: list[OpenAILLM]
) -> None:
    llm = _llm(server, opened)
    created = await _call(llm, mode, "create_batch", _requests("one", "#400 two", "three"))
    assert (created.status, created.ended, created.provider) == ("validating", False, "openai")
    # what went on the wire, as OpenAI's own spec defines it
    assert server.uploads == [
        {"purpose": "batch", "filename": "llmplug-batch.jsonl", "bytes": server.uploads[0]["bytes"]}
    ]
    (create,) = server.created
    assert spec_errors(create, "CreateBatchRequest") == []
    assert create["endpoint"] == "/v1/chat/completions"
    assert create["completion_window"] == "24h"
    lines = [json.loads(line) for line in server.files[create["input_file_id"]].splitlines()]
    assert [line["custom_id"] for line in lines] == ["row-0", "row-1", "row-2"]
    for line in lines:
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        assert spec_errors(line["body"]) == []
        assert line["body"]["temperature"] == 0
        assert "stream" not in line["body"]
    assert set(server.keys) == {"Bearer sk-test"}
    states = await _until_ended(llm, mode, created)
    assert [s.status for s in states] == ["validating", "in_progress", "finalizing", "completed"]
    for state in states:
        # the spec's schema leaves unset fields out; its own examples (and the API) send
        # them as null: drop those before validating
        present = {key: value for key, value in state.raw.items() if value is not None}
        assert spec_errors(present, "Batch") == []
    ended = states[-1]
    assert (ended.requests, ended.succeeded, ended.failed) == (3, 2, 1)
    results = {r.custom_id: r for r in await _call(llm, mode, "batch_results", ended)}
    assert results["row-0"].outcome == "succeeded"
    assert results["row-0"].response is not None
    assert results["row-0"].response.message.content == "echo: one"
    assert results["row-0"].response.usage is not None
    assert results["row-0"].response.usage.output_tokens == 2
    assert results["row-1"].outcome == "errored"
    assert isinstance(results["row-1"].error, BadRequestError)
    assert "this row is refused" in str(results["row-1"].error)
    assert results["row-2"].response is not None


@pytest.mark.parametrize("mode", MODES)
async def test_an_expired_batch_gives_its_answers_and_marks_the_rest_not_run(
    mode: str, opened: list[OpenAILLM]
) -> None:
    with serving("openai", expire_after=1) as server:
        llm = _llm(server, opened)
        created = await _call(llm, mode, "create_batch", _requests("one", "two", "three"))
        ended = (await _until_ended(llm, mode, created))[-1]
        assert ended.status == "expired"
        assert ended.ended
        results = sorted(await _call(llm, mode, "batch_results", ended), key=lambda r: r.custom_id)
    assert [r.outcome for r in results] == ["succeeded", "expired", "expired"]
    assert all(r.error is None for r in results[1:])


@pytest.mark.parametrize("mode", MODES)
async def test_a_cancelled_batch_is_cancelling_then_cancelled(
    mode: str, server: BatchServer, opened: list[OpenAILLM]
) -> None:
    llm = _llm(server, opened)
    created = await _call(llm, mode, "create_batch", _requests("one", "two"))
    cancelling = await _call(llm, mode, "cancel_batch", created.id)
    assert (cancelling.status, cancelling.ended) == ("cancelling", False)
    ended = await _call(llm, mode, "get_batch", created.id)
    assert (ended.status, ended.ended) == ("cancelled", True)
    results = list(await _call(llm, mode, "batch_results", ended))
    assert [r.outcome for r in results] == ["cancelled", "cancelled"]
    assert server.log[-3][0] == "POST"
    assert server.log[-3][1].endswith("/cancel")


@pytest.mark.parametrize("mode", MODES)
async def test_a_batch_whose_input_is_refused_says_why(mode: str, opened: list[OpenAILLM]) -> None:
    with serving("openai", fail="custom_id must be unique") as server:
        llm = _llm(server, opened)
        created = await _call(llm, mode, "create_batch", _requests("one"))
        failed = await _call(llm, mode, "get_batch", created.id)
    assert (failed.status, failed.ended) == ("failed", True)
    assert failed.error == "line 1: custom_id must be unique"


@pytest.mark.parametrize("mode", MODES)
async def test_errors_of_the_batch_endpoints_are_mapped(
    mode: str, server: BatchServer, opened: list[OpenAILLM]
) -> None:
    llm = _llm(server, opened)
    with pytest.raises(NotFoundError, match="no such object"):
        await _call(llm, mode, "get_batch", "batch_nope")
    pending = ProviderBatch(id="b", provider="openai", status="in_progress")
    with pytest.raises(ValueError, match="has not ended"):
        await _call(llm, mode, "batch_results", pending)
    with pytest.raises(APIError, match="1 to 50000 requests"):
        await _call(llm, mode, "create_batch", [])


def test_result_lines_map_to_outcomes() -> None:
    llm = OpenAILLM(api_key="sk-test")
    timeout = llm.batch_result({"custom_id": "a", "error": {"code": "request_timeout"}})
    assert timeout.outcome == "errored"
    assert type(timeout.error).__name__ == "APITimeoutError"
    cancelled = llm.batch_result(
        {"custom_id": "b", "response": None, "error": {"code": "batch_cancelled"}}
    )
    assert cancelled == BatchResult("b", "cancelled")
    broken = llm.batch_result({"custom_id": "c", "response": {"status_code": 200, "body": {}}})
    assert broken.outcome == "errored"
    with pytest.raises(APIError, match="without custom_id"):
        llm.batch_result({"response": {}})


@pytest.mark.parametrize("name", ["azure", "groq", "vllm"])
def test_services_without_the_batch_api_say_so(name: str, make: Callable[..., OpenAILLM]) -> None:
    options = {"azure_endpoint": "https://x.openai.azure.com"} if name == "azure" else {}
    llm = make(name, model="m", api_key="k", **options)
    assert not type(llm).capabilities.batch
    with pytest.raises(UnsupportedFeatureError, match="no batch API"):
        llm.create_batch(_requests("x"))
