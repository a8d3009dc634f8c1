from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import AnyUrl, TypeAdapter, ValidationError

from llmplug import (
    AudioBlock,
    CacheControl,
    CachePoint,
    CitableBlock,
    CitationBlock,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llmplug.errors import APIConnectionError, APIStatusError, APITimeoutError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"

BINARY: dict[type[Any], str] = {
    ImageBlock: "image",
    AudioBlock: "audio",
    VideoBlock: "video",
    DocumentBlock: "data",
}
# the field each binary block guesses: a mimetype, or the audio format (an extension)
GUESSED: dict[type[Any], str] = {
    ImageBlock: "image_mimetype",
    AudioBlock: "format",
    VideoBlock: "video_mimetype",
    DocumentBlock: "document_mimetype",
}
# where the loopback server serves each sample
SERVED: dict[type[Any], str] = {
    ImageBlock: "image.png",
    AudioBlock: "a.wav",
    VideoBlock: "v.mp4",
    DocumentBlock: "doc.pdf",
}
SAMPLES: dict[type[Any], bytes] = {
    ImageBlock: PNG,
    AudioBlock: WAV,
    VideoBlock: MP4,
    DocumentBlock: PDF,
}


def make(cls: type[Any], data: bytes | str) -> Any:
    return cls(**{BINARY[cls]: data})


def resolve(block: Any, **kwargs: Any) -> bytes:
    kind = "document" if isinstance(block, DocumentBlock) else BINARY[type(block)]
    return bytes(getattr(block, f"resolve_{kind}")(**kwargs).getvalue())


async def aresolve(block: Any, **kwargs: Any) -> bytes:
    kind = "document" if isinstance(block, DocumentBlock) else BINARY[type(block)]
    return bytes((await getattr(block, f"aresolve_{kind}")(**kwargs)).getvalue())


# --------------------------------------------------------------------------- loopback server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Serve the samples at /<name>, 404 elsewhere; /slow answers only at teardown."""
    release = threading.Event()
    routes = {"/image.png": PNG, "/doc.pdf": PDF, "/a.wav": WAV, "/v.mp4": MP4, "/empty": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/slow":
                release.wait(10)
                return
            body = routes.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# --------------------------------------------------------------------------- base64 storage


@pytest.mark.parametrize("cls", list(BINARY))
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda raw: raw, id="raw-bytes"),
        pytest.param(base64.b64encode, id="base64-bytes"),
        pytest.param(lambda raw: base64.b64encode(raw).decode(), id="base64-str"),
    ],
)
def test_binary_blocks_store_base64(cls: type[Any], encode: Any) -> None:
    raw = SAMPLES[cls]
    block = make(cls, encode(raw))
    assert getattr(block, BINARY[cls]) == base64.b64encode(raw)
    assert resolve(block) == raw
    assert resolve(block, **({} if cls is DocumentBlock else {"as_base64": True})) == (
        raw if cls is DocumentBlock else base64.b64encode(raw)
    )


def test_already_base64_data_is_not_encoded_twice() -> None:
    once = ImageBlock(image=PNG)
    again = ImageBlock(image=once.image)
    assert again == once
    assert ImageBlock.model_validate(once.model_dump()).image == once.image


@pytest.mark.parametrize(
    ("cls", "raw", "expected"),
    [
        pytest.param(ImageBlock, PNG, "image/png", id="png"),
        pytest.param(ImageBlock, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", id="jpeg"),
        pytest.param(ImageBlock, b"GIF89a\x01\x00\x01\x00\x00\x00", "image/gif", id="gif"),
        pytest.param(ImageBlock, b"RIFF\x1a\x00\x00\x00WEBPVP8 ", "image/webp", id="webp"),
        pytest.param(ImageBlock, b"BM6\x00\x00\x00\x00\x00\x00\x006\x00", "image/bmp", id="bmp"),
        pytest.param(ImageBlock, b"II*\x00\x08\x00\x00\x00", "image/tiff", id="tiff"),
        pytest.param(ImageBlock, b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic", id="heic"),
        pytest.param(ImageBlock, b"\x00\x00\x00\x1cftypavif\x00\x00", "image/avif", id="avif"),
        pytest.param(ImageBlock, PDF, "application/pdf", id="image-given-a-pdf"),
        pytest.param(ImageBlock, b"\x01\x02\x03 not an image", None, id="image-unknown"),
        pytest.param(AudioBlock, WAV, "wav", id="wav"),
        pytest.param(AudioBlock, b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3", id="mp3-id3"),
        pytest.param(AudioBlock, b"\xff\xfb\x90\x64\x00\x00\x00\x00", "mp3", id="mp3-frame"),
        pytest.param(AudioBlock, b"OggS\x00\x02\x00\x00", "ogg", id="ogg"),
        pytest.param(AudioBlock, b"fLaC\x00\x00\x00\x22", "flac", id="flac"),
        pytest.param(AudioBlock, b"\x00\x00\x00\x20ftypM4A \x00\x00", "m4a", id="m4a"),
        pytest.param(AudioBlock, b"\xff\xf1\x50\x80\x00\x1f\xfc", "aac", id="aac"),
        pytest.param(
            AudioBlock, b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm", "webm", id="a-webm"
        ),
        pytest.param(VideoBlock, MP4, "video/mp4", id="mp4"),
        pytest.param(VideoBlock, b"\x00\x00\x00\x14ftypqt  \x00\x00", "video/quicktime", id="mov"),
        pytest.param(
            VideoBlock, b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm", "video/webm", id="webm"
        ),
        pytest.param(
            VideoBlock,
            b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x88matroska",
            "video/x-matroska",
            id="mkv",
        ),
        pytest.param(VideoBlock, b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo", id="avi"),
        pytest.param(VideoBlock, PNG, None, id="video-given-an-image"),
        pytest.param(DocumentBlock, PDF, "application/pdf", id="pdf"),
        pytest.param(DocumentBlock, b"PK\x03\x04\x14\x00\x06\x00", "application/zip", id="zip"),
        pytest.param(DocumentBlock, b"{\\rtf1\\ansi hello}", "application/rtf", id="rtf"),
        pytest.param(DocumentBlock, "Grüße, world!\n".encode(), "text/plain", id="utf8-text"),
        pytest.param(DocumentBlock, b"\x00\x01\x02\x03\xfe" * 12, None, id="doc-unknown"),
    ],
)
def test_mimetype_is_sniffed_from_bytes(cls: type[Any], raw: bytes, expected: str | None) -> None:
    assert getattr(make(cls, raw), GUESSED[cls]) == expected
    assert getattr(make(cls, base64.b64encode(raw)), GUESSED[cls]) == expected


@pytest.mark.parametrize("cls", list(BINARY))
def test_given_mimetype_is_kept(cls: type[Any]) -> None:
    block = cls(**{BINARY[cls]: SAMPLES[cls], GUESSED[cls]: "x/custom"})
    assert getattr(block, GUESSED[cls]) == "x/custom"


@pytest.mark.parametrize(
    ("cls", "name", "expected"),
    [
        pytest.param(ImageBlock, "photo.JPG", "image/jpeg", id="image-jpg"),
        pytest.param(ImageBlock, "pic.webp", "image/webp", id="image-webp"),
        pytest.param(ImageBlock, "song.mp3", None, id="image-not-an-image"),
        pytest.param(ImageBlock, "noext", None, id="image-no-extension"),
        pytest.param(AudioBlock, "song.mp3", "mp3", id="audio-mp3"),
        pytest.param(AudioBlock, "voice.wav", "wav", id="audio-wav"),
        pytest.param(AudioBlock, "notes.txt", None, id="audio-not-audio"),
        pytest.param(VideoBlock, "clip.mp4", "video/mp4", id="video-mp4"),
        pytest.param(VideoBlock, "clip.mov", "video/quicktime", id="video-mov"),
        pytest.param(VideoBlock, "pic.png", None, id="video-not-video"),
        pytest.param(DocumentBlock, "paper.pdf", "application/pdf", id="doc-pdf"),
        pytest.param(DocumentBlock, "notes.txt", "text/plain", id="doc-txt"),
        pytest.param(
            DocumentBlock,
            "memo.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            id="doc-docx",
        ),
    ],
)
def test_mimetype_from_path_and_url_extension(
    cls: type[Any], name: str, expected: str | None
) -> None:
    # no I/O: the path need not exist and the URL is never fetched here
    assert getattr(cls(path=Path("/nowhere") / name), GUESSED[cls]) == expected
    assert getattr(cls(url=f"https://example.com/x/{name}?sig=abc#frag"), GUESSED[cls]) == expected


def test_data_url_gives_mimetype_and_resolves() -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    block = ImageBlock(url=url)
    assert block.image_mimetype == "image/png"
    assert block.resolve_image().getvalue() == PNG
    plain = DocumentBlock(url="data:text/plain,hello%20world")
    assert plain.document_mimetype == "text/plain"
    assert plain.resolve_document().getvalue() == b"hello world"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("data:image/png;base64,***", id="bad-base64"),
        pytest.param("data:image/png;base64", id="no-comma"),
    ],
)
def test_malformed_data_url_raises(url: str) -> None:
    with pytest.raises(ValueError, match="malformed data: URL"):
        ImageBlock(url=url).resolve_image()


# --------------------------------------------------------------------------- resolving


@pytest.mark.parametrize("cls", list(BINARY))
def test_resolve_from_path_is_lazy_and_does_not_mutate(cls: type[Any], tmp_path: Path) -> None:
    path = tmp_path / "sample.bin"
    block = cls(path=path)  # the file does not exist yet: nothing is read on creation
    path.write_bytes(SAMPLES[cls])
    before = block.model_dump()
    assert resolve(block) == SAMPLES[cls]
    assert block.model_dump() == before


async def test_aresolve_from_path(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG)
    assert await aresolve(ImageBlock(path=path)) == PNG
    assert await aresolve(ImageBlock(path=path), as_base64=True) == base64.b64encode(PNG)


def test_resolve_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        ImageBlock(path=tmp_path / "missing.png").resolve_image()


@pytest.mark.parametrize("cls", list(BINARY))
def test_resolve_from_url(cls: type[Any], server: str) -> None:
    block = cls(url=f"{server}/{SERVED[cls]}")
    before = block.model_dump()
    assert resolve(block) == SAMPLES[cls]
    assert block.model_dump() == before


@pytest.mark.parametrize("cls", list(BINARY))
async def test_aresolve_from_url(cls: type[Any], server: str) -> None:
    assert await aresolve(cls(url=f"{server}/{SERVED[cls]}")) == SAMPLES[cls]


def test_url_404_names_url_and_status_but_not_query(server: str) -> None:
    block = ImageBlock(url=f"{server}/nope.png?token=SECRET")
    with pytest.raises(APIStatusError) as info:
        block.resolve_image()
    assert info.value.status_code == 404
    message = str(info.value)
    assert f"{server}/nope.png" in message
    assert "404" in message
    assert "image" in message
    assert "SECRET" not in message


async def test_aresolve_url_404(server: str) -> None:
    with pytest.raises(APIStatusError, match="404") as info:
        await DocumentBlock(url=f"{server}/missing.pdf").aresolve_document()
    assert info.value.status_code == 404


def test_url_timeout(server: str) -> None:
    with pytest.raises(APITimeoutError, match=r"timed out after 0\.2 s.*/slow"):
        ImageBlock(url=f"{server}/slow").resolve_image(timeout=0.2)


async def test_aresolve_url_timeout(server: str) -> None:
    with pytest.raises(APITimeoutError, match="/slow"):
        await AudioBlock(url=f"{server}/slow").aresolve_audio(timeout=0.2)


def test_url_connection_refused() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on the port any more
    with pytest.raises(APIConnectionError, match=f"127.0.0.1:{port}/x.png") as info:
        ImageBlock(url=f"http://127.0.0.1:{port}/x.png").resolve_image(timeout=5)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.__cause__ is not None


def test_url_zero_bytes(server: str) -> None:
    with pytest.raises(ValueError, match="resolve_image returned zero bytes"):
        ImageBlock(url=f"{server}/empty").resolve_image()


def test_unsupported_url_scheme() -> None:
    with pytest.raises(ValueError, match="'ftp' URL"):
        ImageBlock(url="ftp://example.com/a.png").resolve_image()


@pytest.mark.parametrize(
    ("block", "method"),
    [
        pytest.param(ImageBlock(), "resolve_image", id="image"),
        pytest.param(AudioBlock(), "resolve_audio", id="audio"),
        pytest.param(VideoBlock(), "resolve_video", id="video"),
        pytest.param(DocumentBlock(), "resolve_document", id="document"),
    ],
)
def test_resolve_without_source_raises(block: Any, method: str) -> None:
    with pytest.raises(ValueError, match=f"{type(block).__name__} has nothing to resolve"):
        getattr(block, method)()


async def test_aresolve_without_source_raises() -> None:
    with pytest.raises(ValueError, match="VideoBlock has nothing to resolve"):
        await VideoBlock().aresolve_video()


@pytest.mark.parametrize(
    "make_block",
    [
        pytest.param(lambda tmp: ImageBlock(image=b""), id="empty-data"),
        pytest.param(lambda tmp: ImageBlock(path=tmp / "empty.png"), id="empty-file"),
    ],
)
def test_zero_bytes_raise(make_block: Any, tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="zero bytes"):
        make_block(tmp_path).resolve_image()


def test_data_takes_precedence_over_path_and_url(tmp_path: Path) -> None:
    path = tmp_path / "other.png"
    path.write_bytes(b"other")
    block = ImageBlock(image=PNG, path=path, url="http://127.0.0.1:9/never")
    assert block.resolve_image().getvalue() == PNG


def test_raw_bytes_assigned_after_creation_still_resolve() -> None:
    block = ImageBlock(image=PNG)
    block.image = PNG  # no validation on assignment: the field now holds raw bytes
    assert block.resolve_image().getvalue() == PNG
    assert block.resolve_image(as_base64=True).getvalue() == base64.b64encode(PNG)


def test_inline_url() -> None:
    assert ImageBlock(image=PNG).inline_url() == (
        "data:image/png;base64," + base64.b64encode(PNG).decode()
    )
    assert AudioBlock(audio=WAV).inline_url().startswith("data:audio/wav;base64,")
    assert (
        DocumentBlock(data=b"\x00\x01")
        .inline_url()
        .startswith("data:application/octet-stream;base64,")
    )


def test_document_defaults_and_guess_format() -> None:
    block = DocumentBlock(path=Path("/docs/report.pdf"))
    assert block.title == "input_document"
    assert block.guess_format() == "pdf"
    assert DocumentBlock(url="https://x.org/a/b.docx?v=2").guess_format() == "docx"
    assert DocumentBlock(data=PDF).guess_format() is None
    assert DocumentBlock(data=PDF, title="Paper").title == "Paper"


# --------------------------------------------------------------------------- other blocks


def test_citable_block_accepts_str_and_blocks() -> None:
    block = CitableBlock(title="t", source="s", content="some text")
    assert block.content == [TextBlock(text="some text")]
    mixed = CitableBlock(
        title="t",
        source="s",
        content=[
            {"block_type": "text", "text": "a"},
            DocumentBlock(data=PDF),
            ImageBlock(image=PNG),
        ],
    )
    assert [type(b) for b in mixed.content] == [TextBlock, DocumentBlock, ImageBlock]
    with pytest.raises(ValidationError):
        CitableBlock(title="t", source="s", content=[AudioBlock(audio=WAV)])


@pytest.mark.parametrize(
    "cited",
    [
        pytest.param("quoted", id="str"),
        pytest.param(["quoted"], id="list-of-one-str"),
        pytest.param([TextBlock(text="quoted")], id="list-of-one-block"),
        pytest.param({"block_type": "text", "text": "quoted"}, id="dict"),
    ],
)
def test_citation_block_cited_content(cited: Any) -> None:
    block = CitationBlock(cited_content=cited, source="s", title="t", additional_location_info={})
    assert block.cited_content == TextBlock(text="quoted")


def test_citation_block_rejects_several_cited_blocks() -> None:
    with pytest.raises(ValidationError, match="exactly one block"):
        CitationBlock(cited_content=["a", "b"], source="s", title="t", additional_location_info={})


def test_cache_point_defaults() -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    assert point.block_type == "cache"
    assert point.cache_control.ttl == "5m"


def test_thinking_block_llamaindex_fields() -> None:
    block = ThinkingBlock()
    assert (block.content, block.num_tokens, block.additional_information) == (None, None, {})
    assert block.signature is None
    assert not block.redacted


def test_thinking_block_signature() -> None:
    # as LlamaIndex's Anthropic integration stores it
    li_style = ThinkingBlock(
        content="hmm", additional_information={"signature": "sig", "type": "thinking"}
    )
    assert li_style.signature == "sig"
    shortcut = ThinkingBlock(content="hmm", signature="sig")
    assert shortcut.additional_information == {"signature": "sig"}
    merged = ThinkingBlock(signature="new", additional_information={"signature": "old", "k": 1})
    assert merged.additional_information == {"signature": "new", "k": 1}
    assert ThinkingBlock(signature=None).additional_information == {}
    shortcut.signature = "changed"
    assert shortcut.additional_information["signature"] == "changed"
    shortcut.signature = None
    assert "signature" not in shortcut.additional_information
    assert (
        ThinkingBlock.model_validate({"block_type": "thinking", "signature": "s"}).signature == "s"
    )


def test_thinking_block_redacted() -> None:
    block = ThinkingBlock.from_redacted("opaque==")
    assert block.redacted
    assert block.redacted_data == "opaque=="
    assert block.content is None
    again = ThinkingBlock.model_validate_json(block.model_dump_json())
    assert again.redacted_data == "opaque=="
    assert ThinkingBlock(content="x").redacted_data is None


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"city": "Paris", "days": [1, 2]}, id="dict"),
        pytest.param('{"city": "Par', id="partial-json-str"),
        pytest.param({}, id="empty"),
    ],
)
def test_tool_call_block(kwargs: Any) -> None:
    block = ToolCallBlock(tool_call_id="call_1", tool_name="weather", tool_kwargs=kwargs)
    assert ToolCallBlock.model_validate_json(block.model_dump_json()) == block
    assert ToolCallBlock(tool_name="t").tool_kwargs == {}
    assert ToolCallBlock(tool_name="t").tool_call_id is None


# --------------------------------------------------------------------------- union and round trips

ALL_BLOCKS = [
    pytest.param(TextBlock(text="hello"), id="text"),
    pytest.param(ImageBlock(image=PNG, detail="high"), id="image-data"),
    pytest.param(ImageBlock(path=Path("/tmp/x.png")), id="image-path"),
    pytest.param(ImageBlock(url="https://example.com/x.png"), id="image-url"),
    pytest.param(AudioBlock(audio=WAV), id="audio"),
    pytest.param(VideoBlock(video=MP4, fps=2), id="video"),
    pytest.param(DocumentBlock(data=PDF, title="Paper"), id="document"),
    pytest.param(DocumentBlock(url="https://example.com/a.pdf"), id="document-url"),
    pytest.param(CachePoint(cache_control=CacheControl(type="ephemeral", ttl="1h")), id="cache"),
    pytest.param(
        CitableBlock(title="t", source="s", content=[TextBlock(text="x"), ImageBlock(image=PNG)]),
        id="citable",
    ),
    pytest.param(
        CitationBlock(
            cited_content="c", source="s", title="t", additional_location_info={"page": 3}
        ),
        id="citation",
    ),
    pytest.param(ThinkingBlock(content="because", num_tokens=7, signature="sig"), id="thinking"),
    pytest.param(ThinkingBlock.from_redacted("opaque"), id="redacted-thinking"),
    pytest.param(
        ToolCallBlock(tool_call_id="c1", tool_name="f", tool_kwargs={"a": [1, {"b": None}]}),
        id="tool-call",
    ),
]

ADAPTER: TypeAdapter[Any] = TypeAdapter(ContentBlock)


@pytest.mark.parametrize("block", ALL_BLOCKS)
def test_every_block_round_trips(block: Any) -> None:
    assert ADAPTER.validate_python(block.model_dump()) == block
    assert ADAPTER.validate_json(block.model_dump_json()) == block
    assert type(block).model_validate_json(block.model_dump_json()) == block


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        pytest.param({"block_type": "text", "text": "x"}, TextBlock, id="text"),
        pytest.param({"block_type": "image", "url": "https://e.com/a.png"}, ImageBlock, id="image"),
        pytest.param({"block_type": "audio", "path": "a.wav"}, AudioBlock, id="audio"),
        pytest.param({"block_type": "video", "url": "https://e.com/v.mp4"}, VideoBlock, id="video"),
        pytest.param({"block_type": "document", "data": "JVBERi0="}, DocumentBlock, id="document"),
        pytest.param(
            {"block_type": "cache", "cache_control": {"type": "ephemeral"}}, CachePoint, id="cache"
        ),
        pytest.param(
            {"block_type": "citable", "title": "t", "source": "s", "content": "x"},
            CitableBlock,
            id="citable",
        ),
        pytest.param(
            {
                "block_type": "citation",
                "cited_content": {"block_type": "text", "text": "x"},
                "source": "s",
                "title": "t",
                "additional_location_info": {},
            },
            CitationBlock,
            id="citation",
        ),
        pytest.param({"block_type": "thinking", "content": "x"}, ThinkingBlock, id="thinking"),
        pytest.param({"block_type": "tool_call", "tool_name": "f"}, ToolCallBlock, id="tool_call"),
    ],
)
def test_union_picks_class_from_block_type(data: dict[str, Any], cls: type[Any]) -> None:
    assert type(ADAPTER.validate_python(data)) is cls


def test_union_rejects_unknown_block_type() -> None:
    with pytest.raises(ValidationError, match="block_type"):
        ADAPTER.validate_python({"block_type": "hologram"})


def test_import_is_cheap() -> None:
    code = (
        "import sys, llmplug.types._blocks, llmplug.types._messages, llmplug.types._responses; "
        "print(sorted(m for m in ('httpx2', 'asyncio', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "word",
    [
        pytest.param(b"Test", id="Test"),
        pytest.param(b"abcd", id="abcd"),
        pytest.param(b"ZZZZ", id="ZZZZ"),
    ],
)
def test_short_word_that_is_valid_base64_by_accident_is_kept_raw(word: bytes) -> None:
    # LlamaIndex stores b"Test" as if it were base64 and resolves it to garbage
    block = DocumentBlock(data=word)
    assert block.resolve_document().read() == word
    assert block.document_mimetype == "text/plain"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("not a url", id="words"),
        pytest.param("/tmp/x.png", id="path"),
        pytest.param("http:", id="empty"),
    ],
)
def test_url_without_a_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="is not a URL"):
        ImageBlock(url=url)


def test_url_objects_are_read_through_their_text() -> None:
    class Url:
        def __str__(self) -> str:
            return "https://example.com/a.png"

    block = ImageBlock(url=Url())
    assert block.url == AnyUrl("https://example.com/a.png")
    assert block.image_mimetype == "image/png"
    # a document's URL stays text, as in LlamaIndex
    assert DocumentBlock(url=Url()).url == "https://example.com/a.png"
