"""What is known about Gemini models: context window, output size, what they take.

Looked up by the longest matching prefix of the model name (``models/`` and Vertex's
``publishers/google/models/`` prefixes are ignored), so versions and previews
(``gemini-2.5-flash-preview-09-2025``, ``gemini-3-pro-preview``) find their family. A
name that matches nothing (a model released after this table, a tuned model) gets
:data:`UNKNOWN`, never an error: the context and output of the current Gemini
families, with tools, vision and JSON schema assumed, and nothing refused up front (the
API says what it does not take).

Figures from Google's model pages (ai.google.dev/gemini-api/docs/models, November 2026).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple

from llmplug import ModelInfo as ListedModel

__all__ = [
    "KNOWN_MODELS",
    "UNKNOWN",
    "ModelInfo",
    "known_models",
    "listed_gemini_model",
    "listed_vertex_model",
    "model_info",
    "short_name",
]

Thinking = Literal["none", "budget", "level"]


class ModelInfo(NamedTuple):
    """What a model can take and do.

    Attributes:
        context_window: Input tokens per call (the API's ``inputTokenLimit``).
        max_output: Most tokens one response may hold (``outputTokenLimit``).
        function_calling: The model calls functions (``functionDeclarations``).
        vision: The model reads images (and audio, video and PDF documents).
        thinking: How its thinking is configured: ``"level"`` (Gemini 3:
            ``thinkingLevel``, a budget is still taken), ``"budget"`` (Gemini 2.5:
            ``thinkingBudget`` only) or ``"none"`` (no thinking config at all).
        thinking_off: ``thinkingBudget: 0`` turns its thinking off (not on 2.5 Pro).
        json_schema: The model takes ``responseJsonSchema``; older ones take only the
            OpenAPI subset of ``responseSchema``.
        system_instruction: The model takes ``systemInstruction`` (Gemma does not).
    """

    context_window: int
    max_output: int
    function_calling: bool = True
    vision: bool = True
    thinking: Thinking = "budget"
    thinking_off: bool = True
    json_schema: bool = True
    system_instruction: bool = True


_M = 1_048_576
_GEMINI_3 = ModelInfo(_M, 65_536, thinking="level", thinking_off=False)
_GEMINI_2_5 = ModelInfo(_M, 65_536)
_GEMINI_2_0 = ModelInfo(_M, 8_192, thinking="none", json_schema=False)
_GEMMA = ModelInfo(
    131_072,
    8_192,
    function_calling=False,
    thinking="none",
    json_schema=False,
    system_instruction=False,
)

#: Used for names the table does not know: nothing refused (a budget and a level taken).
UNKNOWN = ModelInfo(_M, 65_536, thinking="level")

#: Model name prefix -> what it can do.
KNOWN_MODELS: dict[str, ModelInfo] = {
    "gemini-1.5-flash": ModelInfo(_M, 8_192, thinking="none", json_schema=False),
    "gemini-1.5-flash-8b": ModelInfo(_M, 8_192, thinking="none", json_schema=False),
    "gemini-1.5-pro": ModelInfo(2_097_152, 8_192, thinking="none", json_schema=False),
    "gemini-2.0-flash": _GEMINI_2_0,
    "gemini-2.0-flash-lite": _GEMINI_2_0,
    "gemini-2.0-flash-thinking": ModelInfo(_M, 65_536, function_calling=False),
    "gemini-2.0-flash-preview-image-generation": ModelInfo(
        32_000, 8_192, function_calling=False, thinking="none", json_schema=False
    ),
    "gemini-2.5-pro": _GEMINI_2_5._replace(thinking_off=False),
    "gemini-2.5-flash": _GEMINI_2_5,
    "gemini-2.5-flash-lite": _GEMINI_2_5,
    "gemini-2.5-flash-image": ModelInfo(
        32_768, 32_768, function_calling=False, thinking="none", json_schema=False
    ),
    "gemini-2.5-flash-preview-tts": ModelInfo(
        8_192, 16_384, function_calling=False, vision=False, thinking="none"
    ),
    "gemini-2.5-pro-preview-tts": ModelInfo(
        8_192, 16_384, function_calling=False, vision=False, thinking="none"
    ),
    "gemini-3-pro": _GEMINI_3,
    "gemini-3-flash": _GEMINI_3,
    "gemini-3-pro-image": ModelInfo(
        65_536, 32_768, function_calling=False, thinking="level", thinking_off=False
    ),
    "gemini-3.1-pro": _GEMINI_3,
    "gemini-3.1-flash": _GEMINI_3,
    "gemini-3.1-flash-lite": _GEMINI_3,
    "gemini-flash-latest": _GEMINI_2_5,
    "gemini-flash-lite-latest": _GEMINI_2_5,
    "gemini-pro-latest": _GEMINI_2_5._replace(thinking_off=False),
    "gemma-3": _GEMMA,
    "gemma-3n": _GEMMA._replace(context_window=32_768),
}

# what ``llmplug models -p gemini`` lists: the current families' stable names
_LISTED = (
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
)

_PREFIXES = ("publishers/google/models/", "models/")


def short_name(model: str) -> str:
    """``model`` without a ``models/`` or ``publishers/google/models/`` prefix."""
    for prefix in _PREFIXES:
        if model.startswith(prefix):
            return model[len(prefix) :]
    return model


@lru_cache(maxsize=256)
def model_info(model: str) -> ModelInfo:
    """What is known about ``model``; :data:`UNKNOWN` for a name the table lacks.

    Args:
        model: A Gemini model name (``gemini-2.5-flash``, ``models/gemini-2.5-flash``).
    """
    name = short_name(model).lower()
    best = ""
    for prefix in KNOWN_MODELS:
        if len(prefix) > len(best) and name.startswith(prefix):
            best = prefix
    return KNOWN_MODELS[best] if best else UNKNOWN


def known_models() -> list[ListedModel]:
    """The current Gemini models of the table, as listings show them."""
    listed = []
    for name in _LISTED:
        info = model_info(name)
        listed.append(
            ListedModel(
                id=name,
                context_window=info.context_window,
                max_output_tokens=info.max_output,
                owned_by="google",
            )
        )
    return listed


def listed_gemini_model(record: dict[str, object]) -> ListedModel | None:
    """A model of the Gemini API's ``models.list``, if it answers ``generateContent``.

    Embedding, image and other models the listing also holds are left out.
    """
    methods = record.get("supportedGenerationMethods")
    if isinstance(methods, list) and "generateContent" not in methods:
        return None
    name = record.get("name")
    if not isinstance(name, str) or not name:
        return None
    return ListedModel(
        id=short_name(name),
        display_name=_text(record.get("displayName")),
        context_window=_int(record.get("inputTokenLimit")),
        max_output_tokens=_int(record.get("outputTokenLimit")),
        owned_by="google",
        description=_text(record.get("description")) or "",
        raw=record,
    )


def listed_vertex_model(record: dict[str, object]) -> ListedModel | None:
    """A Gemini model of Vertex AI's publisher model listing (others are left out)."""
    name = record.get("name")
    if not isinstance(name, str) or not short_name(name).startswith("gemini"):
        return None
    info = model_info(name)
    return ListedModel(
        id=short_name(name),
        display_name=_text(record.get("displayName")),
        context_window=info.context_window if info is not UNKNOWN else None,
        max_output_tokens=info.max_output if info is not UNKNOWN else None,
        owned_by="google",
        description=_text(record.get("launchStage")) or "",
        raw=record,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
