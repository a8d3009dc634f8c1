"""Which errors a route moves on for, and which end the call.

A route (fallback chain, load balancer, rate limiter) moves on to its next model only
for errors that another model -- or the same deployment a little later -- can fix:
rate limits, overloaded or failing servers, timeouts, lost connections, a stream that
broke before its first chunk, content this model cannot take, a prompt too long for it
(to a larger model), and, when asked, a content-policy refusal. Errors the caller must
fix (a bad request, a wrong key, an invalid option, a refused guardrail...) end the
call at once: another model would fail the same way.
"""

from __future__ import annotations

from typing import Final

from llmplug.errors import (
    AllModelsFailedError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BudgetExceededError,
    ClientRateLimitError,
    ContentBlockedError,
    ContentPolicyError,
    ContextWindowExceededError,
    InternalServerError,
    RateLimitError,
    StreamError,
    UnsupportedContentError,
)

__all__ = [
    "BUDGET",
    "CONNECTION",
    "CONTENT_POLICY",
    "CONTEXT_WINDOW",
    "COOLDOWN",
    "HEALTH_REASONS",
    "LOCAL_RATE_LIMIT",
    "NESTED_ROUTE",
    "NO_TOOLS",
    "PROBE_IN_FLIGHT",
    "RATE_LIMIT",
    "SERVER_ERROR",
    "SMALLER_CONTEXT",
    "STREAM",
    "TIMEOUT",
    "UNSUPPORTED_CONTENT",
    "fallback_reason",
]

# why a model's call failed and the route moved on
RATE_LIMIT: Final = "rate_limit"
SERVER_ERROR: Final = "server_error"
TIMEOUT: Final = "timeout"
CONNECTION: Final = "connection"
STREAM: Final = "stream"
CONTEXT_WINDOW: Final = "context_window"
CONTENT_POLICY: Final = "content_policy"
UNSUPPORTED_CONTENT: Final = "unsupported_content"
NESTED_ROUTE: Final = "route_failed"
# why a model was passed over without a call
COOLDOWN: Final = "cooldown"
PROBE_IN_FLIGHT: Final = "probe_in_flight"
LOCAL_RATE_LIMIT: Final = "client_rate_limit"
BUDGET: Final = "budget"
NO_TOOLS: Final = "no_tools"
SMALLER_CONTEXT: Final = "smaller_context"

#: The failures that say a deployment is unwell; they count towards its cooldown.
HEALTH_REASONS: Final = frozenset({RATE_LIMIT, SERVER_ERROR, TIMEOUT, CONNECTION, STREAM})

# statuses worth another model besides 429 and >= 500: timeout, conflict (as the HTTP
# layer's own retry loop reads them)
_RETRYABLE_STATUSES = frozenset({408, 409})


def fallback_reason(error: BaseException, *, content_policy: bool = False) -> str | None:
    """Why a route may move on after ``error``, or ``None`` when the call must stop.

    Args:
        error: What a model's call raised.
        content_policy: Move on for content refused by the provider's filters too
            (:class:`~llmplug.errors.ContentPolicyError`, a refused prompt;
            :class:`~llmplug.errors.ContentBlockedError`, a blocked prompt or cut answer).

    Returns:
        One of the reason names of this module (``"rate_limit"``, ``"timeout"``...),
        or ``None`` for an error the caller must fix (bad request, authentication,
        permission, not found, invalid option, a refused guardrail, a bug).
    """
    if isinstance(error, RateLimitError):
        return RATE_LIMIT
    if isinstance(error, InternalServerError):
        return SERVER_ERROR
    if isinstance(error, ContextWindowExceededError):
        return CONTEXT_WINDOW
    if isinstance(error, ContentPolicyError | ContentBlockedError):
        return CONTENT_POLICY if content_policy else None
    if isinstance(error, APIStatusError):
        if error.status_code == 408:
            return TIMEOUT
        return SERVER_ERROR if error.status_code in _RETRYABLE_STATUSES else None
    if isinstance(error, APITimeoutError):
        return TIMEOUT
    if isinstance(error, APIConnectionError):
        return CONNECTION
    if isinstance(error, StreamError):
        # reaches a route only before the stream's first chunk: nothing was delivered
        return STREAM
    if isinstance(error, UnsupportedContentError):
        return UNSUPPORTED_CONTENT
    if isinstance(error, ClientRateLimitError):
        return LOCAL_RATE_LIMIT
    if isinstance(error, BudgetExceededError):
        return BUDGET
    if isinstance(error, AllModelsFailedError):
        return NESTED_ROUTE
    return None
