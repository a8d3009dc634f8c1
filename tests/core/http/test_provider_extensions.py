"""What an HTTP provider may add to the four pure methods: a native completion endpoint
(``HTTPCompletionLLM``), JSON event streams (``stream_json``), I/O before a call
(``prepare_call``) and a hint for an unreachable server (``unreachable_hint``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import Field

from llmplug.errors import APIConnectionError, APIError, InvalidOptionError
from llmplug.http import HTTPCompletionLLM, HTTPRequest
from llmplug.http.testing import FakeClock, MockServer, Reply, sse
from llmplug.testing import recording_hooks

from .conftest import CANARY, HI, EchoLLM, NDJSONEchoLLM

MODES = ["sync", "async"]


class CompletingLLM(HTTPCompletionLLM, EchoLLM):
    """EchoLLM with a completion endpoint of its own, and I/O before each call."""

    base_url: str = "https://api.example.test/v1"
    prepared: list[str] = Field(default_factory=list)

    def build_completion_request(
        self, prompt: str, options: dict[str, Any], *, stream: bool, formatted: bool
    ) -> HTTPRequest:
        body = {"prompt": prompt, "formatted": formatted, "stream": stream, **options}
        if not formatted and self.system_prompt:
            body["system"] = self.system_prompt
        return HTTPRequest("/complete", json=body)

    def prepare_call(self, options: Mapping[str, Any]) -> None:
        self.prepared.append(f"sync {sorted(options)}")

    async def aprepare_call(self, options: Mapping[str, Any]) -> None:
        self.prepared.append(f"async {sorted(options)}")


def _make(cls: type, server: MockServer, **options: Any) -> Any:
    options.setdefault("api_key", CANARY)
    return cls(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),
        **options,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_completion_endpoints_send_the_completion_request(mode: str) -> None:
    server = MockServer(
        Reply(200, json={"text": "done", "usage": {"in": 3, "out": 1}}),
        Reply(200, body=sse({"delta": "do"}, {"delta": "ne"}, {"end": True}, done=False)),
    )
    llm = _make(CompletingLLM, server, system_prompt="Be brief.")
    with recording_hooks() as seen:
        if mode == "sync":
            reply = llm.complete("Hi", temperature=0)
            chunks = list(llm.stream_complete("Hi", formatted=True))
        else:
            reply = await llm.acomplete("Hi", temperature=0)
            chunks = [c async for c in await llm.astream_complete("Hi", formatted=True)]
    assert (reply.text, reply.usage.output_tokens) == ("done", 1)
    assert [c.delta for c in chunks] == ["do", "ne"]
    assert chunks[-1].text == "done"
    assert [r.url.path for r in server.requests] == ["/v1/complete", "/v1/complete"]
    first, second = (json.loads(r.content) for r in server.requests)
    # the provider gets the prompt as given, with formatted: it places the system prompt
    assert first == {
        "prompt": "Hi",
        "formatted": False,
        "stream": False,
        "temperature": 0,
        "system": "Be brief.",
    }
    assert second == {"prompt": "Hi", "formatted": True, "stream": True}
    assert seen.hooks().count("after_call") == 2
    assert llm.prepared == [f"{mode} ['temperature']", f"{mode} []"]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_prepare_call_runs_before_chats_too(mode: str) -> None:
    server = MockServer(Reply(200, json={"text": "ok"}))
    llm = _make(CompletingLLM, server)
    if mode == "sync":
        llm.chat(HI, temperature=1)
        gen = llm.stream_chat(HI)
        assert llm.prepared == ["sync ['temperature']"]  # a stream prepares on next()
        gen.close()
    else:
        await llm.achat(HI, temperature=1)
        assert llm.prepared == ["async ['temperature']"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", [EchoLLM, NDJSONEchoLLM], ids=["sse", "ndjson"])
async def test_stream_json_yields_each_event_decoded(mode: str, cls: type) -> None:
    events = [{"status": "a"}, {"status": "b", "n": 2}]
    ndjson = [(json.dumps(e) + "\n").encode() for e in events]
    body = sse(*events) if cls is EchoLLM else ndjson
    server = MockServer(Reply(200, body=body))
    llm = _make(cls, server)
    request = HTTPRequest("/pull", {"name": "m"})
    if mode == "sync":
        got = list(llm.stream_json(request))
    else:
        got = [e async for e in llm.astream_json(request)]
    assert got == events
    assert server.open_bodies == []


async def _events(llm: Any, mode: str, request: HTTPRequest) -> list[Any]:
    if mode == "sync":
        return list(llm.stream_json(request))
    return [e async for e in llm.astream_json(request)]


async def _chat(llm: Any, mode: str) -> Any:
    return llm.chat(HI) if mode == "sync" else await llm.achat(HI)


@pytest.mark.parametrize("mode", MODES)
async def test_stream_json_faults(mode: str) -> None:
    server = MockServer(Reply(503, json={"error": "busy"}), Reply(200, body=[b"{not json}\n"]))
    llm = _make(NDJSONEchoLLM, server)
    with pytest.raises(InvalidOptionError, match="only the options timeout and max_retries"):
        llm.stream_json(HTTPRequest("/x"), temperature=0)
    with pytest.raises(APIError, match="could not parse"):
        await _events(llm, mode, HTTPRequest("/x"))
    assert len(server.requests) == 2  # the 503 was retried


class LocalLLM(EchoLLM):
    def unreachable_hint(self) -> str | None:
        return "start the server with `serve`"


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_hint_ends_a_connection_error(mode: str) -> None:
    llm = LocalLLM(base_url=f"http://127.0.0.1:{_refused_port()}", max_retries=0, api_key=CANARY)
    with pytest.raises(APIConnectionError, match=r"; start the server with `serve`$"):
        await _chat(llm, mode)
    plain = EchoLLM(base_url=llm.base_url, max_retries=0, api_key=CANARY)
    with pytest.raises(APIConnectionError) as caught:
        plain.chat(HI)
    assert "serve" not in str(caught.value)
