"""Chat messages: a role plus a list of content blocks (LlamaIndex's ``ChatMessage``)."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_serializer, model_validator

from llmplug.types._base_model import Model
from llmplug.types._blocks import ContentBlock, TextBlock

__all__ = ["ChatMessage", "MessageRole"]


class MessageRole(StrEnum):
    """Who a message is from; the values are the ones LlamaIndex and the APIs use."""

    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    FUNCTION = "function"
    TOOL = "tool"
    CHATBOT = "chatbot"
    MODEL = "model"


class ChatMessage(Model):
    """One chat message: a role and its content blocks.

    ``ChatMessage("Hi")``, ``ChatMessage(content="Hi")`` and
    ``ChatMessage(content=[TextBlock(text="Hi"), ImageBlock(path=...)])`` all work, as
    in LlamaIndex; so does ``ChatMessage.model_validate({"role": "user", "content":
    "Hi"})``. A str ``content`` becomes one :class:`~llmplug.TextBlock`; a list is taken
    as the blocks.

    Attributes:
        role: Who the message is from (a :class:`MessageRole` or its string value).
        additional_kwargs: Provider-specific extras (tool call ids, raw tool calls...).
        blocks: The content blocks, in order.
    """

    role: MessageRole = MessageRole.USER
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    # a default, copied per instance, rather than default_factory=list: pydantic reads a
    # factory's signature, and list's goes through the tokenize module (~2 ms, once)
    blocks: list[ContentBlock] = Field(default=[])

    def __init__(self, /, content: str | Sequence[Any] | None = None, **data: Any) -> None:
        __tracebackhide__ = True
        if content is not None:
            data["content"] = content
        # BaseModel.__init__ inlined: a message is built per chunk and per call
        if self.__pydantic_validator__.validate_python(data, self_instance=self) is not self:
            super().__init__(**data)  # a validator returned another object: pydantic warns

    @model_validator(mode="before")
    @classmethod
    def _content_to_blocks(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "content" not in data:
            return data
        data = dict(data)
        content = data.pop("content")
        if content is None:
            return data
        if data.get("blocks"):
            # LlamaIndex lets content silently replace blocks; we refuse to drop either
            raise ValueError("give a ChatMessage either content or blocks, not both")
        if isinstance(content, str):
            data["blocks"] = [TextBlock(text=content)]
        elif isinstance(content, Sequence):
            data["blocks"] = list(content)
        else:
            raise TypeError(
                "ChatMessage content must be a str or a list of content blocks, "
                f"not {type(content).__name__}"
            )
        return data

    @property
    def content(self) -> str | None:
        """The text of the message's text blocks, joined by newlines; None if there are none."""
        texts = [block.text for block in self.blocks if isinstance(block, TextBlock)]
        return "\n".join(texts) if texts else None

    @content.setter
    def content(self, content: str) -> None:
        """Replace the text of a message with no block or a single text block.

        Raises:
            ValueError: The message holds other blocks; edit ``blocks`` instead.
        """
        if self.blocks and not (len(self.blocks) == 1 and isinstance(self.blocks[0], TextBlock)):
            raise ValueError(
                "ChatMessage contains multiple blocks, use 'ChatMessage.blocks' instead."
            )
        self.blocks = [TextBlock(text=content)]

    def __str__(self) -> str:
        return f"{self.role.value}: {self.content}"

    @classmethod
    def from_str(
        cls, content: str, role: MessageRole | str = MessageRole.USER, **kwargs: Any
    ) -> Self:
        """Make a message holding one text block.

        Args:
            content: The text.
            role: The role, as a :class:`MessageRole` or its string value.
            **kwargs: Other fields (``additional_kwargs``).
        """
        return cls(role=MessageRole(role), blocks=[TextBlock(text=content)], **kwargs)

    @field_serializer("additional_kwargs", when_used="json")
    def _serialize_additional_kwargs(self, value: dict[str, Any]) -> dict[str, Any]:
        # bytes that are not UTF-8 would make the JSON dump fail: send them as base64
        return _bytes_to_base64(value) if value else value


def _bytes_to_base64(value: Any) -> Any:
    if isinstance(value, bytes):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, dict):
        return {key: _bytes_to_base64(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_bytes_to_base64(item) for item in value]
    return value
