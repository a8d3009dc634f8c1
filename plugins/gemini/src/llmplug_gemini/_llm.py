"""What the ``gemini`` and ``vertex`` providers share: the ``generateContent`` API.

:class:`GenerateContentLLM` holds the options and the four pure methods the HTTP runtime
calls (``build_request``, ``parse_response``, ``start_stream``, ``parse_event``); the
two providers (``_gemini``, ``_vertex``) differ only in where requests go and how they
authenticate. The wire format itself is in ``_wire`` (requests), ``_parse`` (responses
and stream chunks), ``_tools``, ``_schema`` and ``_errors``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata, ModelInfo as ListedModel
from llmplug.errors import APIError, InvalidOptionError, NotFoundError
from llmplug.http import STREAM_END, ChunkResult, HTTPChatLLM, HTTPRequest, ServerEvent
from llmplug.tools import FunctionCallingLLM, resolve_tool_choice, tool_chat_messages
from llmplug_gemini._errors import error_class, error_code, honour_retry_delay, with_hint
from llmplug_gemini._models import ModelInfo, known_models, model_info
from llmplug_gemini._options import (
    CandidateCount,
    JSONObject,
    Penalty,
    SafetySettings,
    StopSequences,
    ThinkingLevel,
    ToolChoice,
    Tools,
    Unit,
)
from llmplug_gemini._parse import StreamState, parse_chunk, parse_response
from llmplug_gemini._schema import response_schema
from llmplug_gemini._tools import function_declaration, tool_choice_to_config
from llmplug_gemini._wire import messages_to_wire

if TYPE_CHECKING:
    from llmplug.structured import OutputSchema
    from llmplug.tools import BaseTool

__all__ = ["PER_CALL", "GenerateContentLLM"]

#: The options a call may override: ``llm.chat(messages, temperature=0)``.
PER_CALL = (
    "model",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "stop_sequences",
    "candidate_count",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "safety_settings",
    "thinking_budget",
    "thinking_level",
    "include_thoughts",
    "response_mime_type",
    "response_json_schema",
    "response_schema",
    "cached_content",
    "tools",
    "tool_choice",
    "extra_body",
    "extra_headers",
)

# option -> generationConfig field, sent when set
_GENERATION = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxOutputTokens",
    "stop_sequences": "stopSequences",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "logprobs": "responseLogprobs",
    "top_logprobs": "logprobs",
    "response_mime_type": "responseMimeType",
    "response_json_schema": "responseJsonSchema",
    "response_schema": "responseSchema",
}
_JSON = "application/json"


class GenerateContentLLM(HTTPChatLLM, FunctionCallingLLM):
    """Chat with Gemini models through the ``generateContent`` API (the two providers' base).

    A :class:`~llmplug.tools.FunctionCallingLLM`: ``predict_and_call`` makes one native
    function-calling round, and ``chat_with_tools`` (and its async and streaming twins)
    offers tools as function declarations. Options left unset (``None``) are not sent,
    so the API's defaults apply.

    Attributes:
        model: The model name (``gemini-2.5-flash``, ``gemini-3-pro-preview``...).
        api_version: The API version in the request path.
        temperature: Sampling temperature, 0 to 2.
        top_p: Nucleus sampling, 0 to 1.
        top_k: Sample from the k likeliest tokens only.
        max_tokens: Most tokens to generate, thinking included (``maxOutputTokens``).
        stop_sequences: Up to 5 strings that end the answer; a single string is one.
        candidate_count: Answers per call; only 1 is supported.
        seed: Best-effort deterministic sampling.
        presence_penalty: Penalise tokens already in the answer (-2 to 2).
        frequency_penalty: Penalise tokens by how often they appear (-2 to 2).
        logprobs: Return each output token's log probability (in ``response.logprobs``;
            ``responseLogprobs``).
        top_logprobs: Also return this many likeliest alternatives per token, 0 to 20
            (``logprobs``; needs ``logprobs=True``).
        safety_settings: Blocking thresholds per harm category: a list of
            ``{"category", "threshold"}`` objects, or a mapping of category to threshold
            (``{"harassment": "block_none"}``; the ``HARM_CATEGORY_`` prefix is optional).
        thinking_budget: Tokens the model may think (``thinkingBudget``): 0 turns
            thinking off where the model allows it, -1 lets the model decide.
        thinking_level: How much Gemini 3 models think (``thinkingLevel``):
            ``minimal``, ``low``, ``medium`` or ``high``.
        include_thoughts: Return thought summaries (as ``ThinkingBlock`` s).
        response_mime_type: The answer's media type (``application/json``...).
        response_json_schema: The answer's JSON Schema (``responseJsonSchema``); the
            media type defaults to ``application/json`` with it. Structured calls set it.
        response_schema: The answer's schema in the older OpenAPI subset
            (``responseSchema``), for models before Gemini 2.5.
        cached_content: An explicit cache to use, by name (``cachedContents/abc``; a
            bare id is completed).
        tools: Tools in the API's format (``{"googleSearch": {}}``,
            ``{"functionDeclarations": [...]}``), sent as given; a
            :class:`~llmplug.FunctionTool` (or a plain function) in the list is declared.
            ``chat_with_tools`` and ``predict_and_call`` take their tools as an argument.
        tool_choice: ``"auto"``, ``"any"`` (or ``"required"``), ``"none"``,
            ``"validated"``, a function's name (that function must be called), or a
            ``toolConfig`` / ``functionCallingConfig`` object.
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
        audio=True,
        video=True,
        documents=True,
        model_listing=True,
    )
    stream_end: ClassVar[str | None] = "the candidate's finishReason"
    #: Requests go to Vertex AI (``gs://`` URIs, labels, safety methods).
    vertex: ClassVar[bool] = False

    model: str = Field(default="gemini-2.5-flash", description="The model name.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: Unit = None
    top_k: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, gt=0)
    stop_sequences: StopSequences = None
    candidate_count: CandidateCount = 1
    seed: int | None = None
    presence_penalty: Penalty = None
    frequency_penalty: Penalty = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    safety_settings: SafetySettings = None
    thinking_budget: int | None = Field(default=None, ge=-1)
    thinking_level: ThinkingLevel = None
    include_thoughts: bool | None = None
    response_mime_type: str | None = None
    response_json_schema: JSONObject = None
    response_schema: JSONObject = None
    cached_content: str | None = None
    tools: Tools = None
    tool_choice: ToolChoice = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    context_window: int | None = Field(default=None, gt=0)

    @classmethod
    def class_name(cls) -> str:
        """The class's name (``"GeminiLLM"``, ``"VertexLLM"``)."""
        return cls.__name__

    @property
    def metadata(self) -> LLMMetadata:
        """Context window and output size of the model, from a built-in table.

        A model the table does not know gets the current families' 1,048,576 tokens of
        context, or ``context_window`` when set; it never raises.
        """
        info = model_info(self.model)
        return LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or info.max_output,
            is_chat_model=True,
            is_function_calling_model=info.function_calling,
            model_name=self.model,
        )

    @classmethod
    def known_models(cls) -> list[ListedModel]:
        """The current Gemini models of the built-in table (no network call)."""
        return known_models()

    # -- where requests go (the providers differ here) ---------------------------------

    @abstractmethod
    def model_path(self, model: str) -> str:
        """The path of ``model``'s resource, ``/{version}/...models/{model}``."""

    def cached_content_name(self, name: str) -> str:
        """The full resource name of an explicit cache given by name or bare id."""
        return name

    def extra_request_fields(self, body: dict[str, Any]) -> None:
        """Add provider-specific top-level fields to ``body`` (Vertex's ``labels``)."""

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
        """The ``chat`` arguments offering ``tools`` as function declarations.

        ``tool_choice`` is ``"auto"``, ``"required"`` (or ``"any"``), ``"none"``, a
        function's name or the API's own ``toolConfig``/``functionCallingConfig``;
        ``tool_required=True`` with no ``tool_choice`` is mode ``ANY``. The API has no
        switch for parallel calls: without ``allow_parallel_tool_calls`` the first call
        of a reply is kept. With no tools, neither is sent.
        """
        options: dict[str, Any] = {"messages": tool_chat_messages(user_msg, chat_history)}
        if tools:
            provider = self.provider_label
            choice = resolve_tool_choice(tools, tool_choice, tool_required, provider)
            declarations = [function_declaration(tool, provider=provider) for tool in tools]
            options["tools"] = [{"functionDeclarations": declarations}]
            options["tool_choice"] = tool_choice_to_config(choice)
        options.update(kwargs)
        return options

    # -- structured output -------------------------------------------------------------

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """JSON constrained to the schema: ``responseJsonSchema``, or ``responseSchema``.

        Gemini 2.5 and later take the JSON Schema as it is; older models take the
        OpenAPI subset, into which recursive schemas cannot be put: those get ``None``,
        and the call forces a function call instead.
        """
        if model_info(self.model).json_schema:
            return {"response_mime_type": _JSON, "response_json_schema": schema.json_schema}
        converted = response_schema(schema.json_schema)
        if converted is None:
            return None
        return {"response_mime_type": _JSON, "response_schema": converted}

    # -- the provider contract (pure) --------------------------------------------------

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the ``:generateContent`` (or ``:streamGenerateContent?alt=sse``) request.

        Args:
            messages: The conversation (system prompt already applied).
            options: Per-call overrides of the options (``temperature=0``...).
            stream: Ask for a stream of chunks.

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or one the
                model refuses.
            UnsupportedContentError: A block the API cannot take.
        """
        opts = self.with_call_options(options, PER_CALL) if options else self
        provider = self.provider_label
        info = model_info(opts.model)
        opts._check_options(info, provider)
        system, contents = messages_to_wire(messages, provider=provider, vertex=self.vertex)
        if system is not None and not info.system_instruction:
            # Gemma takes no systemInstruction: the instructions open the first turn
            if contents and contents[0]["role"] == "user":
                contents[0]["parts"][:0] = system["parts"]
            else:
                contents.insert(0, {"role": "user", "parts": system["parts"]})
            system = None
        body: dict[str, Any] = {"contents": contents}
        if system is not None:
            body["systemInstruction"] = system
        if opts.tools:
            body["tools"] = opts.tools
        if opts.tool_choice is not None:
            body["toolConfig"] = opts.tool_choice
        if opts.safety_settings:
            body["safetySettings"] = opts.safety_settings
        config = opts._generation_config()
        if config:
            body["generationConfig"] = config
        if opts.cached_content:
            body["cachedContent"] = self.cached_content_name(opts.cached_content)
        opts.extra_request_fields(body)
        if opts.extra_body:
            body.update(opts.extra_body)
        headers: dict[str, str] = {}
        if options and "extra_headers" in options:
            # the instance's own extra_headers are sent by the runtime on every request
            headers.update(opts.extra_headers)
        path = self.model_path(opts.model)
        if stream:
            return HTTPRequest(
                f"{path}:streamGenerateContent", body, headers=headers, params={"alt": "sse"}
            )
        return HTTPRequest(f"{path}:generateContent", body, headers=headers)

    def _generation_config(self) -> dict[str, Any]:
        values = self.__dict__
        config: dict[str, Any] = {
            wire: values[name] for name, wire in _GENERATION.items() if values[name] is not None
        }
        schema = self.response_json_schema is not None or self.response_schema is not None
        if schema and self.response_mime_type is None:
            config["responseMimeType"] = _JSON
        thinking: dict[str, Any] = {}
        if self.thinking_budget is not None:
            thinking["thinkingBudget"] = self.thinking_budget
        if self.thinking_level is not None:
            thinking["thinkingLevel"] = self.thinking_level.upper()
        if self.include_thoughts is not None:
            thinking["includeThoughts"] = self.include_thoughts
        if thinking:
            config["thinkingConfig"] = thinking
        return config

    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a ``GenerateContentResponse`` body into a ChatResponse with ``usage``.

        ``additional_kwargs["finish_reason"]`` holds why the model stopped (``STOP``,
        ``MAX_TOKENS``, ``MALFORMED_FUNCTION_CALL``...); grounding and citation
        metadata, safety ratings, the model version and the response id are there too.

        Raises:
            ContentBlockedError: The prompt was blocked (``promptFeedback.blockReason``),
                or the answer cut for safety, recitation or policy (``reason`` names it).
        """
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise self.error_from_body(data, error_code(data))
        return parse_response(data, provider=self.provider_label)

    def start_stream(self) -> StreamState:
        """A new accumulator for one stream."""
        return StreamState()

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one SSE chunk into a ChatResponse: the answer so far and the new ``delta``.

        The chunk holding the candidate's ``finishReason`` is the last: it carries
        ``additional_kwargs`` and the ``usage``, and ends the stream.

        Raises:
            APIError: An error object sent in the stream (mapped like an HTTP error).
            ContentBlockedError: The prompt was blocked, or the answer cut by a filter.
        """
        data = event.json()
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise self.error_from_body(data, error_code(data))
        chunk = parse_chunk(data, state, provider=self.provider_label)
        if chunk is not None and chunk.additional_kwargs.get("finish_reason") is not None:
            return [chunk, STREAM_END]
        return chunk

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """A finer class: an invalid key, an input over the model's limit (see ``_errors``)."""
        return error_class(status, body, message)

    def error_from_body(
        self, body: Any, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """The error for Google's error body, with the wait ``RetryInfo`` asks for.

        Adds to the core's mapping: ``retry_after`` from the body's ``RetryInfo``
        (``RESOURCE_EXHAUSTED``), and for a 404 how to list the models there are.
        """
        error = honour_retry_delay(super().error_from_body(body, status, headers), body)
        if isinstance(error, NotFoundError):
            with_hint(
                error,
                f"; {self.model!r} may not exist here or not support generateContent: "
                f"list the models with llm.list_models() (llmplug models --live)",
            )
        return error

    # -- options -----------------------------------------------------------------------

    def _check_options(self, info: ModelInfo, provider: str) -> None:
        """Refuse, before any request, option combinations the API answers 400 to."""

        def refuse(option: str, why: str) -> InvalidOptionError:
            return InvalidOptionError(
                why, provider=provider, option=option, valid_options=list(PER_CALL)
            )

        if self.top_logprobs is not None and not self.logprobs:
            raise refuse("top_logprobs", "top_logprobs needs logprobs=True")
        if self.tool_choice is not None and not self.tools:
            raise refuse(
                "tool_choice",
                "tool_choice set but no tools given: pass tools=[...] with it, or leave it "
                "unset (llm.chat_with_tools(tools, ...) sets it)",
            )
        if self.response_json_schema is not None and self.response_schema is not None:
            raise refuse(
                "response_schema",
                "set response_json_schema or response_schema, not both (the API refuses "
                "both): response_json_schema takes JSON Schema, response_schema the older "
                "OpenAPI subset",
            )
        if self.thinking_budget is not None and self.thinking_level is not None:
            raise refuse(
                "thinking_level",
                "set thinking_budget or thinking_level, not both (the API refuses both)",
            )
        thinking = [
            name
            for name in ("thinking_budget", "thinking_level", "include_thoughts")
            if self.__dict__[name] is not None
        ]
        if thinking and info.thinking == "none":
            raise refuse(
                thinking[0],
                f"{self.model} does not think: leave {', '.join(thinking)} unset",
            )
        if self.thinking_level is not None and info.thinking == "budget":
            raise refuse(
                "thinking_level",
                f"{self.model} takes a thinking budget, not a level (thinking_level is for "
                f"Gemini 3 models): set thinking_budget instead",
            )
        if self.thinking_budget == 0 and not info.thinking_off:
            raise refuse(
                "thinking_budget",
                f"{self.model} cannot turn its thinking off (thinking_budget=0); give a "
                f"budget, or -1 to let the model decide"
                + (", or thinking_level='low'" if info.thinking == "level" else ""),
            )
        if not self.vertex and any("method" in s for s in self.safety_settings or ()):
            raise refuse(
                "safety_settings",
                "a safety setting's method is taken by Vertex AI only: leave it out, or "
                "use the vertex provider",
            )
