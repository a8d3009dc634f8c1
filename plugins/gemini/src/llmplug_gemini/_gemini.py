"""The ``gemini`` provider: Google's Gemini API (generativelanguage.googleapis.com).

Requests go to ``{base_url}/{api_version}/models/{model}:generateContent`` (and
``:streamGenerateContent?alt=sse``), the key in the ``x-goog-api-key`` header, never in
the URL.

The key: ``api_key=``, else ``GEMINI_API_KEY`` (the class's ``key_env``, the variable
llmplug names in its messages and its key store), else ``GOOGLE_API_KEY``. The core's
``key_env`` holds one variable; the second is this provider's own fallback
(:attr:`GeminiLLM.fallback_key_envs`), read by a validator of its own, so ``key_env``
keeps its single meaning everywhere else. When both are set, ``GEMINI_API_KEY`` wins
(Google's SDK prefers ``GOOGLE_API_KEY``, a name other Google APIs' keys often hold).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from llmplug import ChatMessage, ModelInfo as ListedModel
from llmplug.errors import ConfigError
from llmplug.http import HTTPRequest
from llmplug_gemini._llm import GenerateContentLLM
from llmplug_gemini._models import listed_gemini_model

__all__ = ["GEMINI_BASE_URL", "GeminiLLM"]

#: The Gemini API.
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
_MAX_PAGES = 100


class GeminiLLM(GenerateContentLLM):
    """Chat with Gemini models through the Gemini API (an API key from Google AI Studio).

    See :class:`~llmplug_gemini.GenerateContentLLM` for the options they share.

    Attributes:
        base_url: The API's base URL; requests go to
            ``{base_url}/{api_version}/models/{model}:generateContent``.
        api_version: ``v1beta`` (the default: every feature) or ``v1`` (stable only).
        api_key: The key, sent as ``x-goog-api-key``; read from ``GEMINI_API_KEY``, else
            ``GOOGLE_API_KEY``, when not given.
    """

    key_env: ClassVar[str | None] = "GEMINI_API_KEY"
    #: Env vars read for the key, in order, after :attr:`key_env`.
    fallback_key_envs: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY",)

    base_url: str = Field(default=GEMINI_BASE_URL, description="The API's base URL.")
    api_version: Literal["v1beta", "v1"] = "v1beta"

    @model_validator(mode="after")
    def _key_from_fallback_env(self) -> GeminiLLM:
        if self.api_key is None:
            for name in (self.key_env, *self.fallback_key_envs):
                value = os.environ.get(name) if name else None
                if value:
                    # through __dict__: validate_assignment would re-run this validator
                    self.__dict__["api_key"] = SecretStr(value)
                    break
        return self

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The key goes in ``x-goog-api-key`` (never in the URL, where logs would keep it)."""
        return {"x-goog-api-key": api_key}

    def model_path(self, model: str) -> str:
        """``/{api_version}/models/{model}`` (a ``tunedModels/...`` name as it is)."""
        name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        return f"/{self.api_version}/{name}"

    def cached_content_name(self, name: str) -> str:
        """``cachedContents/{id}`` for a bare id."""
        return name if name.startswith("cachedContents/") else f"cachedContents/{name}"

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the request (see :meth:`GenerateContentLLM.build_request`).

        Raises:
            ConfigError: No API key for Google's own host.
            InvalidOptionError: A bad option.
            UnsupportedContentError: A block the API cannot take.
        """
        self._check_key()
        return super().build_request(messages, options, stream=stream)

    def _check_key(self) -> None:
        if self.api_key is not None:
            return
        host = urlsplit(self.base_url).hostname or ""
        sent = {name.lower() for name in self.extra_headers}
        if host.endswith("googleapis.com") and not sent & {"x-goog-api-key", "authorization"}:
            raise ConfigError(
                f"no API key for the Gemini API: set {self.key_env} (or "
                f"{', '.join(self.fallback_key_envs)}), or pass api_key=... (keys: "
                f"https://aistudio.google.com/apikey)",
                provider=self.provider_label,
            )

    # -- model listing -------------------------------------------------------------------

    def _list_request(self, token: str | None) -> HTTPRequest:
        params = {"pageSize": "1000"}
        if token:
            params["pageToken"] = token
        return HTTPRequest(f"/{self.api_version}/models", method="GET", params=params)

    def list_models(self) -> list[ListedModel]:
        """The models the key may use that answer ``generateContent`` (``models.list``).

        Raises:
            APIError: The listing request failed.
        """
        self._check_key()
        models: list[ListedModel] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            token = _page(self.request_json(self._list_request(token)), models)
            if not token:
                break
        return models

    async def alist_models(self) -> list[ListedModel]:
        """Async :meth:`list_models` (natively async)."""
        self._check_key()
        models: list[ListedModel] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            token = _page(await self.arequest_json(self._list_request(token)), models)
            if not token:
                break
        return models


def _page(data: Any, models: list[ListedModel]) -> str | None:
    """Add one page's chat models to ``models``; return the next page's token."""
    if not isinstance(data, dict):
        return None
    for record in data.get("models") or ():
        if isinstance(record, dict):
            listed = listed_gemini_model(record)
            if listed is not None:
                models.append(listed)
    token = data.get("nextPageToken")
    return token if isinstance(token, str) and token else None
