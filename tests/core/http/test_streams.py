"""Streams, sync and async: decoding through the runtime, end markers, faults, and no
response left open after a fault, a ``break``, ``close()``, ``aclose()`` or a cancel."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx2
import pytest

from llmplug import ChatResponse
from llmplug.errors import (
    IncompleteStreamError,
    InvalidOptionError,
    RateLimitError,
    StreamInterruptedError,
)
from llmplug.http.testing import Reply, Stall, sse
from llmplug.testing import recording_hooks

from .conftest import HI, Make, NDJSONEchoLLM

MODES = ["sync", "async"]
HELLO = sse({"delta": "Hel"}, {"delta": "lo"})


def deltas(chunks: list[ChatResponse]) -> list[str | None]:
    return [c.delta for c in chunks]


@pytest.mark.parametrize("mode", MODES)
async def test_stream(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=HELLO, headers={"content-type": "text/event-stream"}))
    chunks = await run(model, mode)
    assert deltas(chunks) == ["Hel", "lo"]
    assert [c.message.content for c in chunks] == ["Hel", "Hello"]
    assert server.requests[0].headers["accept"] == "text/event-stream"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_stream_split_at_every_byte(make: Make, run: Any, mode: str) -> None:
    body = b"".join(sse({"delta": "h\u00e9"}, {"delta": " \U0001f600"})).replace(b"\n", b"\r\n")
    model, server = make(Reply(200, body=[body[i : i + 1] for i in range(len(body))]))
    chunks = await run(model, mode)
    assert chunks[-1].message.content == "h\u00e9 \U0001f600"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_pings_and_comments_are_skipped(make: Make, run: Any, mode: str) -> None:
    body = [b": keepalive\n\n", b"event: ping\ndata: {}\n\n", *HELLO]
    model, _ = make(Reply(200, body=body))
    assert deltas(await run(model, mode)) == ["Hel", "lo"]


@pytest.mark.parametrize("mode", MODES)
async def test_events_after_done_are_ignored_and_the_body_drained(
    make: Make, run: Any, mode: str
) -> None:
    body = [*HELLO, b'data: {"delta": "ignored"}\n\n', b": trailing\n\n"]
    model, server = make(Reply(200, body=body))
    assert deltas(await run(model, mode)) == ["Hel", "lo"]
    assert server.bodies[0].sent == len(body)  # read to the end: the connection is reusable
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_ndjson_stream_ends_with_stream_end(make: Make, run: Any, mode: str) -> None:
    body = [b'{"delta": "Hel"}\n{"delta": "lo"}\n', b'{"end": true}\n']
    model, server = make(Reply(200, body=body), cls=NDJSONEchoLLM)
    assert deltas(await run(model, mode)) == ["Hel", "lo"]
    assert server.requests[0].headers["accept"] == "*/*"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_ndjson_without_end_is_incomplete(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=[b'{"delta": "Hel"}\n']), cls=NDJSONEchoLLM)
    with pytest.raises(IncompleteStreamError, match="end marker") as caught:
        await run(model, mode)
    assert caught.value.partial == "Hel"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_early_end_of_body_is_incomplete(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=sse({"delta": "Hel"}, {"delta": "lo"}, done=False)))
    with pytest.raises(IncompleteStreamError, match=r"\[DONE\]") as caught:
        await run(model, mode)
    assert caught.value.partial == "Hello"
    assert caught.value.provider == "EchoLLM"
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_empty_body_is_incomplete(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=[]))
    with pytest.raises(IncompleteStreamError) as caught:
        await run(model, mode)
    assert caught.value.partial == ""
    assert server.open_bodies == []


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(httpx2.ReadError("connection reset by peer"), id="read-error"),
        pytest.param(httpx2.RemoteProtocolError("peer closed connection"), id="protocol-error"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
async def test_dropped_connection_mid_stream(
    make: Make, run: Any, mode: str, fault: Exception
) -> None:
    body = [*sse({"delta": "Hel"}, {"delta": "lo"}, done=False), fault]
    model, server = make(Reply(200, body=body))
    with pytest.raises(StreamInterruptedError) as caught:
        await run(model, mode)
    assert caught.value.partial == "Hello"
    assert caught.value.__cause__ is fault
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_in_stream_error_maps_like_a_status(make: Make, run: Any, mode: str) -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "too fast"}}
    model, server = make(Reply(200, body=sse({"delta": "Hel"}, error)))
    with pytest.raises(RateLimitError, match="too fast") as caught:
        await run(model, mode)
    assert caught.value.status_code == 429
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_json_answer_to_a_stream_request(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, json={"text": "whole"}))
    chunks = await run(model, mode)
    assert deltas(chunks) == ["whole"]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_json_error_answer_to_a_stream_request(make: Make, run: Any, mode: str) -> None:
    model, _ = make(Reply(200, json={"error": {"type": "rate_limit_error", "message": "x"}}))
    with pytest.raises(RateLimitError):
        await run(model, mode)


def test_sync_close_after_first_chunk_closes_the_response(make: Make) -> None:
    model, server = make(Reply(200, body=[*HELLO, *sse({"delta": "more"})]))
    gen = model.stream_chat(HI)
    assert next(gen).delta == "Hel"
    assert server.open_bodies != []
    gen.close()
    assert server.open_bodies == []


def test_sync_break_then_close(make: Make) -> None:
    model, server = make(Reply(200, body=HELLO))
    gen = model.stream_chat(HI)
    for _chunk in gen:
        break
    gen.close()
    assert server.open_bodies == []


def test_sync_stream_never_started_sends_nothing(make: Make) -> None:
    model, server = make(Reply(200, body=HELLO))
    gen = model.stream_chat(HI)
    gen.close()
    assert server.requests == []


async def test_async_aclose_after_first_chunk_closes_the_response(make: Make) -> None:
    model, server = make(Reply(200, body=[*HELLO, *sse({"delta": "more"})]))
    gen = await model.astream_chat(HI)
    assert (await gen.__anext__()).delta == "Hel"
    assert server.open_bodies != []
    await gen.aclose()
    assert server.open_bodies == []


async def test_async_break_then_aclose(make: Make) -> None:
    model, server = make(Reply(200, body=HELLO))
    gen = await model.astream_chat(HI)
    async for _chunk in gen:
        break
    await gen.aclose()
    assert server.open_bodies == []


@pytest.mark.parametrize("first_chunk", [True, False], ids=["after-first-chunk", "before"])
async def test_cancelling_the_task_closes_the_response(make: Make, first_chunk: bool) -> None:
    reached = asyncio.Event()
    items: list[Any] = [*sse({"delta": "Hel"}, done=False)] if first_chunk else []
    model, server = make(Reply(200, body=[*items, reached.set, Stall()]))
    received: list[str] = []

    async def consume() -> None:
        async for chunk in await model.astream_chat(HI):
            received.append(chunk.delta or "")

    task = asyncio.create_task(consume())
    await reached.wait()
    await asyncio.sleep(0)  # let the reader block on the stalled body
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received == (["Hel"] if first_chunk else [])
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_stream_complete_is_derived(make: Make, mode: str) -> None:
    model, server = make(Reply(200, body=HELLO))
    if mode == "sync":
        chunks = list(model.stream_complete("Hi"))
    else:
        chunks = [c async for c in await model.astream_complete("Hi")]
    assert [c.text for c in chunks] == ["Hel", "Hello"]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_chat_and_complete(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, json={"text": "hello", "usage": {"in": 3, "out": 1}}))
    (reply,) = await run(model, mode, temperature=0.5)
    assert reply.message.content == "hello"
    assert reply.usage is not None
    assert reply.usage.total_tokens == 4
    sent = server.requests[0]
    assert sent.url == "https://api.example.test/v1/chat"
    assert b'"temperature":0.5' in sent.content
    assert server.open_bodies == []
    completion = model.complete("Hi") if mode == "chat" else await model.acomplete("Hi")
    assert completion.text == "hello"


# -- no per-chunk layer without hooks (llmplug.llm._instrument.flat_stream) ----------------------


async def _open_stream(model: Any, mode: str, **options: Any) -> Any:
    return (
        model.stream_chat(HI, **options)
        if mode == "sync"
        else await model.astream_chat(HI, **options)
    )


async def _first(gen: Any, mode: str) -> ChatResponse:
    return next(gen) if mode == "sync" else await gen.__anext__()  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", MODES)
async def test_without_hooks_the_caller_iterates_the_runtime_stream(make: Make, mode: str) -> None:
    model, server = make(Reply(200, body=HELLO))
    gen = await _open_stream(model, mode)
    code = gen.gi_code if mode == "sync" else gen.ag_code
    assert (code.co_name, code.co_filename.rsplit("/", 1)[-1]) == ("stream", f"_{mode}.py")
    assert server.requests == []  # nothing sent before the first chunk is asked for
    assert (await _first(gen, mode)).delta == "Hel"
    if mode == "sync":
        gen.close()
    else:
        await gen.aclose()
    assert server.open_bodies == []


@pytest.mark.parametrize("hooked", [False, True], ids=["no-hooks", "hooks"])
@pytest.mark.parametrize("mode", MODES)
async def test_bad_option_fails_at_the_first_chunk_with_or_without_hooks(
    make: Make, mode: str, hooked: bool
) -> None:
    model, server = make(Reply(200, body=HELLO))
    with contextlib.ExitStack() as stack:
        if hooked:
            stack.enter_context(recording_hooks())
        gen = await _open_stream(model, mode, nope=1)  # no error yet, in both cases
        with pytest.raises(InvalidOptionError, match="nope"):
            await _first(gen, mode)
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_hooks_see_every_chunk_of_an_http_stream(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=HELLO))
    with recording_hooks() as recorder:
        chunks = await run(model, mode)
    assert deltas(chunks) == ["Hel", "lo"]
    assert recorder.hooks() == ["before_call", "on_stream_chunk", "on_stream_chunk", "after_call"]
    assert server.open_bodies == []
