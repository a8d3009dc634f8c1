"""The ``openai`` provider: OpenAI's Chat Completions API over llmplug's HTTP runtime.

:class:`OpenAILLM` holds the options and the four pure methods the runtime calls
(``build_request``, ``parse_response``, ``start_stream``, ``parse_event``); the
wire format itself is in ``_wire`` (requests) and ``_parse`` (responses). The
OpenAI-compatible presets in ``_presets`` are subclasses that change a few class
variables: where the service differs from OpenAI, it says so there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata, MessageRole
from llmplug.errors import ContentPolicyError, ContextWindowExceededError, InvalidOptionError
from llmplug.http import (
    STREAM_END,
    ChunkResult,
    HTTPRequest,
    ServerEvent,
    json_from_text,
    json_loads,
)
from llmplug.tools import FunctionCallingLLM, resolve_tool_choice, tool_chat_messages
from llmplug_openai._batches import OpenAIBatchAPI
from llmplug_openai._parse import StreamState, parse_chunk, parse_completion
from llmplug_openai._wire import messages_to_wire

if TYPE_CHECKING:
    from llmplug import ModelInfo
    from llmplug.structured import OutputSchema
    from llmplug.tools import BaseTool
    from llmplug_openai._models import ModelInfo as ModelTraits

__all__ = ["OPENAI_BASE_URL", "OpenAILLM"]

#: OpenAI's own API.
OPENAI_BASE_URL = "https://api.openai.com/v1"


def _only_one(value: int) -> int:
    if value != 1:
        raise ValueError(
            "only n=1 is supported: a response holds one message; make n calls for n answers"
        )
    return value


Temperature = Annotated[float | None, Field(ge=0.0, le=2.0)]
TopP = Annotated[float | None, Field(ge=0.0, le=1.0)]
MaxTokens = Annotated[int | None, Field(gt=0)]
Stop = Annotated[str | list[str] | None, BeforeValidator(json_from_text)]
N = Annotated[int, AfterValidator(_only_one)]
TopLogprobs = Annotated[int | None, Field(ge=0, le=20)]
ToolChoice = Annotated[str | dict[str, Any] | None, BeforeValidator(json_from_text)]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]

# the options a call may override: llm.chat(messages, temperature=0)
_PER_CALL = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "user",
    "extra_body",
    "extra_headers",
    "organization",
    "project",
    "system_role",
    "max_tokens_param",
)

# sent as they are when set (None: left out, the service's default applies)
_PLAIN = (
    "temperature",
    "top_p",
    "stop",
    "logprobs",
    "top_logprobs",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "user",
)

# patterns as text: compiled on first use (and cached by re), so importing stays cheap
_TOOL_NAME = r"[a-zA-Z0-9_-]{1,64}"


def model_info(model: str) -> ModelTraits:
    """What is known about ``model`` (:func:`llmplug_openai._models.model_info`)."""
    lookup: Callable[[str], ModelTraits] | None = _lookup.get("model_info")
    if lookup is None:
        # lazy for lightness: the model table is read on the first call, not at load()
        from llmplug_openai._models import model_info as found

        lookup = _lookup["model_info"] = found
    return lookup(model)


# what the first call imports, kept: an import statement per call costs a call
_lookup: dict[str, Any] = {}


def _no_tool_options(tool_choice: Any, parallel_tool_calls: Any, provider: str) -> None:
    # the API answers 400 to either without tools; say so before sending
    given = [
        name
        for name, value in (
            ("tool_choice", tool_choice),
            ("parallel_tool_calls", parallel_tool_calls),
        )
        if value is not None
    ]
    if given:
        raise InvalidOptionError(
            f"{' and '.join(given)} set but no tools given: pass tools=[...] with it, or "
            f"leave it unset (llm.chat_with_tools(tools, ...) sets both)",
            provider=provider,
            option=given[0],
        )


_CONTEXT_OVERFLOW = (
    r"(?i)context[ _-]?(length|window|size)|maximum context|exceeds? the (available )?context"
)
# the error codes of a prompt refused by a content filter: Azure's, then OpenAI's
_CONTENT_POLICY_CODES = frozenset({"content_filter", "content_policy_violation"})


class OpenAILLM(OpenAIBatchAPI, FunctionCallingLLM):
    """Chat with OpenAI's models through the Chat Completions API.

    Also the base of the OpenAI-compatible presets (``vllm``, ``groq``, ...), and usable
    with any other compatible server: ``llmplug.load("openai:MODEL?base_url=URL")``.
    Options left unset (``None``) are not sent, so the service's defaults apply. The
    Batch API (``create_batch`` and the other provider batch methods) sends the same
    requests at half the price, answered within 24 hours.

    Attributes:
        model: The model name (``gpt-4o-mini``, ``gpt-4.1``, ``o3``...).
        base_url: The API's base URL; requests go to ``{base_url}/chat/completions``.
        temperature: Sampling temperature, 0 to 2.
        top_p: Nucleus sampling, 0 to 1.
        max_tokens: Most tokens to generate (reasoning included). Sent as
            ``max_completion_tokens`` to OpenAI and Azure, which require it for reasoning
            models, and as ``max_tokens`` elsewhere: see ``max_tokens_param``.
        stop: A stop string or a list of them (OpenAI takes up to 4).
        seed: Best-effort deterministic sampling.
        n: Choices per call; only 1 is supported.
        logprobs: Return each output token's log probability (in ``response.logprobs``).
        top_logprobs: Also return this many likeliest alternatives per token (0-20).
        response_format: ``{"type": "json_object"}`` or ``{"type": "json_schema",
            "json_schema": {...}}``, sent as given.
        tools: Tool definitions in the API's format, sent as given.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a named tool, as given.
        parallel_tool_calls: Whether the model may call several tools at once.
        reasoning_effort: How hard reasoning models think.
        user: A stable id of your end user (abuse monitoring, caching).
        extra_body: Merged into the request body last (other fields of the API, or of a
            compatible server such as vLLM's ``top_k``).
        organization: Sent as the ``OpenAI-Organization`` header.
        project: Sent as the ``OpenAI-Project`` header.
        system_role: The role system and developer messages are sent as. ``"auto"``:
            ``developer`` for OpenAI's reasoning models (o-series, gpt-5), else
            ``system``, which is also what compatible servers get.
        max_tokens_param: The body field ``max_tokens`` goes in. ``"auto"``:
            ``max_completion_tokens`` for OpenAI's and Azure's hosts, ``max_tokens``
            for any other server (what every compatible server understands).
        context_window: Reported in ``metadata`` instead of the known model's (set it
            for models the built-in table does not know).
        function_calling: Reported as ``metadata.is_function_calling_model`` instead of
            the built-in table's answer (set it for a compatible server's model that
            calls tools, so ``predict_and_call`` uses native tool calls).
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        native_async=True,
        tools=True,
        json_schema=True,
        vision=True,
        audio=True,
        documents=True,
        model_listing=True,
        batch=True,
    )
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    per_call_options: ClassVar[tuple[str, ...]] = (*_PER_CALL, "timeout", "max_retries")

    # how the service differs from OpenAI's (the presets change these)
    #: The body field for ``max_tokens`` with ``max_tokens_param="auto"``; ``None``:
    #: decided by the host of ``base_url``.
    token_limit_param: ClassVar[str | None] = None
    #: Whether to ask for usage in streams (``stream_options.include_usage``).
    stream_usage: ClassVar[bool] = True
    #: The body field ``seed`` goes in.
    seed_param: ClassVar[str] = "seed"
    #: Options the service refuses: setting one raises InvalidOptionError up front.
    rejects: ClassVar[frozenset[str]] = frozenset()
    #: Whether the service has a ``developer`` role (used by ``system_role="auto"``).
    developer_role: ClassVar[bool] = True
    #: Whether CachePoints may become ``prompt_cache_breakpoint`` markers.
    cache_breakpoints: ClassVar[bool] = True

    base_url: str = Field(default=OPENAI_BASE_URL, description="The API's base URL.")
    model: str = Field(default="gpt-4o-mini", description="The model name.")
    temperature: Temperature = None
    top_p: TopP = None
    max_tokens: MaxTokens = None
    stop: Stop = None
    seed: int | None = None
    n: N = 1
    logprobs: bool | None = None
    top_logprobs: TopLogprobs = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: ToolChoice = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: ReasoningEffort | None = None
    user: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    organization: str | None = None
    project: str | None = None
    system_role: Literal["auto", "system", "developer"] = "auto"
    max_tokens_param: Literal["auto", "max_completion_tokens", "max_tokens"] = "auto"
    context_window: int | None = Field(default=None, gt=0)
    function_calling: bool | None = None

    @classmethod
    def class_name(cls) -> str:
        """The class's name (``"OpenAILLM"``)."""
        return cls.__name__

    @property
    def metadata(self) -> LLMMetadata:
        """Context window, output size and tool use of the model, from a built-in table.

        A model the table does not know gets LlamaIndex's defaults (3,900 tokens of
        context), or ``context_window`` when set; it never raises.
        """
        info = model_info(self.model)
        return LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or info.max_output,
            is_chat_model=True,
            is_function_calling_model=(
                info.function_calling if self.function_calling is None else self.function_calling
            ),
            model_name=self.model,
            system_role=MessageRole(self.instructions_role(self.model)),
        )

    def key_required(self) -> bool:
        """A key is needed for the service's own API, not for another ``base_url``.

        ``openai:MODEL?base_url=...`` reaches any compatible server, many of which
        take no key; a service whose URL is derived (Azure) always needs one.
        """
        default = type(self).model_fields["base_url"].default
        own_service = not default or self.base_url.rstrip("/") == str(default).rstrip("/")
        return own_service and super().key_required()

    # -- listing models ----------------------------------------------------------------

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """OpenAI's chat models from the built-in table (families: ``gpt-4o``, ``o3``...)."""
        # lazy for lightness: the model table's listing loads when models are listed
        from llmplug_openai._listing import known_openai_models

        return known_openai_models()

    def models_request(self) -> HTTPRequest:
        """The request listing the service's models: ``GET {base_url}/models``."""
        return HTTPRequest("/models", method="GET", params=self.query_params())

    def list_models(self) -> list[ModelInfo]:
        """The models the service offers now (``GET /models``), sorted by id.

        Raises:
            MissingKeyError: The service needs a key and none is set.
            APIError: The request failed, or the answer is not a model list.
        """
        data = self.request_json(self.models_request())
        # lazy for lightness: the model table's listing loads when models are listed
        from llmplug_openai._listing import parse_model_list

        return parse_model_list(data, provider=self.provider_label)

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        data = await self.arequest_json(self.models_request())
        # lazy for lightness: the model table's listing loads when models are listed
        from llmplug_openai._listing import parse_model_list

        return parse_model_list(data, provider=self.provider_label)

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
        """The ``chat`` arguments offering ``tools``, the tool choice and parallel calls.

        ``tool_choice`` is ``"auto"``, ``"required"``, ``"none"``, a tool's name (sent as
        ``{"type": "function", "function": {"name": ...}}``) or the API's own dict.
        With no tools, none of the three is sent (the API refuses a choice without
        tools).
        """
        options: dict[str, Any] = {"messages": tool_chat_messages(user_msg, chat_history)}
        if tools:
            choice = resolve_tool_choice(tools, tool_choice, tool_required, self.provider_label)
            options["tools"] = [self._tool_spec(tool) for tool in tools]
            if choice.mode == "tool":
                options["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
            else:
                options["tool_choice"] = choice.raw if choice.mode == "raw" else choice.mode
            options["parallel_tool_calls"] = allow_parallel_tool_calls
        options.update(kwargs)
        return options

    def _tool_spec(self, tool: BaseTool) -> dict[str, Any]:
        """A tool's ``{"type": "function", ...}`` entry; its name checked first.

        The API takes names of up to 64 letters, digits, ``_`` and ``-`` (and sets no
        limit on descriptions).
        """
        name = tool.metadata.get_name()
        if not re.fullmatch(_TOOL_NAME, name):
            raise InvalidOptionError(
                f"tool name {name!r} is not one {self.provider_label} takes: up to 64 "
                f"letters, digits, '_' or '-'; rename it (FunctionTool.from_defaults(fn, "
                f"name=...))",
                provider=self.provider_label,
                option="tools",
            )
        return tool.metadata.to_openai_tool(skip_length_check=True)

    # -- structured output -------------------------------------------------------------

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """``response_format`` of type ``json_schema``: output constrained to the schema.

        Strict (``"strict": true``, the schema in strict form) unless the schema has a
        ``dict`` field, which strict mode cannot express; ``None`` for the models the
        built-in table knows to lack structured outputs (gpt-3.5, gpt-4-turbo...), which
        then use a forced tool call.
        """
        if not model_info(self.model).json_schema:
            return None
        strict_schema, strict = schema.strict_json_schema()
        json_schema: dict[str, Any] = {
            "name": schema.name,
            "description": schema.description,
            "schema": strict_schema if strict else schema.json_schema,
            "strict": strict,
        }
        return {"response_format": {"type": "json_schema", "json_schema": json_schema}}

    # -- decisions that depend on the model and the service ----------------------------

    def instructions_role(self, model: str) -> str:
        """The role system and developer messages are sent as, for ``model``."""
        if self.system_role != "auto":
            return self.system_role
        if model_info(model).reasoning and self._developer_role_ok():
            return "developer"
        return "system"

    def _developer_role_ok(self) -> bool:
        return self.developer_role

    def token_limit_field(self) -> str:
        """The body field that carries ``max_tokens``."""
        if self.max_tokens_param != "auto":
            return self.max_tokens_param
        if self.token_limit_param is not None:
            return self.token_limit_param
        host = urlsplit(self.base_url).hostname or ""
        if host == "api.openai.com" or host.endswith(".openai.azure.com"):
            # reasoning models refuse max_tokens; every OpenAI model takes this
            return "max_completion_tokens"
        return "max_tokens"

    # -- the provider contract (pure) --------------------------------------------------

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the ``POST /chat/completions`` request.

        Args:
            messages: The conversation (system prompt already applied).
            options: Per-call overrides of the options (``temperature=0``...).
            stream: Ask for a stream of chunks (with usage at the end).

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or one the
                service refuses.
            UnsupportedContentError: A block the API cannot take.
        """
        opts = self.with_call_options(options, _PER_CALL) if options else self
        provider = self.provider_label
        if opts.rejects:
            opts._check_rejected(provider)
        if not opts.tools:
            _no_tool_options(opts.tool_choice, opts.parallel_tool_calls, provider)
        info = model_info(opts.model)
        body: dict[str, Any] = {}
        if opts.model:
            body["model"] = opts.model
        body["messages"] = messages_to_wire(
            messages,
            provider=provider,
            instructions_role=opts.instructions_role(opts.model),
            cache_breakpoints=opts.cache_breakpoints and info.explicit_cache,
            refused=_refused(type(self).capabilities),
        )
        values = opts.__dict__
        for name in _PLAIN:
            value = values[name]
            if value is not None:
                body[name] = value
        if opts.max_tokens is not None:
            body[opts.token_limit_field()] = opts.max_tokens
        if opts.seed is not None:
            body[opts.seed_param] = opts.seed
        if opts.tools:
            body["tools"] = opts.tools
        if stream:
            body["stream"] = True
            if opts.stream_usage:
                body["stream_options"] = {"include_usage": True}
        if opts.extra_body:
            body.update(opts.extra_body)
        headers: dict[str, str] = {}
        if opts.organization:
            headers["OpenAI-Organization"] = opts.organization
        if opts.project:
            headers["OpenAI-Project"] = opts.project
        if options and "extra_headers" in options:
            # the instance's own extra_headers are sent by the runtime on every request
            headers.update(opts.extra_headers)
        return HTTPRequest(
            self.request_path(opts.model), body, headers=headers, params=self.query_params()
        )

    def request_path(self, model: str) -> str:
        """The path of the chat completions endpoint (for ``model``)."""
        return "/chat/completions"

    def query_params(self) -> dict[str, str]:
        """Query parameters sent with every request (Azure's ``api-version``)."""
        return {}

    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a ``chat.completion`` body into a ChatResponse with ``usage``.

        ``additional_kwargs["finish_reason"]`` holds why the model stopped.
        """
        if isinstance(data, dict) and "error" in data and "choices" not in data:
            # some compatible servers answer an error with status 200
            raise self.error_from_body(data)
        return parse_completion(data)

    def start_stream(self) -> StreamState:
        """A new accumulator for one stream."""
        return StreamState()

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one SSE event into a chunk: the message so far and the new ``delta``.

        The last chunks carry ``additional_kwargs["finish_reason"]`` and ``usage``.

        Raises:
            APIError: The event is an error the service sent mid-stream (mapped like an
                HTTP error).
        """
        data = json_loads(event.data) if event.data != "[DONE]" else STREAM_END
        if type(data) is dict and "choices" in data and event.event is None:
            return parse_chunk(data, state)  # nearly every event
        if data is STREAM_END:
            return STREAM_END
        if event.event == "error" or (isinstance(data, dict) and "error" in data):
            raise self.error_from_body(data)
        return parse_chunk(data, state)

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """ContextWindowExceededError, or ContentPolicyError, when the body says so.

        A prompt that does not fit the model: OpenAI says so with the code
        ``context_length_exceeded``; llama.cpp with the type ``exceed_context_size_error``;
        vLLM and others only in the message. A prompt a content filter refused has the
        code ``content_filter`` (Azure) or ``content_policy_violation`` (OpenAI).
        """
        error = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(error, dict):
            if error.get("code") == "context_length_exceeded":
                return ContextWindowExceededError
            if error.get("code") in _CONTENT_POLICY_CODES:
                return ContentPolicyError
            if error.get("type") == "exceed_context_size_error":
                return ContextWindowExceededError
            inner = error.get("message")
            message = f"{inner} {message}" if isinstance(inner, str) else message
        elif isinstance(error, str):
            message = f"{error} {message}"
        if status in (None, 400, 413) and re.search(_CONTEXT_OVERFLOW, message):
            return ContextWindowExceededError
        return None

    # -- per-call options --------------------------------------------------------------

    def _check_rejected(self, provider: str) -> None:
        values = self.__dict__
        refused = sorted(name for name in self.rejects if values.get(name) not in (None, False))
        if refused:
            raise InvalidOptionError(
                f"{provider} does not support option {', '.join(map(repr, refused))} (the "
                f"service answers 400 to it); leave it unset",
                provider=provider,
                option=refused[0],
                valid_options=sorted(set(_PER_CALL) - self.rejects),
            )


@lru_cache(maxsize=32)
def _refused(capabilities: Capabilities) -> frozenset[str]:
    """The input block types a service's capabilities exclude (refused before sending)."""
    flags = {"image": "vision", "audio": "audio", "document": "documents"}
    return frozenset(block for block, flag in flags.items() if not getattr(capabilities, flag))
