"""llmplug-anthropic: Claude through Anthropic's Messages API.

::

    import llmplug
    llm = llmplug.load("anthropic:claude-sonnet-5-5")                 # ANTHROPIC_API_KEY
    llm = llmplug.load("anthropic:claude-sonnet-4-5?thinking_budget=2048")
    llm = llmplug.load("anthropic:claude-opus-5-5?thinking=adaptive&effort=high")

Documents, citations, prompt caching, extended thinking and tool calls map to llmplug's
blocks (``DocumentBlock``, ``CitableBlock``/``CitationBlock``, ``CachePoint``,
``ThinkingBlock``, ``ToolCallBlock``), and ``llm.predict_and_call(tools, ...)`` makes
native tool calls. The provider is plain data transformation run by
llmplug's HTTP runtime: no vendor SDK is imported. Importing this package is cheap; the
provider class loads on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmplug.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug_anthropic._llm import AnthropicLLM as AnthropicLLM

__all__ = ["LLMPLUG_PLUGIN_API", "AnthropicLLM", "register_providers"]

#: The llmplug plugin API this plugin is built for.
LLMPLUG_PLUGIN_API = 1


def __getattr__(name: str) -> Any:
    # the class pulls in pydantic models and llmplug's HTTP layer: load it on first use
    if name != "AnthropicLLM":
        raise AttributeError(f"module 'llmplug_anthropic' has no attribute {name!r}")
    from llmplug_anthropic._llm import AnthropicLLM

    globals()[name] = AnthropicLLM
    return AnthropicLLM


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register ``anthropic``, its key read from ``ANTHROPIC_API_KEY``."""
    from llmplug_anthropic._llm import AnthropicLLM

    register(
        "anthropic",
        AnthropicLLM,
        key_env="ANTHROPIC_API_KEY",
        description="Anthropic's Claude models (Messages API).",
    )
