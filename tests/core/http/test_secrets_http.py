"""One canary API key pushed through every path: errors, reprs and log records."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

import httpx2
import pytest

from llmplug import ChatMessage
from llmplug._secrets import (
    REDACTED,
    is_secret_header,
    redact_data,
    redact_headers,
    redact_text,
    redact_url,
)
from llmplug.errors import LLMError
from llmplug.http import HTTPRequest
from llmplug.http.testing import Reply, sse

from .conftest import CANARY, EchoLLM, Make

MODES = ["chat", "achat", "sync", "async"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h.test/v1?key=abc&alt=sse", "https://h.test/v1?key=<redacted>&alt=sse"),
        ("https://h.test/v1?alt=sse&api_key=abc", "https://h.test/v1?alt=sse&api_key=<redacted>"),
        ("https://u:pw@h.test/v1", "https://<redacted>@h.test/v1"),
        ("https://token@h.test/v1", "https://<redacted>@h.test/v1"),
        ("https://h.test/v1?max_tokens=5", "https://h.test/v1?max_tokens=5"),
        ("https://h.test/a@b", "https://h.test/a@b"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "name",
    ["Authorization", "x-api-key", "API-Key", "x-goog-api-key", "Proxy-Authorization", "Cookie"],
)
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)
    assert redact_headers({name: CANARY, "Accept": "x"}) == {name: REDACTED, "Accept": "x"}


def test_public_headers() -> None:
    for name in ("content-type", "x-request-id", "anthropic-version", "x-ratelimit-remaining"):
        assert not is_secret_header(name)


def test_redact_text_and_data() -> None:
    text = f"bad key {CANARY}; Authorization: Bearer abcdef123; see https://u:p@h.test/?key=k"
    redacted = redact_text(text, [CANARY])
    assert CANARY not in redacted
    assert "abcdef123" not in redacted
    assert "u:p@" not in redacted
    assert "key=k" not in redacted
    data = {"error": {"message": f"key {CANARY}", "api_key": "x", "code": 401}, "n": [CANARY]}
    assert redact_data(data, [CANARY]) == {
        "error": {"message": f"key {REDACTED}", "api_key": REDACTED, "code": 401},
        "n": [REDACTED],
    }


class HeaderKeyLLM(EchoLLM):
    """Sends its key in ``x-api-key`` (as Anthropic's API takes it), so URL credentials
    (sent in ``Authorization``) can go along."""

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}


class QueryKeyLLM(EchoLLM):
    """Authenticates with ``?key=`` (as Google's APIs can) instead of a header."""

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {}

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        request = super().build_request(messages, options, stream=stream)
        assert self.api_key is not None
        return HTTPRequest(
            request.path, json=request.json, params={"key": self.api_key.get_secret_value()}
        )


def assert_clean(error: BaseException) -> None:
    shown = [str(error), repr(error), repr(getattr(error, "body", None))]
    shown += traceback.format_exception_only(error)
    for text in shown:
        assert CANARY not in text


FAULTS = [
    pytest.param(
        Reply(401, json={"error": {"message": f"Incorrect API key provided: {CANARY}"}}),
        id="401-echoing-the-key",
    ),
    pytest.param(Reply(500, body=[f"<html>upstream said key={CANARY}</html>".encode()]), id="500"),
    pytest.param(Reply(400, json={"error": {"message": "x"}, "api_key": CANARY}), id="body-key"),
    pytest.param(Reply(raises=httpx2.ConnectError("refused")), id="connect-error"),
    pytest.param(Reply(raises=httpx2.ReadTimeout("slow")), id="timeout"),
    pytest.param(
        Reply(200, body=[*sse({"delta": "a"}, done=False), httpx2.ReadError("reset")]),
        id="interrupted",
    ),
    pytest.param(Reply(200, body=sse({"delta": "a"}, done=False)), id="incomplete"),
    pytest.param(
        Reply(200, body=sse({"error": {"type": "api_error", "message": f"bad {CANARY}"}})),
        id="in-stream-error",
    ),
    pytest.param(Reply(200, body=[b"not json"]), id="not-json"),
]


@pytest.mark.parametrize("cls", [HeaderKeyLLM, QueryKeyLLM], ids=["header-key", "query-key"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS)
async def test_canary_never_shown(
    make: Make,
    run: Any,
    caplog: pytest.LogCaptureFixture,
    cls: type[EchoLLM],
    mode: str,
    fault: Reply,
) -> None:
    model, _ = make(fault, max_retries=1, cls=cls, base_url=f"https://user:{CANARY}@h.test/v1")
    with caplog.at_level(logging.DEBUG):
        try:
            await run(model, mode)
        except LLMError as error:
            assert_clean(error)
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
    assert CANARY not in repr(model)
    assert CANARY not in str(model)


async def test_canary_never_logged_on_success(
    make: Make, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    model, server = make(Reply(503), Reply(200, json={"text": "ok"}), cls=QueryKeyLLM)
    with caplog.at_level(logging.DEBUG):
        await run(model, "chat")
    assert CANARY in str(server.requests[0].url)  # it was sent...
    logged = {r.name: r.getMessage() for r in caplog.records}  # ...and logged, redacted...
    assert "?key=<redacted>" in logged["httpx2"]
    assert "?key=<redacted>" in logged["llmplug.http"]
    for record in caplog.records:  # ...but never the key
        assert CANARY not in record.getMessage()


def test_repr_redacts_headers_and_url() -> None:
    model = EchoLLM(
        api_key=CANARY,
        base_url=f"https://h.test/v1?key={CANARY}",
        extra_headers={"api-key": CANARY, "x-org": "acme"},
    )
    shown = repr(model)
    assert CANARY not in shown
    assert "acme" in shown
    assert "'api-key': '<redacted>'" in shown


def test_dumps_redact_url_credentials_and_secret_headers() -> None:
    # as SecretStr does for api_key: a printed or logged dump shows no secret
    model = HeaderKeyLLM(
        base_url=f"https://user:{CANARY}@h.test/v1",
        api_key=CANARY,
        extra_headers={"x-api-key": CANARY, "x-trace": "t-1"},
    )
    for dump in (model.model_dump_json(), str(model.model_dump())):
        assert CANARY not in dump
    data = model.model_dump()
    assert data["base_url"] == "https://<redacted>@h.test/v1"
    assert data["extra_headers"] == {"x-api-key": "<redacted>", "x-trace": "t-1"}
    assert model.base_url == f"https://user:{CANARY}@h.test/v1"  # the value itself is kept
