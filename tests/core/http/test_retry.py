"""The retry loop: Retry-After values, retry counts x failure modes, backoff, deadline."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx2
import pytest

from llmplug.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    StreamInterruptedError,
)
from llmplug.http import RetryPolicy, parse_retry_after
from llmplug.http.testing import FakeClock, Reply, sse

from .conftest import Make, deltas_into

MODES = ["chat", "achat", "sync", "async"]
OK_JSON = Reply(200, json={"text": "ok"})
OK_STREAM = Reply(200, body=sse({"delta": "ok"}))
NOW = 1_750_000_000.0


def ok(mode: str) -> Reply:
    return OK_JSON if mode in ("chat", "achat") else OK_STREAM


def http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset, tz=UTC), usegmt=True)


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")
@pytest.mark.parametrize("zone", ["", " -0000"], ids=["no-zone", "unknown-zone"])
def test_retry_after_date_without_zone_is_utc_in_any_local_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an HTTP date is GMT; one whose zone is missing or unknown is not local time
    date = http_date(30).removesuffix(" GMT") + zone
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_retry_after({"retry-after": date}, NOW) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "3"}, 3.0, id="seconds"),
        pytest.param({"retry-after": " 1.5 "}, 1.5, id="fractional-seconds"),
        pytest.param({"retry-after": "0"}, 0.0, id="zero"),
        pytest.param({"retry-after-ms": "250"}, 0.25, id="ms"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-wins"),
        pytest.param({"retry-after-ms": "soon", "retry-after": "9"}, 9.0, id="bad-ms-falls-back"),
        pytest.param({"Retry-After": "4"}, 4.0, id="header-case"),
        pytest.param({"retry-after": http_date(30)}, 30.0, id="http-date"),
        pytest.param({"retry-after": http_date(-30)}, None, id="http-date-past"),
        pytest.param({"retry-after": "Wed, 99 Foo 2025 99:99:99 GMT"}, None, id="bad-date"),
        pytest.param({"retry-after": "soon"}, None, id="garbage"),
        pytest.param({"retry-after": ""}, None, id="empty"),
        pytest.param({"retry-after": "-5"}, None, id="negative"),
        pytest.param({"retry-after-ms": "-5"}, None, id="negative-ms"),
        pytest.param({"retry-after": "nan"}, None, id="nan"),
        pytest.param({"retry-after": "inf"}, None, id="inf"),
        pytest.param({"retry-after-ms": "Infinity"}, None, id="inf-ms"),
        pytest.param({"retry-after": "1e400"}, None, id="overflow"),
        pytest.param({"retry-after": "86400"}, 86400.0, id="huge"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after_table(headers: dict[str, str], expected: float | None) -> None:
    value = parse_retry_after(headers, NOW)
    assert value == (pytest.approx(expected) if expected is not None else None)
    assert value == parse_retry_after(httpx2.Headers(headers), NOW) or expected is None


@pytest.mark.parametrize(
    ("headers", "waits"),
    [
        pytest.param({"retry-after": "3"}, [3.0], id="seconds"),
        pytest.param({"retry-after-ms": "1500"}, [1.5], id="ms"),
        pytest.param({"retry-after": http_date(20)}, [20.0], id="http-date"),
        pytest.param({"retry-after": "garbage"}, [0.5], id="garbage-uses-backoff"),
        pytest.param({"retry-after": "nan"}, [0.5], id="nan-uses-backoff"),
        pytest.param({"retry-after": "-1"}, [0.5], id="negative-uses-backoff"),
        pytest.param({"retry-after": "inf"}, [0.5], id="inf-uses-backoff"),
        pytest.param({"retry-after": "60"}, [60.0], id="at-cap"),
    ],
)
async def test_retry_after_is_honoured(
    make: Make, run: Any, clock: FakeClock, headers: dict[str, str], waits: list[float]
) -> None:
    model, server = make(Reply(429, json={"error": {"message": "slow"}}, headers=headers), OK_JSON)
    await run(model, "chat")
    assert clock.sleeps == pytest.approx(waits)
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_over_cap_raises_at_once(
    make: Make, run: Any, clock: FakeClock, mode: str
) -> None:
    model, server = make(Reply(429, headers={"retry-after": "3600"}), ok(mode))
    with pytest.raises(RateLimitError) as caught:
        await run(model, mode)
    assert caught.value.retry_after == 3600.0
    assert clock.sleeps == []
    assert len(server.requests) == 1


FAILURES = [
    pytest.param(
        Reply(raises=httpx2.ConnectError("refused")), APIConnectionError, True, id="connect-error"
    ),
    pytest.param(
        Reply(raises=httpx2.ConnectTimeout("slow")), APITimeoutError, True, id="connect-timeout"
    ),
    pytest.param(
        Reply(raises=httpx2.PoolTimeout("busy")), APITimeoutError, True, id="pool-timeout"
    ),
    pytest.param(
        Reply(raises=httpx2.ReadTimeout("no answer")),
        APITimeoutError,
        True,
        id="read-timeout-before-body",
    ),
    pytest.param(
        Reply(raises=httpx2.RemoteProtocolError("Server disconnected")),
        APIConnectionError,
        True,
        id="disconnect-before-body",
    ),
    pytest.param(Reply(408), APIStatusError, True, id="408"),
    pytest.param(Reply(409), APIStatusError, True, id="409"),
    pytest.param(Reply(429), RateLimitError, True, id="429"),
    pytest.param(Reply(500), InternalServerError, True, id="500"),
    pytest.param(Reply(503), InternalServerError, True, id="503"),
    pytest.param(Reply(529), InternalServerError, True, id="529"),
    pytest.param(Reply(400), BadRequestError, False, id="400"),
    pytest.param(Reply(401), APIStatusError, False, id="401"),
    pytest.param(Reply(404), APIStatusError, False, id="404"),
    pytest.param(
        Reply(400, headers={"x-should-retry": "true"}),
        BadRequestError,
        True,
        id="400-should-retry-true",
    ),
    pytest.param(
        Reply(503, headers={"x-should-retry": "false"}),
        InternalServerError,
        False,
        id="503-should-retry-false",
    ),
    pytest.param(
        Reply(503, headers={"x-should-retry": "maybe"}),
        InternalServerError,
        True,
        id="503-should-retry-garbage",
    ),
    pytest.param(
        Reply(raises=httpx2.UnsupportedProtocol("ftp")),
        APIConnectionError,
        False,
        id="unsupported-protocol",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("max_retries", [0, 1, 2])
@pytest.mark.parametrize(("failure", "error", "retryable"), FAILURES)
async def test_retry_counts(
    make: Make,
    run: Any,
    clock: FakeClock,
    mode: str,
    max_retries: int,
    failure: Reply,
    error: type[Exception],
    retryable: bool,
) -> None:
    # always failing: the number of attempts is 1 + max_retries, or 1 if not retryable
    model, server = make(failure, max_retries=max_retries)
    with pytest.raises(error):
        await run(model, mode)
    attempts = 1 + max_retries if retryable else 1
    assert len(server.requests) == attempts
    assert clock.sleeps == [0.5, 1.0][: attempts - 1]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("failure", "error", "retryable"), FAILURES)
async def test_recovers_after_transient_failure(
    make: Make, run: Any, mode: str, failure: Reply, error: type[Exception], retryable: bool
) -> None:
    model, server = make(failure, ok(mode))
    if retryable:
        chunks = await run(model, mode)
        assert chunks[-1].message.content == "ok"
        assert len(server.requests) == 2
    else:
        with pytest.raises(error):
            await run(model, mode)
        assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_per_call_max_retries_overrides_instance(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(503), max_retries=5)
    with pytest.raises(InternalServerError):
        await run(model, mode, max_retries=1)
    assert len(server.requests) == 2


async def test_backoff_is_exponential_capped_and_jittered(make: Make, run: Any) -> None:
    clock = FakeClock(rand=0.999)
    model, _ = make(Reply(503), max_retries=7, clock=clock)
    with pytest.raises(InternalServerError):
        await run(model, "chat")
    full = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(clock.sleeps) == 7
    for wait, cap in zip(clock.sleeps, full, strict=True):
        assert cap * 0.75 <= wait <= cap


def test_retry_policy_backoff() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, jitter=0.5)
    assert [policy.backoff(n, 0.0) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.backoff(0, 1.0) == 0.5
    assert policy.backoff(10_000, 0.0) == 5.0


@pytest.mark.parametrize("mode", MODES)
async def test_deadline_bounds_retries_and_waits(
    make: Make, run: Any, clock: FakeClock, mode: str
) -> None:
    # 0.5 + 1.0 of backoff fit in 1.2 s only up to the first wait
    model, server = make(Reply(503), max_retries=5)
    with pytest.raises(InternalServerError):
        await run(model, mode, timeout=1.2)
    assert clock.sleeps == [0.5]
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_past_the_deadline_is_not_waited(
    make: Make, run: Any, clock: FakeClock, mode: str
) -> None:
    model, server = make(Reply(429, headers={"retry-after": "30"}), ok(mode))
    with pytest.raises(RateLimitError):
        await run(model, mode, timeout=10)
    assert clock.sleeps == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_in_stream_overloaded_before_first_chunk_is_retried(
    make: Make, run: Any, clock: FakeClock, mode: str
) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    model, server = make(Reply(200, body=sse(overloaded, done=False)), OK_STREAM)
    chunks = await run(model, mode)
    assert [c.delta for c in chunks] == ["ok"]
    assert len(server.requests) == 2
    assert clock.sleeps == [0.5]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_other_in_stream_error_before_first_chunk_is_not_retried(
    make: Make, run: Any, mode: str
) -> None:
    error = {"error": {"type": "rate_limit_error", "message": "tokens per minute"}}
    model, server = make(Reply(200, body=sse(error, done=False)), OK_STREAM)
    with pytest.raises(RateLimitError, match="tokens per minute"):
        await run(model, mode)
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_error_after_first_chunk_is_never_retried(make: Make, mode: str) -> None:
    overloaded = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
    model, server = make(Reply(200, body=sse({"delta": "Hel"}, overloaded)), OK_STREAM)
    received: list[str] = []
    with pytest.raises(InternalServerError) as caught:
        await deltas_into(received, model, mode)
    assert caught.value.status_code == 529
    assert received == ["Hel"]
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_error_in_same_read_as_first_chunk_comes_after_it(
    make: Make, run: Any, mode: str
) -> None:
    overloaded = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = b"".join(sse({"delta": "Hel"}, overloaded, done=False))
    model, server = make(Reply(200, body=[body]), OK_STREAM)
    with pytest.raises(InternalServerError):
        await run(model, mode)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_drop_before_first_chunk_is_retried(make: Make, run: Any, mode: str) -> None:
    dropped = Reply(200, body=[b": keepalive\n\n", httpx2.ReadError("reset by peer")])
    model, server = make(dropped, OK_STREAM)
    chunks = await run(model, mode)
    assert [c.delta for c in chunks] == ["ok"]
    assert len(server.requests) == 2
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_drop_after_first_chunk_is_not_retried(make: Make, run: Any, mode: str) -> None:
    dropped = Reply(200, body=[*sse({"delta": "Hel"}, done=False), httpx2.ReadError("reset")])
    model, server = make(dropped, OK_STREAM)
    with pytest.raises(StreamInterruptedError) as caught:
        await run(model, mode)
    assert caught.value.partial == "Hel"
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_drop_mid_body_of_non_stream_is_not_retried(make: Make, run: Any, mode: str) -> None:
    dropped = Reply(200, body=[b'{"text": "o', httpx2.RemoteProtocolError("incomplete body")])
    model, server = make(dropped, OK_JSON)
    with pytest.raises(APIConnectionError) as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_drop_before_any_body_byte_of_non_stream_is_retried(
    make: Make, run: Any, mode: str
) -> None:
    dropped = Reply(200, body=[httpx2.ReadError("reset")])
    model, server = make(dropped, OK_JSON)
    chunks = await run(model, mode)
    assert chunks[0].message.content == "ok"
    assert len(server.requests) == 2


async def test_retries_are_logged_with_redacted_url(
    make: Make, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = make(
        Reply(503), OK_JSON, base_url="https://user:pw@api.example.test/v1", api_key=None
    )
    with caplog.at_level(logging.INFO, logger="llmplug.http"):
        await run(model, "chat")
    records = [r for r in caplog.records if r.name == "llmplug.http" and "retrying" in r.message]
    assert len(records) == 1
    assert "https://api.example.test/v1/chat" in records[0].message  # sent as Basic auth
    assert "InternalServerError" in records[0].message
    assert "pw@" not in caplog.text
