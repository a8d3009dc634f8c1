"""``sign_request``: providers that sign each attempt over the exact bytes it sends."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx2
import pytest
from pydantic import PrivateAttr

from llmplug.errors import APIStatusError, BadRequestError
from llmplug.http import HTTPRequest, OutgoingRequest
from llmplug.http._signing import encode_json, with_signature
from llmplug.http.testing import FakeClock, MockServer, Reply, sse

from .conftest import HI, EchoLLM

SIGNING_KEY = b"signing-key-CANARY-41d9"
SESSION_TOKEN = "session-token-CANARY-8c2e"
OK = Reply(200, json={"text": "ok"})
OK_STREAM = Reply(200, body=sse({"delta": "o"}, {"delta": "k"}))


def _digest(method: str, url: str, body: bytes, date: str) -> str:
    message = b"\n".join([method.encode(), url.encode(), date.encode(), body])
    return hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()


class SignedLLM(EchoLLM):
    """Signs each attempt with an HMAC of its method, URL, date and body (no API key)."""

    _log: list[tuple[str, OutgoingRequest]] = PrivateAttr(default_factory=list)

    @property
    def log(self) -> list[tuple[str, OutgoingRequest]]:
        """What each signing call saw, in order."""
        return self._log

    def _signature(self, request: OutgoingRequest) -> dict[str, str]:
        date = f"attempt-{len(self.log)}"
        digest = _digest(request.method, request.url, request.body, date)
        return {
            "Authorization": f"HMAC {digest}",
            "X-Date": date,
            "X-Session-Token": SESSION_TOKEN,
        }

    def sign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        self.log.append(("sync", request))
        return self._signature(request)

    async def asign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        self.log.append(("async", request))
        return self._signature(request)

    def secret_values(self) -> tuple[str, ...]:
        return (SESSION_TOKEN,)


def _make(*replies: Reply, clock: FakeClock | None = None) -> tuple[SignedLLM, MockServer]:
    server = MockServer(*replies)
    llm = SignedLLM(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=clock or FakeClock(),
    )
    return llm, server


def _verify(sent: httpx2.Request) -> None:
    """The signature the server got covers exactly what the server got."""
    sent.read()
    date = sent.headers["x-date"]
    expected = _digest(sent.method, str(sent.url), sent.content, date)
    assert sent.headers["authorization"] == f"HMAC {expected}"


@pytest.mark.parametrize("mode", ["chat", "achat", "sync", "async"])
async def test_the_signature_covers_the_bytes_sent(run: Any, mode: str) -> None:
    llm, server = _make(OK_STREAM if mode in ("sync", "async") else OK)
    await run(llm, mode, temperature=0.5)
    (sent,) = server.requests
    _verify(sent)
    (seen,) = [request for _, request in llm.log]
    assert seen.body == sent.content
    assert json.loads(seen.body)["temperature"] == 0.5
    assert seen.url == str(sent.url)
    assert seen.headers["Content-Type"] == "application/json"
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in {name.lower() for name in seen.headers}


@pytest.mark.parametrize(
    ("mode", "signer"),
    [
        pytest.param("chat", "sync", id="chat"),
        pytest.param("sync", "sync", id="stream_chat"),
        pytest.param("achat", "async", id="achat"),
        pytest.param("async", "async", id="astream_chat"),
    ],
)
async def test_each_attempt_is_signed_again_by_the_matching_signer(
    run: Any, mode: str, signer: str
) -> None:
    clock = FakeClock()
    busy = Reply(503, json={"error": {"message": "busy"}})
    llm, server = _make(busy, OK_STREAM if mode in ("sync", "async") else OK, clock=clock)
    await run(llm, mode)
    assert [kind for kind, _ in llm.log] == [signer, signer]
    dates = [sent.headers["x-date"] for sent in server.requests]
    assert dates == ["attempt-1", "attempt-2"]
    for sent in server.requests:
        _verify(sent)
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_other_requests_are_signed_too(mode: str) -> None:
    llm, server = _make(Reply(200, json={"data": []}))
    request = HTTPRequest("/models", method="GET", params={"by": "text"})
    if mode == "sync":
        assert llm.request_json(request) == {"data": []}
    else:
        assert await llm.arequest_json(request) == {"data": []}
    (sent,) = server.requests
    _verify(sent)
    (_, seen) = llm.log[0]
    assert seen.body == b""
    assert seen.url == "https://api.example.test/v1/models?by=text"
    assert "Content-Type" not in seen.headers


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_secrets_of_the_signer_are_redacted_from_errors(run: Any, mode: str) -> None:
    echoed = {"error": {"message": f"bad signature; canonical request had {SESSION_TOKEN}"}}
    llm, _ = _make(Reply(400, json=echoed))
    with pytest.raises(BadRequestError) as caught:
        await run(llm, mode)
    assert SESSION_TOKEN not in str(caught.value)
    assert SESSION_TOKEN not in json.dumps(caught.value.body)
    assert "<redacted>" in str(caught.value)


async def test_signature_headers_never_reach_a_log_record(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    llm, _ = _make(Reply(503, json={"error": {"message": "busy"}}), OK)
    with caplog.at_level(logging.DEBUG):
        await run(llm, "chat")
        await run(llm, "achat")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "retrying" in text  # the retry was logged...
    assert SESSION_TOKEN not in text  # ...and nothing secret with it
    assert "HMAC " not in text


def test_a_provider_that_does_not_sign_sends_json_as_before() -> None:
    server = MockServer(OK)
    llm = EchoLLM(transport=server.transport(), api_key="k")
    llm.chat(HI)
    (sent,) = server.requests
    assert json.loads(sent.read())["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": "é ✓", "b": [1, 2.5, None, True]}, id="unicode"),
        pytest.param({"nested": {"x": "line\nbreak", "q": '"'}}, id="escapes"),
        pytest.param([], id="empty-list"),
    ],
)
def test_the_body_is_encoded_as_httpx2_encodes_json(value: Any) -> None:
    assert encode_json(value) == httpx2.Request("POST", "https://x.test", json=value).read()


def test_a_signature_header_replaces_one_of_the_same_name_in_any_case() -> None:
    merged = with_signature({"authorization": "Bearer old", "X-Keep": "1"}, {"Authorization": "s"})
    assert merged == {"X-Keep": "1", "Authorization": "s"}


async def test_a_signer_that_returns_none_sends_the_request_unsigned(run: Any) -> None:
    class Unsigned(SignedLLM):
        def sign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
            self.log.append(("sync", request))
            return None

    server = MockServer(OK)
    llm = Unsigned(transport=server.transport(), clock=FakeClock())
    await run(llm, "chat")
    (sent,) = server.requests
    assert "authorization" not in sent.headers
    assert len(llm.log) == 1


async def test_an_error_status_of_a_signed_request_keeps_its_class(run: Any) -> None:
    llm, _ = _make(Reply(418, json={"error": {"message": "teapot"}}))
    with pytest.raises(APIStatusError) as caught:
        await run(llm, "chat")
    assert caught.value.status_code == 418
