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
from typing import TYPE_CHECKING, Any

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
    "TogetherLLM",
    "register_providers",
]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1

_LAZY = {name: "llmplug_openai._presets" for name in __all__[1:-1]}
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


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``openai`` and the OpenAI-compatible presets, each with its key's env var."""
    from llmplug_openai._presets import PRESETS

    for preset in PRESETS:
        base_url = preset.base_url
        register(
            preset.name,
            preset.cls,
            key_env=preset.key_env,
            description=preset.description,
            defaults={"base_url": base_url} if base_url else None,
        )
