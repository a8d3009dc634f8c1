"""OpenAI-compatible services: one small subclass of :class:`OpenAILLM` each.

A preset is a name, a base URL, the env var holding its key, and the few ways its
service differs from OpenAI's API (class variables of :class:`OpenAILLM`), as each
service documents it or, for Mistral's refusals, as its users have reported it
(November 2026):

======================  ========================================================
service                 differences from OpenAI's API handled here
======================  ========================================================
Azure OpenAI            deployment URL, ``api-version`` query parameter, ``api-key``
                        header; no ``developer`` role before API version 2024-12-01
vLLM, llama.cpp,        no key unless the server was started with one (``api_key=``);
LM Studio               ``max_tokens``
Groq                    answers 400 to ``logprobs`` and ``top_logprobs``
Mistral                 ``random_seed`` instead of ``seed``; answers 422 to
                        ``stream_options`` and ``max_completion_tokens``
others                  ``max_tokens`` (which every compatible server takes)
======================  ========================================================
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar, NamedTuple, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, model_validator

from llmplug import Capabilities, ModelInfo
from llmplug.http import HTTPRequest, path_segment
from llmplug_openai import REGISTRATIONS
from llmplug_openai._llm import OpenAILLM

__all__ = [
    "AZURE_API_VERSION",
    "PRESETS",
    "AzureOpenAILLM",
    "DeepSeekLLM",
    "FireworksLLM",
    "GroqLLM",
    "LMStudioLLM",
    "LlamaServerLLM",
    "MistralLLM",
    "OpenRouterLLM",
    "Preset",
    "TogetherLLM",
    "VLLM",
    "XAILLM",
]

#: Azure's latest GA data-plane API version (used for deployment URLs when none is given).
AZURE_API_VERSION = "2024-10-21"

# what hosted OpenAI-compatible services offer for at least some of their models
_HOSTED = Capabilities(
    chat=True,
    streaming=True,
    native_async=True,
    tools=True,
    json_schema=True,
    vision=True,
    model_listing=True,
)
# local servers: depends on the model loaded; the wire carries images and audio
_LOCAL = _HOSTED._replace(audio=True)


class _Compatible(OpenAILLM):
    """Shared by the compatible services: no ``developer`` role, ``max_tokens``."""

    capabilities: ClassVar[Capabilities] = _HOSTED
    token_limit_param: ClassVar[str | None] = "max_tokens"
    developer_role: ClassVar[bool] = False
    cache_breakpoints: ClassVar[bool] = False

    model: str = Field(description="The model name, as the service lists it.")

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """None: OpenAI's table does not apply; the service lists its own (``list_models``)."""
        return []


class VLLM(_Compatible):
    """A vLLM server (``vllm serve MODEL``); ``model`` is the served model's name.

    No key is needed unless the server was started with ``--api-key`` (pass ``api_key``).
    """

    capabilities: ClassVar[Capabilities] = _LOCAL
    key_env: ClassVar[str | None] = None
    base_url: str = "http://localhost:8000/v1"


class LlamaServerLLM(_Compatible):
    """llama.cpp's ``llama-server``.

    It serves the model it was started with: ``model`` may stay empty (it is then not
    sent); name one when the server runs several (router mode). No key is needed unless
    the server was started with ``--api-key`` (pass ``api_key``).
    """

    capabilities: ClassVar[Capabilities] = _LOCAL
    key_env: ClassVar[str | None] = None
    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = Field(default="", description="The model name; '' for the server's model.")


class LMStudioLLM(_Compatible):
    """LM Studio's local server; ``model`` is the model's identifier in LM Studio.

    No key is needed unless "Require Authentication" is on (pass ``api_key``).
    """

    capabilities: ClassVar[Capabilities] = _LOCAL
    key_env: ClassVar[str | None] = None
    base_url: str = "http://localhost:1234/v1"


class GroqLLM(_Compatible):
    """Groq's OpenAI-compatible API."""

    key_env: ClassVar[str | None] = "GROQ_API_KEY"
    # "will result in a 400 error if supplied" (Groq's OpenAI compatibility page)
    rejects: ClassVar[frozenset[str]] = frozenset({"logprobs", "top_logprobs"})
    base_url: str = "https://api.groq.com/openai/v1"


class TogetherLLM(_Compatible):
    """Together AI's OpenAI-compatible API (models named ``org/model``)."""

    key_env: ClassVar[str | None] = "TOGETHER_API_KEY"
    base_url: str = "https://api.together.ai/v1"


class OpenRouterLLM(_Compatible):
    """OpenRouter (models named ``vendor/model``, e.g. ``openai/gpt-4o``).

    Its optional attribution headers go in ``extra_headers``
    (``{"HTTP-Referer": ..., "X-Title": ...}``).
    """

    capabilities: ClassVar[Capabilities] = _HOSTED._replace(audio=True, documents=True)
    key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    base_url: str = "https://openrouter.ai/api/v1"


class DeepSeekLLM(_Compatible):
    """DeepSeek's API; the reasoning of thinking models arrives as a ThinkingBlock."""

    capabilities: ClassVar[Capabilities] = _HOSTED._replace(json_schema=False, vision=False)
    key_env: ClassVar[str | None] = "DEEPSEEK_API_KEY"
    base_url: str = "https://api.deepseek.com"


class MistralLLM(_Compatible):
    """Mistral AI's API (La Plateforme), which refuses fields it does not know."""

    key_env: ClassVar[str | None] = "MISTRAL_API_KEY"
    seed_param: ClassVar[str] = "random_seed"
    # Mistral sends usage in its last chunk on its own and answers 422 to stream_options
    stream_usage: ClassVar[bool] = False
    base_url: str = "https://api.mistral.ai/v1"


class FireworksLLM(_Compatible):
    """Fireworks AI (models named ``accounts/fireworks/models/...``)."""

    key_env: ClassVar[str | None] = "FIREWORKS_API_KEY"
    base_url: str = "https://api.fireworks.ai/inference/v1"


class XAILLM(_Compatible):
    """xAI's Grok models."""

    key_env: ClassVar[str | None] = "XAI_API_KEY"
    base_url: str = "https://api.x.ai/v1"


class AzureOpenAILLM(OpenAILLM):
    """Azure OpenAI: ``azure:DEPLOYMENT?azure_endpoint=https://RESOURCE.openai.azure.com``.

    The model part of the config string is the deployment name. Requests go to
    ``{azure_endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``
    with the key in an ``api-key`` header. ``api_version="v1"`` uses Azure's v1 API
    instead (``{azure_endpoint}/openai/v1``, no dated version, the deployment named in
    the body). A full ``base_url`` of either shape may be given instead of the endpoint;
    the deployment is then read from it when no model is named.

    Attributes:
        azure_endpoint: The resource's endpoint; read from ``AZURE_OPENAI_ENDPOINT`` when
            neither it nor ``base_url`` is given.
        api_version: The dated API version (default: the latest GA, ``2024-10-21``;
            newer features such as the ``developer`` role, ``reasoning_effort``, audio
            and file input need a newer one, e.g. ``2025-04-01-preview``), or ``"v1"``.
    """

    # Azure's Batch API names deployments and file endpoints of its own: not supported
    capabilities: ClassVar[Capabilities] = OpenAILLM.capabilities._replace(batch=False)
    key_env: ClassVar[str | None] = "AZURE_OPENAI_API_KEY"
    token_limit_param: ClassVar[str | None] = "max_completion_tokens"
    cache_breakpoints: ClassVar[bool] = False

    model: str = Field(default="", description="The deployment name.")
    base_url: str = Field(default="", description="Derived from azure_endpoint if not given.")
    azure_endpoint: str | None = None
    api_version: str | None = None

    @model_validator(mode="after")
    def _deployment_url(self) -> Self:
        # values are set through __dict__: validate_assignment would rerun this validator
        values = self.__dict__
        if self.base_url:
            found = _DEPLOYMENT.search(self.base_url)
            if found and not self.model:
                values["model"] = unquote(found[1])
            elif found and unquote(found[1]) != self.model:
                # the deployment in the URL follows the model (``llm.model = ...``)
                values["base_url"] = _with_deployment(self.base_url, self.model)
            if not self.azure_endpoint:
                parts = urlsplit(self.base_url)
                values["azure_endpoint"] = f"{parts.scheme}://{parts.netloc}"
        else:
            endpoint = self.azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
            if not endpoint:
                raise ValueError(
                    "azure needs the resource's endpoint: 'azure:DEPLOYMENT?azure_endpoint="
                    "https://RESOURCE.openai.azure.com' (or set AZURE_OPENAI_ENDPOINT), or "
                    "the full base_url=https://RESOURCE.openai.azure.com/openai/deployments/"
                    "DEPLOYMENT"
                )
            if not self.model:
                raise ValueError(_NO_DEPLOYMENT)
            root = f"{endpoint.rstrip('/')}/openai"
            values["azure_endpoint"] = endpoint
            values["base_url"] = (
                f"{root}/v1"
                if self.api_version == "v1"
                else f"{root}/deployments/{path_segment(self.model)}"
            )
        if not self.model:
            raise ValueError(_NO_DEPLOYMENT)
        return self

    def _v1(self) -> bool:
        return _DEPLOYMENT.search(self.base_url) is None

    def request_path(self, model: str) -> str:
        """``/chat/completions``, or the URL of another deployment named per call."""
        if model != self.model and not self._v1():
            return f"{_with_deployment(self.base_url, model)}/chat/completions"
        return "/chat/completions"

    def query_params(self) -> dict[str, str]:
        """``api-version`` (none for the v1 API unless one is given)."""
        version = self.api_version
        if version == "v1" or (version is None and self._v1()):
            return {}
        return {"api-version": version or AZURE_API_VERSION}

    def _developer_role_ok(self) -> bool:
        # the developer role came with API version 2024-12-01-preview
        version = self.api_version
        if version is None:
            return self._v1()
        return version in ("v1", "preview", "latest") or version >= "2024-12-01"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Azure takes the key in an ``api-key`` header."""
        return {"api-key": api_key}

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """None: a config string names a deployment, which only the resource knows."""
        return []

    def models_request(self) -> HTTPRequest:
        """``GET {azure_endpoint}/openai/models`` (or ``/openai/v1/models``).

        Azure lists the models the resource can deploy, not its deployments.
        """
        root = f"{str(self.azure_endpoint).rstrip('/')}/openai"
        if self._v1():
            return HTTPRequest(f"{root}/v1/models", method="GET", params=self.query_params())
        params = {"api-version": self.api_version or AZURE_API_VERSION}
        return HTTPRequest(f"{root}/models", method="GET", params=params)


_DEPLOYMENT = re.compile(r"/openai/deployments/([^/?#]+)")
_NO_DEPLOYMENT = "azure needs the deployment name: 'azure:DEPLOYMENT?azure_endpoint=...'"


def _with_deployment(url: str, deployment: str) -> str:
    # path_segment refuses "." and "..", which would leave /openai/deployments/
    segment = f"/openai/deployments/{path_segment(deployment)}"
    return _DEPLOYMENT.sub(lambda _: segment, url, count=1)


class Preset(NamedTuple):
    """One provider name this plugin registers.

    Attributes:
        name: The provider name (``load("NAME:model")``).
        cls: The provider class.
        description: One line for ``llmplug providers``.
    """

    name: str
    cls: type[OpenAILLM]
    description: str

    @property
    def key_env(self) -> str | None:
        """The env var holding the API key, if the service needs one."""
        return self.cls.key_env

    @property
    def base_url(self) -> str:
        """The default base URL (empty for Azure, which derives it)."""
        default: Any = self.cls.model_fields["base_url"].default
        return str(default or "")


#: Every provider name this plugin registers, with its class (in the order of
#: ``llmplug_openai.REGISTRATIONS``, which registers them without importing this module).
PRESETS: tuple[Preset, ...] = tuple(
    Preset(row.name, globals()[row.cls.rpartition(":")[2]], row.description)
    for row in REGISTRATIONS
)
