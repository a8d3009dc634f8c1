"""Errors the gateway answers with, in each API's own shape, and where they come from.

Every failure becomes a :class:`GatewayError`: an HTTP status, a kind, a message for the
client, and ``retry_after`` when waiting helps. :func:`from_llm_error` maps llmplug's
error tree (a provider's failure, a route's, a limit's) onto it; the two renderers write
it as OpenAI (``{"error": {"message", "type", "param", "code"}}``) or Anthropic
(``{"type": "error", "error": {"type", "message"}}``) would.

A provider refusing the *gateway's* credentials is a 502 (the client's key was fine), so
clients never mistake it for their own key being wrong; the message tells the operator
what to fix without showing the key.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from llmplug import errors as e

__all__ = ["GatewayError", "anthropic_error_body", "from_llm_error", "openai_error_body"]

logger = logging.getLogger("llmplug.server")

# kind -> (OpenAI "type", Anthropic "type")
_TYPES = {
    "invalid_request": ("invalid_request_error", "invalid_request_error"),
    "authentication": ("invalid_request_error", "authentication_error"),
    "permission": ("invalid_request_error", "permission_error"),
    "not_found": ("invalid_request_error", "not_found_error"),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("rate_limit_error", "rate_limit_error"),
    "timeout": ("server_error", "timeout_error"),
    "overloaded": ("server_error", "overloaded_error"),
    "upstream": ("server_error", "api_error"),
    "internal": ("server_error", "api_error"),
}


class GatewayError(Exception):
    """A request the gateway answers with an error.

    Args:
        status: The HTTP status.
        kind: One of ``invalid_request``, ``authentication``, ``permission``,
            ``not_found``, ``request_too_large``, ``rate_limit``, ``timeout``,
            ``overloaded``, ``upstream``, ``internal``.
        message: What went wrong and what to do next (shown to the client).
        param: The request field at fault, if one is.
        code: A short machine-readable code (OpenAI's ``code``).
        retry_after: Seconds after which trying again may succeed (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """``Retry-After`` (whole seconds, rounded up) when it is known."""
        if self.retry_after is None or not math.isfinite(self.retry_after):
            return {}
        return {"retry-after": str(max(1, math.ceil(self.retry_after)))}


def invalid(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    """A 400 about the request itself."""
    return GatewayError(400, "invalid_request", message, param=param, code=code)


def openai_error_body(error: GatewayError) -> dict[str, Any]:
    """The error as the OpenAI API writes it."""
    return {
        "error": {
            "message": error.message,
            "type": _TYPES.get(error.kind, _TYPES["internal"])[0],
            "param": error.param,
            "code": error.code,
        }
    }


def anthropic_error_body(error: GatewayError, request_id: str | None = None) -> dict[str, Any]:
    """The error as the Anthropic API writes it."""
    return {
        "type": "error",
        "error": {"type": _TYPES.get(error.kind, _TYPES["internal"])[1], "message": error.message},
        "request_id": request_id,
    }


def _provider(exc: e.LLMError) -> str:
    return f"provider {exc.provider!r}" if exc.provider else "the provider"


def from_llm_error(exc: BaseException, model: str) -> GatewayError:
    """The gateway's answer to an exception raised by a call of public model ``model``.

    Errors the client can fix are 4xx with llmplug's message; upstream failures are
    502/503/504 (429 for rate limits), with ``retry_after`` passed on. Anything that is
    not an llmplug error is a bug: it is logged with its traceback, and the client is
    told only that the gateway failed.
    """
    if isinstance(exc, GatewayError):
        return exc
    if not isinstance(exc, e.LLMError):
        logger.error("model %r: unexpected error", model, exc_info=exc)
        return GatewayError(500, "internal", "the gateway failed to serve this request")
    message = str(exc)
    retry = getattr(exc, "retry_after", None)
    if isinstance(exc, e.ContextWindowExceededError):
        return invalid(message, "messages", "context_length_exceeded")
    if isinstance(exc, e.ContentPolicyError | e.ContentBlockedError):
        return invalid(message, None, "content_policy_violation")
    if isinstance(exc, e.CallRefusedError):
        return invalid(message, None, "call_refused")
    if isinstance(exc, e.UnsupportedContentError):
        return invalid(message, "messages", "unsupported_content")
    if isinstance(exc, e.UnsupportedFeatureError | e.ToolCallError):
        return invalid(message, None, "unsupported")
    if isinstance(exc, e.MissingKeyError):
        logger.error("model %r: %s", model, message)
        return GatewayError(
            502, "upstream", f"model {model!r} is not configured on the gateway: {message}"
        )
    if isinstance(exc, e.InvalidOptionError):
        return invalid(message, exc.option, "invalid_option")
    if isinstance(exc, e.ClientRateLimitError | e.BudgetExceededError):
        return GatewayError(
            429, "rate_limit", message, code="rate_limit_exceeded", retry_after=retry
        )
    if isinstance(exc, e.AllModelsFailedError):
        return GatewayError(503, "overloaded", message, code="all_models_failed", retry_after=retry)
    if isinstance(exc, e.AuthenticationError | e.PermissionDeniedError):
        logger.error("model %r: the provider refused the gateway's credentials: %s", model, message)
        return GatewayError(
            502,
            "upstream",
            f"{_provider(exc)} refused the gateway's credentials for model {model!r}; "
            f"the gateway's operator must check its provider key",
        )
    if isinstance(exc, e.RateLimitError):
        return GatewayError(
            429, "rate_limit", message, code="rate_limit_exceeded", retry_after=retry
        )
    if isinstance(exc, e.NotFoundError):
        return GatewayError(404, "not_found", message, code="model_not_found")
    if isinstance(exc, e.BadRequestError | e.UnprocessableEntityError | e.ConflictError):
        return invalid(message)
    if isinstance(exc, e.APITimeoutError):
        return GatewayError(504, "timeout", message, retry_after=retry)
    if isinstance(exc, e.InternalServerError):
        status = 503 if exc.status_code in (503, 529) else 502
        kind = "overloaded" if status == 503 else "upstream"
        return GatewayError(status, kind, message, retry_after=retry)
    if isinstance(exc, e.APIError | e.StreamError):
        return GatewayError(502, "upstream", message, retry_after=retry)
    if isinstance(exc, e.StructuredOutputError):
        return GatewayError(502, "upstream", message, code="structured_output_invalid")
    if isinstance(exc, e.ConfigError):
        return invalid(message)
    # PluginLoadError, HookError and the rest: the gateway's own set-up
    logger.error("model %r: %s", model, message, exc_info=exc)
    return GatewayError(500, "internal", message)
