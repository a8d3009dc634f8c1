"""A file or URL as the block its content calls for: sniffed, not only named."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from llmplug import AudioBlock, DocumentBlock, ImageBlock, VideoBlock
from llmplug.types import attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
PDF = b"%PDF-1.7\n" + b"\x00" * 24
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 16
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16
BINARY = b"\x00\x01\x02\x03" * 8


@pytest.mark.parametrize(
    ("name", "data", "cls", "mimetype"),
    [
        pytest.param("scan.dat", PNG, ImageBlock, "image/png", id="png-misnamed"),
        pytest.param("report", PDF, DocumentBlock, "application/pdf", id="pdf-no-extension"),
        pytest.param("voice.bin", WAV, AudioBlock, "audio/wav", id="wav"),
        pytest.param("clip", MP4, VideoBlock, "video/mp4", id="mp4"),
        pytest.param("notes.md", b"# Notes\n", DocumentBlock, "text/markdown", id="by-extension"),
        pytest.param("notes", "héllo\n".encode(), DocumentBlock, "text/plain", id="utf8-text"),
    ],
)
def test_files_are_sniffed(
    tmp_path: Path, name: str, data: bytes, cls: type, mimetype: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    block = attachment(str(path))
    assert type(block) is cls
    assert block.path == path
    assert block._mimetype() == mimetype


def test_the_block_reads_the_file_when_sent(tmp_path: Path) -> None:
    path = tmp_path / "scan.dat"
    path.write_bytes(PNG)
    block = attachment(path)
    assert isinstance(block, ImageBlock)
    assert block.resolve_image().read() == PNG


@pytest.mark.parametrize(
    ("given", "cls", "mimetype"),
    [
        pytest.param("application/pdf", DocumentBlock, "application/pdf", id="mimetype"),
        pytest.param("image/jpeg", ImageBlock, "image/jpeg", id="other-kind"),
        pytest.param("document", DocumentBlock, "text/plain", id="kind"),
    ],
)
def test_a_given_type_wins(tmp_path: Path, given: str, cls: type, mimetype: str) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello", encoding="utf-8")
    block = attachment(path, given)
    assert type(block) is cls
    assert block._mimetype() == mimetype


@pytest.mark.parametrize(
    ("data", "given", "message"),
    [
        pytest.param(BINARY, None, "cannot tell what kind of file", id="unknown-binary"),
        pytest.param(PNG, "document", "is image/png, not document", id="kind-mismatch"),
        pytest.param(PNG, "picture", "is not a content type", id="bad-type"),
    ],
)
def test_what_cannot_be_told_is_an_error(
    tmp_path: Path, data: bytes, given: str | None, message: str
) -> None:
    path = tmp_path / "blob"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        attachment(path, given)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        attachment(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="is not a file"):
        attachment(tmp_path)


def test_a_url_named_with_its_type_is_not_fetched() -> None:
    block = attachment("https://example.test/files/song.mp3?sig=abc")
    assert isinstance(block, AudioBlock)
    assert block.format == "mp3"
    assert str(block.url) == "https://example.test/files/song.mp3?sig=abc"


def test_a_url_without_a_telling_name_is_fetched_and_sniffed() -> None:
    url = "data:;base64," + base64.b64encode(PDF).decode()  # fetched without a network
    block = attachment(url)
    assert isinstance(block, DocumentBlock)
    assert block.document_mimetype == "application/pdf"
    assert block.resolve_document().read() == PDF
