"""Deadlines and sockets over real loopback connections, for both HTTP plugins.

A stdlib server on 127.0.0.1 misbehaves on purpose: a body trickling in byte by
byte, a stream that trickles bytes without completing an event, a stream that stalls.
Each case would end differently (a reply, or an ``IncompleteStreamError`` when the
server gives up after seconds) if the timeout under test were not enforced, so no
test measures time. Then: ``asyncio.run(llm.achat())`` over and over leaves no socket
open.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmplug.errors import APITimeoutError, StreamInterruptedError, StreamTimeoutError
from llmplug.http import Timeout

from .loopback import Handler, Server, serving
from .providers import HI, Provider, run

SYNC_ASYNC = ["sync", "async"]
GIVE_UP = 4.0  # seconds after which the server ends a misbehaving answer on its own


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as httpd:
        yield httpd


def llm_for(provider: Provider, server: Server, **fields: Any) -> Any:
    base = server.url()
    fields.setdefault("max_retries", 0)
    return provider.new(
        base_url=f"{base}/v1" if provider.name == "openai" else base, api_key="k-loop", **fields
    )


async def consume(llm: Any, mode: str, received: list[str], **options: Any) -> None:
    """Stream, keeping each delta in ``received`` as it arrives (kept if it raises)."""
    if mode == "sync":
        for chunk in llm.stream_chat(HI, **options):
            received.append(chunk.delta or "")
    else:
        async for chunk in await llm.astream_chat(HI, **options):
            received.append(chunk.delta or "")


# -- 5. the total deadline bounds a body that trickles in ---------------------------------


@pytest.mark.parametrize("mode", SYNC_ASYNC)
async def test_total_bounds_a_trickling_body(provider: Provider, server: Server, mode: str) -> None:
    body = json.dumps(provider.reply).encode()

    def trickle(handler: Handler) -> None:
        handler.json_head(len(body))
        pieces = 20
        step = -(-len(body) // pieces)
        for start in range(0, len(body), step):  # the whole body takes GIVE_UP seconds
            if handler.wait(GIVE_UP / pieces):
                return
            handler.wfile.write(body[start : start + step])
            handler.wfile.flush()

    server.script = trickle
    llm = llm_for(provider, server)
    with pytest.raises(APITimeoutError, match=r"Timeout\.total") as caught:
        await run(llm, "chat" if mode == "sync" else "achat", timeout=0.5)
    assert not isinstance(caught.value, StreamTimeoutError)
    await llm.aclose()
    llm.close()


# -- 5. exact first_event and idle on streams, and the partial text -------------------------


def stream_then(after: Callable[[Handler], None], provider: Provider) -> Callable[[Handler], None]:
    def script(handler: Handler) -> None:
        handler.stream_head()
        for item in provider.opening:
            handler.chunk(item)
        after(handler)
        handler.end()

    return script


def trickle_bytes(handler: Handler) -> None:
    # bytes keep coming, but never a whole event (no blank line ends it)
    handler.chunk(b"data: {")
    for _ in range(int(GIVE_UP / 0.05)):
        if handler.wait(0.05):
            return
        handler.chunk(b" ")


def stall(handler: Handler) -> None:
    handler.wait(GIVE_UP)


@pytest.mark.parametrize("mode", SYNC_ASYNC)
@pytest.mark.parametrize("after", [trickle_bytes, stall], ids=["trickle", "stall"])
async def test_idle_mid_stream_is_exact_and_keeps_the_text(
    provider: Provider, server: Server, mode: str, after: Callable[[Handler], None]
) -> None:
    # first_event (30 s) far above idle: a sync read bounded by the larger of the two,
    # as httpx2's socket timeout would be, outlives the server's patience
    server.script = stream_then(after, provider)
    llm = llm_for(provider, server)
    received: list[str] = []
    with pytest.raises(StreamTimeoutError, match=r"Timeout\.idle") as caught:
        await consume(llm, mode, received, timeout=Timeout(first_event=30, idle=0.3))
    assert received == ["Hel"]
    assert caught.value.partial == "Hel"
    assert isinstance(caught.value, APITimeoutError)
    assert isinstance(caught.value, StreamInterruptedError)
    await llm.aclose()
    llm.close()


@pytest.mark.parametrize("mode", SYNC_ASYNC)
async def test_first_event_is_exact_when_only_comments_arrive(
    provider: Provider, server: Server, mode: str
) -> None:
    def pings(handler: Handler) -> None:
        handler.stream_head()
        for _ in range(int(GIVE_UP / 0.05)):  # SSE comments: bytes, but no event
            if handler.wait(0.05):
                return
            handler.chunk(b": keep-alive\n\n")
        handler.end()

    server.script = pings
    llm = llm_for(provider, server)
    received: list[str] = []
    with pytest.raises(APITimeoutError, match=r"Timeout\.first_event") as caught:
        await consume(llm, mode, received, timeout=Timeout(first_event=0.3))
    assert not isinstance(caught.value, StreamTimeoutError)  # nothing had arrived
    assert received == []
    await llm.aclose()
    llm.close()


@pytest.mark.parametrize("mode", SYNC_ASYNC)
async def test_total_mid_stream_keeps_the_text(
    provider: Provider, server: Server, mode: str
) -> None:
    server.script = stream_then(trickle_bytes, provider)
    llm = llm_for(provider, server)
    received: list[str] = []
    with pytest.raises(StreamTimeoutError, match=r"Timeout\.total") as caught:
        await consume(llm, mode, received, timeout=0.5)
    assert caught.value.partial == "Hel"
    await llm.aclose()
    llm.close()


@pytest.mark.parametrize("mode", SYNC_ASYNC)
async def test_a_slow_but_steady_stream_is_not_idle(
    provider: Provider, server: Server, mode: str
) -> None:
    def steady(handler: Handler) -> None:
        for item in provider.closing:
            handler.wait(0.1)
            handler.chunk(item)

    server.script = stream_then(steady, provider)
    llm = llm_for(provider, server)
    received: list[str] = []
    await consume(llm, mode, received, timeout=Timeout(idle=2.0, total=20))
    assert "".join(received) == "Hello"
    await llm.aclose()
    llm.close()


# -- 6. async clients die with their event loop ------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["achat", "astream_chat"])
def test_repeated_asyncio_run_leaves_no_socket_open(
    provider: Provider, server: Server, streaming: bool
) -> None:
    def answer(handler: Handler) -> None:
        if streaming:
            stream_then(lambda h: [h.chunk(item) for item in provider.closing], provider)(handler)
            return
        body = json.dumps(provider.reply).encode()
        handler.json_head(len(body))
        handler.wfile.write(body)

    server.script = answer
    llm = llm_for(provider, server)

    async def once() -> str:
        if streaming:
            chunks = [c async for c in await llm.astream_chat(HI)]
            return chunks[-1].message.content or ""
        return (await llm.achat(HI)).message.content or ""

    for _ in range(5):
        assert asyncio.run(once()) == "Hello"
        # the loop closed the client it had made: the server sees the connection go
        assert server.wait_all_closed(), f"{server.open} connection(s) left open"
    assert len(llm._aclients) <= 1
    gc.collect()  # nothing left for the collector to close (filterwarnings = error)
