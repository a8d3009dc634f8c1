"""The output-parser interface (LlamaIndex's ``llama_index.core.types.BaseOutputParser``).

An output parser does two things around an LLM call: it may add formatting instructions
to the outgoing prompt (``format`` / ``format_messages``) and it turns the model's text
back into a value (``parse``). Structured (pydantic) parsers build on this base.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from llmplug.types._blocks import TextBlock
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = ["BaseOutputParser"]


class BaseOutputParser(ABC):
    """Base class of output parsers.

    Subclasses implement :meth:`parse`; they override :meth:`format` to add
    formatting instructions to a prompt (the default leaves it unchanged).
    :meth:`format_messages` applies :meth:`format` to a chat: to the first message
    when it is a system message, else to the last message.
    """

    @abstractmethod
    def parse(self, output: str) -> Any:
        """Parse, validate and correct the model's output.

        Args:
            output: The raw text the model produced.

        Returns:
            The parsed value.
        """

    def format(self, query: str) -> str:
        """Add output-formatting instructions to a prompt.

        Args:
            query: The prompt text.

        Returns:
            The prompt with instructions added; the base class returns it unchanged.
        """
        return query

    def format_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        """Add output-formatting instructions to a chat.

        The instructions go to the first message if it is a system message, else to
        the last message; inside that message, :meth:`format` rewrites the text of the
        last text block, or a new text block holding ``format("")`` is appended when
        the message has none.

        Unlike LlamaIndex, the messages passed in are never changed: the formatted
        message is a copy, and a new list is returned.

        Args:
            messages: The chat to format.

        Returns:
            A new list of messages.
        """
        formatted = list(messages)
        if formatted:
            index = 0 if formatted[0].role == MessageRole.SYSTEM else -1
            formatted[index] = self._format_message(formatted[index])
        return formatted

    def _format_message(self, message: ChatMessage) -> ChatMessage:
        """Return a copy of ``message`` with :meth:`format` applied to its text."""
        blocks = list(message.blocks)
        for index in range(len(blocks) - 1, -1, -1):
            block = blocks[index]
            if isinstance(block, TextBlock):
                blocks[index] = block.model_copy(update={"text": self.format(block.text)})
                break
        else:
            blocks.append(TextBlock(text=self.format("")))
        return message.model_copy(update={"blocks": blocks})
