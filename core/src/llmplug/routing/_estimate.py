"""Token estimates made before a call, for tokens-per-minute limits.

An estimate only has to be close: once the call ends, the real usage replaces it in the
limit's count. Like OpenAI's own accounting, it counts the prompt (about four
characters a token) plus the most the answer may use (``max_tokens``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmplug.types._blocks import TextBlock
from llmplug.types._messages import ChatMessage
from llmplug.types._responses import DEFAULT_NUM_OUTPUTS

__all__ = ["MEDIA_TOKENS", "estimate_input_tokens", "estimate_output_tokens"]

#: Tokens counted for a block that is not text (an image, audio, a document).
MEDIA_TOKENS = 256
# every message costs a few tokens of framing (role, separators)
_PER_MESSAGE = 4


def _text_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def estimate_input_tokens(prompt: str | Sequence[ChatMessage]) -> int:
    """About how many tokens a prompt, or a list of messages, takes."""
    if isinstance(prompt, str):
        return _text_tokens(prompt)
    total = 0
    for message in prompt:
        total += _PER_MESSAGE
        for block in message.blocks:
            if isinstance(block, TextBlock):
                total += _text_tokens(block.text)
            else:
                total += MEDIA_TOKENS
    return total


def estimate_output_tokens(options: Mapping[str, Any], llm: Any) -> int:
    """The most an answer may use: the call's ``max_tokens``, the LLM's, or 256."""
    # read from the instance's dict: an LLM without the option would take pydantic's
    # slow attribute fallback, and this runs before every call under a token limit
    for value in (options.get("max_tokens"), vars(llm).get("max_tokens")):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_NUM_OUTPUTS
