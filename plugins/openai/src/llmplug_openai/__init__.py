"""llmplug-openai: OpenAI's Chat Completions API and the services compatible with it.

One plugin, twelve provider names::

    import llmplug
    llm = llmplug.load("openai:gpt-4o-mini?temperature=0")          # OPENAI_API_KEY
    llm = llmplug.load("azure:my-deployment?azure_endpoint=https://res.openai.azure.com")
    llm = llmplug.load("vllm:Qwen/Qwen2.5-7B-Instruct")                # localhost:8000
    llm = llmplug.load("groq:llama-3.3-70b-versatile")                 # GROQ_API_KEY
    llm = llmplug.load("openai:my-model?base_url=http://gpu-box:9000/v1")  # any other

The providers are plain data transformations (messages to request bodies, bodies and
stream events to responses) run by llmplug's HTTP runtime: no vendor SDK is imported.
Importing this package is cheap; the provider classes load on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_openai._llm import OpenAILLM as OpenAILLM
    from llmplug_openai._presets import (
        PRESETS as PRESETS,
        VLLM as VLLM,
        XAILLM as XAILLM,
        AzureOpenAILLM as AzureOpenAILLM,
        DeepSeekLLM as DeepSeekLLM,
        FireworksLLM as FireworksLLM,
        GroqLLM as GroqLLM,
        LlamaServerLLM as LlamaServerLLM,
        LMStudioLLM as LMStudioLLM,
        MistralLLM as MistralLLM,
        OpenRouterLLM as OpenRouterLLM,
        Preset as Preset,
        TogetherLLM as TogetherLLM,
    )

__all__ = [
    "LLMPLUG_PLUGIN_API",
    "PRESETS",
    "REGISTRATIONS",
    "VLLM",
    "XAILLM",
    "AzureOpenAILLM",
    "DeepSeekLLM",
    "FireworksLLM",
    "GroqLLM",
    "LMStudioLLM",
    "LlamaServerLLM",
    "MistralLLM",
    "OpenAILLM",
    "OpenRouterLLM",
    "Preset",
    "Registration",
    "TogetherLLM",
    "register_providers",
]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1

_LAZY = {
    name: "llmplug_openai._presets"
    for name in __all__
    if name not in ("LLMPLUG_PLUGIN_API", "REGISTRATIONS", "Registration", "register_providers")
}
_LAZY["OpenAILLM"] = "llmplug_openai._llm"


def __getattr__(name: str) -> Any:
    # the classes pull in pydantic models and llmplug's HTTP layer: load them on first use
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmplug_openai' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


class Registration(NamedTuple):
    """One provider name as registered, before its class is imported.

    What ``llmplug providers`` and ``load`` need; ``tests/plugins/openai`` checks each
    row against its class.

    Attributes:
        name: The provider name (``load("NAME:model")``).
        cls: Where the class is, ``"module:Class"`` (imported on first use).
        key_env: The env var holding the API key, if the service needs one.
        base_url: The default base URL (empty for Azure, which derives it).
        description: One line for ``llmplug providers``.
    """

    name: str
    cls: str
    key_env: str | None
    base_url: str
    description: str


_P = "llmplug_openai._presets:"
#: Every provider name this plugin registers, each with its own entry point.
REGISTRATIONS: tuple[Registration, ...] = (
    Registration(
        "openai",
        "llmplug_openai._llm:OpenAILLM",
        "OPENAI_API_KEY",
        "https://api.openai.com/v1",
        "OpenAI's Chat Completions API (or any compatible server with base_url=...).",
    ),
    Registration(
        "azure",
        f"{_P}AzureOpenAILLM",
        "AZURE_OPENAI_API_KEY",
        "",
        "Azure OpenAI: 'azure:DEPLOYMENT?azure_endpoint=https://RESOURCE.openai.azure.com'.",
    ),
    Registration(
        "vllm",
        f"{_P}VLLM",
        None,
        "http://localhost:8000/v1",
        "A vLLM server (default http://localhost:8000/v1).",
    ),
    Registration(
        "llama-server",
        f"{_P}LlamaServerLLM",
        None,
        "http://127.0.0.1:8080/v1",
        "llama.cpp's llama-server (default http://127.0.0.1:8080/v1).",
    ),
    Registration(
        "lmstudio",
        f"{_P}LMStudioLLM",
        None,
        "http://localhost:1234/v1",
        "LM Studio's local server (default http://localhost:1234/v1).",
    ),
    Registration(
        "groq",
        f"{_P}GroqLLM",
        "GROQ_API_KEY",
        "https://api.groq.com/openai/v1",
        "Groq's OpenAI-compatible API.",
    ),
    Registration(
        "together",
        f"{_P}TogetherLLM",
        "TOGETHER_API_KEY",
        "https://api.together.ai/v1",
        "Together AI's OpenAI-compatible API.",
    ),
    Registration(
        "openrouter",
        f"{_P}OpenRouterLLM",
        "OPENROUTER_API_KEY",
        "https://openrouter.ai/api/v1",
        "OpenRouter: many vendors' models ('vendor/model').",
    ),
    Registration(
        "deepseek",
        f"{_P}DeepSeekLLM",
        "DEEPSEEK_API_KEY",
        "https://api.deepseek.com",
        "DeepSeek's API.",
    ),
    Registration(
        "mistral",
        f"{_P}MistralLLM",
        "MISTRAL_API_KEY",
        "https://api.mistral.ai/v1",
        "Mistral AI's API.",
    ),
    Registration(
        "fireworks",
        f"{_P}FireworksLLM",
        "FIREWORKS_API_KEY",
        "https://api.fireworks.ai/inference/v1",
        "Fireworks AI's OpenAI-compatible API.",
    ),
    Registration(
        "xai",
        f"{_P}XAILLM",
        "XAI_API_KEY",
        "https://api.x.ai/v1",
        "xAI's Grok models.",
    ),
)


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``openai`` and the OpenAI-compatible presets, each with its key's env var.

    By import path: a class is imported when its provider is first loaded, so loading
    ``openai`` never builds the eleven preset classes.
    """
    for row in REGISTRATIONS:
        register(
            row.name,
            row.cls,
            key_env=row.key_env,
            description=row.description,
            defaults={"base_url": row.base_url} if row.base_url else None,
        )
