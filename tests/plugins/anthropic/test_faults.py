"""What goes wrong on the wire: statuses, Retry-After, errors mid-stream, streams that end
early or drop, cancellation. Every case runs sync and async, against llmplug's scripted
``MockServer`` (which records whether each response was closed) and a fake clock (so
retries never really wait); no case may leave a response open. Pings against real
timers are in ``test_loopback``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from llmplug import ChatMessage, ChatResponse
from llmplug.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterruptedError,
)
from llmplug.http.testing import FakeClock, MockServer, Reply, Stall
from llmplug_anthropic import AnthropicLLM

from . import wire_data as w

CANARY = "sk-ant-CANARY-4c1d9e"
HI = [ChatMessage(role="user", content="Hi")]
MODES = ["chat", "achat", "stream_chat", "astream_chat"]
STREAMS = ["stream_chat", "astream_chat"]
OK_JSON = Reply(200, json=w.TEXT)
OK_STREAM = Reply(200, body=w.sse_items(w.TEXT_STREAM))


def ok(mode: str) -> Reply:
    return OK_STREAM if "stream" in mode else OK_JSON


def stream_of(*events: Any) -> Reply:
    return Reply(200, body=w.sse_items(list(events)), headers={"content-type": "text/event-stream"})


Make = Callable[..., tuple[AnthropicLLM, MockServer]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make(clock: FakeClock) -> Iterator[Make]:
    """``make(*replies, **fields) -> (llm, server)``; the test fails if a body is left open."""
    servers: list[MockServer] = []

    def factory(*replies: Reply, **fields: Any) -> tuple[AnthropicLLM, MockServer]:
        server = MockServer(*replies)
        servers.append(server)
        fields.setdefault("api_key", CANARY)
        llm = AnthropicLLM(
            transport=server.transport(),
            async_transport=server.async_transport(),
            clock=clock,
            **fields,
        )
        llm._provider = "anthropic"
        return llm, server

    yield factory
    for server in servers:
        assert server.open_bodies == [], "a response was left open"


async def run(
    llm: AnthropicLLM, mode: str, received: list[str] | None = None
) -> list[ChatResponse]:
    """The response, or every chunk (each delta appended to ``received`` as it arrives)."""
    chunks: list[ChatResponse] = []
    try:
        if mode == "chat":
            return [llm.chat(HI)]
        if mode == "achat":
            return [await llm.achat(HI)]
        if mode == "stream_chat":
            for chunk in llm.stream_chat(HI):
                chunks.append(chunk)
                if received is not None:
                    received.append(chunk.delta or "")
        else:
            async for chunk in await llm.astream_chat(HI):
                chunks.append(chunk)
                if received is not None:
                    received.append(chunk.delta or "")
        return chunks
    finally:
        await llm.aclose()


STATUSES = [
    pytest.param(400, w.error("invalid_request_error", "bad"), BadRequestError, False, id="400"),
    pytest.param(
        401,
        w.error("authentication_error", "invalid x-api-key"),
        AuthenticationError,
        False,
        id="401",
    ),
    pytest.param(403, w.error("permission_error", "no"), PermissionDeniedError, False, id="403"),
    pytest.param(404, w.error("not_found_error", "model: x"), NotFoundError, False, id="404"),
    pytest.param(413, w.error("request_too_large", "too big"), APIStatusError, False, id="413"),
    pytest.param(429, w.error("rate_limit_error", "slow down"), RateLimitError, True, id="429"),
    pytest.param(500, w.error("api_error", "boom"), InternalServerError, True, id="500"),
    pytest.param(529, w.OVERLOADED, InternalServerError, True, id="529-overloaded"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "body", "error", "retryable"), STATUSES)
async def test_status_codes(
    make: Make,
    clock: FakeClock,
    mode: str,
    status: int,
    body: dict[str, Any],
    error: type[APIStatusError],
    retryable: bool,
) -> None:
    llm, server = make(Reply(status, json=body, headers={"request-id": "req_42"}), max_retries=2)
    with pytest.raises(error) as caught:
        await run(llm, mode)
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.provider == "anthropic"
    assert caught.value.request_id == "req_42"
    assert body["error"]["message"] in str(caught.value)
    assert len(server.requests) == (3 if retryable else 1)
    assert clock.sleeps == ([0.5, 1.0] if retryable else [])


@pytest.mark.parametrize("mode", MODES)
async def test_authentication_error_says_what_to_do(make: Make, mode: str) -> None:
    llm, _ = make(Reply(401, json=w.error("authentication_error", "invalid x-api-key")))
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_overloaded_then_ok(make: Make, mode: str) -> None:
    llm, server = make(Reply(529, json=w.OVERLOADED), ok(mode))
    responses = await run(llm, mode)
    assert responses[-1].additional_kwargs["stop_reason"] == "end_turn"
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"retry-after": "7"}, 7.0, id="seconds"),
        pytest.param({"retry-after-ms": "1500"}, 1.5, id="ms"),
        pytest.param({"retry-after": "soon"}, 0.5, id="garbage-uses-backoff"),
    ],
)
async def test_retry_after(
    make: Make, clock: FakeClock, mode: str, headers: dict[str, str], wait: float
) -> None:
    llm, server = make(Reply(429, json=w.error("rate_limit_error", "x"), headers=headers), ok(mode))
    await run(llm, mode)
    assert clock.sleeps == [wait]
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_should_retry_false_is_obeyed(make: Make, mode: str) -> None:
    llm, server = make(Reply(529, json=w.OVERLOADED, headers={"x-should-retry": "false"}), ok(mode))
    with pytest.raises(InternalServerError):
        await run(llm, mode)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_connection_error_is_retried(make: Make, mode: str) -> None:
    llm, server = make(Reply(raises=httpx2.ConnectError("refused")), ok(mode))
    await run(llm, mode)
    assert len(server.requests) == 2
    llm, server = make(Reply(raises=httpx2.ConnectError("refused")), max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        await run(llm, mode)
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)


# -- errors inside a stream ------------------------------------------------------------


@pytest.mark.parametrize("mode", STREAMS)
async def test_overloaded_event_before_first_chunk_is_retried(
    make: Make, clock: FakeClock, mode: str
) -> None:
    # message_start and ping carry nothing for the caller: retrying is still safe
    llm, server = make(stream_of(w.start(), w.PING, w.OVERLOADED), OK_STREAM)
    chunks = await run(llm, mode)
    assert [c.delta for c in chunks] == ["Hello", "!", ""]
    assert len(server.requests) == 2
    assert clock.sleeps == [0.5]


@pytest.mark.parametrize("mode", STREAMS)
async def test_other_error_event_before_first_chunk_is_not_retried(make: Make, mode: str) -> None:
    llm, server = make(stream_of(w.start(), w.error("rate_limit_error", "tokens/min")), OK_STREAM)
    with pytest.raises(RateLimitError, match="tokens/min"):
        await run(llm, mode)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize(
    ("kind", "status", "cls"),
    [
        pytest.param("billing_error", 402, APIStatusError, id="billing-402"),
        pytest.param("timeout_error", 504, InternalServerError, id="timeout-504"),
        pytest.param("api_error", 500, InternalServerError, id="api-500"),
        pytest.param("permission_error", 403, PermissionDeniedError, id="permission-403"),
    ],
)
async def test_error_event_maps_like_its_http_status(
    make: Make, mode: str, kind: str, status: int, cls: type[APIStatusError]
) -> None:
    # every error type of the API's error docs, in a stream, is the class its status gives
    llm, server = make(stream_of(w.start(), w.error(kind, "went wrong")))
    with pytest.raises(cls, match="went wrong") as caught:
        await run(llm, mode)
    assert caught.value.status_code == status
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", STREAMS)
async def test_error_event_after_first_chunk_is_never_retried(make: Make, mode: str) -> None:
    events = [*w.TEXT_STREAM[:4], w.OVERLOADED]
    llm, server = make(stream_of(*events), OK_STREAM)
    received: list[str] = []
    with pytest.raises(InternalServerError) as caught:
        await run(llm, mode, received)
    assert caught.value.status_code == 529
    assert "overloaded_error" in str(caught.value)
    assert received == ["Hello"]
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", STREAMS)
async def test_context_error_event(make: Make, mode: str) -> None:
    llm, _ = make(stream_of(w.start(), w.CONTEXT_ERROR))
    with pytest.raises(ContextWindowExceededError):
        await run(llm, mode)


@pytest.mark.parametrize("mode", STREAMS)
async def test_json_error_answer_to_a_stream_request(make: Make, mode: str) -> None:
    llm, _ = make(Reply(200, json=w.error("rate_limit_error", "x")))
    with pytest.raises(RateLimitError):
        await run(llm, mode)


@pytest.mark.parametrize("mode", STREAMS)
async def test_stream_ending_before_message_stop_is_incomplete(make: Make, mode: str) -> None:
    llm, server = make(stream_of(*w.TEXT_STREAM[:5]))
    received: list[str] = []
    with pytest.raises(IncompleteStreamError) as caught:
        await run(llm, mode, received)
    assert caught.value.partial == "Hello!"
    assert "ended before message_stop" in str(caught.value)  # not OpenAI's [DONE]
    assert received == ["Hello", "!"]
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", STREAMS)
async def test_empty_stream_is_incomplete(make: Make, mode: str) -> None:
    llm, _ = make(Reply(200, body=[], headers={"content-type": "text/event-stream"}), max_retries=0)
    with pytest.raises(IncompleteStreamError):
        await run(llm, mode)


@pytest.mark.parametrize("mode", STREAMS)
async def test_events_after_message_stop_are_ignored(make: Make, mode: str) -> None:
    llm, _ = make(stream_of(*w.TEXT_STREAM, w.text_delta(0, "late")))
    chunks = await run(llm, mode)
    assert chunks[-1].message.content == "Hello!"


@pytest.mark.parametrize("mode", STREAMS)
async def test_connection_dropped_mid_stream(make: Make, mode: str) -> None:
    body = [*w.sse_items(w.TEXT_STREAM[:4]), httpx2.ReadError("connection reset")]
    llm, server = make(Reply(200, body=body), OK_STREAM)
    received: list[str] = []
    with pytest.raises(StreamInterruptedError) as caught:
        await run(llm, mode, received)
    assert caught.value.partial == "Hello"
    assert received == ["Hello"]
    assert len(server.requests) == 1  # a chunk was delivered: never retried


@pytest.mark.parametrize("mode", STREAMS)
async def test_connection_dropped_before_first_chunk_is_retried(make: Make, mode: str) -> None:
    body = [*w.sse_items([w.start(), w.PING]), httpx2.ReadError("connection reset")]
    llm, server = make(Reply(200, body=body), OK_STREAM)
    chunks = await run(llm, mode)
    assert chunks[-1].message.content == "Hello!"
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", STREAMS)
async def test_malformed_event_is_an_api_error(make: Make, mode: str) -> None:
    llm, _ = make(Reply(200, body=[b"event: content_block_delta\ndata: {not json\n\n"]))
    with pytest.raises(APIError, match="could not parse"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_non_json_body_is_an_api_error(make: Make, mode: str) -> None:
    llm, _ = make(Reply(200, body=[b"<html>gateway</html>"], headers={"content-type": "text/html"}))
    with pytest.raises(APIError, match="not JSON"):
        await run(llm, mode)


# -- cancellation ------------------------------------------------------------------------


def test_sync_close_after_first_chunk_closes_the_response(make: Make) -> None:
    llm, server = make(OK_STREAM)
    gen = llm.stream_chat(HI)
    assert next(gen).delta == "Hello"
    assert server.open_bodies != []
    gen.close()
    assert server.open_bodies == []


async def test_async_aclose_after_first_chunk_closes_the_response(make: Make) -> None:
    llm, server = make(OK_STREAM)
    gen = await llm.astream_chat(HI)
    assert (await anext(gen)).delta == "Hello"
    await gen.aclose()
    assert server.open_bodies == []
    await llm.aclose()


@pytest.mark.parametrize("first_chunk", [True, False], ids=["after-first-chunk", "before"])
async def test_cancelling_the_task_closes_the_response(make: Make, first_chunk: bool) -> None:
    reached = asyncio.Event()
    events = w.TEXT_STREAM[:4] if first_chunk else w.TEXT_STREAM[:2]
    llm, server = make(Reply(200, body=[*w.sse_items(events), reached.set, Stall()]))
    received: list[str] = []

    async def consume() -> None:
        async for chunk in await llm.astream_chat(HI):
            received.append(chunk.delta or "")

    task = asyncio.create_task(consume())
    await reached.wait()
    await asyncio.sleep(0)  # let the reader block on the stalled body
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received == (["Hello"] if first_chunk else [])
    assert server.open_bodies == []
    await llm.aclose()


# -- secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_canary_key_never_shown(
    make: Make, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    echo = w.error("authentication_error", f"invalid x-api-key: {CANARY}")
    llm, _ = make(Reply(401, json=echo))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as caught:
        await run(llm, mode)
    shown = [str(caught.value), repr(caught.value), json.dumps(caught.value.body), repr(llm)]
    shown += [record.getMessage() for record in caplog.records]
    assert not [text for text in shown if CANARY in text]
