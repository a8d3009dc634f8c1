"""Formatting text: template variables filled safely, and chats rendered as one prompt.

Templates use ``{name}`` variables and are formatted *safely*, the way LlamaIndex's
``SafeFormatter`` does it: a ``{...}`` whose content is not a given keyword is left as
it is, so JSON examples in a prompt need no escaping and a missing variable never
raises. ``{{`` and ``}}`` are not unescaped (``{{name}}`` becomes ``{value}``).

Also the default prompt converters the LLM base class uses: :func:`messages_to_prompt`
(chat -> completion prompt), :func:`completion_to_prompt` (identity) and
:func:`prompt_to_messages` (completion prompt -> one user message).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from llmplug.types._messages import ChatMessage, MessageRole

__all__ = [
    "completion_to_prompt",
    "format_string",
    "get_template_vars",
    "messages_to_prompt",
    "prompt_to_messages",
]

# What gets replaced: any brace pair without braces inside. What counts as a template
# variable: an identifier, optionally dotted. Both as in LlamaIndex's SafeFormatter.
# Compiled on first use (and cached by re), so importing stays cheap.
_FIELD = r"\{([^{}]+)\}"
_VARIABLE = r"\{([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\}"


def get_template_vars(template: str) -> list[str]:
    """Return the template variables of ``template``, in order, repeats included.

    A variable is ``{identifier}`` or ``{dotted.identifier}``; other braces (JSON,
    code, ``{0}``, ``{ spaced }``) are not variables.

    Args:
        template: The template text.

    Returns:
        The variable names.
    """
    return re.findall(_VARIABLE, template)


def format_string(template: str, /, **kwargs: Any) -> str:
    """Fill ``template``'s ``{name}`` fields from ``kwargs``, leaving the rest alone.

    Every ``{...}`` with no braces inside whose content is a key of ``kwargs`` is
    replaced by ``str(value)`` (``bytes`` become base64 text); every other brace is
    kept verbatim. Nothing raises for a missing variable.

    Args:
        template: The template text.
        **kwargs: The values, by variable name.

    Returns:
        The formatted text.
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in kwargs:
            return match.group(0)
        return _to_text(kwargs[key])

    return re.sub(_FIELD, replace, template)


def _to_text(value: Any) -> str:
    if isinstance(value, bytes):
        # As LlamaIndex: bytes go in as base64 text, left alone if already base64.
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raw = value
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def messages_to_prompt(messages: Sequence[ChatMessage]) -> str:
    r"""Render a chat as one completion prompt (LlamaIndex's generic converter).

    Each message becomes ``"<role>: <content>"``, followed on the next line by its
    ``additional_kwargs`` when it has any; a last line ``"assistant: "`` cues the
    model's turn, and the lines are joined with ``"\n"``: a system and a user message
    give ``"system: Be brief.\nuser: Hi\nassistant: "``.

    Args:
        messages: The chat.

    Returns:
        The prompt text.
    """
    lines: list[str] = []
    for message in messages:
        line = f"{message.role.value}: {message.content}"
        if message.additional_kwargs:
            line += f"\n{message.additional_kwargs}"
        lines.append(line)
    lines.append(f"{MessageRole.ASSISTANT.value}: ")
    return "\n".join(lines)


def completion_to_prompt(completion: str) -> str:
    """Return ``completion`` unchanged (the default completion-prompt wrapper).

    Args:
        completion: The completion prompt.

    Returns:
        The same text.
    """
    return completion


def prompt_to_messages(prompt: str) -> list[ChatMessage]:
    """Turn a completion prompt into a chat of one user message.

    Args:
        prompt: The prompt text.

    Returns:
        ``[ChatMessage(role=USER, content=prompt)]``.
    """
    return [ChatMessage(role=MessageRole.USER, content=prompt)]
