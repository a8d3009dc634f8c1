"""The tutorial's tests: Quill's server scripted with MockServer, no network.

The last class runs llmplug's conformance suite against ``quill``.
"""

# --8<-- [start:setup]
from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

import llmplug
from llmplug import ChatMessage, ImageBlock, TextBlock
from llmplug.errors import (
    APIError,
    ContextWindowExceededError,
    InvalidOptionError,
    UnsupportedContentError,
)
from llmplug.http.testing import FakeClock, MockServer, Reply, ndjson
from llmplug.testing.conformance import HTTPProviderConformance

HI = [ChatMessage(role="user", content="Write a haiku about rain.")]


def answer(text: str) -> Reply:
    return Reply(200, json={"text": text, "usage": {"words_in": 5, "words_out": 3}})


def pieces(*texts: str) -> Reply:
    lines = [{"piece": t} for t in texts]
    return Reply(200, body=ndjson(*lines, {"done": True, "usage": {"words_in": 5, "words_out": 3}}))


def quill(*replies: Reply, **options: Any) -> tuple[Any, MockServer]:
    """``quill`` loaded by name, talking to a server answering ``replies``."""
    server = MockServer(*replies)
    llm = llmplug.load(
        "quill:quill-1",
        api_key="qk-test",
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),  # retries never really wait
        **options,
    )
    return llm, server


# --8<-- [end:setup]


# --8<-- [start:basics]
def test_chat_sends_the_request_and_reads_the_answer() -> None:
    llm, server = quill(answer("Soft rain on the roof"), creativity=0.3)
    reply = llm.chat(HI)
    assert reply.message.content == "Soft rain on the roof"
    assert reply.usage is not None
    assert reply.usage.output_tokens == 3
    request = server.requests[0]
    assert request.url == "https://api.quill.example/v1/write"
    assert request.headers["x-quill-key"] == "qk-test"
    assert request.read() == (
        b'{"model":"quill-1","messages":[{"role":"writer","text":"Write a haiku about rain."}],'
        b'"stream":false,"creativity":0.3}'
    )


async def test_achat_is_natively_async() -> None:
    llm, server = quill(answer("Soft rain"))
    assert (await llm.achat(HI)).message.content == "Soft rain"
    assert len(server.requests) == 1


def test_stream_chat_yields_each_piece() -> None:
    llm, server = quill(pieces("Soft", " rain", " falls"))
    chunks = list(llm.stream_chat(HI))
    assert [c.delta for c in chunks] == ["Soft", " rain", " falls", ""]
    assert chunks[-1].message.content == "Soft rain falls"
    assert chunks[-1].usage is not None
    assert server.open_bodies == []  # the response was closed


async def test_astream_chat_and_completion_endpoints() -> None:
    llm, _ = quill(pieces("Soft", " rain"), pieces("Soft", " rain"))
    chunks = [c async for c in await llm.astream_chat(HI)]
    assert chunks[-1].message.content == "Soft rain"
    completion = [c.text async for c in await llm.astream_complete("haiku")]
    assert completion[-1] == "Soft rain"


# --8<-- [end:basics]


# --8<-- [start:faults]
def test_errors_map_to_llmplug_errors() -> None:
    too_long = {"error": {"message": "prompt too long", "code": "context_too_long"}}
    llm, _ = quill(Reply(400, json=too_long))
    with pytest.raises(ContextWindowExceededError, match=r"\[quill\] HTTP 400 .*: prompt too long"):
        llm.chat(HI)


def test_rate_limits_are_retried_after_the_wait_the_server_asks() -> None:
    slow_down = Reply(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "2"})
    llm, server = quill(slow_down, answer("Soft rain"))
    assert llm.chat(HI).message.content == "Soft rain"
    assert len(server.requests) == 2
    assert llm.clock.sleeps == [2.0]


def test_an_error_in_the_stream_is_raised() -> None:
    failing = Reply(200, body=ndjson({"piece": "Soft"}, {"error": {"message": "quota used up"}}))
    llm, _ = quill(failing, max_retries=0)
    received = []

    def read() -> None:
        for chunk in llm.stream_chat(HI):
            received.append(chunk.delta)

    with pytest.raises(APIError, match="quota used up"):
        read()
    assert received == ["Soft"]  # what came before the error reached the caller


def test_images_are_refused_before_any_request() -> None:
    llm, server = quill(answer("unused"))
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="Describe:"), ImageBlock(image=b"\x89PNG\r\n\x1a\n")]
    )
    with pytest.raises(UnsupportedContentError):
        llm.chat([message])
    assert server.requests == []


def test_options_are_validated() -> None:
    with pytest.raises(InvalidOptionError, match="creativity"):
        llmplug.load("quill?creativity=2")
    llm, _ = quill(answer("x"))
    with pytest.raises(InvalidOptionError, match="did you mean 'creativity'"):
        llm.chat(HI, creatvity=0.5)


def test_the_key_comes_from_quill_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUILL_API_KEY", "qk-from-env")
    llm = llmplug.load("quill")
    assert llm.api_key.get_secret_value() == "qk-from-env"
    assert "qk-from-env" not in repr(llm)


# --8<-- [end:faults]


# --8<-- [start:conformance]
class TestQuillConformance(HTTPProviderConformance):
    """llmplug's conformance suite, with Quill's replies."""

    provider = "quill"
    sample_options: ClassVar[dict[str, Any] | None] = {"creativity": 0.5, "max_words": 40}

    def reply(self, text: str) -> Reply:
        return answer(text)

    def stream_reply(self, deltas: list[str]) -> Reply:
        return pieces(*deltas)


# --8<-- [end:conformance]


def test_runs_under_asyncio() -> None:
    llm, _ = quill(answer("Soft rain"))
    assert asyncio.run(llm.acomplete("haiku")).text == "Soft rain"
