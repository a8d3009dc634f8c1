"""Messages -> ``system`` and ``messages``: every block type, each body checked by the SDK."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from llmplug import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llmplug.errors import UnsupportedContentError

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
PDF64 = base64.b64encode(PDF).decode()
CACHE = CachePoint(cache_control=CacheControl(type="ephemeral"))
CACHE_1H = CachePoint(cache_control=CacheControl(type="ephemeral", ttl="1h"))
EPHEMERAL = {"type": "ephemeral", "ttl": "5m"}


def user(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="user", blocks=list(blocks))


def assistant(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="assistant", blocks=list(blocks))


def tool(content: str, call_id: str = "toolu_1", **extra: Any) -> ChatMessage:
    return ChatMessage(
        role="tool", content=content, additional_kwargs={"tool_call_id": call_id, **extra}
    )


def body(make: Any, build: Any, *messages: ChatMessage, **options: Any) -> dict[str, Any]:
    json: dict[str, Any] = build(make(), list(messages), **options).json
    return json


def content(make: Any, build: Any, *blocks: Any) -> Any:
    return body(make, build, user(*blocks))["messages"][0]["content"]


def test_plain_text(make: Any, build: Any) -> None:
    assert body(make, build, user(TextBlock(text="Hi"))) == {
        "model": "claude-haiku-5-5",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize("role", ["system", "developer"])
def test_leading_system_messages_become_the_system_parameter(
    make: Any, build: Any, role: str
) -> None:
    sent = body(
        make,
        build,
        ChatMessage(role=role, content="Be brief."),
        ChatMessage(role=role, content="Answer in French."),
        ChatMessage(role="user", content="Hi"),
    )
    assert sent["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert sent["messages"] == [{"role": "user", "content": "Hi"}]


def test_a_later_system_message_stays_where_it_is(make: Any, build: Any) -> None:
    # moved to the top it would change what applies when, and void the prompt cache
    sent = body(
        make,
        build,
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="assistant", content="Hello."),
        ChatMessage(role="system", blocks=[TextBlock(text="From now on, French."), CACHE]),
        ChatMessage(role="user", content="Bye"),
    )
    assert sent["system"] == "Be brief."
    assert sent["messages"][2] == {
        "role": "system",
        "content": [{"type": "text", "text": "From now on, French.", "cache_control": EPHEMERAL}],
    }
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "system", "user"]


def test_one_system_text_is_a_string(make: Any, build: Any) -> None:
    sent = body(
        make, build, ChatMessage(role="system", content="Be brief."), user(TextBlock(text="Hi"))
    )
    assert sent["system"] == "Be brief."


def test_system_with_cache_control(make: Any, build: Any) -> None:
    sent = body(
        make,
        build,
        ChatMessage(role="system", blocks=[TextBlock(text="A long manual."), CACHE_1H]),
        user(TextBlock(text="Hi")),
    )
    assert sent["system"] == [
        {
            "type": "text",
            "text": "A long manual.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]


def test_system_takes_text_only(make: Any) -> None:
    system = ChatMessage(role="system", blocks=[ImageBlock(image=PNG)])
    with pytest.raises(UnsupportedContentError, match="system messages take text only"):
        make().build_request([system, user(TextBlock(text="Hi"))], {}, stream=False)


def test_consecutive_messages_of_one_role_are_merged(make: Any, build: Any) -> None:
    sent = body(
        make,
        build,
        user(TextBlock(text="One.")),
        user(TextBlock(text="Two.")),
        assistant(TextBlock(text="A.")),
        ChatMessage(role="model", content="B."),
        user(TextBlock(text="Three.")),
    )
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "A."}, {"type": "text", "text": "B."}],
        },
        {"role": "user", "content": "Three."},
    ]


def test_the_callers_messages_are_not_changed(make: Any, build: Any) -> None:
    messages = [user(TextBlock(text="One."), CACHE), user(TextBlock(text="Two."))]
    before = [m.model_dump() for m in messages]
    build(make(), messages)
    build(make(), messages)
    assert [m.model_dump() for m in messages] == before


# -- tool calls and results -------------------------------------------------------------


def test_tool_call_and_results(make: Any, build: Any) -> None:
    sent = body(
        make,
        build,
        user(TextBlock(text="Weather in Paris and Rome?")),
        assistant(
            TextBlock(text="Checking."),
            ToolCallBlock(
                tool_call_id="toolu_1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
            ),
            ToolCallBlock(
                tool_call_id="toolu_2", tool_name="get_weather", tool_kwargs='{"city": "Rome"}'
            ),
        ),
        tool("18C", "toolu_1"),
        tool("no such city", "toolu_2", is_error=True),
        user(TextBlock(text="Thanks; and tomorrow?")),
    )
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    # the tool results and the next user text are one user turn, results first
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": "no such city",
                "is_error": True,
            },
            {"type": "text", "text": "Thanks; and tomorrow?"},
        ],
    }


def test_tool_result_with_an_image(make: Any, build: Any) -> None:
    message = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="the chart:"), ImageBlock(image=PNG)],
        additional_kwargs={"tool_call_id": "toolu_9"},
    )
    (result,) = body(make, build, message)["messages"][0]["content"]
    assert result["tool_use_id"] == "toolu_9"
    assert [part["type"] for part in result["content"]] == ["text", "image"]


def test_tool_message_without_id(make: Any) -> None:
    with pytest.raises(UnsupportedContentError, match=r"additional_kwargs\['tool_call_id'\]"):
        make().build_request([ChatMessage(role="tool", content="18C")], {}, stream=False)


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(ToolCallBlock(tool_name="f"), "tool_call_id", id="no-id"),
        pytest.param(
            ToolCallBlock(tool_call_id="t", tool_name="f", tool_kwargs="not json"),
            "JSON object",
            id="bad-json",
        ),
        pytest.param(
            ToolCallBlock(tool_call_id="t", tool_name="f", tool_kwargs="[1]"),
            "JSON object",
            id="not-an-object",
        ),
    ],
)
def test_bad_tool_call(make: Any, block: ToolCallBlock, match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match):
        make().build_request([user(TextBlock(text="x")), assistant(block)], {}, stream=False)


def test_empty_tool_arguments(make: Any, build: Any) -> None:
    call = ToolCallBlock(tool_call_id="t", tool_name="now", tool_kwargs="")
    sent = body(make, build, user(TextBlock(text="time?")), assistant(call))
    assert sent["messages"][1]["content"][0]["input"] == {}


# -- images -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "source"),
    [
        pytest.param(
            ImageBlock(image=PNG),
            {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
            id="bytes",
        ),
        pytest.param(
            ImageBlock(url="https://example.com/cat.jpg"),
            {"type": "url", "url": "https://example.com/cat.jpg"},
            id="url",
        ),
        pytest.param(
            ImageBlock(url=f"data:image/png;base64,{base64.b64encode(PNG).decode()}"),
            {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
            id="data-url",
        ),
        pytest.param(
            ImageBlock(image=base64.b64encode(b"\xff\xd8\xff\xe0rest"), image_mimetype="image/jpg"),
            {
                "type": "base64",
                "media_type": "image/jpeg",
                "data": base64.b64encode(b"\xff\xd8\xff\xe0rest").decode(),
            },
            id="jpg-alias",
        ),
    ],
)
def test_image(make: Any, build: Any, block: ImageBlock, source: dict[str, Any]) -> None:
    assert content(make, build, block) == [{"type": "image", "source": source}]


def test_image_from_path(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    (part,) = content(make, build, ImageBlock(path=path))
    assert part["source"]["media_type"] == "image/png"
    assert base64.b64decode(part["source"]["data"]) == PNG


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(ImageBlock(image=b"BM\x00\x00bitmap"), "JPEG, PNG, GIF and WebP", id="bmp"),
        pytest.param(ImageBlock(url="ftp://example.com/a.png"), "http", id="ftp-url"),
    ],
)
def test_image_refused(make: Any, block: ImageBlock, match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match) as caught:
        make().build_request([user(block)], {}, stream=False)
    assert caught.value.block_type == "image"


# -- documents ---------------------------------------------------------------------------


def test_pdf_document(make: Any, build: Any) -> None:
    (part,) = content(make, build, DocumentBlock(data=PDF, title="Report"))
    assert part == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF64},
        "title": "Report",
    }


def test_pdf_document_from_path(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF)
    (part,) = content(make, build, DocumentBlock(path=path))
    assert part["source"] == {"type": "base64", "media_type": "application/pdf", "data": PDF64}
    assert "title" not in part  # no title given: none made up


def test_pdf_document_url(make: Any, build: Any) -> None:
    (part,) = content(make, build, DocumentBlock(url="https://example.com/paper.pdf"))
    assert part == {
        "type": "document",
        "source": {"type": "url", "url": "https://example.com/paper.pdf"},
    }


def test_text_document(make: Any, build: Any) -> None:
    (part,) = content(make, build, DocumentBlock(data=b"Line one.\nLine two.", title="notes.txt"))
    assert part == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "Line one.\nLine two."},
        "title": "notes.txt",
    }


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(
            DocumentBlock(url="https://example.com/notes.txt"),
            "only PDFs from a URL",
            id="text-url",
        ),
        pytest.param(
            DocumentBlock(data=b"PK\x03\x04zip", document_mimetype="application/zip"),
            "PDF and text documents",
            id="zip",
        ),
    ],
)
def test_document_refused(make: Any, block: DocumentBlock, match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match):
        make().build_request([user(block)], {}, stream=False)


# -- citable sources ---------------------------------------------------------------------


def test_citable_text_is_a_search_result_with_citations(make: Any, build: Any) -> None:
    block = CitableBlock(
        title="Handbook", source="https://example.com/handbook", content="The grass is green."
    )
    assert content(make, build, block, TextBlock(text="What colour is grass?")) == [
        {
            "type": "search_result",
            "source": "https://example.com/handbook",
            "title": "Handbook",
            "content": [{"type": "text", "text": "The grass is green."}],
            "citations": {"enabled": True},
        },
        {"type": "text", "text": "What colour is grass?"},
    ]


def test_citable_document(make: Any, build: Any) -> None:
    block = CitableBlock(title="Report", source="report.pdf", content=[DocumentBlock(data=PDF)])
    (part,) = content(make, build, block)
    assert part["type"] == "document"
    assert (part["title"], part["citations"]) == ("Report", {"enabled": True})


def test_citable_image_is_refused(make: Any) -> None:
    block = CitableBlock(title="t", source="s", content=[ImageBlock(image=PNG)])
    with pytest.raises(UnsupportedContentError, match="images cannot be cited"):
        make().build_request([user(block)], {}, stream=False)


def test_citations_in_history_are_left_out(make: Any, build: Any) -> None:
    citation = CitationBlock(
        cited_content="The grass is green.", source="s", title="t", additional_location_info={}
    )
    sent = body(
        make, build, user(TextBlock(text="q")), assistant(TextBlock(text="Green."), citation)
    )
    assert sent["messages"][1] == {"role": "assistant", "content": "Green."}


# -- cache points ------------------------------------------------------------------------


def test_cache_point_marks_the_block_before_it(make: Any, build: Any) -> None:
    doc = DocumentBlock(data=b"A long text.", title="t")
    parts = content(make, build, doc, CACHE, TextBlock(text="Summarise it."))
    assert parts[0]["cache_control"] == EPHEMERAL
    assert "cache_control" not in parts[1]


def test_cache_point_opening_a_message_marks_the_turn_before(make: Any, build: Any) -> None:
    sent = body(
        make,
        build,
        user(TextBlock(text="Context.")),
        assistant(TextBlock(text="Noted.")),
        user(CACHE, TextBlock(text="Question?")),
    )
    assert sent["messages"][1]["content"] == [
        {"type": "text", "text": "Noted.", "cache_control": EPHEMERAL}
    ]


def test_cache_point_opening_the_first_message_marks_the_system_prompt(
    make: Any, build: Any
) -> None:
    sent = body(
        make, build, ChatMessage(role="system", content="Manual."), user(CACHE, TextBlock(text="Q"))
    )
    assert sent["system"] == [{"type": "text", "text": "Manual.", "cache_control": EPHEMERAL}]


def test_cache_point_on_a_tool_result(make: Any, build: Any) -> None:
    message = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="a big result"), CACHE],
        additional_kwargs={"tool_call_id": "toolu_1"},
    )
    (result,) = body(make, build, message)["messages"][0]["content"]
    assert result["content"] == [
        {"type": "text", "text": "a big result", "cache_control": EPHEMERAL}
    ]


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        pytest.param([user(CACHE, TextBlock(text="Q"))], "none is before it", id="nothing-before"),
        pytest.param(
            [user(TextBlock(text="x"), *[CACHE] * 5)], "at most 4 cache points", id="five"
        ),
        pytest.param(
            [
                user(TextBlock(text="x")),
                assistant(ThinkingBlock(content="hm", signature="sig"), CACHE),
            ],
            "thinking block cannot carry",
            id="after-thinking",
        ),
        pytest.param(
            [user(TextBlock(text="x"), CachePoint(cache_control=CacheControl(type="persistent")))],
            "ephemeral",
            id="cache-type",
        ),
        pytest.param(
            [
                user(
                    TextBlock(text="x"),
                    CachePoint(cache_control=CacheControl(type="ephemeral", ttl="2h")),
                )
            ],
            "'5m' or '1h'",
            id="ttl",
        ),
    ],
)
def test_cache_point_refused(make: Any, messages: list[ChatMessage], match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match) as caught:
        make().build_request(messages, {}, stream=False)
    assert caught.value.block_type == "cache"


# -- thinking ------------------------------------------------------------------------------


def test_thinking_round_trip(make: Any, build: Any) -> None:
    sent = body(
        make,
        build,
        user(TextBlock(text="x")),
        assistant(
            ThinkingBlock(content="Let me think.", signature="sig-1"),
            ThinkingBlock.from_redacted("opaque=="),
            TextBlock(text="Done."),
        ),
    )
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque=="},
        {"type": "text", "text": "Done."},
    ]


def test_unsigned_thinking_is_left_out(make: Any, build: Any) -> None:
    # reasoning from another provider: the API takes back only thinking it signed
    sent = body(
        make,
        build,
        user(TextBlock(text="x")),
        assistant(ThinkingBlock(content="hm"), TextBlock(text="y")),
    )
    assert sent["messages"][1] == {"role": "assistant", "content": "y"}


# -- refused blocks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        pytest.param(user(AudioBlock(audio=b"RIFF....WAVEfmt ")), "audio", id="audio"),
        pytest.param(user(VideoBlock(url="https://example.com/v.mp4")), "video", id="video"),
        pytest.param(user(ThinkingBlock(content="hm")), "thinking", id="thinking-in-user"),
        pytest.param(user(ToolCallBlock(tool_name="f")), "tool_call", id="tool-call-in-user"),
        pytest.param(assistant(ImageBlock(image=PNG)), "image", id="image-in-assistant"),
        pytest.param(
            user(
                CitationBlock(cited_content="x", source="s", title="t", additional_location_info={})
            ),
            "citation",
            id="citation-in-user",
        ),
    ],
)
def test_refused_before_any_request(make: Any, message: ChatMessage, kind: str) -> None:
    with pytest.raises(UnsupportedContentError) as caught:
        make().build_request([message], {}, stream=False)
    assert (caught.value.provider, caught.value.block_type) == ("anthropic", kind)
    assert "anthropic cannot take" in str(caught.value)
