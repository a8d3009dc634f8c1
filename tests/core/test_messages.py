from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

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

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def test_message_roles_are_llamaindex_values() -> None:
    assert [role.value for role in MessageRole] == [
        "system",
        "developer",
        "user",
        "assistant",
        "function",
        "tool",
        "chatbot",
        "model",
    ]
    assert MessageRole("user") is MessageRole.USER
    assert str(MessageRole.USER) == "user"
    assert isinstance(MessageRole.TOOL, str)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: ChatMessage("Hello"), id="positional"),
        pytest.param(lambda: ChatMessage(content="Hello"), id="content-str"),
        pytest.param(lambda: ChatMessage(content=[TextBlock(text="Hello")]), id="content-list"),
        pytest.param(
            lambda: ChatMessage(content=({"block_type": "text", "text": "Hello"},)),
            id="content-tuple-of-dicts",
        ),
        pytest.param(lambda: ChatMessage(blocks=[TextBlock(text="Hello")]), id="blocks"),
        pytest.param(
            lambda: ChatMessage.model_validate({"content": "Hello"}), id="validate-content"
        ),
        pytest.param(
            lambda: ChatMessage.model_validate(
                {"role": "user", "blocks": [{"block_type": "text", "text": "Hello"}]}
            ),
            id="validate-blocks",
        ),
        pytest.param(lambda: ChatMessage.from_str("Hello"), id="from_str"),
    ],
)
def test_construction_forms_agree(make: Any) -> None:
    message = make()
    assert message == ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="Hello")])
    assert message.content == "Hello"
    assert str(message) == "user: Hello"


def test_defaults() -> None:
    message = ChatMessage()
    assert message.role is MessageRole.USER
    assert message.additional_kwargs == {}
    assert message.blocks == []
    assert message.content is None
    assert ChatMessage(content=None).blocks == []


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param("assistant", MessageRole.ASSISTANT, id="str"),
        pytest.param(MessageRole.TOOL, MessageRole.TOOL, id="enum"),
        pytest.param("developer", MessageRole.DEVELOPER, id="developer"),
    ],
)
def test_role_accepts_str_and_enum(role: Any, expected: MessageRole) -> None:
    assert ChatMessage(role=role, content="x").role is expected
    assert ChatMessage.from_str("x", role=role).role is expected


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ChatMessage(role="robot", content="x")
    with pytest.raises(ValueError, match="robot"):
        ChatMessage.from_str("x", role="robot")


def test_from_str_passes_other_fields() -> None:
    message = ChatMessage.from_str("hi", "system", additional_kwargs={"name": "rules"})
    assert message.role is MessageRole.SYSTEM
    assert message.additional_kwargs == {"name": "rules"}


def test_content_and_blocks_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="either content or blocks"):
        ChatMessage(content="a", blocks=[TextBlock(text="b")])


@pytest.mark.parametrize(
    "content",
    [pytest.param(42, id="int"), pytest.param(TextBlock(text="x"), id="bare-block")],
)
def test_content_of_wrong_type_is_refused(content: Any) -> None:
    with pytest.raises(TypeError, match="str or a list of content blocks"):
        ChatMessage(content=content)


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param([], None, id="no-blocks"),
        pytest.param([TextBlock(text="a")], "a", id="one"),
        pytest.param([TextBlock(text="")], "", id="one-empty"),
        pytest.param([TextBlock(text="a"), TextBlock(text="b")], "a\nb", id="joined-by-newline"),
        pytest.param(
            [TextBlock(text="a"), ImageBlock(image=PNG), TextBlock(text="b")],
            "a\nb",
            id="skips-non-text",
        ),
        pytest.param([ImageBlock(image=PNG)], None, id="only-image"),
        pytest.param(
            [ThinkingBlock(content="t"), ToolCallBlock(tool_name="f")],
            None,
            id="thinking-not-content",
        ),
    ],
)
def test_content_property(blocks: list[Any], expected: str | None) -> None:
    assert ChatMessage(blocks=blocks).content == expected


@pytest.mark.parametrize(
    "blocks",
    [pytest.param([], id="empty"), pytest.param([TextBlock(text="old")], id="single-text")],
)
def test_content_setter_replaces_text(blocks: list[Any]) -> None:
    message = ChatMessage(blocks=blocks)
    message.content = "new"
    assert message.blocks == [TextBlock(text="new")]


@pytest.mark.parametrize(
    "blocks",
    [
        pytest.param([TextBlock(text="a"), TextBlock(text="b")], id="two-texts"),
        pytest.param([ImageBlock(image=PNG)], id="single-image"),
    ],
)
def test_content_setter_refuses_other_blocks(blocks: list[Any]) -> None:
    message = ChatMessage(blocks=blocks)
    with pytest.raises(ValueError, match="multiple blocks"):
        message.content = "new"
    assert message.blocks == blocks


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(ChatMessage("Hello"), "user: Hello", id="user"),
        pytest.param(ChatMessage(role="assistant"), "assistant: None", id="no-text"),
        pytest.param(
            ChatMessage(role="system", content=[TextBlock(text="a"), TextBlock(text="b")]),
            "system: a\nb",
            id="multi",
        ),
    ],
)
def test_str(message: ChatMessage, expected: str) -> None:
    assert str(message) == expected


def every_block_message() -> ChatMessage:
    return ChatMessage(
        role="assistant",
        additional_kwargs={"tool_calls": [{"id": "c1"}], "n": 1},
        blocks=[
            TextBlock(text="Here"),
            ImageBlock(image=PNG, detail="low"),
            ImageBlock(url="https://example.com/cat.png"),
            ImageBlock(path=Path("/tmp/dog.jpg")),
            AudioBlock(audio=b"RIFF\x00\x00\x00\x00WAVEfmt "),
            VideoBlock(url="https://example.com/v.mp4", fps=1),
            DocumentBlock(data=b"%PDF-1.4 ...", title="Paper"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
            CitableBlock(title="Doc", source="s3://b/k", content=[TextBlock(text="cite me")]),
            CitationBlock(
                cited_content="cite me",
                source="s3://b/k",
                title="Doc",
                additional_location_info={"start": 0},
            ),
            ThinkingBlock(content="let me think", num_tokens=3, signature="sig=="),
            ThinkingBlock.from_redacted("opaque"),
            ToolCallBlock(tool_call_id="c1", tool_name="lookup", tool_kwargs={"q": "x"}),
            ToolCallBlock(tool_name="broken", tool_kwargs='{"q": '),
        ],
    )


def test_every_block_round_trips_through_json() -> None:
    message = every_block_message()
    assert ChatMessage.model_validate_json(message.model_dump_json()) == message
    assert ChatMessage.model_validate(json.loads(message.model_dump_json())) == message


def test_every_block_round_trips_through_python_dump() -> None:
    message = every_block_message()
    again = ChatMessage.model_validate(message.model_dump())
    assert again == message
    assert [type(b) for b in again.blocks] == [type(b) for b in message.blocks]
    assert again.blocks[1].resolve_image().getvalue() == PNG  # type: ignore[union-attr]


def test_llamaindex_shaped_dump_loads() -> None:
    # what llama_index.core's ChatMessage.model_dump_json() produces for text + image
    data = {
        "role": "user",
        "additional_kwargs": {},
        "blocks": [
            {"block_type": "text", "text": "What is this?"},
            {
                "block_type": "image",
                "image": base64.b64encode(PNG).decode(),
                "path": None,
                "url": None,
                "image_mimetype": "image/png",
                "detail": None,
            },
        ],
    }
    message = ChatMessage.model_validate_json(json.dumps(data))
    assert message.content == "What is this?"
    assert isinstance(message.blocks[1], ImageBlock)
    assert message.blocks[1].resolve_image().getvalue() == PNG
    assert json.loads(message.model_dump_json()) == data


def test_additional_kwargs_bytes_become_base64_in_json() -> None:
    message = ChatMessage(
        content="x", additional_kwargs={"sig": b"\xff\x00", "nested": [{"b": b"ok"}]}
    )
    dumped = json.loads(message.model_dump_json())
    assert dumped["additional_kwargs"] == {
        "sig": base64.b64encode(b"\xff\x00").decode(),
        "nested": [{"b": base64.b64encode(b"ok").decode()}],
    }
    # the python dump keeps the objects as they are
    assert message.model_dump()["additional_kwargs"]["sig"] == b"\xff\x00"


def test_message_is_not_shared_between_instances() -> None:
    first, second = ChatMessage(), ChatMessage()
    first.blocks.append(TextBlock(text="x"))
    first.additional_kwargs["k"] = 1
    assert second.blocks == []
    assert second.additional_kwargs == {}


def test_validate_does_not_mutate_input() -> None:
    data: dict[str, Any] = {"role": "user", "content": "hi"}
    ChatMessage.model_validate(data)
    assert data == {"role": "user", "content": "hi"}
