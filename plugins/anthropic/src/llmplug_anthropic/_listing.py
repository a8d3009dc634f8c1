"""Listing Claude models: the model table, and the Models API's pages.

``GET /v1/models?limit=N[&after_id=ID]`` answers one page::

    {"data": [{"type": "model", "id": "claude-...", "display_name": "Claude ...",
               "created_at": "2025-02-19T00:00:00Z", "max_input_tokens": 200000,
               "max_tokens": 64000, ...}],
     "has_more": true, "first_id": "...", "last_id": "..."}

newest first; the next page is asked for with ``after_id`` set to ``last_id`` while
``has_more`` is true (Anthropic's API reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmplug import ModelInfo
from llmplug.errors import APIError
from llmplug.http import HTTPRequest
from llmplug_anthropic._models import KNOWN_MODELS

__all__ = ["PAGE_LIMIT", "known_claude_models", "models_page_request", "parse_models_page"]

#: Models per page asked for (the API's maximum).
PAGE_LIMIT = 1000
#: Pages followed at most: a server that never says "no more" cannot loop forever.
MAX_PAGES = 100


def known_claude_models() -> list[ModelInfo]:
    """Claude models from the built-in table (each entry names a model family)."""
    return [
        ModelInfo(id=name, context_window=info.context_window, max_output_tokens=info.max_output)
        for name, info in sorted(KNOWN_MODELS.items())
    ]


def models_page_request(version: str, after_id: str | None = None) -> HTTPRequest:
    """The request for one page of models (after the model ``after_id``)."""
    params = {"limit": str(PAGE_LIMIT)}
    if after_id:
        params["after_id"] = after_id
    return HTTPRequest(
        "/v1/models", method="GET", headers={"anthropic-version": version}, params=params
    )


def _created(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_models_page(data: Any, *, provider: str) -> tuple[list[ModelInfo], str | None]:
    """The models of one page, and the ``after_id`` of the next page (``None``: last).

    Raises:
        APIError: The body is not a page of models.
    """
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise APIError(
            "the model list is not {'data': [...]}; is base_url Anthropic's API?",
            provider=provider,
            body=data if isinstance(data, dict | list) else str(data)[:200],
        )
    models = [
        ModelInfo(
            id=entry["id"],
            display_name=entry.get("display_name") or None,
            context_window=_int(entry.get("max_input_tokens")),
            max_output_tokens=_int(entry.get("max_tokens")),
            created=_created(entry.get("created_at")),
            owned_by="anthropic",
            raw=entry,
        )
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]
    ]
    last = data.get("last_id")
    more = data.get("has_more") is True and isinstance(last, str) and bool(last)
    return models, (last if more else None)
