"""The event stream decoder agrees with botocore's parser, split at every byte.

Bodies: the ConverseStream streams of ``wire_data`` (as Bedrock sends them, padding
field included), messages with every header type, and random messages; each is fed to
the plugin's decoder whole, in every two-piece split, byte by byte, and in random
pieces, and must give exactly the messages botocore's ``EventStreamBuffer`` gives.
Corrupted bodies must fail in both. Then ConverseStream's events are compared with
what botocore's event stream parser makes of them, for the service model.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import botocore.eventstream
import botocore.exceptions
import botocore.parsers
import pytest

from llmplug_bedrock._eventstream import (
    ConverseStreamDecoder,
    EventStreamDecoder,
    EventStreamError,
    EventStreamMessage,
)

from . import wire_data as w

UUID = bytes(range(16))
ALL_HEADERS = w.message(
    [
        ("event-type", 40972, 4),
        ("content-type", "application/json", 7),
        ("bool false", False, 1),
        ("bool true", True, 0),
        ("byte", -49, 2),
        ("byte buf", b"I'm a little teapot!", 6),
        ("timestamp", 8675309, 8),
        ("int16", 42, 3),
        ("int64", 42424242, 5),
        ("uuid", UUID, 9),
    ],
    b"{'foo':'bar'}",
)
EMPTY = w.message([])
NO_HEADERS = w.message([], b'{"foo":"bar"}')
ONE_HEADER = w.message([("event-type", "hello")], b'{"foo":"bar"}')
UNICODE = w.message([("名前", "値 ✓")], "ペイロード".encode())

BODIES = {
    "text-stream": w.stream(w.TEXT_STREAM),
    "reasoning-tool-stream": w.stream(w.REASONING_TOOL_STREAM),
    "citation-stream": w.stream(w.CITATION_STREAM),
    "all-header-types": ALL_HEADERS,
    "empty-message": EMPTY,
    "payload-no-headers": NO_HEADERS,
    "payload-one-header": ONE_HEADER,
    "unicode": UNICODE,
    "mixed": b"".join([ALL_HEADERS, EMPTY, w.exception("throttlingException", "slow"), NO_HEADERS]),
}


def botocore_messages(body: bytes) -> list[EventStreamMessage]:
    buffer = botocore.eventstream.EventStreamBuffer()
    buffer.add_data(body)
    return [EventStreamMessage(m.headers, m.payload) for m in buffer]


def decode(pieces: list[bytes]) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    messages: list[EventStreamMessage] = []
    for piece in pieces:
        messages.extend(decoder.feed(piece))
    assert decoder.pending == 0
    return messages


def random_message(rng: random.Random) -> bytes:
    headers: list[tuple[Any, ...]] = []
    names = rng.sample(
        ["a", "bb", ":event-type", "x-custom", "ünï", "n" * 40, "k", "z9"], rng.randint(0, 6)
    )
    for name in names:
        kind = rng.randint(0, 9)
        value: Any = {
            0: True,
            1: False,
            2: rng.randint(-128, 127),
            3: rng.randint(-(2**15), 2**15 - 1),
            4: rng.randint(-(2**31), 2**31 - 1),
            5: rng.randint(-(2**63), 2**63 - 1),
            6: rng.randbytes(rng.randint(0, 40)),
            7: "".join(rng.choice("abc é✓") for _ in range(rng.randint(0, 30))),
            8: rng.randint(0, 2**62),
            9: rng.randbytes(16),
        }[kind]
        headers.append((name, value, kind))
    return w.message(headers, rng.randbytes(rng.choice([0, 1, 5, 100, 5000])))


def random_pieces(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(1, 30))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


@pytest.mark.parametrize("name", sorted(BODIES))
def test_agrees_with_botocore_split_at_every_byte(name: str) -> None:
    body = BODIES[name]
    expected = botocore_messages(body)
    assert expected  # botocore reads the body: it is a valid event stream
    assert decode([body]) == expected
    for at in range(len(body) + 1):
        assert decode([body[:at], body[at:]]) == expected, f"split at byte {at}"
    assert decode([body[i : i + 1] for i in range(len(body))]) == expected


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_botocore_on_random_streams_in_random_pieces(seed: int) -> None:
    rng = random.Random(seed)
    body = b"".join(random_message(rng) for _ in range(rng.randint(1, 8)))
    expected = botocore_messages(body)
    assert decode([body]) == expected
    for _ in range(10):
        assert decode(random_pieces(body, rng)) == expected


def test_header_values_are_decoded_as_botocore_decodes_them() -> None:
    (message,) = decode([ALL_HEADERS])
    assert message.headers == {
        "event-type": 40972,
        "content-type": "application/json",
        "bool false": False,
        "bool true": True,
        "byte": -49,
        "byte buf": b"I'm a little teapot!",
        "timestamp": 8675309,
        "int16": 42,
        "int64": 42424242,
        "uuid": UUID,
    }
    assert message.payload == b"{'foo':'bar'}"


def test_a_message_cut_short_is_held_not_returned() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(ONE_HEADER[:-1]) == []
    assert decoder.pending == len(ONE_HEADER) - 1
    assert decoder.feed(ONE_HEADER[-1:]) == botocore_messages(ONE_HEADER)


def _corrupt(body: bytes, index: int) -> bytes:
    return body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]


def _prelude(total: int, headers_length: int) -> bytes:
    prelude = struct.pack("!II", total, headers_length)
    return prelude + struct.pack("!I", zlib.crc32(prelude))


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("!I", zlib.crc32(body))


CORRUPT = {
    "prelude-length": (_corrupt(ONE_HEADER, 3), "prelude checksum"),
    "prelude-crc": (_corrupt(ONE_HEADER, 10), "prelude checksum"),
    "header-byte": (_corrupt(ONE_HEADER, 14), "message checksum"),
    "payload-byte": (_corrupt(ONE_HEADER, len(ONE_HEADER) - 6), "message checksum"),
    "message-crc": (_corrupt(ONE_HEADER, len(ONE_HEADER) - 1), "message checksum"),
    "headers-too-long": (_prelude(16 + 200_000, 200_000), "headers of 200000 bytes"),
    "payload-too-long": (_prelude(16 + 25 * 1024 * 1024, 0), "exceeds the maximum"),
    "headers-past-total": (_prelude(20, 10), "cannot hold"),
    "duplicate-header": (w.message([("a", "1"), ("a", "2")]), "appears twice"),
    "unknown-type": (_with_crc(_prelude(16 + 3, 3) + b"\x01a\x0a"), "unknown value type"),
    "header-cut-short": (_with_crc(_prelude(16 + 5, 5) + b"\x01a\x07\x00\x09"), "cut short"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_bodies_fail_here_and_in_botocore(name: str) -> None:
    body, match = CORRUPT[name]
    with pytest.raises(EventStreamError, match=match):
        decode([body + b"\x00" * 32])  # more bytes after it: the check is not waiting on them
    with pytest.raises(Exception):  # noqa: B017, PT011 - botocore's own parser errors
        botocore_messages(body + b"\x00" * 32)


# -- ConverseStream events against botocore's event stream parser -------------------------


class _Raw:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def stream(self) -> Iterator[bytes]:
        yield from self.pieces

    def close(self) -> None:
        pass


def botocore_events(boto: Any, body: bytes) -> list[dict[str, Any]]:
    shape = boto.model.operation_model("ConverseStream").output_shape.members["stream"]
    parser = botocore.parsers.EventStreamJSONParser()
    return list(botocore.eventstream.EventStream(_Raw([body]), shape, parser, "ConverseStream"))


@pytest.mark.parametrize("name", ["text-stream", "reasoning-tool-stream", "citation-stream"])
def test_converse_stream_events_agree_with_botocore(boto: Any, name: str) -> None:
    body = BODIES[name]
    expected = botocore_events(boto, body)
    for at in range(0, len(body) + 1, 7):
        decoder = ConverseStreamDecoder()
        events = [*decoder.feed(body[:at]), *decoder.feed(body[at:]), *decoder.flush()]
        ours = []
        for event in events:
            assert event.id == "event"
            payload = json.loads(event.data)
            payload.pop("p")  # Bedrock's padding: not in the service model, dropped by botocore
            ours.append({event.event: payload})
        assert ours == expected


@pytest.mark.parametrize(
    ("frame", "kind", "name", "message"),
    [
        pytest.param(
            w.exception("throttlingException", "Too many requests"),
            "exception",
            "throttlingException",
            "Too many requests",
            id="exception",
        ),
        pytest.param(
            w.exception("modelStreamErrorException", "boom", originalStatusCode=500),
            "exception",
            "modelStreamErrorException",
            "boom",
            id="model-stream-error",
        ),
        pytest.param(
            w.error_message("InternalFailure", "An internal error occurred"),
            "error",
            "InternalFailure",
            "An internal error occurred",
            id="error",
        ),
    ],
)
def test_faults_are_events_that_botocore_raises_for(
    boto: Any, frame: bytes, kind: str, name: str, message: str
) -> None:
    (event,) = ConverseStreamDecoder().feed(frame)
    assert (event.id, event.event, json.loads(event.data)["message"]) == (kind, name, message)
    with pytest.raises(botocore.exceptions.EventStreamError) as caught:
        botocore_events(boto, frame)
    assert caught.value.response["Error"]["Code"] == name
    assert caught.value.response["Error"]["Message"] == message


def test_a_message_of_unknown_type_is_an_error() -> None:
    frame = w.message([(":message-type", "mystery")], b"{}")
    with pytest.raises(EventStreamError, match="unknown type 'mystery'"):
        ConverseStreamDecoder().feed(frame)


def test_an_event_without_its_type_header_is_an_error() -> None:
    frame = w.message([(":message-type", "event")], b"{}")
    with pytest.raises(EventStreamError, match=":event-type"):
        ConverseStreamDecoder().feed(frame)
