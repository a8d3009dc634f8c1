"""The SSE and NDJSON decoders: every line ending, every chunk boundary, UTF-8 splits."""

from __future__ import annotations

import json

import pytest

from llmplug.http import NDJSONDecoder, ServerEvent, SSEDecoder, json_loads

SAMPLE = (
    ": a comment\r\n"
    "event: delta\r\n"
    "id: 7\r\n"
    'data: {"delta": "h\u00e9llo \U0001f600"}\r\n'
    "\r\n"
    "data: line one\n"
    "data: line two\n"
    "\n"
    "retry: 1500\r"
    "data:  two spaces\r"
    "\r"
    "data: [DONE]\n"
    "\n"
).encode()

EXPECTED = [
    ServerEvent('{"delta": "h\u00e9llo \U0001f600"}', "delta", "7"),
    ServerEvent("line one\nline two", None, "7"),
    ServerEvent(" two spaces", None, "7"),
    ServerEvent("[DONE]", None, "7"),
]


def decode(chunks: list[bytes]) -> list[ServerEvent]:
    decoder = SSEDecoder()
    events: list[ServerEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.flush()


def test_sample_in_one_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(SAMPLE) + decoder.flush() == EXPECTED
    assert decoder.retry == 1500
    assert decoder.last_event_id == "7"


@pytest.mark.parametrize("cut", range(1, len(SAMPLE)))
def test_every_chunk_boundary(cut: int) -> None:
    assert decode([SAMPLE[:cut], SAMPLE[cut:]]) == EXPECTED


def test_byte_by_byte() -> None:
    assert decode([SAMPLE[i : i + 1] for i in range(len(SAMPLE))]) == EXPECTED


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"data: a\n\n", [ServerEvent("a")], id="lf"),
        pytest.param(b"data: a\r\n\r\n", [ServerEvent("a")], id="crlf"),
        pytest.param(b"data: a\r\r", [ServerEvent("a")], id="cr"),
        pytest.param(b"data: a\r\n\n", [ServerEvent("a")], id="mixed-crlf-lf"),
        pytest.param(b"data: a\n\r\n", [ServerEvent("a")], id="mixed-lf-crlf"),
        pytest.param(b"data: a\r\ndata: b\r\n\r\n", [ServerEvent("a\nb")], id="multiline-crlf"),
        pytest.param(b"data:a\n\n", [ServerEvent("a")], id="no-space"),
        pytest.param(b"data:  a\n\n", [ServerEvent(" a")], id="one-space-removed"),
        pytest.param(b"data\n\n", [ServerEvent("")], id="field-without-colon"),
        pytest.param(b"data:\n\n", [ServerEvent("")], id="empty-data"),
        pytest.param(b"data\ndata\n\n", [ServerEvent("\n")], id="two-empty-lines"),
        pytest.param(b": ping\n\n", [], id="comment-only"),
        pytest.param(b":\n\n", [], id="bare-colon-comment"),
        pytest.param(b"event: ping\n\n", [], id="event-without-data"),
        pytest.param(
            b"event: message_start\ndata: {}\n\n", [ServerEvent("{}", "message_start")], id="event"
        ),
        pytest.param(b"event: x\n\ndata: a\n\n", [ServerEvent("a")], id="event-reset"),
        pytest.param(
            b"id: 1\ndata: a\n\ndata: b\n\n",
            [ServerEvent("a", None, "1"), ServerEvent("b", None, "1")],
            id="id-persists",
        ),
        pytest.param(b"id: a\0b\ndata: x\n\n", [ServerEvent("x")], id="id-with-nul-ignored"),
        pytest.param(b"foo: bar\ndata: a\n\n", [ServerEvent("a")], id="unknown-field"),
        pytest.param(b"\xef\xbb\xbfdata: a\n\n", [ServerEvent("a")], id="bom"),
        pytest.param(b"data: a\n\ndata: b", [ServerEvent("a")], id="unterminated-event-dropped"),
        pytest.param(b"data: a\n", [], id="event-without-blank-line-dropped"),
        pytest.param(b"data: [DONE]", [ServerEvent("[DONE]")], id="done-without-newline"),
        pytest.param(b"data: [DONE]\n", [ServerEvent("[DONE]")], id="done-without-blank-line"),
    ],
)
def test_table(body: bytes, expected: list[ServerEvent]) -> None:
    assert decode([body]) == expected
    assert decode([body[i : i + 1] for i in range(len(body))]) == expected


def test_retry_field() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 3000\n\nretry: soon\n\n")
    assert decoder.retry == 3000


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_utf8_split_inside_a_character(cut: int) -> None:
    body = "data: \U0001f600\n\n".encode()
    start = body.index(b"\xf0")
    assert decode([body[: start + cut], body[start + cut :]]) == [ServerEvent("\U0001f600")]


def test_cr_lf_split_across_chunks_with_empty_chunk_between() -> None:
    assert decode([b"data: a\r", b"", b"\n\r", b"\n"]) == [ServerEvent("a")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode([b"data: \xff\n\n"]) == [ServerEvent("\ufffd")]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([b'{"a":1}\n{"b":2}\n'], ['{"a":1}', '{"b":2}'], id="lines"),
        pytest.param([b'{"a":1}\r\n\r\n{"b":2}\r\n'], ['{"a":1}', '{"b":2}'], id="crlf-blank"),
        pytest.param(
            [b'{"a"', b":1}\n{", b'"b":2}'], ['{"a":1}', '{"b":2}'], id="split-no-final-lf"
        ),
        pytest.param([b'{"t":"\xc3', b'\xa9"}\n'], ['{"t":"\u00e9"}'], id="utf8-split"),
        pytest.param([b"\n\n  \n"], [], id="blank"),
    ],
)
def test_ndjson(chunks: list[bytes], expected: list[str]) -> None:
    decoder = NDJSONDecoder()
    events: list[ServerEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.flush()
    assert [e.data for e in events] == expected


# -- the one-event-per-chunk fast path gives what the general path gives -----------------


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param(
            [b"event: delta\n", b"data: a\n\n"], [ServerEvent("a", "delta")], id="event-before"
        ),
        pytest.param([b"id: 7\n\n", b"data: a\n\n"], [ServerEvent("a", None, "7")], id="id-kept"),
        pytest.param([b"data: a\n", b"data: b\n\n"], [ServerEvent("a\nb")], id="data-pending"),
        pytest.param([b"da", b"ta: a\n\n"], [ServerEvent("a")], id="line-pending"),
        pytest.param([b"data: a\r", b"\ndata: b\n\n"], [ServerEvent("a\nb")], id="cr-pending"),
        pytest.param([b"data: a\rb\n\n"], [ServerEvent("a")], id="cr-ends-a-line"),
        pytest.param([b"\xef\xbb\xbfdata: a\n\n"], [ServerEvent("a")], id="bom-first"),
        pytest.param([b"data: \xc3", b"\xa9\n\n"], [ServerEvent("\u00e9")], id="utf8-split"),
        pytest.param(
            [b"data: \xc3", b"\xa9\n\n", b"data: b\n\n"],
            [ServerEvent("\u00e9"), ServerEvent("b")],
            id="after-utf8-split",
        ),
        pytest.param([b"data: \xff\n\n"], [ServerEvent("\ufffd")], id="invalid-utf8"),
        pytest.param(
            [b"data: a\n\ndata: b\n\n"], [ServerEvent("a"), ServerEvent("b")], id="two-in-one"
        ),
    ],
)
def test_fast_path_agrees(chunks: list[bytes], expected: list[ServerEvent]) -> None:
    assert decode(chunks) == expected
    assert decode([b"".join(chunks)]) == expected


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, null]}', "  {}", "{} ", "[1]\n", '"x"', "3", "true", "NaN"],
)
def test_json_loads_is_json_loads(text: str) -> None:
    assert json_loads(text) == json.loads(text) or text == "NaN"


@pytest.mark.parametrize("text", ["", "{", "{} x", "[1] [2]", "nope"])
def test_json_loads_raises_as_json_loads(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        json_loads(text)
    assert str(got.value) == str(expected.value)
