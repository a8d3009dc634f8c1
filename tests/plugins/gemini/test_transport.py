"""End to end through llmplug's HTTP runtime against a scripted server (MockServer).

Every endpoint, sync and async: requests go where Google documents (the key in a
header, never in the URL), bodies validate with the SDK's types, responses and SSE
streams parse, faults map to the error tree and retries honour ``RetryInfo``. No network.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmplug import ChatMessage, ChatResponse, ThinkingBlock, ToolCallBlock, Usage
from llmplug.errors import (
    AuthenticationError,
    ContentBlockedError,
    ContextWindowExceededError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from llmplug.http.testing import FakeClock, MockServer, Reply

from . import wire_data as w

ENDPOINTS = ["chat", "achat", "stream_chat", "astream_chat"]
HI = [ChatMessage(role="user", content="Hi")]
KEY = "AIza-CANARY-transport"


async def call(
    llm: Any, endpoint: str, messages: Any = HI, **options: Any
) -> tuple[ChatResponse, list[ChatResponse]]:
    """Run ``endpoint``; return the last response and every chunk (one for non-streams)."""
    if endpoint == "chat":
        response = llm.chat(messages, **options)
        return response, [response]
    if endpoint == "achat":
        response = await llm.achat(messages, **options)
        return response, [response]
    if endpoint == "stream_chat":
        chunks = list(llm.stream_chat(messages, **options))
    else:
        chunks = [c async for c in await llm.astream_chat(messages, **options)]
    return chunks[-1], chunks


def server_for(endpoint: str, data: Any, *, status: int = 200) -> MockServer:
    """A server answering with ``data``: a body, or for a stream a list of SSE chunks."""
    if status != 200:
        return MockServer(Reply(status, json=data))
    if "stream" in endpoint:
        events = data if isinstance(data, list) else [data]
        return MockServer(
            Reply(200, body=w.sse(events), headers={"content-type": "text/event-stream"})
        )
    return MockServer(Reply(200, json=data))


def gemini(make: Any, server: MockServer, **options: Any) -> Any:
    return make(
        api_key=KEY,
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),
        **options,
    )


def sent(server: MockServer, sdk: Any, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(server.requests[index].content)
    sdk.check_request(body, vertex="labels" in body)
    return body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_text(make: Any, sdk: Any, endpoint: str) -> None:
    server = server_for(endpoint, w.TEXT_STREAM if "stream" in endpoint else w.TEXT)
    llm = gemini(make, server, temperature=0.1, system_prompt="Be kind.")
    last, chunks = await call(llm, endpoint, max_tokens=50)
    request = server.requests[0]
    assert request.headers["x-goog-api-key"] == KEY
    assert KEY not in str(request.url)
    stream = "stream" in endpoint
    assert request.url.path == (
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        if stream
        else "/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert (request.url.params.get("alt") == "sse") is stream
    assert request.url.host == "generativelanguage.googleapis.com"
    body = sent(server, sdk)
    assert body["systemInstruction"] == {"parts": [{"text": "Be kind."}]}
    assert body["generationConfig"] == {"temperature": 0.1, "maxOutputTokens": 50}
    if stream:
        assert [c.delta for c in chunks] == ["Hello!", " How can I help you today", "?", ""]
        assert last.message.content == "Hello! How can I help you today?"
        assert all(c.usage is None for c in chunks[:-1])
        assert last.usage == Usage(input_tokens=1, output_tokens=9)
        assert last.additional_kwargs["finish_reason"] == "STOP"
        assert last.additional_kwargs["model_version"] == "gemini-3.1-flash-lite-preview"
    else:
        assert last.message.content == "Hello! How can I help you today?"
        assert last.usage == Usage(input_tokens=8, output_tokens=12)
        assert last.additional_kwargs["finish_reason"] == "STOP"
        assert last.additional_kwargs["response_id"] == "tTCwacuEBMvnitYP06qsgQY"
    assert server.open_bodies == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_thoughts_and_function_calls(make: Any, endpoint: str) -> None:
    data = w.THOUGHT_CALL_STREAM if "stream" in endpoint else w.CALLS
    server = server_for(endpoint, data)
    last, chunks = await call(gemini(make, server), endpoint)
    calls = [b for b in last.message.blocks if isinstance(b, ToolCallBlock)]
    signed = [b for b in last.message.blocks if isinstance(b, ThinkingBlock)]
    if "stream" in endpoint:
        assert [c.delta for c in chunks] == ["", "", ""]  # thoughts are not the answer
        thought, signature = signed
        assert thought.content == "**Checking the weather** I need Paris."
        assert signature.additional_information == {"thought_signature": w.SIG_B}
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {"city": "Paris"})]
        assert last.usage == Usage(input_tokens=30, output_tokens=58, reasoning_tokens=50)
    else:
        assert [(c.tool_call_id, c.tool_kwargs) for c in calls] == [
            ("fc-paris", {"city": "Paris"}),
            ("fc-london", {"city": "London"}),
        ]
        assert signed[0].additional_information == {"thought_signature": w.SIG_B}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_blocked_prompt_raises_naming_the_reason(make: Any, endpoint: str) -> None:
    server = server_for(endpoint, w.BLOCKED_PROMPT)
    with pytest.raises(
        ContentBlockedError, match=r"prompt was blocked \(SAFETY\).*HATE_SPEECH"
    ) as info:
        await call(gemini(make, server), endpoint)
    assert (info.value.reason, info.value.where, info.value.partial) == ("SAFETY", "prompt", "")
    assert info.value.provider == "gemini"
    assert server.open_bodies == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_an_answer_cut_for_safety_raises_with_the_partial_text(
    make: Any, endpoint: str
) -> None:
    stream = "stream" in endpoint
    server = server_for(endpoint, w.SAFETY_STREAM if stream else w.SAFETY_CUT)
    llm = gemini(make, server)
    seen: list[str] = []

    async def consume() -> None:
        if endpoint == "stream_chat":
            seen.extend(c.delta or "" for c in llm.stream_chat(HI))
        elif endpoint == "astream_chat":
            seen.extend([c.delta or "" async for c in await llm.astream_chat(HI)])
        else:
            await call(llm, endpoint)

    with pytest.raises(
        ContentBlockedError, match=r"stopped after \d+ characters \(SAFETY\)"
    ) as info:
        await consume()
    assert seen == (["Step one"] if endpoint == "stream_chat" else [])
    assert info.value.reason == "SAFETY"
    assert info.value.where == "response"
    assert "DANGEROUS_CONTENT" in str(info.value)
    assert info.value.partial == ("Step one, then" if stream else "Here is how")
    assert server.open_bodies == []


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("MAX_TOKENS", "MAX_TOKENS"), ("MALFORMED_CALL", "MALFORMED_FUNCTION_CALL")],
)
async def test_other_finish_reasons_are_answers(
    make: Any, endpoint: str, fixture: str, reason: str
) -> None:
    server = server_for(endpoint, getattr(w, fixture))
    last, _ = await call(gemini(make, server), endpoint)
    assert last.additional_kwargs["finish_reason"] == reason


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_a_stream_cut_before_its_finish_reason_is_incomplete(
    make: Any, endpoint: str
) -> None:
    server = server_for(endpoint, w.TEXT_STREAM[:2])
    with pytest.raises(IncompleteStreamError, match="finishReason") as info:
        await call(gemini(make, server), endpoint)
    assert info.value.partial == "Hello! How can I help you today"


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_an_error_sent_in_the_stream(make: Any, endpoint: str) -> None:
    server = server_for(endpoint, [w.TEXT_STREAM[0], w.UNAVAILABLE])
    with pytest.raises(InternalServerError, match="overloaded") as info:
        await call(gemini(make, server), endpoint)
    assert info.value.status_code == 503


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_resource_exhausted_honours_retry_info(make: Any, endpoint: str) -> None:
    ok = server_for(endpoint, w.TEXT_STREAM if "stream" in endpoint else w.TEXT).replies[0]
    server = MockServer(Reply(429, json=w.RATE_LIMITED), ok)
    llm = gemini(make, server)
    last, _ = await call(llm, endpoint)
    assert last.message.content == "Hello! How can I help you today?"
    assert llm.clock.sleeps == [7.0]  # the body's RetryInfo.retryDelay, not a backoff


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_resource_exhausted_without_retries(make: Any, endpoint: str) -> None:
    server = MockServer(Reply(429, json=w.RATE_LIMITED))
    with pytest.raises(RateLimitError, match="quota") as info:
        await call(gemini(make, server, max_retries=0), endpoint)
    assert info.value.retry_after == 7.0
    assert info.value.status_code == 429
    assert info.value.body["error"]["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("status", "body", "error", "match"),
    [
        pytest.param(400, w.KEY_INVALID, AuthenticationError, "set GEMINI_API_KEY", id="key"),
        pytest.param(
            404, w.MODEL_NOT_FOUND, NotFoundError, r"llm\.list_models\(\)", id="unknown-model"
        ),
        pytest.param(
            400, w.TOO_LONG, ContextWindowExceededError, "input token count", id="too-long"
        ),
    ],
)
async def test_error_bodies(
    make: Any, endpoint: str, status: int, body: Any, error: type, match: str
) -> None:
    server = server_for(endpoint, body, status=status)
    with pytest.raises(error, match=match) as info:
        await call(gemini(make, server), endpoint)
    assert KEY not in str(info.value)
    assert len(server.requests) == 1  # not retried


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_unavailable_is_retried(make: Any, endpoint: str) -> None:
    server = MockServer(Reply(503, json=w.UNAVAILABLE), Reply(200, json=w.TEXT))
    llm = gemini(make, server)
    last, _ = await call(llm, endpoint)
    assert last.message.content
    assert len(server.requests) == 2
    assert len(llm.clock.sleeps) == 1


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_grounding_citations_logprobs_and_other_parts(
    make: Any, sdk: Any, endpoint: str
) -> None:
    server = MockServer(
        Reply(200, json=w.GROUNDED), Reply(200, json=w.LOGPROBS), Reply(200, json=w.CODE_EXECUTION)
    )
    llm = gemini(make, server)
    grounded, _ = await call(llm, endpoint)
    assert grounded.additional_kwargs["grounding_metadata"]["webSearchQueries"] == [
        "UEFA Euro 2024 winner"
    ]
    assert grounded.additional_kwargs["citation_metadata"]["citations"][0]["uri"].startswith(
        "https://www.uefa"
    )
    scored, _ = await call(llm, endpoint, logprobs=True, top_logprobs=1)
    assert [[(p.token, p.logprob) for p in row] for row in scored.logprobs or []] == [
        [("Yes", -0.01), ("No", -4.6)]
    ]
    assert sent(server, sdk, 1)["generationConfig"] == {"responseLogprobs": True, "logprobs": 1}
    coded, _ = await call(llm, endpoint)
    assert coded.message.content == "The result is 4."
    assert [list(p) for p in coded.additional_kwargs["other_parts"]] == [
        ["executableCode"],
        ["codeExecutionResult"],
    ]


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_generated_images_come_back_as_blocks(make: Any, endpoint: str) -> None:
    from llmplug import ImageBlock

    last, _ = await call(gemini(make, server_for(endpoint, w.IMAGE_OUT)), endpoint)
    _text, image = last.message.blocks
    assert isinstance(image, ImageBlock)
    assert image.image_mimetype == "image/png"
    assert last.message.content == "Here is your image:"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_list_models_pages_through_the_listing(make: Any, mode: str) -> None:
    server = MockServer(Reply(200, json=w.MODELS_PAGE_1), Reply(200, json=w.MODELS_PAGE_2))
    llm = gemini(make, server)
    models = llm.list_models() if mode == "sync" else await llm.alist_models()
    assert [(m.id, m.context_window, m.max_output_tokens) for m in models] == [
        ("gemini-2.5-flash", 1_048_576, 65_536),
        ("gemini-2.5-pro", 1_048_576, 65_536),
    ]
    assert models[0].display_name == "Gemini 2.5 Flash"
    assert models[0].raw["version"] == "001"
    first, second = server.requests
    assert first.method == "GET"
    assert first.url.path == "/v1beta/models"
    assert first.url.params.get("pageSize") == "1000"
    assert "pageToken" not in first.url.params
    assert second.url.params["pageToken"] == w.MODELS_PAGE_1["nextPageToken"]
    assert first.headers["x-goog-api-key"] == KEY
    assert KEY not in str(first.url)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_list_models_errors_are_mapped(make: Any, mode: str) -> None:
    server = MockServer(Reply(400, json=w.KEY_INVALID))
    llm = gemini(make, server)
    with pytest.raises(AuthenticationError):
        llm.list_models() if mode == "sync" else await llm.alist_models()


def test_connection_errors_are_retried_then_raised(make: Any) -> None:
    from llmplug.errors import APIConnectionError

    server = MockServer(Reply(raises=httpx2.ConnectError("refused")))
    llm = gemini(make, server, max_retries=2)
    with pytest.raises(APIConnectionError):
        llm.chat(HI)
    assert len(server.requests) == 3
