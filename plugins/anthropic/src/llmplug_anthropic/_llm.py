"""The ``anthropic`` provider: Anthropic's Messages API over llmplug's HTTP runtime.

:class:`AnthropicLLM` holds the options and the four pure methods the runtime calls
(``build_request``, ``parse_response``, ``start_stream``, ``parse_event``); the wire
format itself is in ``_wire`` (requests) and ``_parse`` (responses and stream events).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata
from llmplug.errors import ContextWindowExceededError, InvalidOptionError
from llmplug.http import (
    STREAM_END,
    ChunkResult,
    HTTPRequest,
    ServerEvent,
    json_from_text,
)
from llmplug.tools import FunctionCallingLLM, resolve_tool_choice, tool_chat_messages
from llmplug_anthropic._batches import AnthropicBatchAPI
from llmplug_anthropic._models import ModelInfo, default_max_tokens, model_info
from llmplug_anthropic._parse import StreamState, parse_event_data, parse_message
from llmplug_anthropic._tools import tool_choice_to_wire, tool_definition, tool_definitions
from llmplug_anthropic._wire import messages_to_wire

if TYPE_CHECKING:
    from llmplug import ModelInfo as ListedModel
    from llmplug.structured import OutputSchema
    from llmplug.tools import BaseTool

__all__ = ["ANTHROPIC_BASE_URL", "ANTHROPIC_VERSION", "AnthropicLLM"]

#: Anthropic's own API.
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
#: The ``anthropic-version`` header sent unless another is set (the current one).
ANTHROPIC_VERSION = "2023-06-01"

_TOOL_CHOICES = ("auto", "any", "none")
_THINKING_TYPES = ("adaptive", "disabled")


def _stop_sequences(value: Any) -> Any:
    value = json_from_text(value)
    return [value] if isinstance(value, str) else value


def _tool_choice(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str):
        if value in _TOOL_CHOICES:
            return {"type": value}
        return {"type": "tool", "name": value}  # the one tool the model must call
    return value


def _tools(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, list | tuple):
        try:
            return tool_definitions(value, provider=None)  # FunctionTools as definitions
        except InvalidOptionError as exc:
            raise ValueError(exc.args[0]) from None  # reported as a bad option value
    return value


def _thinking(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str):
        if value not in _THINKING_TYPES:
            raise ValueError(
                f"thinking is 'adaptive', 'disabled' or a config object, not {value!r}; "
                f"for a token budget set thinking_budget"
            )
        return {"type": value}
    return value


def _betas(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return value


Unit = Annotated[float | None, Field(ge=0.0, le=1.0)]
StopSequences = Annotated[list[str] | None, BeforeValidator(_stop_sequences)]
Tools = Annotated[list[dict[str, Any]] | None, BeforeValidator(_tools)]
ToolChoice = Annotated[dict[str, Any] | None, BeforeValidator(_tool_choice)]
Thinking = Annotated[dict[str, Any] | None, BeforeValidator(_thinking)]
Betas = Annotated[list[str], BeforeValidator(_betas)]
Effort = Literal["low", "medium", "high", "xhigh", "max"]

# the options a call may override: llm.chat(messages, temperature=0)
_PER_CALL = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "thinking_budget",
    "thinking",
    "effort",
    "output_format",
    "tools",
    "tool_choice",
    "user_id",
    "betas",
    "extra_body",
    "extra_headers",
)
_SAMPLING = ("temperature", "top_p", "top_k")

# compiled on first use (and cached by re), so importing stays cheap
_CONTEXT_OVERFLOW = (
    r"(?i)prompt is too long|exceeds? (the )?(model'?s? )?context|context (window|limit|length)"
)


class AnthropicLLM(AnthropicBatchAPI, FunctionCallingLLM):
    """Chat with Claude through Anthropic's Messages API.

    A :class:`~llmplug.tools.FunctionCallingLLM`: ``predict_and_call`` makes one native
    tool round, and ``chat_with_tools`` (and its async and streaming twins) offers
    tools, sent as custom tool definitions with the tool choice as the API takes it.

    Options left unset (``None``) are not sent, so the API's defaults apply; except
    ``max_tokens``, which the API requires: unset, it is 8,192 (or the model's maximum
    when lower) plus ``thinking_budget``. Message Batches (``create_batch`` and the
    other provider batch methods) send the same requests at half the price, answered
    within 24 hours.

    Attributes:
        model: The model name (``claude-haiku-5-5``, ``claude-sonnet-5-5``,
            ``claude-opus-5-5``...).
        base_url: The API's base URL; requests go to ``{base_url}/v1/messages``.
        max_tokens: Most tokens to generate, thinking included.
        temperature: Sampling temperature, 0 to 1 (models before Claude Opus 4.7).
        top_p: Nucleus sampling, 0 to 1 (models before Claude Opus 4.7).
        top_k: Sample from the k likeliest tokens only (models before Claude Opus 4.7).
        stop_sequences: Strings that end the answer (``stop_reason`` is then
            ``"stop_sequence"``); a single string is one sequence.
        thinking_budget: Extended thinking with this many tokens to think (at least
            1,024 and less than ``max_tokens``), for models with manual thinking.
        thinking: The thinking configuration as the API takes it, for other modes:
            ``"adaptive"``, ``"disabled"`` or an object (``{"type": "adaptive"}``).
        effort: How much effort the model spends (``output_config.effort``).
        output_format: The answer's JSON schema format (``output_config.format``:
            ``{"type": "json_schema", "schema": {...}}``); structured calls set it.
        tools: Tool definitions in the API's format (``name``, ``description``,
            ``input_schema``), sent as given; a :class:`~llmplug.FunctionTool` (or a
            plain function) in the list is converted to one. ``chat_with_tools`` and
            ``predict_and_call`` take their tools as an argument instead.
        tool_choice: ``"auto"``, ``"any"``, ``"none"``, a tool's name (that tool must be
            called) or an object in the API's format.
        user_id: An opaque id of your end user (``metadata.user_id``), for abuse detection.
        anthropic_version: The ``anthropic-version`` header.
        betas: Beta features to turn on (the ``anthropic-beta`` header); a config string
            may list them separated by commas.
        extra_body: Merged into the request body last (fields this class does not name).
        context_window: Reported in ``metadata`` instead of the known model's.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        native_async=True,
        tools=True,
        json_schema=True,
        vision=True,
        documents=True,
        model_listing=True,
        batch=True,
    )
    key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    per_call_options: ClassVar[tuple[str, ...]] = (*_PER_CALL, "timeout", "max_retries")
    stream_end: ClassVar[str | None] = "message_stop"

    base_url: str = Field(default=ANTHROPIC_BASE_URL, description="The API's base URL.")
    model: str = Field(default="claude-haiku-5-5", description="The model name.")
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: Unit = None
    top_p: Unit = None
    top_k: int | None = Field(default=None, ge=1)
    stop_sequences: StopSequences = None
    thinking_budget: int | None = Field(default=None, ge=1024)
    thinking: Thinking = None
    effort: Effort | None = None
    output_format: dict[str, Any] | None = None
    tools: Tools = None
    tool_choice: ToolChoice = None
    user_id: str | None = None
    anthropic_version: str = ANTHROPIC_VERSION
    # copied per instance; default_factory=list would cost ~2 ms at load (pydantic reads
    # the factory's signature, and list's is parsed by the tokenize module)
    betas: Betas = Field(default=[])
    extra_body: dict[str, Any] = Field(default_factory=dict)
    context_window: int | None = Field(default=None, gt=0)

    @classmethod
    def class_name(cls) -> str:
        """The class's name (``"AnthropicLLM"``)."""
        return cls.__name__

    @property
    def metadata(self) -> LLMMetadata:
        """Context window and output size of the model, from a built-in table.

        A model the table does not know gets 200,000 tokens of context (the least of
        any Claude model since Claude 3), or ``context_window`` when set; it never raises.
        """
        info = model_info(self.model)
        return LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or default_max_tokens(info, self.thinking_budget),
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model,
        )

    def key_required(self) -> bool:
        """A key is needed for Anthropic's own API, not for another ``base_url`` (a proxy)."""
        own_service = self.base_url.rstrip("/") == ANTHROPIC_BASE_URL
        return own_service and super().key_required()

    # -- listing models ----------------------------------------------------------------

    @classmethod
    def known_models(cls) -> list[ListedModel]:
        """Claude models from the built-in table (families: ``claude-sonnet-4-5``...)."""
        # lazy for lightness: the listing code loads when models are listed, not at load()
        from llmplug_anthropic._listing import known_claude_models

        return known_claude_models()

    def list_models(self) -> list[ListedModel]:
        """The models the API offers now (``GET /v1/models``, every page), newest first.

        Raises:
            MissingKeyError: No API key is set.
            APIError: The request failed, or the answer is not a page of models.
        """
        # lazy for lightness: the listing code loads when models are listed, not at load()
        from llmplug_anthropic._listing import MAX_PAGES, models_page_request, parse_models_page

        found: list[ListedModel] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            data = self.request_json(models_page_request(self.anthropic_version, after))
            page, after = parse_models_page(data, provider=self.provider_label)
            found += page
            if after is None:
                break
        return found

    async def alist_models(self) -> list[ListedModel]:
        """Async :meth:`list_models`."""
        # lazy for lightness: the listing code loads when models are listed, not at load()
        from llmplug_anthropic._listing import MAX_PAGES, models_page_request, parse_models_page

        found: list[ListedModel] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            data = await self.arequest_json(models_page_request(self.anthropic_version, after))
            page, after = parse_models_page(data, provider=self.provider_label)
            found += page
            if after is None:
                break
        return found

    # -- tools -------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments offering ``tools`` with the tool choice.

        Each tool goes out as a custom tool definition (``name``, ``description``,
        ``input_schema``). ``tool_choice`` is ``"auto"``, ``"required"`` (or ``"any"``),
        ``"none"``, a tool's name or the API's own object (sent as given);
        ``tool_required=True`` with no ``tool_choice`` is ``{"type": "any"}``. Unless
        ``allow_parallel_tool_calls``, the choice carries
        ``"disable_parallel_tool_use": true``. With no tools, neither is sent.

        Raises:
            InvalidOptionError: ``tool_choice`` names no tool given, a tool name the
                API refuses, or a forced tool call with extended thinking (a
                ``thinking_budget``), which the API refuses.
        """
        options: dict[str, Any] = {"messages": tool_chat_messages(user_msg, chat_history)}
        if tools:
            provider = self.provider_label
            choice = resolve_tool_choice(tools, tool_choice, tool_required, provider)
            wire_choice = tool_choice_to_wire(choice, parallel=allow_parallel_tool_calls)
            thinking = self._manual_thinking(kwargs)
            if thinking and wire_choice.get("type") in ("any", "tool"):
                asked = (
                    "tool_required=True" if tool_choice is None else f"tool_choice={tool_choice!r}"
                )
                off = (
                    "thinking_budget=None"
                    if thinking == "thinking_budget"
                    else "thinking='disabled'"
                )
                raise InvalidOptionError(
                    f"{asked} forces a tool call, which extended thinking with a budget "
                    f"({thinking}) does not allow (the API answers 400); leave the choice "
                    f"to the model (tool_choice='auto'), or turn thinking off for this "
                    f"call ({off})",
                    provider=provider,
                    option="tool_choice",
                )
            options["tools"] = [tool_definition(tool, provider=provider) for tool in tools]
            options["tool_choice"] = wire_choice
        options.update(kwargs)
        return options

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """``output_format``: Claude's answer constrained to the schema.

        ``None`` for models without structured outputs and for schemas the API cannot
        take (recursive ones, ``dict`` fields): the call then forces a tool instead.
        """
        if not model_info(self.model).structured_outputs:
            return None
        # lazy for lightness: the schema conversion loads with the first structured call
        from llmplug_anthropic._schema import output_format

        fmt = output_format(schema.strict_json_schema()[0])
        return None if fmt is None else {"output_format": fmt}

    def _manual_thinking(self, overrides: dict[str, Any]) -> str | None:
        """Which option gives a call with ``overrides`` a thinking budget, if one does.

        ``"thinking_budget"``, ``"thinking"`` (``{"type": "enabled", ...}``) or ``None``.
        """
        if overrides.get("thinking_budget", self.thinking_budget) is not None:
            return "thinking_budget"
        try:
            thinking = _thinking(overrides.get("thinking", self.thinking))
        except ValueError:
            return None  # a bad value: build_request names it
        if isinstance(thinking, dict) and thinking.get("type") == "enabled":
            return "thinking"
        return None

    # -- the provider contract (pure) --------------------------------------------------

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the ``POST /v1/messages`` request.

        Args:
            messages: The conversation (system prompt already applied).
            options: Per-call overrides of the options (``temperature=0``...).
            stream: Ask for a stream of events.

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or one the
                model refuses.
            UnsupportedContentError: A block the API cannot take.
        """
        opts = self.with_call_options(options, _PER_CALL) if options else self
        provider = self.provider_label
        info = model_info(opts.model)
        budget = opts.thinking_budget
        opts._check_options(info, provider)
        system, wire = messages_to_wire(messages, provider=provider)
        max_tokens = opts.max_tokens
        if max_tokens is None:
            max_tokens = default_max_tokens(info, budget)
        body: dict[str, Any] = {"model": opts.model, "max_tokens": max_tokens, "messages": wire}
        if system is not None:
            body["system"] = system
        values = opts.__dict__
        for name in _SAMPLING:
            if values[name] is not None:
                body[name] = values[name]
        if opts.stop_sequences:
            body["stop_sequences"] = opts.stop_sequences
        if budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        elif opts.thinking is not None:
            body["thinking"] = opts.thinking
        output_config: dict[str, Any] = {}
        if opts.effort is not None:
            output_config["effort"] = opts.effort
        if opts.output_format is not None:
            output_config["format"] = opts.output_format
        if output_config:
            body["output_config"] = output_config
        if opts.tools:
            body["tools"] = opts.tools
        if opts.tool_choice is not None:
            if not opts.tools:  # the API answers 400: say so before sending
                raise InvalidOptionError(
                    "tool_choice set but no tools given: pass tools=[...] with it, or "
                    "leave it unset (llm.chat_with_tools(tools, ...) sets it)",
                    provider=self.provider_label,
                    option="tool_choice",
                )
            body["tool_choice"] = opts.tool_choice
        if opts.user_id is not None:
            body["metadata"] = {"user_id": opts.user_id}
        if stream:
            body["stream"] = True
        if opts.extra_body:
            body.update(opts.extra_body)
        headers = {"anthropic-version": opts.anthropic_version}
        if opts.betas:
            headers["anthropic-beta"] = ",".join(opts.betas)
        if options and "extra_headers" in options:
            # the instance's own extra_headers are sent by the runtime on every request
            headers.update(opts.extra_headers)
        return HTTPRequest("/v1/messages", body, headers=headers)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The key goes in ``x-api-key`` (not ``Authorization``)."""
        return {"x-api-key": api_key}

    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a ``message`` body into a ChatResponse with ``usage``.

        ``additional_kwargs["stop_reason"]`` holds why the model stopped
        (``end_turn``, ``max_tokens``, ``stop_sequence``, ``tool_use``...).
        """
        if isinstance(data, dict) and data.get("type") == "error":
            raise self.error_from_body(data)
        return parse_message(data)

    def start_stream(self) -> StreamState:
        """A new accumulator for one stream."""
        return StreamState()

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one SSE event into a chunk: the message so far and the new ``delta``.

        ``message_stop`` ends the stream; the chunk before it (from ``message_delta``)
        carries ``additional_kwargs["stop_reason"]`` and the ``usage``. ``ping`` and
        the events that only open or close a block yield nothing.

        Raises:
            APIError: An ``error`` event (mapped like an HTTP error: an
                ``overloaded_error`` is a 529, retried if no chunk was delivered yet).
        """
        data = event.json()
        if not isinstance(data, dict):
            raise ValueError("a stream event that is not a JSON object")
        kind = data.get("type")
        if kind == "message_stop":
            return STREAM_END
        if kind == "error" or event.event == "error":
            raise self.error_from_body(data)
        return parse_event_data(data, state)

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """ContextWindowExceededError for a prompt that does not fit the model.

        The API says so only in the message of a 400 ``invalid_request_error``
        (``prompt is too long: 210000 tokens > 200000 maximum``).
        """
        if status in (None, 400, 413) and re.search(_CONTEXT_OVERFLOW, message):
            return ContextWindowExceededError
        return None

    # -- options -----------------------------------------------------------------------

    def _check_options(self, info: ModelInfo, provider: str) -> None:
        """Refuse, before any request, option combinations the API answers 400 to."""
        values = self.__dict__
        if not info.sampling:
            refused = [name for name in _SAMPLING if values[name] is not None]
            if refused:
                raise InvalidOptionError(
                    f"{self.model} does not take {', '.join(map(repr, refused))} (Claude "
                    f"Opus 4.7 and later models answer 400 to sampling options); leave it "
                    f"unset, and steer the answer with the prompt or effort=",
                    provider=provider,
                    option=refused[0],
                    valid_options=list(_PER_CALL),
                )
        forced = (self.tool_choice or {}).get("type")
        if forced in ("any", "tool") and self._manual_thinking({}):
            raise InvalidOptionError(
                f"extended thinking with a budget cannot force a tool call (tool_choice "
                f"{forced!r}); use tool_choice='auto', or no thinking (adaptive thinking "
                f"may force one)",
                provider=provider,
                option="tool_choice",
            )
        budget = self.thinking_budget
        if budget is None:
            return
        if self.thinking is not None:
            raise InvalidOptionError(
                "set thinking_budget or thinking, not both (thinking_budget is "
                "thinking={'type': 'enabled', 'budget_tokens': N})",
                provider=provider,
                option="thinking_budget",
            )
        if not info.manual_thinking:
            raise InvalidOptionError(
                f"{self.model} has no thinking budget: it thinks adaptively; use "
                f"thinking='adaptive' (and effort= to say how hard) instead of "
                f"thinking_budget",
                provider=provider,
                option="thinking_budget",
            )
        if self.max_tokens is not None and budget >= self.max_tokens:
            raise InvalidOptionError(
                f"thinking_budget ({budget}) must be less than max_tokens "
                f"({self.max_tokens}), which counts the thinking too; raise max_tokens",
                provider=provider,
                option="thinking_budget",
            )
        if self.max_tokens is None and budget >= info.max_output:
            # the max_tokens sent when none is set is capped at the model's output
            raise InvalidOptionError(
                f"thinking_budget ({budget}) must be less than max_tokens, which counts "
                f"the thinking too; unset, max_tokens is {self.model}'s output maximum as "
                f"known here ({info.max_output}): lower thinking_budget, or set max_tokens",
                provider=provider,
                option="thinking_budget",
            )
        # the extended thinking guide: thinking takes neither of these
        refused = [name for name in ("temperature", "top_k") if values[name] is not None]
        if refused:
            raise InvalidOptionError(
                f"extended thinking (thinking_budget) does not take "
                f"{', '.join(map(repr, refused))}; leave it unset while thinking",
                provider=provider,
                option=refused[0],
            )
