"""The ``fallback``, ``balance`` and ``limit`` providers, registered by core's entry points.

The classes are registered by import path: listing providers imports nothing, and
``load("fallback:...")`` imports the routing machinery only then.
"""

from __future__ import annotations

from collections.abc import Callable

from llmplug.hookspecs import hookimpl

__all__ = ["register_providers"]


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    """Register the three routes."""
    register(
        "fallback",
        "llmplug.routing._routes:FallbackLLM",
        description="Fallback chain over other models: fallback:fast,smart (aliases or specs).",
    )
    register(
        "balance",
        "llmplug.routing._routes:BalancedLLM",
        description="Load balancing over deployments of one model: balance:eu,us?strategy=...",
    )
    register(
        "limit",
        "llmplug.routing._routes:LimitedLLM",
        description="Client-side rate limits and budgets: limit:openai:gpt-4o-mini?rpm=500.",
    )
