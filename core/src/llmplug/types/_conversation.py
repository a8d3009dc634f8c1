"""A conversation kept by a plugin, handed back to be continued (``llmplug chat -c``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmplug.types._messages import ChatMessage

__all__ = ["Conversation"]


@dataclass(frozen=True)
class Conversation:
    """A conversation a plugin kept (a call log), as the ``resume_conversation`` hook returns it.

    Attributes:
        id: The conversation's id: calls that continue it carry it as
            ``call.conversation_id``.
        messages: Its messages so far, oldest first, the last reply included.
        model: The config string of the model it was held with, if known
            (``"openai:gpt-4o-mini"``); the command line uses it when no ``-m`` is given.
    """

    id: str
    messages: list[ChatMessage] = field(default_factory=list)
    model: str | None = None
