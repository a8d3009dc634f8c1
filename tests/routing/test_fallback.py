"""Fallback chains against a loopback server that fails in scripted ways.

Every test asserts the exact sequence of requests the server saw, for every endpoint
(sync and async, plain and streaming): a route calls each model once through its own
endpoint and moves on only for errors another model can fix.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from llmplug import ChatMessage
from llmplug.errors import (
    AllModelsFailedError,
    APITimeoutError,
    AuthenticationError,
    ContentPolicyError,
    InternalServerError,
    RateLimitError,
    StreamInterruptedError,
)
from llmplug.routing import RESPONSE_KEY, FallbackLLM, RouteRecord

from .conftest import CANARY, HI, Loopback, drop, hang, ok, openai, status, text_of

ENDPOINTS = [
    "chat",
    "complete",
    "stream_chat",
    "stream_complete",
    "achat",
    "acomplete",
    "astream_chat",
    "astream_complete",
]
STREAMING = {"stream_chat", "stream_complete", "astream_chat", "astream_complete"}


def record_of(chunks: list[Any]) -> RouteRecord:
    record = chunks[0].additional_kwargs[RESPONSE_KEY]
    assert isinstance(record, RouteRecord)
    return record


def outcomes(record: RouteRecord) -> list[tuple[str, str, str | None]]:
    """``(provider:model, outcome, reason)`` of each attempt."""
    return [(a.model.partition("?")[0], a.outcome, a.reason) for a in record.attempts]


@pytest.fixture
def route(server: Loopback, closing: Any) -> Any:
    """A chain of models a and b on the loopback server (no HTTP retries)."""
    return closing(FallbackLLM([openai(server, "a"), openai(server, "b")]))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_429_with_retry_after_moves_on_and_cools_down(
    server: Loopback, route: Any, run: Any, endpoint: str
) -> None:
    server.script("a", status(429, retry_after=30, type="rate_limit_error"))
    first = await run(route, endpoint)
    second = await run(route, endpoint)
    assert text_of(first) == text_of(second) == "b says hi"
    assert server.models() == ["a", "b", "b"]  # a cools down for the 30 s it asked for
    assert all(stream == (endpoint in STREAMING) for _, stream in server.log)
    assert outcomes(record_of(first)) == [
        ("openai:a", "failed", "rate_limit"),
        ("openai:b", "ok", None),
    ]
    assert outcomes(record_of(second)) == [
        ("openai:a", "skipped", "cooldown"),
        ("openai:b", "ok", None),
    ]
    assert "after 1 failure(s); the last: RateLimitError" in str(
        record_of(second).attempts[0].error
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_503_moves_on_without_cooling_down(
    server: Loopback, route: Any, run: Any, endpoint: str
) -> None:
    server.script("a", status(503))
    assert text_of(await run(route, endpoint)) == "b says hi"
    assert text_of(await run(route, endpoint)) == "a says hi"  # one failure: not cooled
    assert server.models() == ["a", "b", "a"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_wrong_key_stops_the_chain(
    server: Loopback, route: Any, run: Any, endpoint: str
) -> None:
    server.script("a", status(401, type="authentication_error"))
    with pytest.raises(AuthenticationError) as caught:
        await run(route, endpoint)
    assert server.models() == ["a"]  # b would fail the same way: never called
    assert CANARY not in str(caught.value)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_when_all_fail_the_error_holds_every_attempt(
    server: Loopback, route: Any, run: Any, endpoint: str
) -> None:
    server.script("a", status(429, retry_after=7))
    server.script("b", status(503))
    with pytest.raises(AllModelsFailedError) as caught:
        await run(route, endpoint)
    error = caught.value
    assert server.models() == ["a", "b"]
    assert [type(e) for e in error.errors] == [RateLimitError, InternalServerError]
    assert [(a.outcome, a.reason) for a in error.attempts] == [
        ("failed", "rate_limit"),
        ("failed", "server_error"),
    ]
    assert error.__cause__ is error.errors[-1]
    assert error.retry_after == 7.0
    assert "HTTP 429" in str(error)
    assert "HTTP 503" in str(error)


@pytest.mark.parametrize("endpoint", ["chat", "stream_chat", "achat", "astream_chat"])
async def test_a_hanging_model_times_out_and_the_next_answers(
    server: Loopback, run: Any, endpoint: str, closing: Any
) -> None:
    route = closing(FallbackLLM([openai(server, "a", timeout=0.3), openai(server, "b")]))
    server.script("a", hang())
    assert text_of(await run(route, endpoint)) == "b says hi"
    assert server.models() == ["a", "b"]
    attempt = route.chat(HI).additional_kwargs[RESPONSE_KEY].attempts[0]
    assert attempt.outcome == "ok"  # a answers now: the hang was one request
    server.release.set()


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_a_stream_dropped_after_a_chunk_is_not_retried(
    server: Loopback, route: Any, endpoint: str
) -> None:
    server.script("a", drop(after=1, text="one two three"))
    received: list[str] = []

    async def read() -> None:
        if endpoint == "stream_chat":
            for chunk in route.stream_chat(HI):
                received.append(chunk.delta)
        else:
            async for chunk in await route.astream_chat(HI):
                received.append(chunk.delta)

    with pytest.raises(StreamInterruptedError) as caught:
        await read()
    assert received == ["one"]  # delivered once, never repeated by another model
    assert caught.value.partial == "one"
    assert server.models() == ["a"]


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat", "stream_complete"])
async def test_a_stream_dropped_before_its_first_chunk_moves_on(
    server: Loopback, route: Any, run: Any, endpoint: str
) -> None:
    server.script("a", drop(after=0))
    chunks = await run(route, endpoint)
    assert text_of(chunks) == "b says hi"
    assert server.models() == ["a", "b"]
    # the body ended before any event: the HTTP layer calls it a lost connection
    assert [(a.outcome, a.reason) for a in record_of(chunks).attempts] == [
        ("failed", "connection"),
        ("ok", None),
    ]


async def test_each_model_runs_its_own_retry_loop_once(server: Loopback, closing: Any) -> None:
    # the route adds no retry layer: a retries once (its own max_retries), then b
    route = closing(FallbackLLM([openai(server, "a", max_retries=1), openai(server, "b")]))
    server.script("a", status(503, retry_after=0), status(503, retry_after=0))
    assert route.chat(HI).message.content == "b says hi"
    assert server.models() == ["a", "a", "b"]


async def test_member_max_retries_overrides_the_models_own(server: Loopback, closing: Any) -> None:
    route = closing(
        FallbackLLM([openai(server, "a", max_retries=3), openai(server, "b")], member_max_retries=0)
    )
    server.script("a", status(503, retry_after=0))
    assert route.chat(HI).message.content == "b says hi"
    assert server.models() == ["a", "b"]


def test_prompt_too_long_goes_to_a_larger_model_only(server: Loopback, closing: Any) -> None:
    overflow = status(400, type="invalid_request_error", code="context_length_exceeded")
    server.script("small", overflow)
    route = closing(
        FallbackLLM(
            [
                openai(server, "small", context_window=8000),
                openai(server, "same", context_window=8000),
            ],
            context_window_fallbacks=[openai(server, "big", context_window=128000)],
        )
    )
    response = route.chat(HI)
    assert response.message.content == "big says hi"
    assert server.models() == ["small", "big"]
    record = response.additional_kwargs[RESPONSE_KEY]
    assert [(a.outcome, a.reason) for a in record.attempts] == [
        ("failed", "context_window"),
        ("skipped", "smaller_context"),
        ("ok", None),
    ]
    # the larger model is for long prompts only: an ordinary failure does not reach it
    server.script("small", status(503))
    server.script("same", status(503))
    with pytest.raises(AllModelsFailedError):
        route.chat(HI)
    assert server.models()[2:] == ["small", "same"]


@pytest.mark.parametrize("asked", [False, True], ids=["stops", "moves-on-when-asked"])
def test_content_policy_refusal(server: Loopback, asked: bool, closing: Any) -> None:
    route = closing(
        FallbackLLM([openai(server, "a"), openai(server, "b")], fallback_on_content_policy=asked)
    )
    server.script("a", status(400, type="invalid_request_error", code="content_filter"))
    if asked:
        assert route.chat(HI).message.content == "b says hi"
        assert server.models() == ["a", "b"]
    else:
        with pytest.raises(ContentPolicyError):
            route.chat(HI)
        assert server.models() == ["a"]


def test_a_failing_model_cools_down_after_three_failures_then_a_probe_closes_it(
    server: Loopback, clock: Any, closing: Any
) -> None:
    route = closing(FallbackLLM([openai(server, "a"), openai(server, "b")], cooldown=5))
    server.script("a", status(503), status(503), status(503), status(503))
    for _ in range(4):
        route.chat(HI)
    assert server.models() == ["a", "b", "a", "b", "a", "b", "b"]  # 4th: a skipped
    clock.advance(5)
    route.chat(HI)  # half-open: one probe goes to a, fails: open again
    assert server.models()[7:] == ["a", "b"]
    route.chat(HI)
    assert server.models()[9:] == ["b"]
    clock.advance(5)
    assert route.chat(HI).message.content == "a says hi"  # the probe succeeds: closed
    assert route.chat(HI).message.content == "a says hi"


async def test_concurrent_streams_get_their_whole_answer_once(
    server: Loopback, closing: Any
) -> None:
    server.script("a", *[status(503)] * 10)
    route = closing(
        FallbackLLM([openai(server, "a"), openai(server, "b", max_retries=0)], cooldown=0)
    )
    messages = [ChatMessage(role="user", content="Hi")]

    records: list[Any] = []

    def keep(chunks: list[Any]) -> str:
        records.append(chunks[0].additional_kwargs[RESPONSE_KEY])
        return "".join(c.delta for c in chunks)

    async def one(i: int) -> str:
        if i % 2:
            return keep([c async for c in await route.astream_chat(messages)])
        return keep(await asyncio.to_thread(lambda: list(route.stream_chat(messages))))

    answers = await asyncio.gather(*(one(i) for i in range(30)))
    assert sorted(set(answers)) == ["a says hi", "b says hi"]
    reasons = [a.reason for r in records for a in r.attempts if a.outcome != "ok"]
    assert reasons == ["server_error"] * 10
    assert answers.count("b says hi") == 10  # exactly the ten 503s moved on
    assert len(server.log) == 40
    await route.aclose()


def test_logs_say_why_and_never_show_the_key(
    server: Loopback, route: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server.script("a", status(429, retry_after=30))
    with caplog.at_level(logging.DEBUG, logger="llmplug"):
        route.chat(HI)
        route.chat(HI)
    messages = [r.getMessage() for r in caplog.records if r.name == "llmplug.routing"]
    assert any("failed (rate_limit" in m and "trying the next model" in m for m in messages)
    assert any("cooling down for 30.0 s" in m for m in messages)
    assert any("passing over" in m and "cooling down" in m for m in messages)
    assert all(CANARY not in r.getMessage() for r in caplog.records)
    assert server.keys == [f"Bearer {CANARY}"] * 3


def test_a_key_in_a_member_spec_never_shows(server: Loopback, closing: Any) -> None:
    route = closing(FallbackLLM([f"openai:a?base_url={server.url}&api_key={CANARY}&max_retries=0"]))
    server.script("a", status(401), status(401))
    with pytest.raises(AuthenticationError):
        route.chat(HI)
    assert CANARY not in repr(route)
    assert CANARY not in route.route_name
    with pytest.raises(AuthenticationError) as caught:
        route.chat(HI)
    assert CANARY not in str(caught.value)


@pytest.mark.parametrize("endpoint", ["chat", "achat"])
async def test_the_last_model_timing_out_is_in_the_error(
    server: Loopback, run: Any, endpoint: str, closing: Any
) -> None:
    route = closing(FallbackLLM([openai(server, "a"), openai(server, "b", timeout=0.3)]))
    server.script("a", status(503))
    server.script("b", hang())
    with pytest.raises(AllModelsFailedError) as caught:
        await run(route, endpoint)
    assert [type(e) for e in caught.value.errors] == [InternalServerError, APITimeoutError]
    server.release.set()


@pytest.mark.parametrize("endpoint", ["stream_chat", "astream_chat"])
async def test_a_stream_stopped_early_releases_its_model(
    server: Loopback, route: Any, routing: Any, endpoint: str
) -> None:
    server.script("a", ok("one two three four"))
    if endpoint == "stream_chat":
        stream = route.stream_chat(HI)
        first = next(stream)
        stream.close()
    else:
        stream = await route.astream_chat(HI)
        first = await stream.__anext__()
        await stream.aclose()
    record = first.additional_kwargs[RESPONSE_KEY]
    assert [(a.outcome, a.reason) for a in record.attempts] == [("cancelled", None)]
    deployments = routing.snapshot()["deployments"]
    assert [d["in_flight"] for d in deployments.values()] == [0, 0]


async def test_a_cancelled_call_releases_its_model(
    server: Loopback, route: Any, routing: Any
) -> None:
    server.script("a", hang())
    task = asyncio.create_task(route.achat(HI))
    assert await asyncio.to_thread(server.arrived.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.release.set()
    assert [d["in_flight"] for d in routing.snapshot()["deployments"].values()] == [0, 0]
    assert server.models() == ["a"]  # cancelled: never moved on to b
