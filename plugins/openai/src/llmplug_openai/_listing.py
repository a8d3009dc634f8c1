"""Listing models: OpenAI's model table, and the ``GET /models`` endpoint's answer.

``GET /models`` answers ``{"object": "list", "data": [{"id", "object": "model",
"created", "owned_by"}]}`` (OpenAI's API reference). Compatible services add fields of
their own, read here when present: the context window as ``context_window`` (Groq),
``context_length`` (OpenRouter) or ``max_model_len`` (vLLM); a ``name`` and
``description`` (OpenRouter); Azure names the creation time ``created_at``.
"""

from __future__ import annotations

from typing import Any

from llmplug import ModelInfo
from llmplug.errors import APIError
from llmplug_openai._models import KNOWN_MODELS

__all__ = ["known_openai_models", "parse_model_list"]

_CONTEXT_FIELDS = ("context_window", "context_length", "max_model_len")


def known_openai_models() -> list[ModelInfo]:
    """OpenAI's models from the built-in table (each entry names a model family)."""
    return [
        ModelInfo(id=name, context_window=info.context_window, max_output_tokens=info.max_output)
        for name, info in sorted(KNOWN_MODELS.items())
    ]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_model_list(data: Any, *, provider: str) -> list[ModelInfo]:
    """The models of a ``GET /models`` body, sorted by id.

    Raises:
        APIError: The body is not a model list.
    """
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise APIError(
            "the model list is not {'data': [...]}; is base_url an OpenAI-compatible API?",
            provider=provider,
            body=data if isinstance(data, dict | list) else str(data)[:200],
        )
    models = []
    for entry in entries:
        if not isinstance(entry, dict) or not _text(entry.get("id")):
            continue  # nothing to name it by
        context = next((_int(entry.get(f)) for f in _CONTEXT_FIELDS if _int(entry.get(f))), None)
        created = _int(entry.get("created")) or _int(entry.get("created_at"))
        models.append(
            ModelInfo(
                id=entry["id"],
                display_name=_text(entry.get("name")),
                context_window=context,
                created=created,
                owned_by=_text(entry.get("owned_by")),
                description=" ".join((_text(entry.get("description")) or "").split())[:200],
                raw=entry,
            )
        )
    return sorted(models, key=lambda model: model.id)
