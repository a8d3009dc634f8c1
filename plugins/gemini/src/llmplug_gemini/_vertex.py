"""The ``vertex`` provider: Gemini models on Google Cloud's Vertex AI.

Requests go to ``https://{location}-aiplatform.googleapis.com/{api_version}/projects/
{project}/locations/{location}/publishers/google/models/{model}:generateContent``
(``aiplatform.googleapis.com`` for the ``global`` location), with an OAuth access token
as ``Authorization: Bearer``. The project and location are options, else
``GOOGLE_CLOUD_PROJECT`` / ``GOOGLE_CLOUD_LOCATION`` (or ``VERTEXAI_PROJECT`` /
``VERTEXAI_LOCATION``); the project may also come from the credentials; the location
defaults to ``global``.

The token: ``access_token=`` (fixed), ``token_provider=`` (a function), ``credentials=``
(a google-auth credentials object), else Application Default Credentials through
google-auth (the ``[vertex]`` extra), loaded on the first request, never at import. An
``api_key=`` instead uses Vertex AI's express mode (no project: the key's own).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BeforeValidator, Field, PrivateAttr, SecretStr, model_validator

from llmplug import ChatMessage, ChatResponse, ModelInfo as ListedModel
from llmplug.errors import APIError, AuthenticationError, ConfigError, PermissionDeniedError
from llmplug.http import HTTPRequest, json_from_text
from llmplug.types import ChatResponseAsyncGen
from llmplug_gemini._auth import (
    CallableToken,
    CredentialsToken,
    StaticToken,
    TokenSource,
    application_default,
)
from llmplug_gemini._llm import GenerateContentLLM
from llmplug_gemini._models import listed_vertex_model
from llmplug_gemini._wire import Wire

__all__ = ["PROJECT_ENVS", "LOCATION_ENVS", "VertexLLM", "vertex_base_url"]

#: Env vars read for the project, in order.
PROJECT_ENVS = ("GOOGLE_CLOUD_PROJECT", "VERTEXAI_PROJECT")
#: Env vars read for the location, in order (else ``global``).
LOCATION_ENVS = ("GOOGLE_CLOUD_LOCATION", "VERTEXAI_LOCATION")
_GLOBAL = "global"
_LISTING = "/v1beta1/publishers/google/models"  # publisher models: v1beta1 only
_CORE_KEY_HINT = "; check the API key (pass api_key=)"
_MAX_PAGES = 100


def vertex_base_url(location: str) -> str:
    """The Vertex AI host of ``location`` (``global``: the global endpoint)."""
    if location == _GLOBAL:
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


Labels = Annotated[dict[str, str] | None, BeforeValidator(json_from_text)]


class VertexLLM(GenerateContentLLM):
    """Chat with Gemini models on Vertex AI (Google Cloud), with OAuth credentials.

    See :class:`~llmplug_gemini.GenerateContentLLM` for the options they share.

    Attributes:
        project: The Google Cloud project (``GOOGLE_CLOUD_PROJECT`` when not given, or
            the credentials' own).
        location: The region (``us-central1``...) or ``global`` (``GOOGLE_CLOUD_LOCATION``
            when not given; ``global`` by default).
        base_url: The API's host; derived from ``location`` when not given.
        api_version: ``v1`` (the default) or ``v1beta1``.
        labels: Billing labels sent with each request (``labels``).
        access_token: A fixed OAuth access token (``gcloud auth print-access-token``).
        token_provider: A function returning an access token, called for every request
            (in line, also on the event loop: it should answer from its own cache).
        credentials: A google-auth credentials object (refreshed when it expires).
        api_key: A Vertex AI express mode key (instead of OAuth credentials).
    """

    vertex: ClassVar[bool] = True

    base_url: str = Field(default="", description="The API's host (from location if empty).")
    api_version: Literal["v1", "v1beta1"] = "v1"
    project: str | None = None
    location: str | None = None
    labels: Labels = None
    access_token: SecretStr | None = None
    token_provider: Any = Field(default=None, exclude=True, repr=False)
    credentials: Any = Field(default=None, exclude=True, repr=False)

    _tokens: TokenSource | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _where(self) -> VertexLLM:
        # through __dict__: validate_assignment would re-run this validator
        values = self.__dict__
        if self.project is None:
            values["project"] = _env(PROJECT_ENVS)
        if self.location is None:
            values["location"] = _env(LOCATION_ENVS) or _GLOBAL
        if not self.base_url:
            express = self.api_key is not None
            values["base_url"] = vertex_base_url(_GLOBAL if express else str(self.location))
        return self

    def __getstate__(self) -> dict[Any, Any]:
        # the token source holds a lock: a copy made by pickle makes its own
        state = super().__getstate__()
        state["__pydantic_private__"] = {
            **(state.get("__pydantic_private__") or {}),
            "_tokens": None,
        }
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # as for pickle; the caller's credentials object is shared, not copied (it may
        # hold a lock, and refreshing one refreshes it for both)
        memo = {} if memo is None else memo
        private = self.__pydantic_private__ or {}
        tokens = private.get("_tokens")
        if tokens is not None:
            memo[id(tokens)] = None
        if self.credentials is not None:
            memo[id(self.credentials)] = self.credentials
        return super().__deepcopy__(memo)

    # -- authentication ------------------------------------------------------------------

    def token_source(self) -> TokenSource:
        """Where the access token comes from (made on first use: ADC is loaded here)."""
        source = self._tokens
        if source is None:
            if self.access_token is not None:
                source = StaticToken(self.access_token.get_secret_value())
            elif self.token_provider is not None:
                source = CallableToken(self.token_provider)
            elif self.credentials is not None:
                source = CredentialsToken(self.credentials)
            else:
                source = application_default()
            self._tokens = source
        return source

    def resolved_project(self) -> str:
        """The project requests go to: the option, the env var, or the credentials'.

        Raises:
            ConfigError: None of them names one.
        """
        if self.project:
            return self.project
        project = self.token_source().project
        if project:
            return project
        raise ConfigError(
            f"no Google Cloud project for Vertex AI: pass project=... or set {PROJECT_ENVS[0]}",
            provider=self.provider_label,
        )

    def headers(
        self, request: HTTPRequest | None = None, *, stream: bool = False
    ) -> dict[str, str]:
        """The runtime's headers plus ``Authorization: Bearer <token>`` (refreshed if due).

        An ``Authorization`` header of the caller's (``extra_headers``) is kept; with
        ``api_key`` the key goes in ``x-goog-api-key`` instead.
        """
        merged = super().headers(request, stream=stream)
        if self.api_key is None and not any(name.lower() == "authorization" for name in merged):
            merged["Authorization"] = f"Bearer {self.token_source().token()}"
        return merged

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """An express mode key goes in ``x-goog-api-key``."""
        return {"x-goog-api-key": api_key}

    def _ready(self) -> None:
        """Load the credentials and the project, and refresh the token if due (blocking)."""
        if self.api_key is None:
            self.resolved_project()
            source = self.token_source()
            if not source.ready():
                source.token()

    async def _aready(self) -> None:
        """:meth:`_ready` in a worker thread, unless it has nothing to do."""
        if self.api_key is not None:
            return
        source = self._tokens
        if source is None or not source.ready() or not (self.project or source.project):
            await asyncio.to_thread(self._ready)

    # -- the async endpoints: credentials made ready off the event loop ---------------

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`; loading or refreshing credentials runs in a worker thread."""
        await self._aready()
        return await super().achat(messages, **kwargs)

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`; credentials are made ready in a worker thread first."""
        await self._aready()
        return await super().astream_chat(messages, **kwargs)

    async def arequest_json(self, request: HTTPRequest, **options: Any) -> Any:
        """Async :meth:`request_json`; credentials are made ready in a worker thread first."""
        await self._aready()
        return await super().arequest_json(request, **options)

    # -- where requests go ---------------------------------------------------------------

    def _prefix(self) -> str:
        return f"projects/{self.resolved_project()}/locations/{self.location}"

    def model_path(self, model: str) -> str:
        """``/{api_version}/projects/{p}/locations/{l}/publishers/google/models/{model}``.

        A full resource name (``projects/...``) is kept; another name with a ``/``
        (``publishers/meta/models/...``, ``endpoints/123``) goes under the project and
        location. In express mode (``api_key``) there is no project part.
        """
        if model.startswith("projects/"):
            name = model
        elif self.api_key is not None:
            name = model if "/" in model else f"publishers/google/models/{model}"
        elif "/" in model:
            name = f"{self._prefix()}/{model}"
        else:
            name = f"{self._prefix()}/publishers/google/models/{model}"
        return f"/{self.api_version}/{name}"

    def cached_content_name(self, name: str) -> str:
        """``projects/{p}/locations/{l}/cachedContents/{id}`` for a shorter name."""
        if name.startswith("projects/"):
            return name
        return f"{self._prefix()}/cachedContents/{name.removeprefix('cachedContents/')}"

    def extra_request_fields(self, body: Wire) -> None:
        """``labels``, when set."""
        if self.labels:
            body["labels"] = self.labels

    def error_from_body(
        self, body: Any, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """As the Gemini provider's, with the hint for OAuth credentials on 401 and 403."""
        error = super().error_from_body(body, status, headers)
        if self.api_key is None and isinstance(error, AuthenticationError | PermissionDeniedError):
            error.message = error.message.removesuffix(_CORE_KEY_HINT)
            error.message += (
                "; check the credentials ('gcloud auth application-default login', "
                "GOOGLE_APPLICATION_CREDENTIALS, access_token=) and that the project "
                f"{self.project or '(from the credentials)'} has the Vertex AI API enabled"
            )
            error.args = (error.message, *error.args[1:])
        return error

    # -- model listing -------------------------------------------------------------------

    def _list_request(self, token: str | None) -> HTTPRequest:
        params = {"pageSize": "1000"}
        if token:
            params["pageToken"] = token
        return HTTPRequest(_LISTING, method="GET", params=params)

    def list_models(self) -> list[ListedModel]:
        """Google's Gemini models on Vertex AI (the publisher model listing, v1beta1).

        Raises:
            APIError: The listing request failed.
        """
        models: list[ListedModel] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            token = _page(self.request_json(self._list_request(token)), models)
            if not token:
                break
        return models

    async def alist_models(self) -> list[ListedModel]:
        """Async :meth:`list_models` (natively async)."""
        models: list[ListedModel] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            token = _page(await self.arequest_json(self._list_request(token)), models)
            if not token:
                break
        return models


def _env(names: Sequence[str]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _page(data: Any, models: list[ListedModel]) -> str | None:
    """Add one page's Gemini models to ``models``; return the next page's token."""
    if not isinstance(data, dict):
        return None
    for record in data.get("publisherModels") or ():
        if isinstance(record, dict):
            listed = listed_vertex_model(record)
            if listed is not None:
                models.append(listed)
    token = data.get("nextPageToken")
    return token if isinstance(token, str) and token else None
