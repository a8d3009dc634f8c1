"""llmplug-ollama: models served by Ollama, through its native API.

::

    import llmplug
    llm = llmplug.load("ollama:llama3.2:1b")                 # OLLAMA_HOST, else localhost
    llm = llmplug.load("ollama:qwen3:8b?num_ctx=8192&think=true")
    llm = llmplug.load("ollama:gpt-oss?base_url=https://ollama.com")   # OLLAMA_API_KEY

Chats go to ``/api/chat`` (images, tool calls, thinking), completions to
``/api/generate`` (``suffix``, ``raw``, ``system``, ``template``), structured output
through ``format``; ``list_models()`` lists the server's models and ``pull_model()``
downloads one. The provider is plain data transformation run by llmplug's HTTP runtime:
no vendor SDK is imported. Importing this package is cheap; the provider class loads on
first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_ollama._llm import (
        ModelNotPulledError as ModelNotPulledError,
        OllamaLLM as OllamaLLM,
    )
    from llmplug_ollama._models import ModelDetails as ModelDetails, PullProgress as PullProgress

__all__ = [
    "LLMPLUG_PLUGIN_API",
    "ModelDetails",
    "ModelNotPulledError",
    "OllamaLLM",
    "PullProgress",
    "register_providers",
]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1

_LAZY = {
    "OllamaLLM": "llmplug_ollama._llm",
    "ModelNotPulledError": "llmplug_ollama._llm",
    "ModelDetails": "llmplug_ollama._models",
    "PullProgress": "llmplug_ollama._models",
}


def __getattr__(name: str) -> Any:
    # the class pulls in pydantic models and llmplug's HTTP layer: load it on first use
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmplug_ollama' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``ollama``; a key (for Ollama's cloud) is read from ``OLLAMA_API_KEY``."""
    from llmplug_ollama._llm import OllamaLLM

    register(
        "ollama",
        OllamaLLM,
        key_env="OLLAMA_API_KEY",
        description="Models served by Ollama (native API; OLLAMA_HOST, default localhost:11434).",
    )
