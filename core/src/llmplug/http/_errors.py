"""Error mapping to the :mod:`llmplug.errors` tree.

HTTP statuses, in-stream error events and transport failures each become one error of
the tree, with every secret redacted from its message and body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llmplug._secrets import redact_data, redact_text
from llmplug._untrusted import loads_json
from llmplug.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamTimeoutError,
    UnprocessableEntityError,
)

__all__ = [
    "STATUS_ERRORS",
    "RedactedError",
    "redacted_excerpt",
    "TYPE_STATUS",
    "build_error",
    "connection_error",
    "error_message",
    "error_type",
    "parse_retry_after",
    "request_id",
    "scrub_error",
    "shape_error",
    "status_error_class",
    "timeout_error",
]

#: The error class of each HTTP status with a class of its own (>= 500: InternalServerError).
STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

#: The status an in-stream error event stands for, by its ``type`` (OpenAI, Anthropic).
TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "server_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_REASONS = {529: "Overloaded"}
_EXCERPT = 2000  # characters of a non-JSON body kept on the error
# OpenAI, Anthropic, and AWS services (``x-amzn-RequestId``)
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid")

ErrorClassHook = Callable[[int | None, Any, str], "type | None"]


def status_error_class(status: int) -> type[APIStatusError]:
    """The error class for an HTTP status of 400 or more."""
    if status >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status, APIStatusError)


def _decoded(body: Any) -> Any:
    """Bytes and JSON text decoded to JSON where they are JSON; else text."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip()[:1] in ("{", "["):
        try:
            return loads_json(body)
        except ValueError:
            return body
    return body


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)[:500]


def error_message(body: Any) -> str:
    """The human message in an error body: ``error.message``, ``message``, or a text excerpt."""
    body = _decoded(body)
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return _text(error["message"])
        if isinstance(error, str) and error:
            return error
        for key in ("message", "detail", "error_description"):
            if body.get(key):
                return _text(body[key])
        return _text(body)
    if body is None:
        return ""
    text = " ".join(str(body).split())
    return text if len(text) <= 300 else text[:297] + "..."


def error_type(body: Any) -> str | None:
    """The error's ``type`` string (``error.type``, else a top-level ``type``)."""
    body = _decoded(body)
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("type"), str):
        return str(error["type"])
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind != "error" else None


def _lower(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    # error paths only: a copy is cheap, and a plain dict's lookups are case-sensitive
    return {} if headers is None else {k.lower(): v for k, v in headers.items()}


def request_id(headers: Mapping[str, str] | None, body: Any = None) -> str | None:
    """The provider's request id, from ``x-request-id``/``request-id`` or the body."""
    lowered = _lower(headers)
    for name in _REQUEST_ID_HEADERS:
        value = lowered.get(name)
        if value:
            return value
    body = _decoded(body)
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        return str(body["request_id"])
    return None


def redacted_excerpt(text: str | bytes, secrets: Iterable[str], limit: int = 300) -> str:
    """The first ``limit`` characters of ``text``, secrets redacted before the cut.

    Cutting first would leave a secret that straddles the cut unrecognised, and half of
    it shown.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text[: limit * 8]).decode("utf-8", "replace")
    return redact_text(text[: limit * 8], tuple(secrets))[:limit]


_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _json_kind(kind: type) -> str:
    if kind is type(None):
        return "null"
    return _JSON_KINDS.get(kind, "a number" if kind in (int, float) else kind.__name__)


def shape_error(
    data: Any, expected: tuple[type, ...], *, provider: str, secrets: Iterable[str]
) -> APIError:
    """The error for a successful response whose JSON is not of an ``expected`` type."""
    excerpt = redacted_excerpt(str(data), secrets)
    wanted = " or ".join(_json_kind(kind) for kind in expected)
    return APIError(
        f"the response body is {_json_kind(type(data))}, not {wanted} as this API answers: "
        f"{excerpt!r}",
        provider=provider,
        body=excerpt,
    )


def _seconds(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_retry_after(headers: Mapping[str, str] | None, now: float) -> float | None:
    """The wait the server asked for, in seconds, or ``None`` if it asked for none.

    ``retry-after-ms`` wins over ``retry-after``; ``retry-after`` is seconds or an HTTP
    date. Garbage, negative, NaN, infinite values and dates in the past are ignored.

    Args:
        headers: The response headers.
        now: The current wall-clock time (``time.time()``), for HTTP dates.
    """
    lowered = _lower(headers)
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        value = _seconds(millis)
        if value is not None:
            return value / 1000.0
    text = lowered.get("retry-after")
    if text is None:
        return None
    value = _seconds(text)
    if value is not None:
        return value
    from datetime import UTC
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text.strip())
        if when.tzinfo is None:  # no zone (or "-0000"): UTC, as HTTP dates are, not local
            when = when.replace(tzinfo=UTC)
        wait = when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return wait if math.isfinite(wait) and wait >= 0 else None


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _REASONS.get(status, "Error")


def _hint(cls: type, key_env: str | None, auth_hint: str | None = None) -> str:
    if issubclass(cls, AuthenticationError):
        if auth_hint:
            return f"; {auth_hint}"
        where = f"set {key_env} or pass api_key=" if key_env else "pass api_key="
        return f"; check the API key ({where})"
    if issubclass(cls, NotFoundError):
        return "; check the model name and base_url"
    return ""


def build_error(
    body: Any,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    provider: str,
    secrets: Iterable[str] = (),
    refine: ErrorClassHook | None = None,
    key_env: str | None = None,
    now: float = 0.0,
    type_statuses: Mapping[str, int] | None = None,
    auth_hint: str | None = None,
) -> APIError:
    """Build the error for an error body (see ``HTTPChatLLM.error_from_body``).

    ``type_statuses`` adds a provider's own in-stream error types to :data:`TYPE_STATUS`;
    ``auth_hint`` replaces the "check the API key" advice of an authentication error.
    """
    secrets = tuple(secrets)
    # redacted before anything is cut short: a secret cut in two is not found
    data = redact_data(_decoded(body), secrets)
    message = redact_text(error_message(data), secrets)
    kind = error_type(data)
    code = status
    if code is None and kind:
        code = (type_statuses or {}).get(kind) or TYPE_STATUS.get(kind)
    refined = refine(code, data, message) if refine is not None else None
    if refined is not None and issubclass(refined, APIError):
        cls: type[APIError] = refined
    elif code is not None and code >= 400:
        cls = status_error_class(code)
    else:
        cls = APIError
    if status is not None:
        text = f"HTTP {status} {_reason(status)}: {message or '(no message)'}"
    else:
        text = f"error event{f' {kind}' if kind else ''} in the stream: {message or '(no message)'}"
    rid = request_id(headers, data)
    if rid:
        text += f" (request id {rid})"
    text += _hint(cls, key_env, auth_hint)
    if isinstance(data, dict | list):
        excerpt: Any = data
    elif data is None:
        excerpt = None
    else:
        excerpt = str(data)[:_EXCERPT]
    if issubclass(cls, APIStatusError):
        return cls(
            text,
            status_code=code if code is not None else 400,
            provider=provider,
            body=excerpt,
            request_id=rid,
            retry_after=parse_retry_after(headers, now) if headers is not None else None,
        )
    return cls(text, provider=provider, body=excerpt)


def timeout_error(
    kind: str, seconds: float | None, *, provider: str, where: str, partial: str | None = None
) -> APITimeoutError:
    """An ``APITimeoutError`` naming which timeout expired (``Timeout.<kind>``).

    Args:
        kind: The :class:`~llmplug.http.Timeout` field that expired.
        seconds: Its value.
        provider: The provider name.
        where: ``METHOD URL`` of the request, already redacted.
        partial: For a stream whose chunks reached the caller, the text so far: the
            error is then a :class:`~llmplug.errors.StreamTimeoutError` carrying it.
    """
    after = f" after {seconds:g} s" if seconds is not None else ""
    text = f"{kind} timeout{after} (Timeout.{kind}) on {where}"
    if partial is not None:
        return StreamTimeoutError(
            f"{text}; {len(partial)} characters had arrived", provider=provider, partial=partial
        )
    return APITimeoutError(text, provider=provider)


def connection_error(
    exc: BaseException,
    *,
    provider: str,
    where: str,
    secrets: Iterable[str] = (),
    hint: str | None = None,
) -> APIConnectionError:
    """An ``APIConnectionError`` for a transport failure (the cause is set by the caller).

    ``hint`` (what to do next, from the provider) ends the message.
    """
    detail = redact_text(str(exc), tuple(secrets)) or "no details"
    text = f"{type(exc).__name__} on {where}: {detail}"
    if hint:
        text += f"; {hint}"
    return APIConnectionError(text, provider=provider)


# -- keeping secrets out of raised errors and what they chain to ---------------------------


class RedactedError(Exception):
    """Stands in, in an error's chain, for a native exception whose text held a secret.

    Its message is the original's type and text with the secrets redacted; it keeps the
    original's own ``__cause__`` and ``__context__``.
    """


def _redacted_args(args: tuple[Any, ...], secrets: tuple[str, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, str):
            arg = redact_text(arg, secrets)
        elif isinstance(arg, bytes | bytearray):
            arg = redact_text(bytes(arg).decode("utf-8", "replace"), secrets)
        out.append(arg)
    return tuple(out)


def _texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), *getattr(exc, "__notes__", ())]
    for value in getattr(exc, "__dict__", {}).values():  # JSONDecodeError.doc...
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str):
            texts.append(value)
    return texts


def _shows_secret(exc: BaseException, secrets: tuple[str, ...]) -> bool:
    return any(redact_text(text, secrets) != text for text in _texts(exc) if isinstance(text, str))


def _scrub_one(exc: BaseException, secrets: tuple[str, ...]) -> bool:
    """Redact ``exc``'s own text in place; whether it is clean now."""
    if not isinstance(exc, LLMError):
        # the locals of a native exception's finished frames (the headers sent) go
        import traceback  # lazy for lightness: only when an error is scrubbed

        traceback.clear_frames(exc.__traceback__)
    if isinstance(exc, LLMError):
        exc.message = redact_text(exc.message, secrets)
        body = getattr(exc, "body", None)
        if isinstance(body, str):
            exc.body = redact_text(body, secrets)  # type: ignore[attr-defined]
        elif isinstance(body, dict | list):
            exc.body = redact_data(body, secrets)  # type: ignore[attr-defined]
    if not _shows_secret(exc, secrets):
        return True
    try:
        exc.args = _redacted_args(exc.args, secrets)
        for name, value in list(getattr(exc, "__dict__", {}).items()):
            if isinstance(value, str | bytes | bytearray):
                setattr(exc, name, _redacted_args((value,), secrets)[0])
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            exc.__notes__ = [redact_text(str(note), secrets) for note in notes]
    except (AttributeError, TypeError):
        return False
    return not _shows_secret(exc, secrets)


def _stand_in(exc: BaseException, secrets: tuple[str, ...]) -> RedactedError:
    text = redact_text(f"{type(exc).__name__}: {exc}", secrets)
    stand_in = RedactedError(text)
    stand_in.__cause__ = exc.__cause__
    stand_in.__context__ = exc.__context__
    stand_in.__suppress_context__ = exc.__suppress_context__
    return stand_in


def scrub_error(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """Redact ``secrets`` from ``error`` and from every exception it chains to, in place.

    The message, ``args``, text attributes, notes and ``body`` of each exception in
    the ``__cause__``/``__context__`` chain lose the secrets (in each of their forms:
    as sent, stripped, escaped); a native exception whose text cannot be changed is
    replaced in the chain by a :class:`RedactedError` saying what it was, and the
    locals of native exceptions' finished frames are cleared. Returns ``error``.
    """
    secrets = tuple(secrets)
    seen: set[int] = set()
    pending = [error]
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        _scrub_one(exc, secrets)
        for name in ("__cause__", "__context__"):
            linked: BaseException | None = getattr(exc, name)
            if linked is None or id(linked) in seen:
                continue
            if not _scrub_one(linked, secrets):
                suppress = exc.__suppress_context__
                linked = _stand_in(linked, secrets)
                setattr(exc, name, linked)
                exc.__suppress_context__ = suppress
            pending.append(linked)
    return error
