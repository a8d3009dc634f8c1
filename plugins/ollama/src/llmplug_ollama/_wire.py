"""llmplug messages -> Ollama's ``/api/chat`` ``messages``: pure functions.

An Ollama message is one text ``content`` with optional base64 ``images``, ``thinking``
(an assistant's reasoning), ``tool_calls`` (an assistant's calls, arguments as a JSON
object) and ``tool_name`` (a ``tool`` message: which tool answered). So:

* a message's text blocks are joined with newlines, and its images go in ``images``
  (the API has no content parts: where the images stood among the text is not kept);
* images are sent inline: bytes, a local path or a ``data:`` URL (the server fetches
  nothing, and fetching here would block an event loop);
* a tool result names its tool: ``additional_kwargs["tool_name"]`` (or ``"name"``), else
  the tool of the call whose ``tool_call_id`` it answers, found in the conversation;
* a :class:`~llmplug.CachePoint` has no wire form (Ollama reuses the cached prompt
  prefix on its own) and is left out.

Every block the API cannot take raises :class:`~llmplug.errors.UnsupportedContentError`
naming the provider and the block, before any request is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmplug import (
    CachePoint,
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llmplug.errors import UnsupportedContentError
from llmplug.tools import BaseTool, FunctionTool, tool_call_arguments

__all__ = ["image_to_wire", "messages_to_wire", "tool_call_to_wire", "tool_definition"]

Wire = dict[str, Any]

_ASSISTANT_ROLES = frozenset({MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT})
_SYSTEM_ROLES = frozenset({MessageRole.SYSTEM, MessageRole.DEVELOPER})
_WHY = {
    "audio": "Ollama's API takes no audio",
    "video": "Ollama's API takes no video",
    "document": "Ollama's API takes no documents; send their text as a TextBlock",
    "citable": "Ollama's API has no citation input; send the text as a TextBlock",
    "citation": "Ollama's API has no citation blocks; send the text as a TextBlock",
    "thinking": "only assistant messages hold the model's thinking",
    "tool_call": "tool calls belong in assistant messages",
    "image": "only user messages carry images",
}


def messages_to_wire(messages: Sequence[ChatMessage], *, provider: str) -> list[Wire]:
    """Convert messages to the ``messages`` array of a chat request.

    Args:
        messages: The conversation, system prompt included.
        provider: The provider name, for errors.

    Raises:
        UnsupportedContentError: A block the API cannot take in that message, or a tool
            result whose tool cannot be named.
    """
    wire: list[Wire] = []
    tool_names: dict[str, str] = {}  # tool_call_id -> tool name, from the calls so far
    for message in messages:
        role = message.role
        blocks = message.blocks
        if role == MessageRole.USER and len(blocks) == 1 and type(blocks[0]) is TextBlock:
            wire.append({"role": "user", "content": blocks[0].text})  # the common case
        elif role in _SYSTEM_ROLES:
            wire.append({"role": "system", "content": _text(message, provider)})
        elif role == MessageRole.USER:
            wire.append(_user(message, provider))
        elif role in _ASSISTANT_ROLES:
            wire.append(_assistant(message, provider, tool_names))
        elif role in (MessageRole.TOOL, MessageRole.FUNCTION):
            wire.append(
                {
                    "role": "tool",
                    "content": _text(message, provider),
                    "tool_name": _tool_name(message, provider, tool_names),
                }
            )
        else:
            raise UnsupportedContentError(
                f"{provider} has no message role {role!r}",
                provider=provider,
                block_type=str(role),
            )
    return wire


def _text(message: ChatMessage, provider: str) -> str:
    """The text of a system or tool message (text blocks only)."""
    parts: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif not isinstance(block, CachePoint):
            why = _WHY.get(block.block_type, f"{message.role} messages take text only")
            raise _unsupported(provider, block.block_type, why)
    return "\n".join(parts)


def _user(message: ChatMessage, provider: str) -> Wire:
    parts: list[str] = []
    images: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif isinstance(block, ImageBlock):
            images.append(image_to_wire(block, provider))
        elif not isinstance(block, CachePoint):
            why = _WHY.get(block.block_type, "user messages take text and images")
            raise _unsupported(provider, block.block_type, why)
    item: Wire = {"role": "user", "content": "\n".join(parts)}
    if images:
        item["images"] = images
    return item


def _assistant(message: ChatMessage, provider: str, tool_names: dict[str, str]) -> Wire:
    parts: list[str] = []
    thinking: list[str] = []
    calls: list[Wire] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif isinstance(block, ThinkingBlock):
            if block.content:
                thinking.append(block.content)
        elif isinstance(block, ToolCallBlock):
            calls.append(tool_call_to_wire(block, provider))
            if block.tool_call_id:
                tool_names[block.tool_call_id] = block.tool_name
        elif not isinstance(block, CachePoint):
            why = _WHY.get(block.block_type, "assistant messages take text and tool calls")
            raise _unsupported(provider, block.block_type, why)
    item: Wire = {"role": "assistant", "content": "\n".join(parts)}
    if thinking:
        item["thinking"] = "\n".join(thinking)
    if calls:
        item["tool_calls"] = calls
    return item


def tool_call_to_wire(block: ToolCallBlock, provider: str) -> Wire:
    """An assistant ``tool_calls`` entry: the function's name and its arguments object.

    Raises:
        UnsupportedContentError: The arguments are text that is not a JSON object (the
            API takes an object).
    """
    arguments = tool_call_arguments(block, provider)
    return {"function": {"name": block.tool_name, "arguments": arguments}}


def _tool_name(message: ChatMessage, provider: str, tool_names: dict[str, str]) -> str:
    extra = message.additional_kwargs or {}
    for key in ("tool_name", "name"):
        if extra.get(key):
            return str(extra[key])
    call_id = extra.get("tool_call_id")
    if call_id and call_id in tool_names:
        return tool_names[call_id]
    role = str(message.role)
    raise UnsupportedContentError(
        f"a {role} message sent to {provider} must name its tool: Ollama matches tool "
        f"results to calls by name. Set additional_kwargs['tool_name'], or its "
        f"'tool_call_id' to the id of a ToolCallBlock earlier in the conversation",
        provider=provider,
        block_type=role,
    )


def image_to_wire(block: ImageBlock, provider: str) -> str:
    """An image as the base64 text the API takes (bytes, a path or a ``data:`` URL).

    Raises:
        UnsupportedContentError: The image is an http(s) URL, or cannot be read.
    """
    if block.image is not None:
        return block.image.decode("ascii")
    url = str(block.url) if block.url is not None else ""
    if block.path is None and url and not url.startswith("data:"):
        raise _unsupported(
            provider,
            "image",
            "the API takes images inline, not as a URL; fetch it and give the bytes "
            "(ImageBlock(image=...)) or a path",
        )
    try:
        return block.resolve_image(as_base64=True).getvalue().decode("ascii")
    except (ValueError, OSError) as exc:
        raise _unsupported(provider, "image", str(exc)) from exc


def _unsupported(provider: str, block_type: str, why: str) -> UnsupportedContentError:
    return UnsupportedContentError(
        f"{provider} cannot take a {block_type} block here: {why}",
        provider=provider,
        block_type=block_type,
    )


def tool_definition(item: Any) -> Any:
    """A FunctionTool (or a plain function) as the API's tool definition; dicts kept."""
    if isinstance(item, dict):
        return item
    tool = item if isinstance(item, BaseTool) else FunctionTool.from_defaults(item)
    return tool.metadata.to_openai_tool(skip_length_check=True)
