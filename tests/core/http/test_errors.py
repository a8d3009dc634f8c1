"""Error mapping: statuses, in-stream error types, messages, request ids, causes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from llmplug.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from llmplug.http._errors import error_message, error_type, request_id
from llmplug.http.testing import Reply, sse

from .conftest import CANARY, EchoLLM, Make

MODES = ["chat", "achat", "sync", "async"]


def llm() -> EchoLLM:
    return EchoLLM(api_key=CANARY)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(409, ConflictError, id="409"),
        pytest.param(422, UnprocessableEntityError, id="422"),
        pytest.param(429, RateLimitError, id="429"),
        pytest.param(500, InternalServerError, id="500"),
        pytest.param(502, InternalServerError, id="502"),
        pytest.param(503, InternalServerError, id="503"),
        pytest.param(529, InternalServerError, id="529"),
        pytest.param(418, APIStatusError, id="418-other"),
        pytest.param(408, APIStatusError, id="408"),
    ],
)
def test_status_mapping(status: int, cls: type[APIStatusError]) -> None:
    body = {"error": {"message": "nope", "type": "whatever"}}
    error = llm().error_from_body(body, status, {"x-request-id": "req_1"})
    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.request_id == "req_1"
    assert error.provider == "EchoLLM"
    assert "nope" in str(error)
    assert str(status) in str(error)
    assert error.body == body


@pytest.mark.parametrize(
    ("kind", "cls", "status"),
    [
        pytest.param("invalid_request_error", BadRequestError, 400, id="invalid_request"),
        pytest.param("authentication_error", AuthenticationError, 401, id="authentication"),
        pytest.param("permission_error", PermissionDeniedError, 403, id="permission"),
        pytest.param("not_found_error", NotFoundError, 404, id="not_found"),
        pytest.param("rate_limit_error", RateLimitError, 429, id="rate_limit"),
        pytest.param("overloaded_error", InternalServerError, 529, id="overloaded"),
        pytest.param("api_error", InternalServerError, 500, id="api_error"),
        pytest.param("server_error", InternalServerError, 500, id="server_error"),
    ],
)
def test_in_stream_type_mapping(kind: str, cls: type[APIStatusError], status: int) -> None:
    # Anthropic's shape: {"type": "error", "error": {"type": ..., "message": ...}}
    error = llm().error_from_body({"type": "error", "error": {"type": kind, "message": "m"}})
    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert kind in str(error)


def test_unknown_in_stream_error_is_a_plain_api_error() -> None:
    error = llm().error_from_body({"error": {"message": "odd"}})
    assert type(error) is APIError
    assert "odd" in str(error)


@pytest.mark.parametrize("status", [400, None])
def test_error_class_refines(status: int | None) -> None:
    body = {
        "error": {
            "message": "maximum context length is 8192 tokens",
            "type": "invalid_request_error",
        }
    }
    error = llm().error_from_body(body, status)
    assert type(error) is ContextWindowExceededError
    assert isinstance(error, ValueError)
    assert error.status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"error": {"message": "m1"}}, "m1", id="error.message"),
        pytest.param({"error": "m2"}, "m2", id="error-string"),
        pytest.param({"message": "m3"}, "m3", id="message"),
        pytest.param({"detail": "m4"}, "m4", id="detail"),
        pytest.param([{"error": {"message": "m5"}}], "m5", id="list"),
        pytest.param(b'{"error": {"message": "m6"}}', "m6", id="json-bytes"),
        pytest.param("<html>  Bad\n gateway </html>", "<html> Bad gateway </html>", id="text"),
        pytest.param("x" * 1000, "x" * 297 + "...", id="long-text"),
        pytest.param(None, "", id="none"),
    ],
)
def test_error_message(body: Any, message: str) -> None:
    assert error_message(body) == message


def test_error_type_and_request_id() -> None:
    assert (
        error_type({"type": "error", "error": {"type": "overloaded_error"}}) == "overloaded_error"
    )
    assert error_type({"type": "error"}) is None
    assert error_type("text") is None
    assert request_id({"Request-Id": "req_a"}) == "req_a"
    assert request_id({"X-Request-ID": "req_b", "request-id": "req_c"}) == "req_b"
    assert request_id({}, {"request_id": "req_d"}) == "req_d"
    assert request_id(None) is None


def test_text_body_excerpt_is_kept_short() -> None:
    error = llm().error_from_body("y" * 10_000, 502)
    assert isinstance(error.body, str)
    assert len(error.body) == 2000


def test_hints_say_what_to_do() -> None:
    assert "set LLMPLUG_TEST_KEY" in str(llm().error_from_body({}, 401))
    assert "model name" in str(llm().error_from_body({}, 404))


@pytest.mark.parametrize("mode", MODES)
async def test_http_error_through_every_endpoint(make: Make, run: Any, mode: str) -> None:
    reply = Reply(
        404,
        json={"error": {"message": "no such model", "type": "not_found_error"}},
        headers={"x-request-id": "req_42"},
    )
    model, server = make(reply)
    with pytest.raises(NotFoundError) as caught:
        await run(model, mode)
    assert caught.value.request_id == "req_42"
    assert "no such model" in str(caught.value)
    assert len(server.requests) == 1
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_connection_error_keeps_native_cause(make: Make, run: Any, mode: str) -> None:
    model, _ = make(Reply(raises=httpx2.ConnectError("connection refused")), max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)
    assert "connection refused" in str(caught.value)
    assert "api.example.test" in str(caught.value)


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_non_json_body_is_an_api_error(make: Make, run: Any, mode: str) -> None:
    model, _ = make(Reply(200, body=[b"<html>oops</html>"], headers={"content-type": "text/html"}))
    with pytest.raises(APIError, match="not JSON") as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_malformed_body_is_an_api_error_with_cause(make: Make, run: Any, mode: str) -> None:
    model, _ = make(Reply(200, json={"unexpected": True}))
    with pytest.raises(APIError, match="could not parse") as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, KeyError)


@pytest.mark.parametrize("mode", MODES)
async def test_redirect_is_an_error(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(307, headers={"location": "https://elsewhere.test/x"}))
    with pytest.raises(APIError, match="unexpected redirect"):
        await run(model, mode)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_base_url_is_a_config_error(make: Make, run: Any, mode: str) -> None:
    model, _ = make(Reply(200), base_url="https://exa mple.test:port/v1")
    with pytest.raises(ConfigError, match="base_url"):
        await run(model, mode)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_malformed_event_is_an_api_error(make: Make, run: Any, mode: str) -> None:
    model, server = make(Reply(200, body=sse("not json", done=True)))
    with pytest.raises(APIError, match="could not parse") as caught:
        await run(model, mode)
    assert isinstance(caught.value.__cause__, ValueError)
    assert server.open_bodies == []
