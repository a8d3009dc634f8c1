"""llmplug-gemini: Gemini models through Google's ``generateContent`` API, natively.

Two providers::

    import llmplug
    llm = llmplug.load("gemini:gemini-2.5-flash")            # GEMINI_API_KEY (or GOOGLE_API_KEY)
    llm = llmplug.load("gemini:gemini-3-pro-preview?thinking_level=low")
    llm = llmplug.load("vertex:gemini-2.5-pro?project=my-proj&location=us-central1")  # ADC

Text, images, audio, video and PDF documents, function calling, thinking (with its
thought signatures kept for the round trip), structured output and streaming map to
llmplug's blocks and endpoints. The providers are plain data transformation run by
llmplug's HTTP runtime: no Google SDK is imported. Importing this package is cheap; the
provider classes load on first use, and google-auth (the ``[vertex]`` extra) only when
``vertex`` needs Application Default Credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_gemini._gemini import GeminiLLM as GeminiLLM
    from llmplug_gemini._llm import GenerateContentLLM as GenerateContentLLM
    from llmplug_gemini._vertex import VertexLLM as VertexLLM

__all__ = [
    "LLMPLUG_PLUGIN_API",
    "GeminiLLM",
    "GenerateContentLLM",
    "VertexLLM",
    "register_providers",
]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1

_LAZY = {
    "GeminiLLM": "llmplug_gemini._gemini",
    "GenerateContentLLM": "llmplug_gemini._llm",
    "VertexLLM": "llmplug_gemini._vertex",
}


def __getattr__(name: str) -> Any:
    # the classes pull in pydantic models and llmplug's HTTP layer: load them on first use
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmplug_gemini' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``gemini`` (key from ``GEMINI_API_KEY``) and ``vertex`` (OAuth).

    By import path: a class is imported when its provider is first loaded.
    """
    register(
        "gemini",
        "llmplug_gemini._gemini:GeminiLLM",
        key_env="GEMINI_API_KEY",
        description="Google's Gemini API (generateContent; key from GEMINI_API_KEY or "
        "GOOGLE_API_KEY).",
    )
    register(
        "vertex",
        "llmplug_gemini._vertex:VertexLLM",
        description="Gemini on Google Cloud Vertex AI (Application Default Credentials; "
        "pip install 'llmplug-gemini[vertex]').",
    )
