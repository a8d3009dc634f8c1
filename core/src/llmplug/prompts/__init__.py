"""Prompts: templates, output parsers, and the text formatting around them.

LlamaIndex's ``PromptTemplate`` / ``ChatPromptTemplate`` (formatted safely: unknown
``{braces}`` stay as they are), ``BaseOutputParser``, and the converters between a chat
and one completion prompt. It imports ``llmplug.types`` and the bottom layer only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    # templates
    "BasePromptTemplate": "llmplug.prompts._templates",
    "ChatPromptTemplate": "llmplug.prompts._templates",
    "PromptTemplate": "llmplug.prompts._templates",
    "PromptType": "llmplug.prompts._templates",
    # output parsers
    "BaseOutputParser": "llmplug.prompts._output_parsers",
    # formatting
    "completion_to_prompt": "llmplug.prompts._formatting",
    "format_string": "llmplug.prompts._formatting",
    "get_template_vars": "llmplug.prompts._formatting",
    "messages_to_prompt": "llmplug.prompts._formatting",
    "prompt_to_messages": "llmplug.prompts._formatting",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.prompts._formatting import (
        completion_to_prompt as completion_to_prompt,
        format_string as format_string,
        get_template_vars as get_template_vars,
        messages_to_prompt as messages_to_prompt,
        prompt_to_messages as prompt_to_messages,
    )
    from llmplug.prompts._output_parsers import (
        BaseOutputParser as BaseOutputParser,
    )
    from llmplug.prompts._templates import (
        BasePromptTemplate as BasePromptTemplate,
        ChatPromptTemplate as ChatPromptTemplate,
        PromptTemplate as PromptTemplate,
        PromptType as PromptType,
    )
