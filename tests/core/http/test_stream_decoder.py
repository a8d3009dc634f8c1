"""Framings other than SSE and NDJSON: a provider's own ``stream_decoder``, and the rules
for its in-stream errors (``in_stream_retry_statuses``, ``error_type_statuses``)."""

from __future__ import annotations

import json
import struct
from typing import Any, ClassVar

import pytest

from llmplug.errors import APIError, BadRequestError, IncompleteStreamError, RateLimitError
from llmplug.http import ServerEvent, StreamDecoder
from llmplug.http._errors import request_id
from llmplug.http.testing import FakeClock, MockServer, Reply

from .conftest import EchoLLM


def frame(name: str, payload: Any) -> bytes:
    """One message of a toy binary framing: two length-prefixed fields, name and data."""
    data = json.dumps(payload).encode()
    return struct.pack("!H", len(name)) + name.encode() + struct.pack("!I", len(data)) + data


class FrameDecoder:
    """Decodes the toy framing incrementally; a zero-length name is malformed."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        self._buffer += chunk
        events = []
        while len(self._buffer) >= 2:
            (size,) = struct.unpack("!H", self._buffer[:2])
            if size == 0:
                raise ValueError("a frame with no name")
            if len(self._buffer) < 2 + size + 4:
                break
            name = self._buffer[2 : 2 + size].decode()
            (length,) = struct.unpack("!I", self._buffer[2 + size : 6 + size])
            end = 6 + size + length
            if len(self._buffer) < end:
                break
            events.append(ServerEvent(self._buffer[6 + size : end].decode(), name))
            self._buffer = self._buffer[end:]
        return events

    def flush(self) -> list[ServerEvent]:
        return []


class FramedLLM(EchoLLM):
    """EchoLLM over the toy framing; errors are events named ``error``."""

    stream_format: ClassVar[str] = "frames"
    stream_end: ClassVar[str | None] = "the end frame"
    in_stream_retry_statuses: ClassVar[frozenset[int]] = frozenset({429, 529})
    error_type_statuses: ClassVar[dict[str, int]] = {"throttled": 429, "invalid": 400}

    def stream_decoder(self) -> StreamDecoder:
        return FrameDecoder()

    def parse_event(self, event: ServerEvent, state: Any) -> Any:
        if event.event == "error":
            raise self.error_from_body(event.json())
        if event.event == "end":
            return super().parse_event(ServerEvent('{"end": true}'), state)
        return super().parse_event(event, state)


STREAM = frame("delta", {"delta": "Hel"}) + frame("delta", {"delta": "lo"}) + frame("end", {})
OK = Reply(200, body=[STREAM])


def _make(*replies: Reply, clock: FakeClock | None = None) -> tuple[FramedLLM, MockServer]:
    server = MockServer(*replies)
    llm = FramedLLM(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=clock or FakeClock(),
        api_key="k",
    )
    return llm, server


def _split(data: bytes, at: int) -> list[bytes]:
    return [part for part in (data[:at], data[at:]) if part]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("at", range(len(STREAM)))
async def test_a_custom_framing_streams_split_at_any_byte(run: Any, mode: str, at: int) -> None:
    llm, server = _make(Reply(200, body=_split(STREAM, at)))
    chunks = await run(llm, mode)
    assert [c.delta for c in chunks] == ["Hel", "lo"]
    assert chunks[-1].message.content == "Hello"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_malformed_framing_is_an_api_error(run: Any, mode: str) -> None:
    body = frame("delta", {"delta": "Hel"}) + b"\x00\x00garbage"
    llm, server = _make(Reply(200, body=[body]))
    with pytest.raises(APIError, match="a frame with no name") as caught:
        await run(llm, mode)
    assert isinstance(caught.value.__cause__, ValueError)
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_body_ending_mid_frame_is_incomplete(run: Any, mode: str) -> None:
    llm, _ = _make(Reply(200, body=[STREAM[:-3]]))
    with pytest.raises(IncompleteStreamError, match="before the end frame"):
        await run(llm, mode)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_error_event_with_a_retry_status_before_any_chunk_is_retried(
    run: Any, mode: str
) -> None:
    clock = FakeClock()
    throttled = Reply(200, body=[frame("error", {"type": "throttled", "message": "slow down"})])
    llm, server = _make(throttled, OK, clock=clock)
    chunks = await run(llm, mode)
    assert [c.delta for c in chunks] == ["Hel", "lo"]
    assert len(server.requests) == 2
    assert clock.sleeps == [0.5]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_same_error_after_a_chunk_is_raised_with_its_status(run: Any, mode: str) -> None:
    body = frame("delta", {"delta": "Hel"}) + frame("error", {"type": "throttled", "message": "x"})
    llm, server = _make(Reply(200, body=[body]), OK)
    with pytest.raises(RateLimitError) as caught:
        await run(llm, mode)
    assert caught.value.status_code == 429
    assert "error event throttled in the stream" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_an_error_event_with_another_status_is_not_retried(run: Any, mode: str) -> None:
    invalid = Reply(200, body=[frame("error", {"type": "invalid", "message": "bad input"})])
    llm, server = _make(invalid, OK)
    with pytest.raises(BadRequestError, match="bad input") as caught:
        await run(llm, mode)
    assert caught.value.status_code == 400
    assert len(server.requests) == 1


def test_an_unknown_framing_without_a_decoder_is_a_clear_error() -> None:
    class NoDecoder(EchoLLM):
        stream_format: ClassVar[str] = "frames"

    with pytest.raises(TypeError, match=r"override stream_decoder\(\)"):
        NoDecoder(api_key="k").stream_decoder()


def test_the_aws_request_id_header_is_read() -> None:
    assert request_id({"x-amzn-RequestId": "1f0e-aws"}) == "1f0e-aws"


def test_a_provider_can_say_what_to_check_on_an_authentication_error() -> None:
    from llmplug.errors import AuthenticationError

    class Signed(EchoLLM):
        auth_hint: ClassVar[str | None] = "check the signing credentials (the profile)"

    error = Signed().error_from_body({"message": "bad signature"}, 401)
    assert isinstance(error, AuthenticationError)
    assert str(error).endswith("; check the signing credentials (the profile)")
    plain = EchoLLM().error_from_body({"message": "bad key"}, 401)
    assert str(plain).endswith("; check the API key (set LLMPLUG_TEST_KEY or pass api_key=)")
