"""Google's error bodies -> the llmplug error tree: pure functions.

Google APIs answer errors with ``{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
"message": "...", "details": [...]}}``; ``details`` holds typed objects
(``google.rpc.RetryInfo``, ``google.rpc.ErrorInfo``, ``google.rpc.Help``...). The HTTP
layer maps the status to a class; this module refines it:

* ``RetryInfo.retryDelay`` (``"37s"``) is the wait a ``RESOURCE_EXHAUSTED`` error asks
  for: it becomes the error's ``retry_after`` when no ``Retry-After`` header says
  otherwise, so the retry loop honours it;
* an ``ErrorInfo`` reason ``API_KEY_INVALID`` (sent with 400) is an authentication error;
* an input over the model's limit is a ``ContextWindowExceededError``;
* an error event inside a stream (no HTTP status) gets its class from ``error.code`` or
  ``error.status``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from llmplug.errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    ContextWindowExceededError,
)
from llmplug.http import json_loads

__all__ = [
    "STATUS_CODES",
    "error_class",
    "error_code",
    "error_details",
    "honour_retry_delay",
    "retry_delay",
    "with_hint",
]

#: The HTTP status of each ``google.rpc.Code`` name, for errors that come without one.
STATUS_CODES = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)s\s*")
_CONTEXT_OVERFLOW = re.compile(
    r"input token count.*exceeds|exceeds the maximum number of tokens|context window",
    re.IGNORECASE,
)


def _error(body: Any) -> dict[str, Any]:
    """The ``error`` object of a body (dict, JSON text or bytes); ``{}`` if none."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json_loads(body)
        except ValueError:
            return {}
    if isinstance(body, list) and body:  # some Google APIs wrap the body in a list
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_details(body: Any) -> list[dict[str, Any]]:
    """The typed objects of ``error.details``."""
    details = _error(body).get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def error_code(body: Any) -> int | None:
    """The HTTP status an error body stands for: ``error.code``, else from ``error.status``."""
    error = _error(body)
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        return code
    status = error.get("status")
    return STATUS_CODES.get(status) if isinstance(status, str) else None


def retry_delay(body: Any) -> float | None:
    """Seconds the ``RetryInfo`` detail asks to wait (``"retryDelay": "37s"``), if any."""
    for detail in error_details(body):
        if detail.get("@type") == _RETRY_INFO:
            match = _DURATION.fullmatch(str(detail.get("retryDelay", "")))
            if match:
                seconds = float(match.group(1))
                if math.isfinite(seconds):
                    return seconds
    return None


def error_class(status: int | None, body: Any, message: str) -> type | None:
    """A finer class than the status gives (see the module docstring), or ``None``."""
    for detail in error_details(body):
        if detail.get("@type") == _ERROR_INFO and detail.get("reason") == "API_KEY_INVALID":
            return AuthenticationError
    code = status if status is not None else error_code(body)
    if code in (400, 413) and _CONTEXT_OVERFLOW.search(message):
        return ContextWindowExceededError
    return None


def with_hint(error: APIError, hint: str) -> APIError:
    """``error`` with ``hint`` added to its message (in place; returned for chaining)."""
    error.message = f"{error.message}{hint}"
    error.args = (error.message, *error.args[1:])
    return error


def honour_retry_delay(error: APIError, body: Any) -> APIError:
    """Set ``retry_after`` from the body's ``RetryInfo`` when no header set it."""
    if isinstance(error, APIStatusError) and error.retry_after is None:
        error.retry_after = retry_delay(body)
    return error
