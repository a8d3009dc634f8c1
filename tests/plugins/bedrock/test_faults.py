"""Faults: AWS error responses and exception events mapped to the error tree, retries
only before the first chunk, broken streams, and no secret in any error or log record."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
import pytest

from llmplug import ChatMessage
from llmplug.errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterruptedError,
)

from . import wire_data as w
from .conftest import ACCESS_KEY, ENDPOINTS, SECRET_KEY, SESSION_TOKEN, call

STREAMS = ["stream_chat", "astream_chat"]
CHATS = ["chat", "achat"]
OK_STREAM = w.stream(w.TEXT_STREAM)


def aws_error(kind: str, status: int) -> tuple[int, Any, dict[str, str]]:
    """A reply as Bedrock sends one: the type in x-amzn-ErrorType, the message in the body."""
    headers = {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return status, w.error_body(f"{kind} happened"), headers


async def deltas_into(received: list[str], llm: Any, endpoint: str) -> None:
    """Stream, appending each delta as it arrives (kept if the stream raises)."""
    hi = [ChatMessage(role="user", content="Hi")]
    if endpoint == "stream_chat":
        for chunk in llm.stream_chat(hi):
            received.append(chunk.delta or "")
    else:
        async for chunk in await llm.astream_chat(hi):
            received.append(chunk.delta or "")


def ok(endpoint: str) -> Any:
    return OK_STREAM if "stream" in endpoint else w.TEXT


ERRORS = [
    pytest.param("ThrottlingException", 429, RateLimitError, True, id="throttling"),
    pytest.param("ModelNotReadyException", 429, RateLimitError, True, id="model-not-ready"),
    pytest.param("ValidationException", 400, BadRequestError, False, id="validation"),
    pytest.param("AccessDeniedException", 403, PermissionDeniedError, False, id="access-denied"),
    pytest.param("UnrecognizedClientException", 403, AuthenticationError, False, id="unrecognized"),
    pytest.param("InvalidSignatureException", 403, AuthenticationError, False, id="bad-signature"),
    pytest.param("ExpiredTokenException", 403, AuthenticationError, False, id="expired-token"),
    pytest.param("ResourceNotFoundException", 404, NotFoundError, False, id="not-found"),
    pytest.param("ModelTimeoutException", 408, APIStatusError, True, id="model-timeout"),
    pytest.param("ModelErrorException", 424, APIStatusError, False, id="model-error"),
    pytest.param("InternalServerException", 500, InternalServerError, True, id="internal"),
    pytest.param("ServiceUnavailableException", 503, InternalServerError, True, id="unavailable"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("kind", "status", "cls", "retried"), ERRORS)
async def test_error_responses(
    make: Any,
    server: Any,
    clock: Any,
    endpoint: str,
    kind: str,
    status: int,
    cls: type,
    retried: bool,
) -> None:
    server.reply(*aws_error(kind, status)).reply(200, ok(endpoint))
    llm = make(**server.transports())
    if retried:
        responses = await call(llm, endpoint)
        assert responses[-1].message.content
        assert len(server.requests) == 2
        assert len(clock.sleeps) == 1
        return
    with pytest.raises(cls) as caught:
        await call(llm, endpoint)
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert f"{kind} happened" in str(error)
    assert error.request_id == "3c6d84ab-7f7d-4d3d-9a2f-8f0a5e0c1b2d"
    assert error.body["type"] == kind
    assert len(server.requests) == 1
    if cls is AuthenticationError:
        assert "check the AWS credentials" in str(error)


@pytest.mark.parametrize("endpoint", CHATS)
async def test_retries_run_out(make: Any, server: Any, clock: Any, endpoint: str) -> None:
    server.reply(*aws_error("ThrottlingException", 429))
    with pytest.raises(RateLimitError) as caught:
        await call(make(max_retries=2, **server.transports()), endpoint)
    assert len(server.requests) == 3
    assert clock.sleeps == [0.5, 1.0]
    assert caught.value.status_code == 429


@pytest.mark.parametrize("endpoint", CHATS)
async def test_the_error_type_can_come_from_the_body(make: Any, server: Any, endpoint: str) -> None:
    body = {"__type": "com.amazon.coral.validate#ValidationException", "Message": "bad request"}
    server.reply(400, body)
    with pytest.raises(BadRequestError, match="bad request") as caught:
        await call(make(**server.transports()), endpoint)
    assert caught.value.body["type"] == "ValidationException"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_input_too_long_is_a_context_window_error(
    make: Any, server: Any, endpoint: str
) -> None:
    server.reply(
        400,
        {"message": "Input is too long for requested model."},
        {"x-amzn-ErrorType": "ValidationException"},
    )
    with pytest.raises(ContextWindowExceededError, match="too long"):
        await call(make(**server.transports()), endpoint)


EVENT_FAULTS = [
    pytest.param(
        w.exception("throttlingException", "Too many tokens"),
        RateLimitError,
        429,
        True,
        id="throttling",
    ),
    pytest.param(
        w.exception("internalServerException", "oops"),
        InternalServerError,
        500,
        True,
        id="internal",
    ),
    pytest.param(
        w.exception("serviceUnavailableException", "busy"),
        InternalServerError,
        503,
        True,
        id="unavailable",
    ),
    pytest.param(
        w.exception("validationException", "bad input"),
        BadRequestError,
        400,
        False,
        id="validation",
    ),
    pytest.param(
        w.exception("modelStreamErrorException", "model broke", originalStatusCode=500),
        APIStatusError,
        424,
        False,
        id="model-stream-error",
    ),
    pytest.param(
        w.error_message("ThrottlingException", "slow down"),
        RateLimitError,
        429,
        True,
        id="error-message",
    ),
]


@pytest.mark.parametrize("endpoint", STREAMS)
@pytest.mark.parametrize(("frame", "cls", "status", "retried"), EVENT_FAULTS)
async def test_exception_events_before_the_first_chunk(
    make: Any,
    server: Any,
    clock: Any,
    endpoint: str,
    frame: bytes,
    cls: type,
    status: int,
    retried: bool,
) -> None:
    # messageStart carries nothing for the caller: retrying is still safe
    server.reply(200, w.event(*w.START) + frame).reply(200, OK_STREAM)
    llm = make(**server.transports())
    if retried:
        chunks = await call(llm, endpoint)
        assert "".join(c.delta or "" for c in chunks) == "Hello!"
        assert len(server.requests) == 2
        assert clock.sleeps == [0.5]
        return
    with pytest.raises(cls) as caught:
        await call(llm, endpoint)
    assert type(caught.value) is cls
    assert caught.value.status_code == status
    assert "in the stream" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("endpoint", STREAMS)
async def test_an_exception_event_after_a_chunk_is_raised_not_retried(
    make: Any, server: Any, endpoint: str
) -> None:
    events = w.TEXT_STREAM[:2]  # messageStart, "Hel"
    server.reply(200, [w.stream(events), w.exception("throttlingException", "Too many tokens")])
    received: list[str] = []
    llm = make(**server.transports())
    with pytest.raises(RateLimitError, match="Too many tokens") as caught:
        await deltas_into(received, llm, endpoint)
    assert received == ["Hel"]
    assert caught.value.status_code == 429
    assert len(server.requests) == 1


@pytest.mark.parametrize("endpoint", STREAMS)
@pytest.mark.parametrize(
    ("body", "cls", "match"),
    [
        pytest.param(OK_STREAM[:-3], IncompleteStreamError, "metadata event", id="cut-mid-message"),
        pytest.param(
            w.stream(w.TEXT_STREAM[:-1]), IncompleteStreamError, "metadata event", id="no-metadata"
        ),
        pytest.param(
            w.stream(w.TEXT_STREAM[:2]) + b"\x00\x00\x00\x20garbage-garbage-garbage-garbage",
            APIError,
            "checksum",
            id="corrupt-frame",
        ),
    ],
)
async def test_broken_streams(
    make: Any, server: Any, endpoint: str, body: bytes, cls: type, match: str
) -> None:
    server.reply(200, [body])
    with pytest.raises(cls, match=match):
        await call(make(**server.transports()), endpoint)


@pytest.mark.parametrize("endpoint", STREAMS)
async def test_a_drop_before_the_first_chunk_is_retried(
    make: Any, server: Any, endpoint: str
) -> None:
    server.reply(200, [w.event(*w.START), httpx2.ReadError("connection reset")]).reply(
        200, OK_STREAM
    )
    chunks = await call(make(**server.transports()), endpoint)
    assert "".join(c.delta or "" for c in chunks) == "Hello!"
    assert len(server.requests) == 2


@pytest.mark.parametrize("endpoint", STREAMS)
async def test_a_drop_after_a_chunk_keeps_the_partial_answer(
    make: Any, server: Any, endpoint: str
) -> None:
    server.reply(200, [w.stream(w.TEXT_STREAM[:2]), httpx2.ReadError("connection reset")])
    with pytest.raises(StreamInterruptedError) as caught:
        await call(make(**server.transports()), endpoint)
    assert caught.value.partial == "Hel"
    assert len(server.requests) == 1


# -- no secret anywhere ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_no_secret_in_any_error_repr_or_log_record(
    make: Any, server: Any, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.token = SESSION_TOKEN
    llm = make(aws_session_token=SESSION_TOKEN, **server.transports())
    with caplog.at_level(logging.DEBUG):
        await call(llm, endpoint)  # a good call first: the signature is now known
        signature = server.requests[0].headers["authorization"].rpartition("Signature=")[2]
        # AWS echoes the canonical request (holding the token) in a signature error
        echo = (
            f"The request signature we calculated does not match. Canonical request: "
            f"x-amz-security-token:{SESSION_TOKEN} Credential={ACCESS_KEY} sig {signature}"
        )
        server.reply(403, {"message": echo}, {"x-amzn-ErrorType": "InvalidSignatureException"})
        server.replies.insert(0, (200, None, {}))  # the first call's answer
        with pytest.raises(AuthenticationError) as caught:
            await call(llm, endpoint)
    secrets = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, signature)
    shown = [
        str(caught.value),
        repr(caught.value),
        json.dumps(caught.value.body),
        repr(llm),
        str(llm.model_dump()),
        llm.model_dump_json(),
        *(record.getMessage() for record in caplog.records),
    ]
    for secret in secrets:
        for text in shown:
            assert secret not in text
    assert "<redacted>" in str(caught.value)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_timeout_and_max_retries_are_options_of_the_config_string_and_the_call(
    registry: Any, server: Any, endpoint: str
) -> None:
    import llmplug

    server.reply(*aws_error("ThrottlingException", 429)).reply(200, ok(endpoint))
    llm = llmplug.load(
        "bedrock:amazon.nova-lite-v1:0?region=us-east-1&timeout=30&max_retries=0",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        **server.transports(),
    )
    assert (llm.max_retries, llm.timeout.total) == (0, 30.0)
    with pytest.raises(RateLimitError):
        await call(llm, endpoint)
    assert len(server.requests) == 1
    await call(llm, endpoint, max_retries=1, timeout=5)  # per call: the next reply is fine
    assert len(server.requests) == 2
