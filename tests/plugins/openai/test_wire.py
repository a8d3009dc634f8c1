"""Messages -> the ``messages`` of a chat completion request: every role and block.

Every body built here is checked against the official OpenAPI spec (``build``).
"""

from __future__ import annotations

import base64
import json
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
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llmplug.errors import UnsupportedContentError

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WAV = (
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
    b"@\x1f\x00\x00\x80>\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90d" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CACHE = CachePoint(cache_control=CacheControl(type="ephemeral"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="user", blocks=list(blocks))


def wire_messages(request: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = request.json["messages"]
    return messages


# -- roles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "options", "role", "sent_as"),
    [
        pytest.param("openai", {}, "system", "system", id="system"),
        pytest.param("openai", {}, "developer", "system", id="developer-to-chat-model"),
        pytest.param("openai", {"model": "o3-mini"}, "system", "developer", id="o-series"),
        pytest.param("openai", {"model": "o1-2024-12-17"}, "system", "developer", id="o1-snapshot"),
        pytest.param("openai", {"model": "gpt-5-mini"}, "system", "developer", id="gpt-5"),
        pytest.param("openai", {"model": "o7-future"}, "system", "developer", id="new-o-series"),
        pytest.param("openai", {"model": "gpt-5-chat-latest"}, "system", "system", id="gpt-5-chat"),
        pytest.param(
            "openai", {"system_role": "developer"}, "system", "developer", id="forced-developer"
        ),
        pytest.param(
            "openai", {"model": "o3", "system_role": "system"}, "developer", "system", id="forced"
        ),
        pytest.param("groq", {"model": "o3-lookalike"}, "developer", "system", id="preset-no-dev"),
        pytest.param(
            "vllm", {"model": "m", "system_role": "developer"}, "system", "developer", id="preset"
        ),
    ],
)
def test_instructions_role(
    make: Any, build: Any, provider: str, options: dict[str, Any], role: str, sent_as: str
) -> None:
    llm = make(provider, **options)
    messages = [ChatMessage(role=role, content="Be brief."), ChatMessage(content="Hi")]
    sent = wire_messages(build(llm, messages))
    assert sent == [{"role": sent_as, "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert llm.metadata.system_role == MessageRole(sent_as)


@pytest.mark.parametrize("role", [pytest.param(r, id=r) for r in ("assistant", "model", "chatbot")])
def test_assistant_roles(make: Any, build: Any, role: str) -> None:
    messages = [ChatMessage("Hi"), ChatMessage(role=role, content="Hello!"), ChatMessage("More")]
    assert wire_messages(build(make(), messages))[1] == {"role": "assistant", "content": "Hello!"}


def test_tool_result_message(make: Any, build: Any) -> None:
    messages = [
        ChatMessage("Weather in Paris?"),
        ChatMessage(
            role="assistant",
            blocks=[ToolCallBlock(tool_call_id="call_1", tool_name="weather", tool_kwargs={})],
        ),
        ChatMessage(role="tool", content="18C", additional_kwargs={"tool_call_id": "call_1"}),
    ]
    assert wire_messages(build(make(), messages))[2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "18C",
    }


def test_function_message(make: Any, build: Any) -> None:
    message = ChatMessage(role="function", content="18C", additional_kwargs={"name": "weather"})
    sent = wire_messages(build(make(), [ChatMessage("Hi"), message]))
    assert sent[1] == {"role": "function", "name": "weather", "content": "18C"}


@pytest.mark.parametrize(
    ("role", "key"),
    [pytest.param("tool", "tool_call_id", id="tool"), pytest.param("function", "name", id="fn")],
)
def test_message_missing_its_id(make: Any, role: str, key: str) -> None:
    with pytest.raises(UnsupportedContentError, match=key) as caught:
        make().build_request([ChatMessage(role=role, content="18C")], {}, stream=False)
    assert caught.value.provider == "openai"


@pytest.mark.parametrize("role", [pytest.param(r, id=r) for r in ("system", "user", "assistant")])
def test_participant_name(make: Any, build: Any, role: str) -> None:
    messages = [ChatMessage(role=role, content="x", additional_kwargs={"name": "ann"})]
    if role == "assistant":
        messages.append(ChatMessage("Hi"))
    assert wire_messages(build(make(), messages))[0]["name"] == "ann"


def test_the_callers_messages_are_not_changed(make: Any, build: Any) -> None:
    messages = [ChatMessage(role="system", content="S"), user(TextBlock(text="a"), CACHE)]
    before = [m.model_dump() for m in messages]
    build(make(model="gpt-5.6-sol"), messages)
    assert [m.model_dump() for m in messages] == before


# -- text and media blocks --------------------------------------------------------------


def test_several_text_blocks_become_parts(make: Any, build: Any) -> None:
    sent = wire_messages(build(make(), [user(TextBlock(text="a"), TextBlock(text="b"))]))
    assert sent[0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


@pytest.mark.parametrize(
    ("block", "url"),
    [
        pytest.param(
            ImageBlock(url="https://example.com/cat.png"),
            "https://example.com/cat.png",
            id="http-url",
        ),
        pytest.param(
            ImageBlock(url=f"data:image/png;base64,{b64(PNG)}"),
            f"data:image/png;base64,{b64(PNG)}",
            id="data-url",
        ),
        pytest.param(ImageBlock(image=PNG), f"data:image/png;base64,{b64(PNG)}", id="bytes"),
        pytest.param(
            ImageBlock(image=b64(PNG).encode()), f"data:image/png;base64,{b64(PNG)}", id="base64"
        ),
    ],
)
def test_image(make: Any, build: Any, block: ImageBlock, url: str) -> None:
    sent = wire_messages(build(make(), [user(TextBlock(text="What is it?"), block)]))
    assert sent[0]["content"][1] == {"type": "image_url", "image_url": {"url": url}}


def test_image_from_path(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    sent = wire_messages(build(make(), [user(ImageBlock(path=path, detail="low"))]))
    assert sent[0]["content"] == [
        {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{b64(PNG)}", "detail": "low"},
        }
    ]


@pytest.mark.parametrize("detail", [pytest.param(d, id=d) for d in ("auto", "low", "high")])
def test_image_detail(make: Any, build: Any, detail: str) -> None:
    block = ImageBlock(url="https://example.com/cat.png", detail=detail)
    sent = wire_messages(build(make(), [user(block)]))
    assert sent[0]["content"][0]["image_url"]["detail"] == detail


def test_image_of_unknown_format(make: Any) -> None:
    block = ImageBlock(image=b"\x00\x01 not an image \x02" * 4)
    with pytest.raises(UnsupportedContentError, match="image_mimetype") as caught:
        make().build_request([user(block)], {}, stream=False)
    assert caught.value.block_type == "image"


@pytest.mark.parametrize(
    ("block", "fmt", "data"),
    [
        pytest.param(AudioBlock(audio=WAV), "wav", WAV, id="wav-bytes"),
        pytest.param(AudioBlock(audio=MP3), "mp3", MP3, id="mp3-bytes"),
        pytest.param(AudioBlock(audio=WAV, format="WAV"), "wav", WAV, id="format-case"),
        pytest.param(
            AudioBlock(url=f"data:audio/wav;base64,{b64(WAV)}"), "wav", WAV, id="data-url"
        ),
    ],
)
def test_audio(make: Any, build: Any, block: AudioBlock, fmt: str, data: bytes) -> None:
    sent = wire_messages(build(make(model="gpt-4o-audio-preview"), [user(block)]))
    assert sent[0]["content"] == [
        {"type": "input_audio", "input_audio": {"data": b64(data), "format": fmt}}
    ]


def test_audio_from_path(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "hello.mp3"
    path.write_bytes(MP3)
    sent = wire_messages(build(make(), [user(AudioBlock(path=path))]))
    assert sent[0]["content"][0]["input_audio"] == {"data": b64(MP3), "format": "mp3"}


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(AudioBlock(audio=b"OggS" + b"\x00" * 40), "'ogg'", id="ogg"),
        pytest.param(AudioBlock(url="https://example.com/a.wav"), "inline", id="http-url"),
    ],
)
def test_audio_refused(make: Any, block: AudioBlock, match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match) as caught:
        make().build_request([user(block)], {}, stream=False)
    assert (caught.value.provider, caught.value.block_type) == ("openai", "audio")


@pytest.mark.parametrize(
    ("block", "filename"),
    [
        pytest.param(DocumentBlock(data=PDF), "input_document.pdf", id="untitled"),
        pytest.param(DocumentBlock(data=PDF, title="report"), "report.pdf", id="titled"),
        pytest.param(DocumentBlock(data=PDF, title="q3.pdf"), "q3.pdf", id="with-extension"),
    ],
)
def test_pdf_document(make: Any, build: Any, block: DocumentBlock, filename: str) -> None:
    sent = wire_messages(build(make(), [user(TextBlock(text="Summarise"), block)]))
    assert sent[0]["content"][1] == {
        "type": "file",
        "file": {"filename": filename, "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
    }


def test_pdf_document_from_path(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "annual-report.pdf"
    path.write_bytes(PDF)
    sent = wire_messages(build(make(), [user(DocumentBlock(path=path))]))
    assert sent[0]["content"][0]["file"]["filename"] == "annual-report.pdf"
    assert sent[0]["content"][0]["file"]["file_data"].endswith(b64(PDF))


def test_text_document_is_sent_as_text(make: Any, build: Any) -> None:
    sent = wire_messages(build(make(), [user(DocumentBlock(data=b"Minutes: all agreed."))]))
    assert sent[0]["content"] == "Minutes: all agreed."


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(DocumentBlock(data=b"PK\x03\x04" + b"\x00" * 40), "application/zip", id="zip"),
        pytest.param(DocumentBlock(url="https://example.com/a.pdf"), "inline", id="http-url"),
    ],
)
def test_document_refused(make: Any, block: DocumentBlock, match: str) -> None:
    with pytest.raises(UnsupportedContentError, match=match) as caught:
        make().build_request([user(block)], {}, stream=False)
    assert caught.value.block_type == "document"


# -- tool calls, thinking, cache points ------------------------------------------------


def test_tool_calls_in_history(make: Any, build: Any) -> None:
    calls = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(
                tool_call_id="call_1", tool_name="weather", tool_kwargs={"city": "Paris"}
            ),
            ToolCallBlock(tool_call_id="call_2", tool_name="raw", tool_kwargs='{"x": 1}'),
        ],
    )
    sent = wire_messages(build(make(), [ChatMessage("Weather?"), calls]))
    assert sent[1] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "raw", "arguments": '{"x": 1}'},
            },
        ],
    }
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_text_and_tool_call(make: Any, build: Any) -> None:
    reply = ChatMessage(
        role="assistant",
        blocks=[
            TextBlock(text="Let me check."),
            ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs={}),
        ],
    )
    sent = wire_messages(build(make(), [ChatMessage("Hi"), reply]))
    assert sent[1]["content"] == "Let me check."
    assert sent[1]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}


def test_llamaindex_style_tool_calls(make: Any, build: Any) -> None:
    raw = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    reply = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": raw})
    sent = wire_messages(build(make(), [ChatMessage("Hi"), reply]))
    assert sent[1] == {"role": "assistant", "content": "", "tool_calls": raw}


def test_tool_call_without_id(make: Any) -> None:
    reply = ChatMessage(role="assistant", blocks=[ToolCallBlock(tool_name="f")])
    with pytest.raises(UnsupportedContentError, match="tool_call_id") as caught:
        make().build_request([ChatMessage("Hi"), reply], {}, stream=False)
    assert caught.value.block_type == "tool_call"


def test_thinking_in_history_stays_out(make: Any, build: Any) -> None:
    reply = ChatMessage(
        role="assistant",
        blocks=[ThinkingBlock(content="The user greets me."), TextBlock(text="Hello!")],
    )
    sent = wire_messages(
        build(make("deepseek", model="deepseek-reasoner"), [reply, ChatMessage("Hi")])
    )
    assert sent[0] == {"role": "assistant", "content": "Hello!"}


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        pytest.param("openai", "gpt-4o-mini", id="openai-automatic-caching"),
        pytest.param("vllm", "gpt-5.6-sol", id="compatible-server"),
        pytest.param("azure", "gpt-5.6-sol", id="azure"),
    ],
)
def test_cache_point_left_out(make: Any, build: Any, provider: str, model: str) -> None:
    options: dict[str, Any] = {"model": model}
    if provider == "azure":
        options["azure_endpoint"] = "https://res.openai.azure.com"
    messages = [
        ChatMessage(role="system", blocks=[TextBlock(text="Long rules"), CACHE]),
        user(TextBlock(text="Q"), CACHE),
    ]
    sent = wire_messages(build(make(provider, **options), messages))
    assert sent == [{"role": "system", "content": "Long rules"}, {"role": "user", "content": "Q"}]


def test_cache_point_as_breakpoint(make: Any, build: Any) -> None:
    messages = [
        ChatMessage(role="system", blocks=[TextBlock(text="Long rules"), CACHE]),
        user(ImageBlock(url="https://example.com/a.png"), CACHE, TextBlock(text="Q")),
    ]
    sent = wire_messages(build(make(model="gpt-5.6-terra"), messages))
    marker = {"mode": "explicit"}
    assert sent[0] == {
        "role": "developer",
        "content": [{"type": "text", "text": "Long rules", "prompt_cache_breakpoint": marker}],
    }
    assert sent[1]["content"][0]["prompt_cache_breakpoint"] == marker
    assert "prompt_cache_breakpoint" not in sent[1]["content"][1]


def test_cache_point_opening_a_message(make: Any, build: Any) -> None:
    messages = [ChatMessage(role="system", content="Rules"), user(CACHE, TextBlock(text="Q"))]
    sent = wire_messages(build(make(model="gpt-5.6-luna"), messages))
    assert sent[0]["content"] == [
        {"type": "text", "text": "Rules", "prompt_cache_breakpoint": {"mode": "explicit"}}
    ]
    assert sent[1]["content"] == "Q"


# -- blocks the API cannot take ----------------------------------------------------------

CITABLE = CitableBlock(title="Doc", source="https://example.com", content="Text")
CITATION = CitationBlock(
    cited_content="Text", source="s", title="t", additional_location_info={"start": 0}
)
VIDEO = VideoBlock(url="https://example.com/v.mp4")
IMAGE = ImageBlock(url="https://example.com/cat.png")
CALL = ToolCallBlock(tool_call_id="c", tool_name="f")


@pytest.mark.parametrize(
    ("message", "block_type"),
    [
        pytest.param(user(VIDEO), "video", id="video"),
        pytest.param(user(TextBlock(text="See"), CITABLE), "citable", id="citable"),
        pytest.param(user(CITATION), "citation", id="citation"),
        pytest.param(user(ThinkingBlock(content="hmm")), "thinking", id="thinking-from-user"),
        pytest.param(user(CALL), "tool_call", id="tool-call-from-user"),
        pytest.param(ChatMessage(role="system", blocks=[IMAGE]), "image", id="image-in-system"),
        pytest.param(
            ChatMessage(role="assistant", blocks=[IMAGE]), "image", id="image-in-assistant"
        ),
        pytest.param(
            ChatMessage(role="tool", blocks=[IMAGE], additional_kwargs={"tool_call_id": "c"}),
            "image",
            id="image-in-tool-result",
        ),
        pytest.param(
            ChatMessage(role="assistant", blocks=[CITATION]), "citation", id="citation-in-reply"
        ),
    ],
)
@pytest.mark.parametrize("provider", ["openai", "groq"])
def test_unsupported_block(make: Any, provider: str, message: ChatMessage, block_type: str) -> None:
    llm = make(provider, model="some-model")
    with pytest.raises(UnsupportedContentError) as caught:
        llm.build_request([ChatMessage("Hi"), message], {}, stream=True)
    error = caught.value
    assert (error.provider, error.block_type) == (provider, block_type)
    assert isinstance(error, TypeError)
    assert block_type in str(error)
    assert provider in str(error)
