"""What installed providers offer: their models and their options.

The functions behind ``llmplug models`` and ``llmplug options``, for use from Python:

* :func:`known_models`: a provider's model table (``LLM.known_models()``), no network;
* :func:`list_models` / :func:`alist_models`: the provider's own listing endpoint
  (``LLM.list_models()``), for providers with ``Capabilities(model_listing=True)``;
* :func:`models`: either, for several providers at once, each inside its own error
  boundary (a provider that fails to load or list is reported, not raised);
* :func:`provider_options`: the options a provider takes (its pydantic fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from llmplug.config._file import read_config
from llmplug.config._load import _resolve, load
from llmplug.config._spec import ModelSpec
from llmplug.errors import LLMError
from llmplug.llm._base import LLM
from llmplug.llm._options import OptionInfo, describe_options
from llmplug.plugins._registry import ProviderSpec, registry
from llmplug.types._model_info import ModelInfo

__all__ = [
    "ProviderModels",
    "alist_models",
    "known_models",
    "list_models",
    "models",
    "provider_options",
]


class ProviderModels(NamedTuple):
    """The models of one provider, or why they could not be had.

    Attributes:
        provider: The provider name (or the config string it was asked as).
        models: Its models (empty when ``error`` is set).
        live: Whether they come from the provider's listing endpoint (else its table).
        error: Why the provider could not be loaded or listed, if it could not.
    """

    provider: str
    models: list[ModelInfo]
    live: bool = False
    error: LLMError | None = None


def _provider(spec: str) -> tuple[str, ProviderSpec]:
    """The provider a config string or alias names, and its registration."""
    parsed, _, _ = _resolve(spec, read_config())
    return parsed.provider, registry().get(parsed.provider)


def _cls(registered: ProviderSpec) -> type[LLM]:
    cls = registered.cls
    assert not isinstance(cls, str)  # Registry.get imports lazily registered classes
    return cls


def known_models(provider: str) -> list[ModelInfo]:
    """The models ``provider`` knows of without a network call (its model table).

    Args:
        provider: A provider name, or a config string or alias naming one.

    Raises:
        ConfigError: A bad config string, or an unknown provider.
        PluginLoadError: The provider's plugin failed to load.
    """
    _, registered = _provider(provider)
    return list(_cls(registered).known_models())


def list_models(spec: str | ModelSpec, /, **options: Any) -> list[ModelInfo]:
    """The models the provider's API offers now, from its listing endpoint.

    Args:
        spec: A config string or alias: ``"openai"``, ``"vllm?base_url=http://gpu:8000/v1"``.
        **options: Options for loading it, as for :func:`~llmplug.load`.

    Raises:
        UnsupportedFeatureError: The provider has no listing endpoint.
        MissingKeyError: The provider needs an API key and none is set.
        APIError: The listing request failed.
    """
    llm = load(spec, **_listing_options(spec, options))
    try:
        return llm.list_models()
    finally:
        close = getattr(llm, "close", None)
        if callable(close):
            close()


async def alist_models(spec: str | ModelSpec, /, **options: Any) -> list[ModelInfo]:
    """Async :func:`list_models`."""
    llm = load(spec, **_listing_options(spec, options))
    try:
        return await llm.alist_models()
    finally:
        aclose = getattr(llm, "aclose", None)
        if callable(aclose):
            await aclose()


def _listing_options(spec: str | ModelSpec, options: dict[str, Any]) -> dict[str, Any]:
    """``options``, with an empty model when the provider requires one and none is given.

    Listing needs no model, but a provider whose model option has no default (a
    compatible service: ``groq``) cannot be loaded without one.
    """
    parsed, alias_options, _ = _resolve(spec, read_config())
    cls = _cls(registry().get(parsed.provider))
    field = cls.model_field
    if field is None or parsed.model is not None:
        return options
    given = {**alias_options, **parsed.options, **options}
    if field in given or not cls.model_fields[field].is_required():
        return options
    return {**options, field: ""}


def models(
    providers: Sequence[str] | None = None, *, live: bool = False, **options: Any
) -> list[ProviderModels]:
    """The models of several providers; each failure is kept, not raised.

    Args:
        providers: Provider names, config strings or aliases; ``None``: every installed
            provider that is not blocked or claimed twice.
        live: Ask each provider's listing endpoint instead of reading its table.
        **options: Options for loading each provider (``live`` only).
    """
    if providers is None:
        providers = [
            info.name
            for info in registry().providers()
            if info.status not in ("blocked", "conflict")
        ]
    results = []
    for name in providers:
        try:
            found = list_models(name, **options) if live else known_models(name)
        except LLMError as exc:
            results.append(ProviderModels(name, [], live, exc))
        else:
            results.append(ProviderModels(name, found, live))
    return results


def provider_options(provider: str) -> list[OptionInfo]:
    """The options ``provider`` takes, with type, default and description.

    The defaults are the provider's own, with those its plugin registered for that
    name applied (a preset's ``base_url``).

    Args:
        provider: A provider name, or a config string or alias naming one.

    Raises:
        ConfigError: A bad config string, or an unknown provider.
        PluginLoadError: The provider's plugin failed to load.
    """
    _, registered = _provider(provider)
    overrides = registered.defaults or {}
    return [
        option._replace(default=overrides[option.name], required=False)
        if option.name in overrides and not option.secret
        else option
        for option in describe_options(_cls(registered))
    ]
