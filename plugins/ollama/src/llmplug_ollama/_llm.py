"""The ``ollama`` provider: Ollama's native API over llmplug's HTTP runtime.

:class:`OllamaLLM` holds the options and the pure methods the runtime calls: chats go to
``/api/chat`` (``build_request``), the completion endpoints to ``/api/generate``
(``build_completion_request``), and ``parse_response``/``parse_event`` read both
(``_parse``). Requests about models (show, list, pull) are in ``_server``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator

from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata, ModelInfo
from llmplug.errors import (
    APIError,
    ContextWindowExceededError,
    InvalidOptionError,
    NotFoundError,
)
from llmplug.http import (
    STREAM_END,
    ChunkResult,
    HTTPCompletionLLM,
    HTTPRequest,
    ServerEvent,
    json_from_text,
    json_loads,
)
from llmplug.tools import FunctionCallingLLM, resolve_tool_choice, tool_chat_messages
from llmplug.types import DEFAULT_NUM_OUTPUTS
from llmplug_ollama import _server
from llmplug_ollama._host import is_loopback, ollama_host, parse_host, redact
from llmplug_ollama._models import (
    DEFAULT_NUM_CTX,
    KNOWN_MODELS,
    ModelDetails,
    PullProgress,
    model_info_from_tag,
    not_found_model,
    tag_entries,
)
from llmplug_ollama._options import (
    CHAT_ONLY,
    COMPLETION_ONLY,
    MODEL_OPTIONS,
    PER_CALL,
    Format,
    Images,
    KeepAlive,
    Stop,
    Think,
    Unit,
)
from llmplug_ollama._parse import StreamState, parse_body, parse_event_data
from llmplug_ollama._wire import image_to_wire, messages_to_wire, tool_definition

if TYPE_CHECKING:
    from llmplug.structured import OutputSchema
    from llmplug.tools import BaseTool

__all__ = ["ModelNotPulledError", "OllamaLLM"]

_CONTEXT_OVERFLOW = re.compile(
    r"exceeds? the (maximum )?context (length|window)|context (length|window) exceeded",
    re.IGNORECASE,
)


class ModelNotPulledError(NotFoundError):
    """The model is not on the Ollama server: pull it (``ollama pull NAME``).

    Attributes:
        model: The model's name.
    """

    model: str = ""


class OllamaLLM(HTTPCompletionLLM, FunctionCallingLLM):
    """Chat with (and complete through) a model served by Ollama.

    ``chat`` and its twins use ``/api/chat``; ``complete`` and its twins use
    ``/api/generate``, which adds what only a completion has: a ``suffix`` (fill in
    the middle), ``raw`` prompts (no template applied), a ``system`` prompt and a
    ``template`` of its own. ``predict_and_call`` and ``chat_with_tools`` offer tools;
    ``structured_predict`` constrains the output to the schema (``format``).

    Options left unset (``None``) are not sent: the model's Modelfile, then Ollama's
    defaults apply. The model parameters (``temperature``... ``num_thread``) go in the
    request's ``options`` object.

    Attributes:
        model: The model's name (``llama3.2``, ``llama3.2:1b``, ``qwen3:8b``...).
        base_url: The server: ``OLLAMA_HOST`` (``host``, ``host:port`` or a URL), else
            ``http://localhost:11434``. ``https://ollama.com`` for Ollama's cloud, with
            ``OLLAMA_API_KEY``.
        keep_alive: How long the model stays loaded after the call: seconds (negative:
            for good, 0: unload now) or a duration (``"5m"``, ``"1h"``).
        format: ``"json"`` (JSON mode) or a JSON schema the answer must follow.
        think: Thinking models: ``True``/``False``, or a level (``"low"``,
            ``"medium"``, ``"high"``). The reasoning arrives as a ``ThinkingBlock``.
        logprobs: Return each output token's log probability.
        top_logprobs: With ``logprobs``: that many likeliest tokens at each position
            (0 to 20).
        tools: Tool definitions (``{"type": "function", "function": {...}}``) or
            FunctionTools, for every chat; ``chat_with_tools`` takes them per call.
        suffix: Completion only: the text after the answer (fill in the middle).
        system: Completion only: the system prompt, replacing the Modelfile's
            (``system_prompt`` is used when unset).
        template: Completion only: the prompt template, replacing the Modelfile's.
        raw: Completion only: send the prompt as it is, no template applied.
        context: Completion only: the ``context`` of an earlier answer (deprecated by
            Ollama; kept for old code).
        images: Completion only: images for the prompt (bytes, paths, base64 text or
            ImageBlocks); a chat's images are ImageBlocks in its messages.
        extra_options: More fields for the ``options`` object, sent as given.
        extra_body: Merged into the request body last.
        context_window: Reported in ``metadata`` instead of what the server says.
        fetch_metadata: Ask the server (``/api/show``, once per model) for ``metadata``;
            ``False``: offline defaults only.
        auto_pull: Pull a model the server does not have before the first call.
        on_pull_progress: Called with each :class:`PullProgress` of an automatic pull.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        native_async=True,
        tools=True,
        json_schema=True,
        vision=True,
        model_listing=True,
    )
    key_env: ClassVar[str | None] = "OLLAMA_API_KEY"
    stream_format: ClassVar[Literal["sse", "ndjson"]] = "ndjson"
    stream_end: ClassVar[str | None] = 'its last object ("done": true)'

    base_url: str = Field(default_factory=ollama_host, description="The Ollama server.")
    model: str = Field(default="llama3.2", description="The model's name.")
    # the options object
    num_keep: int | None = Field(default=None, ge=-1)
    seed: int | None = None
    num_predict: int | None = Field(default=None, ge=-2)
    top_k: int | None = Field(default=None, ge=0)
    top_p: Unit = None
    min_p: Unit = None
    typical_p: Unit = None
    repeat_last_n: int | None = Field(default=None, ge=-1)
    temperature: float | None = Field(default=None, ge=0.0)
    repeat_penalty: float | None = Field(default=None, ge=0.0)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    mirostat: Literal[0, 1, 2] | None = None
    mirostat_tau: float | None = Field(default=None, ge=0.0)
    mirostat_eta: float | None = Field(default=None, ge=0.0)
    penalize_newline: bool | None = None
    stop: Stop = None
    numa: bool | None = None
    num_ctx: int | None = Field(default=None, ge=1)
    num_batch: int | None = Field(default=None, ge=1)
    num_gpu: int | None = Field(default=None, ge=-1)
    main_gpu: int | None = Field(default=None, ge=0)
    low_vram: bool | None = None
    vocab_only: bool | None = None
    use_mmap: bool | None = None
    use_mlock: bool | None = None
    num_thread: int | None = Field(default=None, ge=0)
    # the request
    keep_alive: KeepAlive = None
    format: Format = None
    think: Think = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[Any] | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    raw: bool | None = None
    context: list[int] | None = None
    images: Images = None
    extra_options: dict[str, Any] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    # this provider
    context_window: int | None = Field(default=None, gt=0)
    fetch_metadata: bool = True
    auto_pull: bool = False
    on_pull_progress: Callable[[PullProgress], Any] | None = Field(
        default=None, exclude=True, repr=False
    )

    _unreachable: set[str] = PrivateAttr(default_factory=set)
    _pulled: set[str] = PrivateAttr(default_factory=set)

    @field_validator("base_url", mode="before")
    @classmethod
    def _host_form(cls, value: Any) -> Any:
        # host-only values ("gpu-box", "10.0.0.5:8080") as OLLAMA_HOST takes them
        return parse_host(value) if isinstance(value, str) else value

    @field_validator("tools", mode="before")
    @classmethod
    def _tool_definitions(cls, value: Any) -> Any:
        value = json_from_text(value)
        if isinstance(value, list | tuple):
            return [tool_definition(item) for item in value]
        return value

    @classmethod
    def class_name(cls) -> str:
        """The class's name (``"OllamaLLM"``)."""
        return cls.__name__

    # -- models ------------------------------------------------------------------------

    @property
    def metadata(self) -> LLMMetadata:
        """The model's context window and tool use, from the server when it answers.

        ``context_window`` is, first found: the option ``context_window``, ``num_ctx``,
        the Modelfile's ``num_ctx``, the server's default (4,096) capped at the model's
        trained context. Tool use comes from the model's capabilities. The server is
        asked once per model (``/api/show``, with a 10 s limit); when it cannot answer
        the defaults stand (4,096 tokens; tools assumed) and it is not asked again by
        this instance. ``fetch_metadata=False`` never asks.
        """
        details = self._details_for_metadata()
        context = self.context_window or self.num_ctx
        if context is None and details is not None:
            context = details.num_ctx
            if context is None and details.context_length:
                context = min(details.context_length, DEFAULT_NUM_CTX)
        predict = self.num_predict
        return LLMMetadata(
            context_window=context or DEFAULT_NUM_CTX,
            num_output=predict if predict is not None and predict > 0 else DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=details.supports("tools") if details else True,
            model_name=self.model,
        )

    def _details_for_metadata(self) -> ModelDetails | None:
        cached = _server.cached_details(self.base_url, self.model)
        if cached is not None or not self.fetch_metadata or self.model in self._unreachable:
            return cached
        try:
            return self.model_details(timeout=_server.METADATA_TIMEOUT, max_retries=0)
        except (APIError, InvalidOptionError):
            self._unreachable.add(self.model)  # offline: the defaults, without asking again
            return None

    def model_details(self, model: str | None = None, **options: Any) -> ModelDetails:
        """What the server says about ``model`` (this LLM's by default): ``/api/show``.

        Answers are cached per server and model for the process.

        Args:
            model: The model's name.
            **options: ``timeout=`` and ``max_retries=``.

        Raises:
            ModelNotPulledError: The server does not have the model.
            APIError: The request failed (``APIConnectionError``: no server there).
        """
        name = model or self.model
        cached = _server.cached_details(self.base_url, name)
        if cached is not None:
            return cached
        data = self.request_json(_server.show_request(name), **options)
        return _server.remember(self.base_url, _server.details_from(name, data))

    async def amodel_details(self, model: str | None = None, **options: Any) -> ModelDetails:
        """Async :meth:`model_details`."""
        name = model or self.model
        cached = _server.cached_details(self.base_url, name)
        if cached is not None:
            return cached
        data = await self.arequest_json(_server.show_request(name), **options)
        return _server.remember(self.base_url, _server.details_from(name, data))

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """A few models of Ollama's library (pull one first: ``ollama pull NAME``)."""
        return [
            ModelInfo(id=name, description=f"{what}; ollama pull {name}")
            for name, what in KNOWN_MODELS
        ]

    def list_models(self) -> list[ModelInfo]:
        """The models on the server (``/api/tags``), with context lengths from ``/api/show``.

        Raises:
            APIError: The listing failed (``APIConnectionError``: no server there).
        """
        data = self.request_json(_server.tags_request())
        entries = tag_entries(data)
        infos = []
        for entry in entries:
            name = entry.get("model") or entry.get("name") or ""
            try:
                details: ModelDetails | None = self.model_details(name)
            except APIError:
                details = None  # listed all the same, without a context length
            infos.append(model_info_from_tag(entry, details))
        return infos

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models` (the ``/api/show`` requests run concurrently)."""
        import asyncio  # lazy for lightness; already loaded, since a loop runs this

        data = await self.arequest_json(_server.tags_request())
        entries = tag_entries(data)

        async def show(entry: dict[str, Any]) -> ModelDetails | None:
            try:
                return await self.amodel_details(entry.get("model") or entry.get("name") or "")
            except APIError:
                return None

        details = await asyncio.gather(*(show(entry) for entry in entries))
        return [model_info_from_tag(e, d) for e, d in zip(entries, details, strict=True)]

    def pull_model(self, model: str | None = None) -> Iterator[PullProgress]:
        """Download ``model`` (this LLM's by default) to the server, yielding its progress.

        ::

            for event in llm.pull_model():
                print(event.status, event.fraction or "")

        Raises:
            APIError: The server refused (an unknown model: the registry has no such
                name), or the download ended before ``success``.
        """
        return _server.pull_events(self, model or self.model)

    def apull_model(self, model: str | None = None) -> AsyncIterator[PullProgress]:
        """Async :meth:`pull_model`: ``async for event in llm.apull_model(): ...``."""
        return _server.apull_events(self, model or self.model)

    def prepare_call(self, options: Mapping[str, Any]) -> None:
        """With ``auto_pull``: pull the call's model first if the server lacks it."""
        if self.auto_pull:
            model = str(options.get("model") or self.model)
            if model not in self._pulled:
                try:
                    self.model_details(model)
                except ModelNotPulledError:
                    for event in self.pull_model(model):
                        _server.report(self, event)
                self._pulled.add(model)

    async def aprepare_call(self, options: Mapping[str, Any]) -> None:
        """Async :meth:`prepare_call`."""
        if self.auto_pull:
            model = str(options.get("model") or self.model)
            if model not in self._pulled:
                try:
                    await self.amodel_details(model)
                except ModelNotPulledError:
                    async for event in self.apull_model(model):
                        _server.report(self, event)
                self._pulled.add(model)

    # -- tools and structured output -----------------------------------------------------

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
        """The ``chat`` arguments offering ``tools``.

        Ollama's API has no tool choice: ``"none"`` sends no tools, a tool's name sends
        that tool alone, ``"auto"`` and ``"required"`` send them all (a model may still
        answer in text; ``predict_and_call`` then says so). It has no switch for
        parallel calls either: with ``allow_parallel_tool_calls=False`` only the first
        call of a reply is kept.

        Raises:
            InvalidOptionError: ``tool_choice`` names no tool given, or is an object
                (the API takes none).
        """
        options: dict[str, Any] = {"messages": tool_chat_messages(user_msg, chat_history)}
        if tools:
            provider = self.provider_label
            choice = resolve_tool_choice(tools, tool_choice, tool_required, provider)
            if choice.mode == "raw":
                raise InvalidOptionError(
                    f"{provider} takes no tool_choice object ({tool_choice!r}): its API has "
                    f"no tool choice; use 'auto', 'none' or a tool's name",
                    provider=provider,
                    option="tool_choice",
                    valid_options=["auto", "required", "none"],
                )
            if choice.mode == "tool":
                tools = [t for t in tools if t.metadata.get_name() == choice.name]
            if choice.mode != "none":
                options["tools"] = tools
        options.update(kwargs)
        return options

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """``format``: the answer constrained to the JSON schema by the server."""
        return {"format": schema.json_schema}

    # -- the provider contract (pure) ----------------------------------------------------

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the ``POST /api/chat`` request.

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or an
                option of completions only (``suffix``, ``raw``...).
            UnsupportedContentError: A block the API cannot take.
        """
        opts = self.with_call_options(options, PER_CALL) if options else self
        opts._refuse(COMPLETION_ONLY, "complete() (/api/generate)", "a chat")
        body: dict[str, Any] = {
            "model": opts.model,
            "messages": messages_to_wire(messages, provider=self.provider_label),
        }
        if opts.tools:
            body["tools"] = opts.tools
        return self._request("/api/chat", body, opts, options, stream)

    def build_completion_request(
        self, prompt: str, options: dict[str, Any], *, stream: bool, formatted: bool
    ) -> HTTPRequest:
        """Build the ``POST /api/generate`` request.

        Unless ``formatted``, ``completion_to_prompt`` is applied to the prompt and
        ``system_prompt`` goes in ``system`` (when the option ``system`` is unset).

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or
                ``tools`` (chats only).
            UnsupportedContentError: An image that cannot be sent.
        """
        opts = self.with_call_options(options, PER_CALL) if options else self
        opts._refuse(CHAT_ONLY, "chats (chat_with_tools, predict_and_call)", "a completion")
        if not formatted:
            prompt = self.completion_to_prompt(prompt)
        body: dict[str, Any] = {"model": opts.model, "prompt": prompt}
        system = (
            opts.system if opts.system is not None else (None if formatted else self.system_prompt)
        )
        for name, value in (
            ("suffix", opts.suffix),
            ("system", system),
            ("template", opts.template),
            ("context", opts.context),
            ("raw", opts.raw),
        ):
            if value is not None:
                body[name] = value
        if opts.images:
            body["images"] = [image_to_wire(image, self.provider_label) for image in opts.images]
        return self._request("/api/generate", body, opts, options, stream)

    def _request(
        self,
        path: str,
        body: dict[str, Any],
        opts: OllamaLLM,
        options: dict[str, Any],
        stream: bool,
    ) -> HTTPRequest:
        """What chat and generate requests share: format, options, stream, keep_alive..."""
        if opts.format is not None:
            body["format"] = opts.format
        values = opts.__dict__
        model_options = {name: values[name] for name in MODEL_OPTIONS if values[name] is not None}
        model_options.update(opts.extra_options)
        if model_options:
            body["options"] = model_options
        body["stream"] = stream
        if opts.keep_alive is not None:
            body["keep_alive"] = opts.keep_alive
        if opts.think is not None:
            body["think"] = opts.think
        if opts.top_logprobs is not None and not opts.logprobs:
            raise InvalidOptionError(
                "top_logprobs needs logprobs=True (the log probabilities it adds to)",
                provider=self.provider_label,
                option="top_logprobs",
            )
        if opts.logprobs is not None:
            body["logprobs"] = opts.logprobs
        if opts.top_logprobs is not None:
            body["top_logprobs"] = opts.top_logprobs
        if opts.extra_body:
            body.update(opts.extra_body)
        headers = dict(opts.extra_headers) if options and "extra_headers" in options else {}
        return HTTPRequest(path, body, headers=headers)

    def _refuse(self, names: Sequence[str], where: str, call: str) -> None:
        given = [name for name in names if self.__dict__[name] is not None]
        if given:
            raise InvalidOptionError(
                f"{', '.join(map(repr, given))} applies to {where} only, not to {call}; "
                f"leave it unset here",
                provider=self.provider_label,
                option=given[0],
            )

    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a ``/api/chat`` or ``/api/generate`` body into a ChatResponse with ``usage``.

        ``additional_kwargs`` holds ``done_reason`` and the timings (nanoseconds), plus
        ``tokens_per_second``.
        """
        if not isinstance(data, dict) or "error" in data:
            raise self.error_from_body(data)
        return parse_body(data)

    def start_stream(self) -> StreamState:
        """A new accumulator for one stream."""
        return StreamState()

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one NDJSON object into a chunk; the last one (``done``) ends the stream.

        Raises:
            APIError: An ``{"error": ...}`` object in the stream (mapped like an HTTP
                error body).
        """
        data = json_loads(event.data)
        if type(data) is not dict or "error" in data:
            raise self.error_from_body(data)
        chunk = parse_event_data(data, state)
        return [chunk, STREAM_END] if data.get("done") is True else chunk

    def error_from_body(
        self, body: Any, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """Ollama's ``{"error": "..."}`` as an error of the tree.

        A model the server does not have is a :class:`ModelNotPulledError` that says how
        to pull it.
        """
        error = super().error_from_body(body, status, headers)
        name = not_found_model(error.message) if status in (None, 404) else None
        if name is None:
            return error
        pulled = ModelNotPulledError(
            f"model {name!r} is not on the Ollama server at {self._where()}: pull it with "
            f"`ollama pull {name}` (or llm.pull_model({name!r})), or load the provider "
            f"with auto_pull=true to pull it before the first call "
            f"({error.message})",
            status_code=404,
            provider=error.provider,
            body=error.body,
            request_id=getattr(error, "request_id", None),
        )
        pulled.model = name
        return pulled

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """ContextWindowExceededError for a prompt longer than the context."""
        if status in (None, 400, 500) and _CONTEXT_OVERFLOW.search(message):
            return ContextWindowExceededError
        return None

    def key_required(self) -> bool:
        """Never: a local Ollama server takes no key (``OLLAMA_API_KEY`` is for hosted ones)."""
        return False

    def unreachable_hint(self) -> str | None:
        """Start the server (on this machine), or check where ``OLLAMA_HOST`` points."""
        if is_loopback(self.base_url):
            return (
                "is Ollama running? Start it with `ollama serve` (or the Ollama app), or set "
                "OLLAMA_HOST to the server's address"
            )
        return f"check that Ollama runs at {self._where()} (OLLAMA_HOST or base_url)"

    def _where(self) -> str:
        return redact(self.base_url)
