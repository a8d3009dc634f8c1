"""Timeouts: the value object, what reaches httpx2 per attempt, and which one expired."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError

from llmplug.errors import APITimeoutError, InvalidOptionError
from llmplug.http import DEFAULT_TIMEOUT, Timeout
from llmplug.http.testing import FakeClock, Reply, Stall, sse

from .conftest import HI, EchoLLM, Make

MODES = ["chat", "achat", "sync", "async"]
STREAMS = ["sync", "async"]
OK_STREAM = Reply(200, body=sse({"delta": "ok"}))


def test_defaults() -> None:
    t = Timeout()
    assert (t.connect, t.read, t.write, t.pool) == (5.0, 600.0, 600.0, 600.0)
    assert (t.first_event, t.idle, t.total) == (600.0, 600.0, None)
    assert t == DEFAULT_TIMEOUT


class HttpxLike:
    connect = 1.0
    read = 2.0
    write = 3.0
    pool = 4.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, DEFAULT_TIMEOUT, id="none"),
        pytest.param(30, replace(DEFAULT_TIMEOUT, total=30.0), id="int-is-total"),
        pytest.param(2.5, replace(DEFAULT_TIMEOUT, total=2.5), id="float-is-total"),
        pytest.param("45", replace(DEFAULT_TIMEOUT, total=45.0), id="text-is-total"),
        pytest.param("inf", replace(DEFAULT_TIMEOUT, total=None), id="inf-is-no-limit"),
        pytest.param({"idle": 5}, replace(DEFAULT_TIMEOUT, idle=5.0), id="mapping"),
        pytest.param({"read": None}, replace(DEFAULT_TIMEOUT, read=None), id="mapping-none"),
        pytest.param(Timeout(connect=1), Timeout(connect=1), id="timeout"),
        pytest.param(
            HttpxLike(),
            replace(DEFAULT_TIMEOUT, connect=1.0, read=2.0, write=3.0, pool=4.0),
            id="httpx-timeout",
        ),
    ],
)
def test_coerce(value: Any, expected: Timeout) -> None:
    assert Timeout.coerce(value) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(-1, ValueError, id="negative"),
        pytest.param(0, ValueError, id="zero"),
        pytest.param("nan", ValueError, id="nan"),
        pytest.param("soon", ValueError, id="garbage"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param({"idel": 5}, ValueError, id="unknown-field"),
        pytest.param([1, 2], TypeError, id="list"),
    ],
)
def test_coerce_rejects(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Timeout.coerce(value)


def test_instance_timeout_is_validated() -> None:
    assert EchoLLM(timeout="30").timeout == replace(DEFAULT_TIMEOUT, total=30.0)
    assert EchoLLM(timeout={"connect": 1}).timeout == replace(DEFAULT_TIMEOUT, connect=1.0)
    with pytest.raises(ValidationError, match="timeout"):
        EchoLLM(timeout="soon")
    with pytest.raises(ValidationError, match="timeout"):
        EchoLLM(timeout=[1])


@pytest.mark.parametrize("mode", MODES)
async def test_bad_per_call_options(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200))
    with pytest.raises(InvalidOptionError, match="timeout"):
        await run(model, mode, timeout=-3)
    with pytest.raises(InvalidOptionError, match="max_retries"):
        await run(model, mode, max_retries="2")
    assert server.requests == []


@pytest.mark.parametrize(
    ("mode", "read"), [("chat", 600.0), ("achat", 600.0), ("sync", 30.0), ("async", 30.0)]
)
async def test_timeouts_reach_httpx2(make: Make, run: Any, mode: str, read: float) -> None:
    reply = Reply(200, json={"text": "ok"}) if mode in ("chat", "achat") else OK_STREAM
    model, server = make(reply, timeout=Timeout(connect=2, first_event=30, idle=20, pool=7))
    await run(model, mode)
    sent = server.requests[0].extensions["timeout"]
    assert sent["connect"] == 2.0
    assert sent["write"] == 600.0
    assert sent["pool"] == 7.0
    # streams: headers wait up to first_event, then the body read timeout is set to
    # what it must allow: max(rest of first_event, idle)
    assert sent["read"] == read


@pytest.mark.parametrize("mode", MODES)
async def test_per_call_total_cuts_every_phase(make: Make, run: Any, mode: str) -> None:
    reply = Reply(200, json={"text": "ok"}) if mode in ("chat", "achat") else OK_STREAM
    model, server = make(reply)
    await run(model, mode, timeout=3)
    sent = server.requests[0].extensions["timeout"]
    assert sent == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@pytest.mark.parametrize(
    ("fault", "name"),
    [
        pytest.param(httpx2.ConnectTimeout("x"), "connect", id="connect"),
        pytest.param(httpx2.PoolTimeout("x"), "pool", id="pool"),
        pytest.param(httpx2.WriteTimeout("x"), "write", id="write"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_timeout_is_named(
    make: Make, run: Any, mode: str, fault: Exception, name: str
) -> None:
    model, server = make(Reply(raises=fault), max_retries=1)
    with pytest.raises(
        APITimeoutError, match=rf"{name} timeout after [\d.]+ s \(Timeout\.{name}\)"
    ):
        await run(model, mode)
    assert len(server.requests) == 2  # retried


@pytest.mark.parametrize(
    ("mode", "name"),
    [("chat", "read"), ("achat", "read"), ("sync", "first_event"), ("async", "first_event")],
)
async def test_read_timeout_waiting_for_headers(make: Make, run: Any, mode: str, name: str) -> None:
    model, _ = make(Reply(raises=httpx2.ReadTimeout("x")), max_retries=0)
    with pytest.raises(APITimeoutError, match=rf"Timeout\.{name}"):
        await run(model, mode)


@pytest.mark.parametrize("mode", STREAMS)
async def test_read_timeout_before_first_event_is_retried(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=[httpx2.ReadTimeout("x")]), OK_STREAM)
    chunks = await run(model, mode)
    assert [c.delta for c in chunks] == ["ok"]
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", STREAMS)
async def test_read_timeout_after_first_chunk_is_idle(make: Make, run: Any, mode: str) -> None:
    body = [*sse({"delta": "Hel"}, done=False), httpx2.ReadTimeout("x")]
    model, server = make(Reply(200, body=body), OK_STREAM)
    with pytest.raises(APITimeoutError, match=r"Timeout\.idle") as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", STREAMS)
async def test_read_timeout_cut_by_the_total_is_total(make: Make, run: Any, mode: str) -> None:
    body = [*sse({"delta": "Hel"}, done=False), httpx2.ReadTimeout("x")]
    model, _ = make(Reply(200, body=body), timeout=Timeout(total=5))
    with pytest.raises(APITimeoutError, match=r"Timeout\.total"):
        await run(model, mode)


def test_sync_stream_past_the_deadline(make: Make, clock: FakeClock) -> None:
    body = [*sse({"delta": "Hel"}, done=False), lambda: clock.advance(10), *sse({"delta": "lo"})]
    model, server = make(Reply(200, body=body))
    gen = model.stream_chat(HI, timeout=5)
    assert next(gen).delta == "Hel"
    with pytest.raises(APITimeoutError, match=r"Timeout\.total"):
        next(gen)
    assert server.open_bodies == []


# -- the async watchdog: exact first_event / idle / total (real, short timers) -----------


async def test_async_first_event_timeout(make: Make) -> None:
    model, server = make(Reply(200, body=[Stall()]), OK_STREAM)
    gen = await model.astream_chat(HI, timeout=Timeout(first_event=0.02))
    chunks = [c async for c in gen]  # first attempt stalls, times out, is retried
    assert [c.delta for c in chunks] == ["ok"]
    assert len(server.requests) == 2
    assert server.open_bodies == []


async def test_async_first_event_timeout_is_named(make: Make) -> None:
    model, server = make(Reply(200, body=[b": ping\n\n", Stall()]), max_retries=0)
    gen = await model.astream_chat(HI, timeout=Timeout(first_event=0.02))
    with pytest.raises(APITimeoutError, match=r"Timeout\.first_event"):
        await gen.__anext__()
    assert server.open_bodies == []


async def test_async_idle_timeout(make: Make) -> None:
    body = [*sse({"delta": "Hel"}, done=False), Stall()]
    model, server = make(Reply(200, body=body), OK_STREAM)
    gen = await model.astream_chat(HI, timeout=Timeout(idle=0.02))
    assert (await gen.__anext__()).delta == "Hel"
    with pytest.raises(APITimeoutError, match=r"Timeout\.idle"):
        await gen.__anext__()
    assert len(server.requests) == 1  # a chunk reached the caller: never retried
    assert server.open_bodies == []


async def test_async_total_deadline_mid_stream(make: Make) -> None:
    body = [*sse({"delta": "Hel"}, done=False), Stall()]
    model, server = make(Reply(200, body=body))
    gen = await model.astream_chat(HI, timeout=0.05)
    assert (await gen.__anext__()).delta == "Hel"
    with pytest.raises(APITimeoutError, match=r"Timeout\.total"):
        await gen.__anext__()
    assert server.open_bodies == []


async def test_async_slow_consumer_is_not_idle(make: Make) -> None:
    model, server = make(Reply(200, body=sse({"delta": "a"}, {"delta": "b"})))
    received = []
    async for chunk in await model.astream_chat(HI, timeout=Timeout(idle=0.02)):
        received.append(chunk.delta)
        await asyncio.sleep(0.05)  # the caller's time between chunks does not count
    assert received == ["a", "b"]
    assert server.open_bodies == []


async def test_async_outside_cancellation_wins_over_the_watchdog(make: Make) -> None:
    model, server = make(Reply(200, body=[Stall()]))

    async def consume() -> None:
        async for _ in await model.astream_chat(HI, timeout=Timeout(first_event=0.01)):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.open_bodies == []
