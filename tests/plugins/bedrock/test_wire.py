"""Messages -> Converse's ``system`` and ``messages``: every mapping, every refusal.

Each body built here is validated by botocore's service model and serialized by
botocore to the same request (``build``).
"""

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

from . import wire_data as w

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
PDF = b"%PDF-1.7\n" + b"\x00" * 24
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 16
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="user", blocks=list(blocks))


def test_text_and_system(make: Any, build: Any) -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="developer", content="Answer in French."),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="assistant", content="Bonjour."),
        ChatMessage(role="user", content="Again"),
    ]
    body = build(make(), messages).json
    assert body["system"] == [{"text": "Be brief."}, {"text": "Answer in French."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Hi"}]},
        {"role": "assistant", "content": [{"text": "Bonjour."}]},
        {"role": "user", "content": [{"text": "Again"}]},
    ]


def test_a_later_system_message_joins_the_system_blocks(make: Any, build: Any) -> None:
    messages = [
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="system", content="From now on, be terse."),
        ChatMessage(role="user", content="Go on"),
    ]
    body = build(make(), messages).json
    assert body["system"] == [{"text": "From now on, be terse."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "Hi"}, {"text": "Go on"}]}]


def test_consecutive_turns_of_a_role_are_merged_and_empty_text_left_out(
    make: Any, build: Any
) -> None:
    messages = [
        ChatMessage(role="user", content="One"),
        ChatMessage(role="user", blocks=[TextBlock(text=""), TextBlock(text="Two")]),
    ]
    body = build(make(), messages).json
    assert body["messages"] == [{"role": "user", "content": [{"text": "One"}, {"text": "Two"}]}]
    assert "system" not in body


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(
            ImageBlock(image=PNG),
            {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
            id="png-bytes",
        ),
        pytest.param(
            ImageBlock(image=JPEG, image_mimetype="image/jpg"),
            {"image": {"format": "jpeg", "source": {"bytes": b64(JPEG)}}},
            id="jpg-alias",
        ),
        pytest.param(
            ImageBlock(url=f"data:image/png;base64,{b64(PNG)}"),
            {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
            id="data-url",
        ),
        pytest.param(
            ImageBlock(url="s3://my-bucket/pictures/cat.webp"),
            {
                "image": {
                    "format": "webp",
                    "source": {"s3Location": {"uri": "s3://my-bucket/pictures/cat.webp"}},
                }
            },
            id="s3",
        ),
        pytest.param(
            DocumentBlock(data=PDF, title="Q3 report_final.v2"),
            {
                "document": {
                    "format": "pdf",
                    "name": "Q3 report final v2",
                    "source": {"bytes": b64(PDF)},
                }
            },
            id="pdf-name-cleaned",
        ),
        pytest.param(
            DocumentBlock(data=b"a,b\n1,2\n", document_mimetype="text/csv", title="data"),
            {
                "document": {
                    "format": "csv",
                    "name": "data",
                    "source": {"bytes": b64(b"a,b\n1,2\n")},
                }
            },
            id="csv",
        ),
        pytest.param(
            DocumentBlock(url="s3://docs-bucket/handbook.docx", title="Handbook"),
            {
                "document": {
                    "format": "docx",
                    "name": "Handbook",
                    "source": {"s3Location": {"uri": "s3://docs-bucket/handbook.docx"}},
                }
            },
            id="s3-docx",
        ),
        pytest.param(
            AudioBlock(audio=WAV),
            {"audio": {"format": "wav", "source": {"bytes": b64(WAV)}}},
            id="audio-wav",
        ),
        pytest.param(
            AudioBlock(url="s3://media-bucket/call.mp3"),
            {
                "audio": {
                    "format": "mp3",
                    "source": {"s3Location": {"uri": "s3://media-bucket/call.mp3"}},
                }
            },
            id="audio-s3",
        ),
        pytest.param(
            VideoBlock(video=MP4),
            {"video": {"format": "mp4", "source": {"bytes": b64(MP4)}}},
            id="video-mp4",
        ),
        pytest.param(
            VideoBlock(url="s3://media-bucket/clip.mov"),
            {
                "video": {
                    "format": "mov",
                    "source": {"s3Location": {"uri": "s3://media-bucket/clip.mov"}},
                }
            },
            id="video-s3",
        ),
    ],
)
def test_media_blocks(make: Any, build: Any, block: Any, expected: dict[str, Any]) -> None:
    body = build(make(), [user(TextBlock(text="Look:"), block)]).json
    assert body["messages"][0]["content"] == [{"text": "Look:"}, expected]


def test_blocks_given_as_paths_are_read(make: Any, build: Any, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "b.pdf").write_bytes(PDF)
    (tmp_path / "c.wav").write_bytes(WAV)
    blocks = [
        ImageBlock(path=tmp_path / "a.png"),
        DocumentBlock(path=tmp_path / "b.pdf"),
        AudioBlock(path=tmp_path / "c.wav"),
    ]
    content = build(make(), [user(*blocks)]).json["messages"][0]["content"]
    assert content[0]["image"]["source"]["bytes"] == b64(PNG)
    assert content[1]["document"]["source"]["bytes"] == b64(PDF)
    assert content[1]["document"]["format"] == "pdf"
    assert content[2]["audio"] == {"format": "wav", "source": {"bytes": b64(WAV)}}


def test_document_names_are_unique_in_a_request(make: Any, build: Any) -> None:
    blocks = [DocumentBlock(data=PDF, title="Report"), DocumentBlock(data=PDF, title="Report")]
    content = build(make(), [user(*blocks, TextBlock(text="Compare."))]).json["messages"][0][
        "content"
    ]
    assert [part["document"]["name"] for part in content[:2]] == ["Report", "Report (2)"]


def test_citable_sources(make: Any, build: Any) -> None:
    text = CitableBlock(title="Handbook", source="https://example.com/h", content="Grass is green.")
    document = CitableBlock(title="Manual", source="manual.pdf", content=[DocumentBlock(data=PDF)])
    content = build(make(), [user(text, document, TextBlock(text="Colour?"))]).json["messages"][0][
        "content"
    ]
    assert content[0] == {
        "searchResult": {
            "source": "https://example.com/h",
            "title": "Handbook",
            "content": [{"text": "Grass is green."}],
            "citations": {"enabled": True},
        }
    }
    assert content[1]["document"]["name"] == "Manual"
    assert content[1]["document"]["citations"] == {"enabled": True}


def test_cache_points_everywhere(make: Any, build: Any) -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    hour = CachePoint(cache_control=CacheControl(type="default", ttl="1h"))
    messages = [
        ChatMessage(role="system", blocks=[TextBlock(text="Long instructions."), point]),
        user(TextBlock(text="A long document."), hour, TextBlock(text="Question?")),
    ]
    body = build(make(), messages).json
    assert body["system"] == [{"text": "Long instructions."}, {"cachePoint": {"type": "default"}}]
    assert body["messages"][0]["content"] == [
        {"text": "A long document."},
        {"cachePoint": {"type": "default", "ttl": "1h"}},
        {"text": "Question?"},
    ]


def test_cache_points_are_left_out_for_a_model_without_prompt_caching(
    make: Any, build: Any
) -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    llm = make(model="meta.llama3-3-70b-instruct-v1:0")
    body = build(llm, [user(TextBlock(text="Doc."), point, TextBlock(text="Q?"))]).json
    assert body["messages"][0]["content"] == [{"text": "Doc."}, {"text": "Q?"}]


def test_assistant_reasoning_tool_calls_and_results(make: Any, build: Any) -> None:
    reply = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="Need the weather.", signature=w.SIGNATURE),
            ThinkingBlock.from_redacted(b64(b"opaque")),
            ThinkingBlock(content="someone else's reasoning"),  # unsigned: left out
            TextBlock(text="Checking."),
            CitationBlock(cited_content="x", source="s", title="t", additional_location_info={}),
            ToolCallBlock(
                tool_call_id=w.TOOL_ID, tool_name="get_weather", tool_kwargs='{"city": "Paris"}'
            ),
        ],
    )
    result = ChatMessage(role="tool", content="18C", additional_kwargs={"tool_call_id": w.TOOL_ID})
    failed = ChatMessage(
        role="tool",
        content="no such city",
        additional_kwargs={"tool_call_id": "tooluse_2", "is_error": True},
    )
    tools = [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]
    body = build(
        make(), [user(TextBlock(text="Weather?")), reply, result, failed], tools=tools
    ).json
    assert body["messages"][1]["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {"text": "Need the weather.", "signature": w.SIGNATURE}
            }
        },
        {"reasoningContent": {"redactedContent": b64(b"opaque")}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": w.TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}}},
    ]
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": w.TOOL_ID, "content": [{"text": "18C"}]}},
            {
                "toolResult": {
                    "toolUseId": "tooluse_2",
                    "content": [{"text": "no such city"}],
                    "status": "error",
                }
            },
        ],
    }


def test_a_tool_result_can_hold_an_image(make: Any, build: Any) -> None:
    result = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="chart:"), ImageBlock(image=PNG)],
        additional_kwargs={"tool_call_id": w.TOOL_ID},
    )
    call = ChatMessage(
        role="assistant", blocks=[ToolCallBlock(tool_call_id=w.TOOL_ID, tool_name="plot")]
    )
    tools = [{"toolSpec": {"name": "plot", "inputSchema": {"json": {"type": "object"}}}}]
    body = build(make(), [user(TextBlock(text="Plot it")), call, result], tools=tools).json
    content = body["messages"][2]["content"][0]["toolResult"]["content"]
    assert content == [
        {"text": "chart:"},
        {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
    ]


REFUSED = [
    pytest.param(user(ImageBlock(url="https://example.com/cat.png")), "fetch", id="image-http-url"),
    pytest.param(
        user(DocumentBlock(url="https://example.com/a.pdf")), "fetch", id="document-http-url"
    ),
    pytest.param(user(AudioBlock(url="https://example.com/a.mp3")), "fetch", id="audio-http-url"),
    pytest.param(
        user(ImageBlock(image=b"GIF89a" + b"\x00" * 8, image_mimetype="image/tiff")),
        "PNG, JPEG",
        id="image-tiff",
    ),
    pytest.param(
        user(DocumentBlock(data=b"PK\x03\x04zip", document_mimetype="application/zip")),
        "pdf, csv",
        id="document-zip",
    ),
    pytest.param(user(AudioBlock(audio=b"\x00" * 32, format="xyz")), "audio as", id="audio-format"),
    pytest.param(
        user(VideoBlock(video=b"\x00" * 32, video_mimetype="video/x-msvideo")),
        "mkv, mov",
        id="video-avi",
    ),
    pytest.param(user(ThinkingBlock(content="hmm")), "assistant messages", id="thinking-in-user"),
    pytest.param(user(ToolCallBlock(tool_name="x")), "assistant messages", id="tool-call-in-user"),
    pytest.param(
        user(CitationBlock(cited_content="x", source="s", title="t", additional_location_info={})),
        "model's output",
        id="citation-in-user",
    ),
    pytest.param(
        ChatMessage(role="system", blocks=[ImageBlock(image=PNG)]), "text only", id="system-image"
    ),
    pytest.param(
        ChatMessage(role="assistant", blocks=[ImageBlock(image=PNG)]),
        "assistant messages take",
        id="assistant-image",
    ),
    pytest.param(ChatMessage(role="tool", content="18C"), "tool_call_id", id="tool-without-id"),
    pytest.param(
        ChatMessage(role="assistant", blocks=[ToolCallBlock(tool_name="x", tool_kwargs={})]),
        "tool_call_id",
        id="tool-call-without-id",
    ),
    pytest.param(
        ChatMessage(
            role="assistant",
            blocks=[ToolCallBlock(tool_call_id="t1", tool_name="x", tool_kwargs="[1, 2]")],
        ),
        "JSON object",
        id="tool-call-input-not-object",
    ),
    pytest.param(
        user(CachePoint(cache_control=CacheControl(type="persistent"))),
        "cache type",
        id="cache-type",
    ),
    pytest.param(
        user(CachePoint(cache_control=CacheControl(type="ephemeral", ttl="2h"))),
        "ttl",
        id="cache-ttl",
    ),
    pytest.param(
        user(CitableBlock(title="t", source="s", content=[ImageBlock(image=PNG)])),
        "cannot be cited",
        id="citable-image",
    ),
    pytest.param(
        ChatMessage(
            role="tool",
            blocks=[AudioBlock(audio=WAV)],
            additional_kwargs={"tool_call_id": "t1"},
        ),
        "tool result holds",
        id="tool-result-audio",
    ),
]


@pytest.mark.parametrize(("message", "match"), REFUSED)
def test_what_converse_cannot_take_fails_before_the_request(
    make: Any, message: ChatMessage, match: str
) -> None:
    with pytest.raises(UnsupportedContentError, match=match) as caught:
        make().build_request([message], {}, stream=False)
    assert caught.value.provider == "bedrock"


@pytest.mark.parametrize(
    ("model", "message", "match"),
    [
        pytest.param(
            "amazon.nova-micro-v1:0",
            user(ImageBlock(image=PNG)),
            "takes no images",
            id="nova-micro-image",
        ),
        pytest.param(
            "amazon.nova-micro-v1:0",
            user(DocumentBlock(data=PDF)),
            "takes no documents",
            id="nova-micro-doc",
        ),
        pytest.param(
            "mistral.mistral-7b-instruct-v0:2",
            ChatMessage(role="system", content="Be brief."),
            "no system prompt",
            id="mistral-7b-system",
        ),
    ],
)
def test_what_a_known_model_cannot_take_fails_before_the_request(
    make: Any, model: str, message: ChatMessage, match: str
) -> None:
    with pytest.raises(UnsupportedContentError, match=match):
        make(model=model).build_request([message, user(TextBlock(text="Hi"))], {}, stream=False)


def test_an_unknown_model_gets_everything_sent(make: Any, build: Any) -> None:
    llm = make(
        model="arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
    )
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    body = build(llm, [user(ImageBlock(image=PNG), point, TextBlock(text="?"))]).json
    assert [next(iter(part)) for part in body["messages"][0]["content"]] == [
        "image",
        "cachePoint",
        "text",
    ]
