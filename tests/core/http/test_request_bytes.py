"""Raw bodies both ways: ``content=`` uploads (``multipart_form``) and ``request_bytes``."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Mapping

import httpx2
import pytest

from llmplug.errors import APIConnectionError, NotFoundError
from llmplug.http import HTTPRequest, OutgoingRequest, multipart_form
from llmplug.http.testing import FakeClock, MockServer, Reply

from .conftest import CANARY, EchoLLM

MODES = ["sync", "async"]
DATA = b'{"custom_id": "r0"}\n{"custom_id": "r1"}\n'


def _llm(server: MockServer, clock: FakeClock | None = None) -> EchoLLM:
    return EchoLLM(
        api_key=CANARY,
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=clock or FakeClock(),
    )


async def _json(llm: EchoLLM, mode: str, request: HTTPRequest) -> object:
    if mode == "sync":
        return llm.request_json(request)
    return await llm.arequest_json(request)


async def _bytes(llm: EchoLLM, mode: str, request: HTTPRequest, **options: object) -> bytes:
    if mode == "sync":
        return llm.request_bytes(request, **options)
    return await llm.arequest_bytes(request, **options)


def _form_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """Each part of a multipart body, parsed by the standard library's MIME parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert message.is_multipart()
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts[str(name)] = (part.get_filename(), part.get_content_type(), payload)
    return parts


# -- multipart_form --------------------------------------------------------------------


def test_multipart_form_is_read_back_by_a_mime_parser() -> None:
    body, content_type = multipart_form(
        {"purpose": "batch"}, {"file": ("requests.jsonl", DATA, "application/jsonl")}
    )
    assert content_type.startswith("multipart/form-data; boundary=llmplug.")
    parts = _form_parts(content_type, body)
    assert parts["purpose"] == (None, "text/plain", b"batch")
    assert parts["file"] == ("requests.jsonl", "application/jsonl", DATA)


def test_each_form_has_its_own_boundary() -> None:
    first = multipart_form({"a": "1"}, {})[1]
    assert first != multipart_form({"a": "1"}, {})[1]


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        pytest.param({'na"me': "x"}, {}, id="quote-in-a-name"),
        pytest.param({}, {"file": ("a\r\nX-Evil: 1", b"", "text/plain")}, id="crlf-in-filename"),
        pytest.param({}, {"file": ("a.txt", b"", "text/plain\nX: y")}, id="newline-in-type"),
    ],
)
def test_multipart_form_refuses_what_would_break_a_part_header(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> None:
    with pytest.raises(ValueError, match="cannot hold quotes"):
        multipart_form(fields, files)


# -- content= bodies -------------------------------------------------------------------


def test_an_http_request_has_json_or_content_never_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        HTTPRequest("/files", json={"a": 1}, content=b"x")
    with pytest.raises(ValueError, match="takes bytes"):
        HTTPRequest("/files", content="text")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
async def test_an_upload_sends_the_bytes_as_they_are_and_the_same_on_a_retry(mode: str) -> None:
    clock = FakeClock()
    server = MockServer(
        Reply(503, json={"error": {"message": "busy"}}, headers={"retry-after": "2"}),
        Reply(200, json={"id": "file-1", "object": "file"}),
    )
    body, content_type = multipart_form(
        {"purpose": "batch"}, {"file": ("b.jsonl", DATA, "application/jsonl")}
    )
    request = HTTPRequest("/files", content=body, headers={"Content-Type": content_type})
    assert await _json(_llm(server, clock), mode, request) == {"id": "file-1", "object": "file"}
    assert clock.sleeps == [2.0]
    for sent in server.requests:
        assert sent.read() == body
        assert sent.headers["content-type"] == content_type
        assert sent.headers["content-length"] == str(len(body))
        assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert server.open_bodies == []


SEEN: list[OutgoingRequest] = []


class _Signed(EchoLLM):
    def sign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        SEEN.append(request)
        return {"X-Signature": str(len(request.body))}


def test_a_signing_provider_signs_the_raw_body_it_sends() -> None:
    server = MockServer(Reply(200, json={"ok": True}))
    llm = _Signed(api_key=CANARY, transport=server.transport(), clock=FakeClock())
    SEEN.clear()
    llm.request_json(HTTPRequest("/files", content=DATA, headers={"Content-Type": "x/y"}))
    (signed,) = SEEN
    assert signed.body == DATA
    (sent,) = server.requests
    assert sent.read() == DATA
    assert sent.headers["x-signature"] == str(len(DATA))


# -- request_bytes ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_request_bytes_returns_the_body_undecoded(mode: str) -> None:
    # not JSON as a whole (JSONL): request_json would refuse it, request_bytes keeps it
    server = MockServer(Reply(200, body=[DATA[:7], DATA[7:]]))
    request = HTTPRequest("/files/file-1/content", method="GET")
    assert await _bytes(_llm(server), mode, request) == DATA
    (sent,) = server.requests
    assert sent.method == "GET"
    assert str(sent.url) == "https://api.example.test/v1/files/file-1/content"
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_request_bytes_retries_and_maps_errors(mode: str) -> None:
    clock = FakeClock()
    server = MockServer(
        Reply(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "3"}),
        Reply(404, json={"error": {"message": "no such file"}}),
    )
    with pytest.raises(NotFoundError, match="no such file"):
        await _bytes(_llm(server, clock), mode, HTTPRequest("/files/x/content", method="GET"))
    assert clock.sleeps == [3.0]
    assert server.open_bodies == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_download_cut_after_its_first_bytes_is_not_retried(mode: str) -> None:
    # as for request_json: once body bytes arrived, another attempt could repeat a side effect
    cut = httpx2.ReadError("connection reset")
    server = MockServer(Reply(200, body=[b"partial", cut]), Reply(200, body=[DATA]))
    with pytest.raises(APIConnectionError):
        await _bytes(_llm(server), mode, HTTPRequest("/f", method="GET"), max_retries=2)
    assert len(server.requests) == 1
    assert server.open_bodies == []
