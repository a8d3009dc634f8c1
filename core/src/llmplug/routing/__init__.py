"""Routing: fallback chains, load balancing, client-side rate limits and budgets.

Routes are LLMs made of other LLMs, so they work with every provider and every method
of the seed API; each is also a provider, loaded by config string::

    llmplug.load("fallback:fast,smart")
    llmplug.load("balance:azure-eu,azure-us?strategy=least_busy")
    llmplug.load("limit:openai:gpt-4o-mini?rpm=500&tpm=200000")

This layer sits above ``llmplug.config`` (a route loads its models from config strings
and aliases). Health, rate limits and budgets are shared in the process
(:func:`routing_state`); what a route did is in its record (:class:`RouteRecord`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    # the routes
    "BalancedLLM": "llmplug.routing._routes",
    "FallbackLLM": "llmplug.routing._routes",
    "LimitedLLM": "llmplug.routing._routes",
    "RoutedLLM": "llmplug.routing._route",
    "Member": "llmplug.routing._members",
    # what a route did
    "RESPONSE_KEY": "llmplug.routing._record",
    "STATE_KEY": "llmplug.routing._record",
    "RouteAttempt": "llmplug.routing._record",
    "RouteRecord": "llmplug.routing._record",
    "current_attempt": "llmplug.routing._record",
    "fallback_reason": "llmplug.routing._policy",
    # shared state: health, limits, budgets
    "BudgetState": "llmplug.routing._limits",
    "DeploymentHealth": "llmplug.routing._health",
    "RateLimiter": "llmplug.routing._limits",
    "Reservation": "llmplug.routing._limits",
    "RoutingState": "llmplug.routing._state",
    "routing_state": "llmplug.routing._state",
    "set_routing_state": "llmplug.routing._state",
    # token estimates
    "estimate_input_tokens": "llmplug.routing._estimate",
    "estimate_output_tokens": "llmplug.routing._estimate",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.routing._estimate import (
        estimate_input_tokens as estimate_input_tokens,
        estimate_output_tokens as estimate_output_tokens,
    )
    from llmplug.routing._health import (
        DeploymentHealth as DeploymentHealth,
    )
    from llmplug.routing._limits import (
        BudgetState as BudgetState,
        RateLimiter as RateLimiter,
        Reservation as Reservation,
    )
    from llmplug.routing._members import (
        Member as Member,
    )
    from llmplug.routing._policy import (
        fallback_reason as fallback_reason,
    )
    from llmplug.routing._record import (
        RESPONSE_KEY as RESPONSE_KEY,
        STATE_KEY as STATE_KEY,
        RouteAttempt as RouteAttempt,
        RouteRecord as RouteRecord,
        current_attempt as current_attempt,
    )
    from llmplug.routing._route import (
        RoutedLLM as RoutedLLM,
    )
    from llmplug.routing._routes import (
        BalancedLLM as BalancedLLM,
        FallbackLLM as FallbackLLM,
        LimitedLLM as LimitedLLM,
    )
    from llmplug.routing._state import (
        RoutingState as RoutingState,
        routing_state as routing_state,
        set_routing_state as set_routing_state,
    )
