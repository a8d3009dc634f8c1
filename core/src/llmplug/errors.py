"""The llmplug exception tree.

Every error llmplug raises derives from :class:`LLMError`, names the provider it came
from where there is one, and keeps the native exception as ``__cause__``::

    LLMError
    ├── ConfigError                     bad config string, option, alias or config file
    │   ├── UnknownProviderError        no installed provider has that name
    │   ├── InvalidOptionError          an option the provider does not accept, or a bad value
    │   └── MissingKeyError             the provider needs an API key and none is set
    ├── PluginLoadError                 a plugin failed to import, register or is incompatible
    │   └── DuplicateProviderError      two distributions claim one provider name
    ├── HookError                       a hookimpl raised; names the plugin
    │   └── CallRefusedError            a ``before_call`` hook refused the call (guardrail)
    ├── APIError                        the provider's API failed
    │   ├── APIStatusError              an HTTP status >= 400 (``status_code``, ``request_id``)
    │   │   ├── BadRequestError             400
    │   │   │   ├── ContextWindowExceededError  the prompt does not fit the model
    │   │   │   └── ContentPolicyError          the provider's content filter refused it
    │   │   ├── AuthenticationError         401
    │   │   ├── PermissionDeniedError       403
    │   │   ├── NotFoundError               404
    │   │   ├── ConflictError               409
    │   │   ├── UnprocessableEntityError    422
    │   │   ├── RateLimitError              429
    │   │   └── InternalServerError         >= 500 (incl. 529 overloaded)
    │   ├── APIConnectionError          the request never got an answer
    │   │   └── APITimeoutError
    │   └── ContentBlockedError         the provider blocked the prompt or cut the answer
    ├── RoutingError                    a route (fallback, balance, limit) could not serve
    │   ├── AllModelsFailedError        every model of a route failed (``errors``, ``attempts``)
    │   ├── ClientRateLimitError        a client-side rate limit would make the call wait too long
    │   └── BudgetExceededError         a spend or token budget is used up
    ├── StreamError                     a stream broke
    │   ├── IncompleteStreamError       the body ended before the stream's end marker
    │   └── StreamInterruptedError      the connection dropped mid-stream (``partial``)
    │       └── StreamTimeoutError      a timeout expired mid-stream (also an APITimeoutError)
    ├── StructuredOutputError           the model's output did not validate (``raw``, ``errors``)
    ├── ToolCallError                   no tool call where one was required, or a tool failed
    ├── UnsupportedContentError         a content block the provider cannot send
    └── UnsupportedFeatureError         an optional provider feature it does not offer

Where LlamaIndex raises a built-in exception that code catches, the llmplug error for
the same failure derives from that built-in too, so ``except ValueError`` written for
LlamaIndex keeps working: ``ContextWindowExceededError``, ``StructuredOutputError`` and
``ToolCallError`` are :class:`ValueError` s;
``UnsupportedContentError`` is a :class:`TypeError` and a :class:`ValueError`. The
audit, error by error, is in ``docs/errors.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AllModelsFailedError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CallRefusedError",
    "ClientRateLimitError",
    "ConfigError",
    "ConflictError",
    "ContentBlockedError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "DuplicateProviderError",
    "HookError",
    "IncompleteStreamError",
    "InternalServerError",
    "InvalidOptionError",
    "LLMError",
    "MissingKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginLoadError",
    "RateLimitError",
    "RoutingError",
    "StreamError",
    "StreamInterruptedError",
    "StreamTimeoutError",
    "StructuredOutputError",
    "ToolCallError",
    "UnknownProviderError",
    "UnprocessableEntityError",
    "UnsupportedContentError",
    "UnsupportedFeatureError",
]


class LLMError(Exception):
    """Base of every llmplug error.

    Args:
        message: What went wrong and, where possible, what to do next.
        provider: The provider name the error came from, if any.
    """

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        if self.provider and not self.message.startswith(f"[{self.provider}]"):
            return f"[{self.provider}] {self.message}"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only constructor arguments would break the default pickling, and with
        # it multiprocessing, Celery and Ray: restore the attributes instead
        return (_restore, (type(self), self.args, self.__dict__.copy()))


def _restore(cls: type[LLMError], args: tuple[Any, ...], state: dict[str, Any]) -> LLMError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(LLMError):
    """A config string, option, alias or config file is wrong."""


class UnknownProviderError(ConfigError):
    """No installed provider has the requested name.

    Attributes:
        name: The name that was asked for.
        available: The installed provider names.
        suggestion: The closest installed name, if any is close.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str,
        available: list[str],
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.available = available
        self.suggestion = suggestion


class InvalidOptionError(ConfigError):
    """An option the provider does not accept, or a value of the wrong type.

    Attributes:
        option: The offending option name (``None`` when several are wrong).
        valid_options: The options the provider accepts.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        option: str | None = None,
        valid_options: list[str] | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.option = option
        self.valid_options = valid_options or []


class MissingKeyError(ConfigError):
    """The provider needs an API key and none is set; raised before any request.

    The message names where a key is looked for: the explicit ``api_key`` option, the
    environment variable, then the key store (``llmplug keys set NAME``).

    Attributes:
        key_env: The environment variable (and key store name) holding the key.
    """

    def __init__(self, message: str, *, provider: str | None = None, key_env: str = "") -> None:
        super().__init__(message, provider=provider)
        self.key_env = key_env


class PluginLoadError(LLMError):
    """A plugin could not be imported, registered, or is incompatible.

    Attributes:
        plugin: The entry point name (or plugin name) that failed.
        distribution: The distribution that declared it, if known.
        entry_point: The entry point's value (``module`` or ``module:attr``).
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str,
        distribution: str | None = None,
        entry_point: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.plugin = plugin
        self.distribution = distribution
        self.entry_point = entry_point


class DuplicateProviderError(PluginLoadError):
    """Two distributions (or two registrations) claim the same provider name.

    Attributes:
        claimants: Who claims the name, e.g. ``["llmplug-foo 1.0", "other-foo 2.1"]``.
    """

    def __init__(self, message: str, *, plugin: str, claimants: list[str]) -> None:
        super().__init__(message, plugin=plugin)
        self.claimants = claimants


class HookError(LLMError):
    """A hookimpl raised while handling a call.

    Attributes:
        plugin: The name of the plugin whose hookimpl raised.
        hook: The hook's name.
    """

    def __init__(
        self, message: str, *, plugin: str, hook: str, provider: str | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.plugin = plugin
        self.hook = hook


class CallRefusedError(HookError):
    """A ``before_call`` hook refused the call (a guardrail said no).

    Raise it from a ``before_call`` hookimpl with a reason; llmplug fills in the plugin.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str = "",
        hook: str = "before_call",
        provider: str | None = None,
    ) -> None:
        super().__init__(message, plugin=plugin, hook=hook, provider=provider)


class APIError(LLMError):
    """The provider's API failed.

    Attributes:
        body: An excerpt of the response body, if any (secrets redacted).
    """

    def __init__(self, message: str, *, provider: str | None = None, body: Any = None) -> None:
        super().__init__(message, provider=provider)
        self.body = body


class APIStatusError(APIError):
    """The API answered with an HTTP status of 400 or more.

    Attributes:
        status_code: The HTTP status.
        request_id: The provider's request id, if it sent one.
        retry_after: Seconds the server asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        provider: str | None = None,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, body=body)
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """HTTP 400: the request was malformed or rejected."""


class ContextWindowExceededError(BadRequestError, ValueError):
    """The prompt (plus the requested output) does not fit the model's context window."""


class ContentPolicyError(BadRequestError):
    """The provider's content filter refused the prompt (Azure's ``content_filter``...).

    Another model, with another filter, may accept it: a fallback route moves on for it
    only when asked (``fallback_on_content_policy``).
    """


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the key is valid but may not do this."""


class NotFoundError(APIStatusError):
    """HTTP 404: unknown model or endpoint."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests or tokens."""


class InternalServerError(APIStatusError):
    """HTTP 500 and above, including 529 (overloaded)."""


class APIConnectionError(APIError):
    """The request did not get an answer (DNS, refused, reset, TLS...)."""


class APITimeoutError(APIConnectionError):
    """A timeout expired (connect, read, first event, idle, or the total deadline)."""


class ContentBlockedError(APIError):
    """The provider refused the prompt, or cut the answer, with a filter (safety, policy).

    Raised instead of returning an empty or truncated answer as if it were complete.

    Attributes:
        reason: The provider's reason (Gemini's ``SAFETY``, ``PROHIBITED_CONTENT``...).
        where: ``"prompt"`` (the prompt was blocked) or ``"response"`` (the answer was cut).
        partial: The answer's text before it was cut (empty for a blocked prompt).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        body: Any = None,
        reason: str = "",
        where: str = "response",
        partial: str = "",
    ) -> None:
        super().__init__(message, provider=provider, body=body)
        self.reason = reason
        self.where = where
        self.partial = partial


class RoutingError(LLMError):
    """A route (``llmplug.routing``: fallback, balance, limit) could not serve the call.

    Attributes:
        route: The route's name.
        retry_after: Seconds after which trying again may succeed, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        route: str = "",
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.route = route
        self.retry_after = retry_after


class AllModelsFailedError(RoutingError):
    """Every model of a route was tried (or could not be) and none answered.

    The message lists each attempt; ``__cause__`` is the last error.

    Attributes:
        errors: Each attempt's error, in order (for a model skipped without a call --
            cooling down, over its budget or rate limit -- the error that says why).
        attempts: Each attempt's record (``llmplug.routing.RouteAttempt``): the model,
            the outcome and the reason.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: list[BaseException],
        attempts: list[Any] | None = None,
        route: str = "",
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, route=route, retry_after=retry_after, provider=provider)
        self.errors = errors
        self.attempts = attempts or []


class ClientRateLimitError(RoutingError):
    """A client-side rate limit (``rpm``/``tpm``) has no room, and waiting is not allowed.

    Raised before any request when the wait would pass the route's ``max_wait``
    (``max_wait=0``: fail fast). ``retry_after`` says when there will be room.

    Attributes:
        limit: The name of the limit (a model spec or a group).
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        route: str = "",
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, route=route, retry_after=retry_after, provider=provider)
        self.limit = limit


class BudgetExceededError(RoutingError):
    """A route's or a model's spend or token budget is used up; no call was made.

    Attributes:
        budget: The name of the budget (a model spec or a group).
        spent: What was spent so far (tokens, or cost in the budget's currency).
        limit: The budget.
        unit: ``"tokens"`` or ``"cost"``.
    """

    def __init__(
        self,
        message: str,
        *,
        budget: str,
        spent: float,
        limit: float,
        unit: str,
        route: str = "",
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, route=route, retry_after=retry_after, provider=provider)
        self.budget = budget
        self.spent = spent
        self.limit = limit
        self.unit = unit


class StreamError(LLMError):
    """A stream broke before its end.

    Attributes:
        partial: The text received before the stream broke.
    """

    def __init__(self, message: str, *, provider: str | None = None, partial: str = "") -> None:
        super().__init__(message, provider=provider)
        self.partial = partial


class IncompleteStreamError(StreamError):
    """The response body ended before the stream's end marker."""


class StreamInterruptedError(StreamError):
    """The connection dropped mid-stream; ``partial`` holds what arrived."""


class StreamTimeoutError(StreamInterruptedError, APITimeoutError):
    """A timeout (``idle`` or the total deadline) expired mid-stream.

    Raised once chunks reached the caller, so the call is not retried. ``partial`` holds
    the text that arrived, as for a dropped connection; it is also an
    :class:`APITimeoutError`, so code catching timeouts catches it.
    """


class StructuredOutputError(LLMError, ValueError):
    """The model's output did not validate against the requested schema.

    Also a :class:`ValueError`, which is what LlamaIndex raises there (pydantic's
    ``ValidationError``, or ``ValueError`` when no JSON is found), so code guarding
    ``structured_predict`` or ``PydanticOutputParser.parse`` with ``except ValueError``
    keeps catching it.

    Attributes:
        raw: The model's raw text.
        errors: The validation errors (pydantic's ``errors()`` list).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        raw: str = "",
        errors: list[Any] | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.raw = raw
        self.errors = errors or []


class ToolCallError(LLMError, ValueError):
    """A tool round could not complete as asked.

    Raised by ``predict_and_call`` (and ``get_tool_calls_from_response``) when the model
    made no tool call and ``error_on_no_tool_call`` is set, and, with
    ``error_on_tool_error=True``, when a tool raised (its exception is ``__cause__``), got
    arguments that do not fit its schema, or was not among the tools given. It derives
    from :class:`ValueError`, which is what LlamaIndex raises for a missing tool call.

    Attributes:
        tool_name: The tool concerned, if there is one.
        output: The error :class:`~llmplug.ToolOutput` the tool round produced, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        tool_name: str | None = None,
        output: Any = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.tool_name = tool_name
        self.output = output


class UnsupportedContentError(LLMError, TypeError, ValueError):
    """A content block the provider cannot send; raised before any request.

    A :class:`TypeError` (the block's type is the problem) and a :class:`ValueError`,
    which is what LlamaIndex's integrations raise for input they cannot send.

    Attributes:
        block_type: The block's ``block_type`` (``"video"``, ``"audio"``...).
    """

    def __init__(self, message: str, *, provider: str | None = None, block_type: str = "") -> None:
        super().__init__(message, provider=provider)
        self.block_type = block_type


class UnsupportedFeatureError(LLMError):
    """An optional provider feature (listing models...) that this provider does not offer.

    Attributes:
        feature: What was asked for (``"list_models"``).
    """

    def __init__(self, message: str, *, provider: str | None = None, feature: str = "") -> None:
        super().__init__(message, provider=provider)
        self.feature = feature
