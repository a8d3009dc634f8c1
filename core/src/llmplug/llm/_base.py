"""The LLM interface: LlamaIndex's ``LLM`` API, method for method.

:class:`LLM` is the base a provider implements in full: all four sync endpoints
(``chat``, ``complete``, ``stream_chat``, ``stream_complete``) and ``metadata``; async
ones optional. :class:`~llmplug.CustomLLM` and :class:`~llmplug.ChatLLM` (in
``_derived``) derive one family of endpoints from the other.

Any async endpoint not implemented natively runs the sync one in a worker thread, and
streams are bridged chunk by chunk: async never blocks the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NamedTuple, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from llmplug.errors import InvalidOptionError, UnsupportedFeatureError
from llmplug.llm._batch_api import ProviderBatchMethods
from llmplug.llm._bridges import aiter_in_thread, run_in_thread
from llmplug.llm._call import plugin_settings
from llmplug.llm._instrument import instrument_class
from llmplug.llm._options import describe_errors, unknown_call_options
from llmplug.llm._programs import ProgramMethods
from llmplug.prompts._formatting import (
    completion_to_prompt as default_completion_to_prompt,
    messages_to_prompt as default_messages_to_prompt,
)
from llmplug.prompts._output_parsers import BaseOutputParser
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import (
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)

if TYPE_CHECKING:
    from llmplug.prompts._templates import BasePromptTemplate
    from llmplug.types._model_info import ModelInfo  # built by providers that list models

Model = TypeVar("Model", bound=BaseModel)

__all__ = [
    "LLM",
    "Capabilities",
    "PydanticProgramMode",
    "TokenAsyncGen",
    "TokenGen",
]


class ArgumentTypeError(TypeError, ValueError):
    """Messages that are not a list of ChatMessage.

    A :class:`TypeError`, and a :class:`ValueError` as LlamaIndex raises there (its
    endpoints validate the messages with pydantic, whose ``ValidationError`` is one).
    """


def _query_wrapper_prompt(value: Any) -> Any:
    """A template (or its text) holding ``{query_str}``, which the prompt fills."""
    if value is None:
        return None
    if isinstance(value, str):
        # lazy for lightness: the LLM base does not load the templates until one is given
        from llmplug.prompts._templates import PromptTemplate

        value = PromptTemplate(value)
    names = getattr(value, "template_vars", None)
    if not callable(getattr(value, "format", None)) or not isinstance(names, list):
        raise ValueError(
            f"query_wrapper_prompt must be a PromptTemplate (or its text), not a "
            f"{type(value).__name__}"
        )
    if "query_str" not in names:
        raise ValueError(
            "query_wrapper_prompt must contain {query_str}, where the prompt goes; "
            f"its variables are {names or 'none'}"
        )
    return value


if TYPE_CHECKING:
    QueryWrapperPrompt = BasePromptTemplate
else:
    QueryWrapperPrompt = Annotated[Any, BeforeValidator(_query_wrapper_prompt)]

#: A model's settings for plugins, read from a mapping or from a config string's text.
PluginSettings = Annotated[dict[str, Any], BeforeValidator(plugin_settings)]


TokenGen = Generator[str, None, None]
TokenAsyncGen = AsyncGenerator[str, None]
MessagesToPromptType = Callable[[Sequence[ChatMessage]], str]
CompletionToPromptType = Callable[[str], str]


class PydanticProgramMode(str, Enum):  # noqa: UP042 - LlamaIndex's str() behaviour
    """How structured output is produced (LlamaIndex's values).

    * ``DEFAULT``: the best path the provider has: output constrained to the schema
      by the provider (native JSON schema), else a forced tool call on a model that
      calls tools, else the schema in the prompt.
    * ``FUNCTION``: a forced tool call (the model must call tools).
    * ``LLM``: the schema in the prompt, the JSON read back from the text.
    * ``OPENAI``, ``GUIDANCE``, ``LM_FORMAT_ENFORCER``: the provider's native
      constrained output (OpenAI's ``response_format``, llama.cpp's grammar...); an
      ``InvalidOptionError`` naming the provider where it has none.
    """

    DEFAULT = "default"
    OPENAI = "openai"
    LLM = "llm"
    FUNCTION = "function"
    GUIDANCE = "guidance"
    LM_FORMAT_ENFORCER = "lm-format-enforcer"


class Capabilities(NamedTuple):
    """What a provider class can do, readable before any model is instantiated.

    Attributes:
        chat: Native chat (messages) rather than text completion.
        streaming: Real token streaming (not one chunk at the end).
        native_async: Async endpoints that do not use a worker thread.
        tools: Function/tool calling.
        json_schema: Native JSON-schema constrained output.
        vision: Image input.
        audio: Audio input.
        video: Video input.
        documents: Document (PDF, text) input.
        model_listing: Lists its models through its API (:meth:`LLM.list_models`).
        batch: Has an asynchronous batch API (:meth:`LLM.create_batch` and the other
            provider batch methods).
    """

    chat: bool = True
    streaming: bool = True
    native_async: bool = False
    tools: bool = False
    json_schema: bool = False
    vision: bool = False
    audio: bool = False
    video: bool = False
    documents: bool = False
    model_listing: bool = False
    batch: bool = False


class LLM(ProgramMethods, ProviderBatchMethods, BaseModel, ABC):
    """The LLM interface every provider implements (LlamaIndex's ``LLM`` API).

    A provider's pydantic fields are its options: ``llmplug.load("name:model?key=value")``
    validates the options against them. Subclasses implement ``metadata`` and the four
    sync endpoints (or derive from :class:`CustomLLM` / :class:`ChatLLM`); the async
    endpoints, ``predict``/``stream`` and the lifecycle hooks come for free.

    Attributes:
        system_prompt: Added as a system message (chat) or a prefix (completion) when the
            call has none of its own.
        messages_to_prompt: Renders messages as one prompt for completion models.
        completion_to_prompt: Wraps a raw prompt for completion models.
        output_parser: Parses ``predict`` output (and formats prompts for it).
        pydantic_program_mode: How structured output is produced (see
            :class:`PydanticProgramMode`).
        structured_output_retries: How many times an answer that does not validate is
            sent back to the model with the errors, before ``StructuredOutputError``.
        query_wrapper_prompt: A template with ``{query_str}`` wrapping completion
            prompts (after ``system_prompt``), e.g. a model's own instruction format.
        plugins: Settings for hook plugins on this model's calls, by plugin name
            (``"openai:gpt-4o?plugins=cache"``, ``?plugins=-log``): ``True`` (on),
            ``False`` (off: its hooks are skipped) or a dict of the plugin's options.
            A call's own ``plugins=`` settings win over these.
    """

    model_config = ConfigDict(
        arbitrary_types_allowed=True,
        extra="forbid",
        protected_namespaces=(),
        validate_assignment=True,
        defer_build=True,
    )

    #: What this provider can do (override in the subclass).
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The option a config string's model part fills (``"openai:gpt-4o"`` -> model).
    model_field: ClassVar[str | None] = "model"
    #: The options a call may override (``llm.chat(messages, temperature=0)``), as the
    #: provider checks them; ``llmplug options`` shows them. Empty: not declared.
    per_call_options: ClassVar[tuple[str, ...]] = ()

    system_prompt: str | None = Field(
        default=None, description="System prompt applied to every call that has none."
    )
    messages_to_prompt: MessagesToPromptType = Field(
        default=default_messages_to_prompt, exclude=True, repr=False
    )
    completion_to_prompt: CompletionToPromptType = Field(
        default=default_completion_to_prompt, exclude=True, repr=False
    )
    output_parser: BaseOutputParser | None = Field(default=None, exclude=True, repr=False)
    pydantic_program_mode: PydanticProgramMode = PydanticProgramMode.DEFAULT
    structured_output_retries: int = Field(
        default=1, ge=0, le=10, description="Retries of structured output that does not validate."
    )
    query_wrapper_prompt: QueryWrapperPrompt | None = Field(default=None, exclude=True, repr=False)
    plugins: PluginSettings = Field(
        default_factory=dict,
        description="Settings for hook plugins on this model's calls: 'cache' switches one "
        "on, '-log' off, 'cache,-log' both; or JSON such as {\"cache\": {\"ttl\": 60}}.",
    )

    _provider: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _llamaindex_callback_manager(cls, data: Any) -> Any:
        # ``super().__init__(callback_manager=None)``, the usual LlamaIndex CustomLLM idiom
        # (unless a subclass has a field of that name)
        if (
            isinstance(data, dict)
            and "callback_manager" in data
            and "callback_manager" not in cls.model_fields
        ):
            # lazy for lightness: only LlamaIndex code passes callback_manager
            from llmplug.llm._llamaindex import check_callback_manager

            data = dict(data)
            check_callback_manager(data.pop("callback_manager"), cls.__name__)
        return data

    @field_validator("messages_to_prompt", mode="before")
    @classmethod
    def _default_messages_to_prompt(cls, value: Any) -> Any:
        return default_messages_to_prompt if value is None else value

    @field_validator("completion_to_prompt", mode="before")
    @classmethod
    def _default_completion_to_prompt(cls, value: Any) -> Any:
        return default_completion_to_prompt if value is None else value

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        instrument_class(cls)

    @classmethod
    def class_name(cls) -> str:
        """The class's name, as LlamaIndex's ``class_name()``."""
        return cls.__name__

    @property
    def provider_label(self) -> str:
        """The provider name this LLM was loaded as, else its class name."""
        # read from pydantic's private dict: ``self._provider`` goes through the slow
        # ``BaseModel.__getattr__`` fallback, and this is read on every call
        private = self.__pydantic_private__
        provider = private.get("_provider") if private else None
        return provider or self.class_name()

    @property
    @abstractmethod
    def metadata(self) -> LLMMetadata:
        """Context window, output size, chat/function-calling flags and model name."""

    def check_call_options(self, options: Mapping[str, Any], allowed: Sequence[str]) -> None:
        """Refuse per-call options (``llm.chat(messages, temperatur=0)``) not in ``allowed``.

        For providers: the error names the closest allowed option and, for an option
        that can only be set when loading, how to set it there.

        Raises:
            InvalidOptionError: Listing the per-call options.
        """
        error = unknown_call_options(self.provider_label, type(self), options, allowed)
        if error is not None:
            raise error

    def with_call_options(self, options: Mapping[str, Any], allowed: Sequence[str]) -> Self:
        """A copy with a call's ``options`` applied, each validated as when loading.

        For providers: ``opts = self.with_call_options(options, PER_CALL)`` in
        ``build_request``; the instance itself is unchanged.

        Raises:
            InvalidOptionError: An option not in ``allowed`` (see
                :meth:`check_call_options`), or a value that fails validation.
        """
        self.check_call_options(options, allowed)
        copy = self.model_copy()
        try:
            for name, value in options.items():
                setattr(copy, name, value)  # validate_assignment: checked like at load
        except ValidationError as exc:
            raise self.call_option_error(exc, allowed) from exc
        return copy

    def call_option_error(self, exc: Exception, allowed: Sequence[str]) -> InvalidOptionError:
        """The error for per-call option values that failed validation.

        For providers: pass the pydantic ``ValidationError`` raised while applying the
        call's options; values are shown with secrets redacted. Raise the result
        ``from exc``.
        """
        text, option = describe_errors(type(self), exc)
        return InvalidOptionError(
            f"invalid option value for a call: {text}",
            provider=self.provider_label,
            option=option,
            valid_options=list(allowed),
        )

    # -- optional provider features -------------------------------------------------

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """The models this provider knows of without a network call (its model table).

        For providers: override to list the models of your table (``[]`` by default).
        ``llmplug models`` shows them.
        """
        return []

    def list_models(self) -> list[ModelInfo]:
        """The models the provider's API offers now, from its listing endpoint.

        For providers with such an endpoint: declare ``Capabilities(model_listing=True)``
        and override this and :meth:`alist_models` (an HTTP provider sends the request
        with ``self.request_json``). ``llmplug models --live`` shows them.

        Raises:
            UnsupportedFeatureError: The provider has no listing endpoint.
            APIError: The listing request failed.
        """
        raise UnsupportedFeatureError(
            f"provider {self.provider_label!r} has no model-listing endpoint; the models "
            f"it knows of are in its known_models() (llmplug models -p {self.provider_label})",
            provider=self.provider_label,
            feature="list_models",
        )

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models` (a worker thread unless the provider overrides it)."""
        return await run_in_thread(self.list_models)

    def convert_chat_messages(self, messages: Sequence[ChatMessage]) -> list[Any]:
        """Convert messages to the provider's own format (identity by default)."""
        return list(messages)

    # -- the eight endpoints ---------------------------------------------------------

    @abstractmethod
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send messages, get one reply."""

    @abstractmethod
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete a prompt. ``formatted=True`` skips ``completion_to_prompt``."""

    @abstractmethod
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a reply: each chunk holds the accumulated message and the new ``delta``."""

    @abstractmethod
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion: each chunk holds the accumulated ``text`` and ``delta``."""

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat` (a worker thread unless the provider is natively async)."""
        return await run_in_thread(self.chat, messages, **kwargs)

    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete`."""
        # formatted by name: LlamaIndex's docs write ``complete(self, prompt, **kwargs)``
        return await run_in_thread(self.complete, prompt, formatted=formatted, **kwargs)

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: ``gen = await llm.astream_chat(...)``, then ``async for``."""
        return aiter_in_thread(lambda: self.stream_chat(messages, **kwargs))  # type: ignore[return-value]

    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""
        return aiter_in_thread(  # type: ignore[return-value]
            lambda: self.stream_complete(prompt, formatted=formatted, **kwargs)
        )

    # -- prompt preparation (applied once per user call, by the instrumentation) ---------

    def _extend_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        """Prepend ``system_prompt`` as a system message unless one is there already."""
        result = list(messages)
        if self.system_prompt and not any(
            m.role in (MessageRole.SYSTEM, MessageRole.DEVELOPER) for m in result
        ):
            result.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=self.system_prompt))
        return result

    def _extend_prompt(self, prompt: str) -> str:
        """Prefix ``system_prompt`` to a completion prompt, then wrap it (LlamaIndex's order)."""
        if self.system_prompt:
            prompt = f"{self.system_prompt}\n\n{prompt}"
        if self.query_wrapper_prompt is not None:
            prompt = self.query_wrapper_prompt.format(query_str=prompt)
        return prompt

    def _prepare_messages(self, messages: Any) -> list[ChatMessage]:
        if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
            raise ArgumentTypeError(
                f"{self.provider_label}: chat endpoints take a list of ChatMessage, got "
                f"{type(messages).__name__}; for one prompt use complete(prompt) or "
                f"[ChatMessage(role='user', content=...)]"
            )
        for i, message in enumerate(messages):
            if not isinstance(message, ChatMessage):
                raise ArgumentTypeError(
                    f"{self.provider_label}: messages[{i}] is a {type(message).__name__}, "
                    f"not a ChatMessage; build it with ChatMessage(role=..., content=...)"
                )
        return self._extend_messages(messages)

    def _check_prompt(self, prompt: Any) -> None:
        if not isinstance(prompt, str):
            raise TypeError(
                f"{self.provider_label}: completion endpoints take a prompt str, got "
                f"{type(prompt).__name__}; for messages use chat()"
            )

    def _prepare_prompt(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        prompt, *rest = args
        self._check_prompt(prompt)
        # the arguments are rewritten below: refuse first what the call itself would
        if len(rest) > 1:
            raise TypeError(
                f"{self.provider_label}: completion endpoints take (prompt, formatted=False, "
                f"**kwargs); got {len(args)} positional arguments"
            )
        if rest and "formatted" in kwargs:
            raise TypeError(f"{self.provider_label}: got multiple values for 'formatted'")
        formatted = rest[0] if rest else kwargs.get("formatted", False)
        if not formatted:
            prompt = self.completion_to_prompt(self._extend_prompt(prompt))
        kwargs["formatted"] = True
        return (prompt,)

    # -- predict and stream over prompt templates --------------------------------------

    def _get_prompt(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        # the template applies its own output parser; the LLM's is applied here, then
        # the system prompt and completion_to_prompt, as complete(formatted=False) would
        formatted = prompt.format(llm=self, **prompt_args)
        if self.output_parser is not None:
            formatted = self.output_parser.format(formatted)
        return self.completion_to_prompt(self._extend_prompt(formatted))

    def _get_messages(self, prompt: BasePromptTemplate, **prompt_args: Any) -> list[ChatMessage]:
        messages = prompt.format_messages(llm=self, **prompt_args)
        if self.output_parser is not None:
            messages = self.output_parser.format_messages(messages)
        return self._extend_messages(messages)

    def _parse_output(self, output: str) -> str:
        # as in LlamaIndex: the LLM's parser parses; a template's parser only formats
        if self.output_parser is not None:
            return str(self.output_parser.parse(output))
        return output

    def _no_parser_for_streams(self, prompt: BasePromptTemplate) -> None:
        if self.output_parser is not None or prompt.output_parser is not None:
            raise ValueError(
                f"{self.provider_label}: stream()/astream() cannot apply an output parser to "
                f"partial text; use predict()/apredict(), which parse the whole output, or "
                f"remove output_parser from the LLM and the prompt"
            )

    def predict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        """Format ``prompt`` with ``prompt_args``, call the model, return (parsed) text."""
        if self.metadata.is_chat_model:
            messages = self._get_messages(prompt, **prompt_args)
            output = self.chat(messages).message.content or ""
        else:
            output = self.complete(self._get_prompt(prompt, **prompt_args), formatted=True).text
        return self._parse_output(output)

    async def apredict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        """Async :meth:`predict`."""
        if self.metadata.is_chat_model:
            messages = self._get_messages(prompt, **prompt_args)
            output = (await self.achat(messages)).message.content or ""
        else:
            formatted = self._get_prompt(prompt, **prompt_args)
            output = (await self.acomplete(formatted, formatted=True)).text
        return self._parse_output(output)

    def stream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenGen:
        """Like :meth:`predict`, yielding text deltas as they arrive."""
        self._no_parser_for_streams(prompt)
        if self.metadata.is_chat_model:
            chunks: Any = self.stream_chat(self._get_messages(prompt, **prompt_args))
        else:
            formatted = self._get_prompt(prompt, **prompt_args)
            chunks = self.stream_complete(formatted, formatted=True)
        return (chunk.delta or "" for chunk in chunks)

    async def astream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenAsyncGen:
        """Async :meth:`stream`: ``gen = await llm.astream(...)``, then ``async for``."""
        self._no_parser_for_streams(prompt)
        if self.metadata.is_chat_model:
            chunks: Any = await self.astream_chat(self._get_messages(prompt, **prompt_args))
        else:
            formatted = self._get_prompt(prompt, **prompt_args)
            chunks = await self.astream_complete(formatted, formatted=True)
        return _adeltas(chunks)


async def _adeltas(chunks: Any) -> TokenAsyncGen:
    async for chunk in chunks:
        yield chunk.delta or ""


instrument_class(LLM)
