"""``request_json``: requests other than a chat, through the same client and retry loop."""

from __future__ import annotations

import pytest

from llmplug.errors import APIError, InvalidOptionError, NotFoundError
from llmplug.http import HTTPRequest
from llmplug.http.testing import FakeClock, MockServer, Reply

from .conftest import CANARY, EchoLLM

MODES = ["sync", "async"]


async def _request(llm: EchoLLM, mode: str, request: HTTPRequest, **options: object) -> object:
    if mode == "sync":
        return llm.request_json(request, **options)
    return await llm.arequest_json(request, **options)


def _llm(server: MockServer, clock: FakeClock | None = None) -> EchoLLM:
    return EchoLLM(
        api_key=CANARY,
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=clock or FakeClock(),
    )


@pytest.mark.parametrize("mode", MODES)
async def test_sends_the_request_with_the_key_and_returns_the_json(mode: str) -> None:
    server = MockServer(Reply(200, json={"data": [{"id": "echo-1"}]}))
    llm = _llm(server)
    request = HTTPRequest("/models", method="GET", params={"limit": "5"})
    assert await _request(llm, mode, request) == {"data": [{"id": "echo-1"}]}
    (sent,) = server.requests
    assert sent.method == "GET"
    assert str(sent.url) == "https://api.example.test/v1/models?limit=5"
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_retries_then_maps_errors_like_a_chat(mode: str) -> None:
    clock = FakeClock()
    server = MockServer(
        Reply(503, json={"error": {"message": "busy"}}, headers={"retry-after": "1"}),
        Reply(404, json={"error": {"message": "no such model"}}),
    )
    llm = _llm(server, clock)
    with pytest.raises(NotFoundError, match="no such model") as caught:
        await _request(llm, mode, HTTPRequest("/models/x", method="GET"))
    assert caught.value.provider == "EchoLLM"
    assert clock.sleeps == [1.0]
    assert len(server.requests) == 2
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_that_is_not_json_is_an_api_error(mode: str) -> None:
    server = MockServer(Reply(200, body=[b"<html>oops</html>"]))
    with pytest.raises(APIError, match="not JSON"):
        await _request(_llm(server), mode, HTTPRequest("/models", method="GET"))


@pytest.mark.parametrize("mode", MODES)
async def test_takes_transport_options_only(mode: str) -> None:
    server = MockServer(Reply(500, json={}), Reply(200, json={"ok": True}))
    llm = _llm(server)
    with pytest.raises(InvalidOptionError, match="only the options timeout and max_retries"):
        await _request(llm, mode, HTTPRequest("/x", method="GET"), temperature=0)
    with pytest.raises(APIError):
        await _request(llm, mode, HTTPRequest("/x", method="GET"), max_retries=0)
    assert len(server.requests) == 1
