"""What a row asks: its messages, from a prompt template, or its own prompt or messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmplug._untrusted import shorten
from llmplug.prompts._formatting import format_string, get_template_vars
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = ["RowProblem", "RowPrompt", "field_names"]

_ROLES = frozenset(role.value for role in MessageRole)


class RowProblem(ValueError):
    """A row that cannot be sent as it is (a field missing, malformed messages)."""


@dataclass(frozen=True)
class RowPrompt:
    """How a row becomes the messages of one chat call.

    With ``template``, the row's fields fill its ``{name}`` variables and the text is
    the user message; without it, the row gives its own ``prompt`` (text) or
    ``messages`` (a list of ``{"role": ..., "content": ...}``).

    Attributes:
        template: A prompt with ``{field}`` variables (``"Sentiment of: {text}"``).
        system: A system message sent before each row's messages (unless the row's
            own messages have one).
    """

    template: str | None = None
    system: str | None = None
    _names: tuple[str, ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        if self.template is not None:
            names = tuple(dict.fromkeys(get_template_vars(self.template)))
            object.__setattr__(self, "_names", names)

    def messages(self, fields: Mapping[str, Any]) -> list[ChatMessage]:
        """The messages of the row whose fields are ``fields``.

        Raises:
            RowProblem: A field the template names is missing, or the row has no
                ``prompt`` or ``messages`` of its own (without a template), or its
                messages are malformed.
        """
        if self.template is not None:
            missing = [name for name in self._names if fields.get(name) is None]
            if missing:
                raise RowProblem(
                    f"no field {', '.join(map(repr, missing))} for the prompt (the row's "
                    f"fields: {_names(fields)})"
                )
            values = {name: fields[name] for name in self._names}
            messages = [
                ChatMessage(role=MessageRole.USER, content=format_string(self.template, **values))
            ]
        elif isinstance(fields.get("messages"), list):
            messages = _messages(fields["messages"])
        elif isinstance(fields.get("prompt"), str) and fields["prompt"].strip():
            messages = [ChatMessage(role=MessageRole.USER, content=fields["prompt"])]
        else:
            raise RowProblem(
                f"no 'prompt' (text) or 'messages' (a list) in the row (its fields: "
                f"{_names(fields)}): give --prompt TEMPLATE with {{field}} variables"
            )
        if self.system and not any(m.role is MessageRole.SYSTEM for m in messages):
            messages.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=self.system))
        return messages


def field_names(fields: Mapping[str, Any], limit: int = 200) -> str:
    """A row's field names for a message (``a, b, c``), cut to about ``limit`` characters."""
    text = ", ".join(map(str, fields)) or "none"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(fields)} fields)"


_names = field_names


def _messages(items: list[Any]) -> list[ChatMessage]:
    messages = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise RowProblem(
                f"messages[{i}] is not {{'role': ..., 'content': 'text'}}: "
                f"{shorten(json_text(item), 80)}"
            )
        role = item.get("role", "user")
        if role not in _ROLES:
            raise RowProblem(
                f"messages[{i}] has the role {shorten(role, 40)}; use one of "
                f"{', '.join(sorted(_ROLES))}"
            )
        messages.append(ChatMessage(role=role, content=item["content"]))
    if not messages:
        raise RowProblem("the row's messages are an empty list")
    return messages


def json_text(value: Any) -> str:
    """``value`` as short JSON for a message (its ``repr`` if it is not JSON)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)
