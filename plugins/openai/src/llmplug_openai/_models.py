"""What is known about OpenAI's chat models: context window, output size, features.

Looked up by the longest matching prefix, so dated snapshots (``gpt-4o-2024-08-06``)
and new minor versions (``gpt-5.5`` -> ``gpt-5``) find their family. A name that matches
nothing (a model on a compatible server, a model released after this table) gets
:data:`UNKNOWN`: never an error.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from llmplug import LLMMetadata

__all__ = ["KNOWN_MODELS", "UNKNOWN", "ModelInfo", "model_info"]


class ModelInfo(NamedTuple):
    """What a model can take and do.

    Attributes:
        context_window: Input plus output tokens per call.
        max_output: Most tokens one response may hold.
        function_calling: The model calls tools.
        reasoning: A reasoning model (o-series, gpt-5): its instructions go in a
            ``developer`` message.
        explicit_cache: The model takes ``prompt_cache_breakpoint`` markers (gpt-5.6+).
        json_schema: The model takes ``response_format`` of type ``json_schema``
            (structured outputs: gpt-4o-2024-08-06 and later).
    """

    context_window: int
    max_output: int
    function_calling: bool = True
    reasoning: bool = False
    explicit_cache: bool = False
    json_schema: bool = True


#: Used for names the table does not know: LLMMetadata's (LlamaIndex's) defaults.
UNKNOWN = ModelInfo(
    LLMMetadata.model_fields["context_window"].default,
    LLMMetadata.model_fields["num_output"].default,
    function_calling=False,
)

_GPT5 = ModelInfo(400_000, 128_000, reasoning=True)

#: Model name prefix -> what it can do, from OpenAI's model pages.
KNOWN_MODELS: dict[str, ModelInfo] = {
    "gpt-3.5-turbo": ModelInfo(16_385, 4_096, json_schema=False),
    "gpt-4": ModelInfo(8_192, 8_192, json_schema=False),
    "gpt-4-32k": ModelInfo(32_768, 8_192, json_schema=False),
    "gpt-4-turbo": ModelInfo(128_000, 4_096, json_schema=False),
    "gpt-4-1106-preview": ModelInfo(128_000, 4_096, json_schema=False),
    "gpt-4-0125-preview": ModelInfo(128_000, 4_096, json_schema=False),
    "gpt-4-vision-preview": ModelInfo(128_000, 4_096, function_calling=False, json_schema=False),
    "gpt-4o": ModelInfo(128_000, 16_384),
    "gpt-4o-2024-05-13": ModelInfo(128_000, 4_096, json_schema=False),
    "gpt-4o-mini": ModelInfo(128_000, 16_384),
    "gpt-4o-search-preview": ModelInfo(128_000, 16_384, function_calling=False),
    "gpt-4o-mini-search-preview": ModelInfo(128_000, 16_384, function_calling=False),
    "chatgpt-4o-latest": ModelInfo(128_000, 16_384, function_calling=False),
    "gpt-4.1": ModelInfo(1_047_576, 32_768),
    "gpt-4.5-preview": ModelInfo(128_000, 16_384),
    "o1": ModelInfo(200_000, 100_000, reasoning=True),
    "o1-preview": ModelInfo(
        128_000, 32_768, function_calling=False, reasoning=True, json_schema=False
    ),
    "o1-mini": ModelInfo(
        128_000, 65_536, function_calling=False, reasoning=True, json_schema=False
    ),
    "o3": ModelInfo(200_000, 100_000, reasoning=True),
    "o3-mini": ModelInfo(200_000, 100_000, reasoning=True),
    "o4-mini": ModelInfo(200_000, 100_000, reasoning=True),
    "codex-mini-latest": ModelInfo(200_000, 100_000, reasoning=True),
    "gpt-5": _GPT5,
    "gpt-5-chat-latest": ModelInfo(128_000, 16_384),
    "gpt-5.1-chat-latest": ModelInfo(128_000, 16_384),
    "gpt-5.2-chat-latest": ModelInfo(128_000, 16_384),
    "gpt-5.3-chat-latest": ModelInfo(128_000, 16_384),
    "gpt-5.4": ModelInfo(1_050_000, 128_000, reasoning=True),
    "gpt-5.4-mini": _GPT5,
    "gpt-5.4-nano": _GPT5,
    # the spec: explicit prompt cache breakpoints are "supported for gpt-5.6 and later"
    "gpt-5.6": _GPT5._replace(explicit_cache=True),
}

# o-series names not in the table yet (o5, o3-pro...) are reasoning models too
_REASONING_NAME = r"^o\d"  # compiled on first use


@lru_cache(maxsize=256)
def model_info(model: str) -> ModelInfo:
    """What is known about ``model``; :data:`UNKNOWN` for a name the table lacks.

    Args:
        model: An OpenAI model name, or any other (a compatible server's model).
    """
    name = model.lower()
    best = ""
    for prefix in KNOWN_MODELS:
        if len(prefix) > len(best) and name.startswith(prefix):
            best = prefix
    if best:
        return KNOWN_MODELS[best]
    if re.match(_REASONING_NAME, name):
        return ModelInfo(200_000, 100_000, reasoning=True)
    return UNKNOWN
