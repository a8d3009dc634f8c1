"""AWS error responses and exception events -> llmplug's error tree.

An error response names its type in the ``x-amzn-ErrorType`` header
(``ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/``) or in the
JSON body (``__type``, ``code``), as botocore reads it; the message is the body's
``message`` (or ``Message``). The class then comes from the HTTP status (400
``BadRequestError``, 403 ``PermissionDeniedError``, 404 ``NotFoundError``, 429
``RateLimitError``, >= 500 ``InternalServerError``...), refined by type:

==========================================  =====================================
``ThrottlingException`` (429)               ``RateLimitError``, retried
``ModelNotReadyException`` (429)            ``RateLimitError``, retried (the model loads)
``ValidationException`` (400)               ``BadRequestError``; ``ContextWindowExceededError``
                                            when the input does not fit
``AccessDeniedException`` (403)             ``PermissionDeniedError``
``UnrecognizedClientException``,            ``AuthenticationError``: the credentials
``InvalidSignatureException``,              themselves were refused
``ExpiredTokenException``... (403)
``ResourceNotFoundException`` (404)         ``NotFoundError``
``ModelTimeoutException`` (408)             ``APIStatusError``, retried
``ModelErrorException`` (424)               ``APIStatusError``
``InternalServerException`` (500),          ``InternalServerError``, retried
``ServiceUnavailableException`` (503)
==========================================  =====================================

ConverseStream's exception events (``throttlingException``, ``validationException``,
``modelStreamErrorException``...) stand for the statuses in :data:`STREAM_STATUSES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmplug.errors import AuthenticationError, ContextWindowExceededError
from llmplug.http import json_loads

__all__ = [
    "AUTH_ERRORS",
    "RETRIED_IN_STREAM",
    "STREAM_STATUSES",
    "aws_error_type",
    "error_class",
    "normalized_error",
]

#: The status each exception event of a stream stands for (the service model's).
STREAM_STATUSES: dict[str, int] = {
    "throttlingException": 429,
    "validationException": 400,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
    "modelTimeoutException": 408,
    "accessDeniedException": 403,
    "resourceNotFoundException": 404,
    "modelNotReadyException": 429,
}
STREAM_STATUSES |= {name[0].upper() + name[1:]: status for name, status in STREAM_STATUSES.items()}

#: In-stream statuses retried while no chunk has reached the caller.
RETRIED_IN_STREAM = frozenset({429, 500, 503})

#: Error types that mean the credentials themselves were refused.
AUTH_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "ExpiredTokenException",
        "ExpiredToken",
        "MissingAuthenticationTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnauthorizedException",
    }
)

_VALIDATION = frozenset({"ValidationException", "validationException"})
_CONTEXT_OVERFLOW = re.compile(
    r"too long|too many (input )?tokens|exceeds? (the )?(model'?s? )?(maximum )?"
    r"(context|input)|context (window|limit|length)|prompt is too long",
    re.IGNORECASE,
)


def _clean(code: str) -> str:
    # "ValidationException:http://internal.amazon.com/..." and
    # "com.amazon.coral.service#ValidationException" are both "ValidationException"
    return code.split(":", 1)[0].rsplit("#", 1)[-1].strip()


def aws_error_type(headers: Mapping[str, str] | None, body: Any) -> str | None:
    """The AWS error type of a response: the header, else ``__type`` / ``code``."""
    if headers:
        for name, value in headers.items():
            if name.lower() == "x-amzn-errortype" and value:
                return _clean(value)
    if isinstance(body, dict):
        for key in ("__type", "code", "Code"):
            code = body.get(key)
            if isinstance(code, str) and code:
                return _clean(code)
    return None


def _decoded(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip()[:1] == "{":
        try:
            return json_loads(body)
        except ValueError:
            return body
    return body


def normalized_error(body: Any, headers: Mapping[str, str] | None) -> Any:
    """An AWS error body in the shape llmplug's error mapping reads.

    ``{"type": <the AWS error type>, "message": ..., <the body's other fields>}``; a
    body that is not a JSON object is returned as it is (its text is the message).
    """
    data = _decoded(body)
    kind = aws_error_type(headers, data)
    if isinstance(data, dict):
        message: Any = data.get("message") or data.get("Message")
        rest = {k: v for k, v in data.items() if k not in ("message", "Message", "__type")}
        normalized: dict[str, Any] = {**rest}
        if kind:
            normalized["type"] = kind
        if message is not None:
            normalized["message"] = message
        return normalized
    if kind and isinstance(data, str):
        return {"type": kind, "message": data}
    return data


def error_class(status: int | None, body: Any, message: str) -> type | None:
    """A finer class than the status gives, by the error's AWS type."""
    kind = body.get("type") if isinstance(body, dict) else None
    if kind in AUTH_ERRORS:
        return AuthenticationError
    if kind in _VALIDATION and _CONTEXT_OVERFLOW.search(message):
        return ContextWindowExceededError
    return None
