"""Structured output: ``structured_predict`` and its async and streaming forms.

One call picks a path by ``llm.pydantic_program_mode`` and what the provider offers:

* **native** -- the provider constrains the output to the JSON schema itself (OpenAI's
  ``response_format``, llama.cpp's grammar on ``local``, Anthropic's ``output_config``).
  A provider offers it by declaring ``Capabilities(json_schema=True)`` and implementing
  :meth:`llmplug.LLM._structured_request_kwargs`.
* **function** -- the model is made to call one tool whose arguments are the object
  (a :class:`~llmplug.FunctionCallingLLM` whose model calls tools).
* **text** -- the schema goes in the prompt (:class:`PydanticOutputParser`) and the
  JSON is read back from the answer, in prose or a code fence.

An answer that does not validate is sent back to the model with the validation errors,
``llm.structured_output_retries`` times (default 1); then :class:`StructuredOutputError`
is raised with the raw text and the errors. Streams yield partial objects built by an
incremental parser (linear in the output's length), then the validated object.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llmplug.errors import InvalidOptionError, StructuredOutputError
from llmplug.llm._base import LLM, PydanticProgramMode
from llmplug.prompts._json_text import extract_json
from llmplug.structured._incremental_json import PartialJSONError, PartialJSONParser
from llmplug.structured._output_schema import (
    OutputSchema,
    describe_validation_errors,
    no_json_error,
    output_schema,
)
from llmplug.structured._partial_objects import PartialBuilder
from llmplug.structured._pydantic_parser import PydanticOutputParser
from llmplug.tools._function_calling import FunctionCallingLLM, split_messages
from llmplug.types._blocks import ToolCallBlock
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import ChatResponse, Usage

if TYPE_CHECKING:
    from llmplug.tools._function_tool import FunctionTool

__all__ = [
    "StructuredRun",
    "resolve_path",
    "run_async",
    "run_sync",
    "stream_async",
    "stream_sync",
]

NATIVE, FUNCTION, TEXT = "native", "function", "text"
_NATIVE_MODES = (
    PydanticProgramMode.OPENAI,
    PydanticProgramMode.GUIDANCE,
    PydanticProgramMode.LM_FORMAT_ENFORCER,
)
_TRUNCATED = ("length", "max_tokens", "model_length")
# deeper than this, partial objects stop (building one recurses per level); the final
# answer is still read, and real outputs are never this deep
_MAX_PARTIAL_DEPTH = 100
_RETRY = object()


def _calls_tools(llm: LLM) -> bool:
    return isinstance(llm, FunctionCallingLLM) and llm.metadata.is_function_calling_model


def _native_kwargs(llm: LLM, schema: OutputSchema) -> dict[str, Any] | None:
    if not type(llm).capabilities.json_schema:
        return None
    return llm._structured_request_kwargs(schema)


def resolve_path(llm: LLM, schema: OutputSchema) -> tuple[str, dict[str, Any]]:
    """The path a structured call takes (``native``, ``function`` or ``text``).

    Returns:
        The path and, for ``native``, the per-call options that ask for the schema.

    Raises:
        InvalidOptionError: The mode forces a path the provider or model does not have.
    """
    mode = PydanticProgramMode(llm.pydantic_program_mode)
    native = _native_kwargs(llm, schema)
    if mode == PydanticProgramMode.DEFAULT:
        if native is not None:
            return NATIVE, native
        return (FUNCTION, {}) if _calls_tools(llm) else (TEXT, {})
    if mode == PydanticProgramMode.LLM:
        return TEXT, {}
    provider = llm.provider_label
    model = llm.metadata.model_name
    usable = ["default", "llm"]
    if _calls_tools(llm):
        usable.append("function")
    if native is not None:
        usable.extend(m.value for m in _NATIVE_MODES)
    if mode == PydanticProgramMode.FUNCTION:
        if not _calls_tools(llm):
            raise InvalidOptionError(
                f"pydantic_program_mode='function' needs a model that calls tools; "
                f"{provider} model {model!r} does not (metadata.is_function_calling_model "
                f"is false): use 'default' or 'llm' (the schema in the prompt)",
                provider=provider,
                option="pydantic_program_mode",
                valid_options=usable,
            )
        return FUNCTION, {}
    if native is None:
        raise InvalidOptionError(
            f"pydantic_program_mode={mode.value!r} asks for output constrained to the JSON "
            f"schema by the provider, which {provider} (model {model!r}) does not offer: "
            f"use 'default' (the best path it has), 'function' or 'llm'",
            provider=provider,
            option="pydantic_program_mode",
            valid_options=usable,
        )
    return NATIVE, native


def _noop(**kwargs: Any) -> str:
    return "ok"


def _output_tool(schema: OutputSchema) -> FunctionTool:
    # lazy for lightness: the tool machinery loads only on the function-calling path
    from llmplug.tools._function_tool import FunctionTool
    from llmplug.tools._types import ToolMetadata

    metadata = ToolMetadata(
        name=schema.name,
        description=f"Give the answer: {schema.description}",
        fn_schema=schema.answer_model,
    )
    return FunctionTool(fn=_noop, metadata=metadata)


def _first_call(message: ChatMessage) -> ToolCallBlock | None:
    return next((b for b in message.blocks if isinstance(b, ToolCallBlock)), None)


class StructuredRun:
    """One structured call: its path, its messages, and the reading of each answer.

    The sync, async and streaming drivers share it: they send :meth:`request`, read
    the reply with :meth:`finish`, and repeat while it asks for a retry.

    Args:
        llm: The LLM to call.
        output_cls: A pydantic model class, or ``list[Model]``.
        messages: The conversation (never changed).
        llm_kwargs: Per-call options of the provider.

    Raises:
        InvalidOptionError: See :func:`resolve_path`.
        TypeError: ``output_cls`` is not a model class or a list of one.
    """

    def __init__(
        self,
        llm: LLM,
        output_cls: Any,
        messages: Sequence[ChatMessage],
        llm_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.llm = llm
        self.schema = output_schema(output_cls)
        self.path, native = resolve_path(llm, self.schema)
        self.options = {**native, **(llm_kwargs or {})}
        self.retries = llm.structured_output_retries
        self.attempts = 0
        #: The token usage of every attempt so far, added up (``None``: none reported).
        self.usage: Usage | None = None
        self.tool = _output_tool(self.schema) if self.path == FUNCTION else None
        if self.path == TEXT:
            self.messages = PydanticOutputParser(output_cls).format_messages(messages)
        else:
            self.messages = list(messages)

    def request(self) -> tuple[list[ChatMessage], dict[str, Any]]:
        """The messages and per-call options of the next attempt."""
        self.attempts += 1
        if self.tool is None:
            return self.messages, self.options
        assert isinstance(self.llm, FunctionCallingLLM)
        kwargs = self.llm._prepare_chat_with_tools(
            [self.tool],
            chat_history=self.messages,
            tool_choice=self.schema.name,
            **self.options,
        )
        messages, options = split_messages(kwargs)
        return list(messages), options

    def result(self) -> Any:
        """Call until an answer validates: the validated object (:func:`run_sync`)."""
        return run_sync(self)

    async def aresult(self) -> Any:
        """Async :meth:`result` (:func:`run_async`)."""
        return await run_async(self)

    def stream(self) -> Generator[Any, None, None]:
        """Partial objects as the answer streams, then the validated one (:func:`stream_sync`)."""
        return stream_sync(self)

    def astream(self) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream` (:func:`stream_async`)."""
        return stream_async(self)

    def reader(self) -> StreamReader:
        """A fresh reader for a streamed attempt."""
        return StreamReader(self)

    def finish(self, response: ChatResponse | None) -> Any:
        """The validated output of an answer, or ``_RETRY`` after queueing a retry.

        Raises:
            StructuredOutputError: The answer does not validate and no retry is left.
        """
        if response is None:
            response = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=""))
        if response.usage is not None:
            self.usage = response.usage if self.usage is None else self.usage + response.usage
        call = _first_call(response.message) if self.tool is not None else None
        if self.tool is not None and call is not None:
            arguments = call.tool_kwargs
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            value = extract_json(arguments, "object") if isinstance(arguments, str) else arguments
        else:
            raw = response.message.content or ""
            value = extract_json(raw, self.schema.expected())
        errors: list[Any]
        refusal = response.additional_kwargs.get("refusal")
        if value is None and isinstance(refusal, str) and refusal:
            # asking again does not change a refusal: say so at once
            raise StructuredOutputError(
                f"the model refused to answer with {self.schema.name}: {refusal!r}",
                provider=self.llm.provider_label,
                raw=refusal,
                errors=[{"type": "refusal", "loc": (), "msg": refusal, "input": raw}],
            )
        if value is None:
            errors = [no_json_error(raw)]
            if self.tool is not None and call is None:
                errors[0]["msg"] = f"the model called no tool (it must call {self.schema.name})"
        else:
            try:
                return self.schema.validate(value)
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
        if self._truncated(response):
            # the same budget would cut the answer again: no retry, say what to change
            errors = [
                {
                    "type": "json_incomplete",
                    "loc": (),
                    "msg": "the output was cut off before the JSON was complete",
                    "input": raw,
                },
                *errors,
            ]
            raise self._error(response, raw, errors)
        if self.attempts > self.retries:
            raise self._error(response, raw, errors)
        self._queue_retry(response, call, raw, errors)
        return _RETRY

    def _queue_retry(
        self, response: ChatResponse, call: ToolCallBlock | None, raw: str, errors: list[Any]
    ) -> None:
        problems = describe_validation_errors(errors)
        if call is not None:
            # answer the tool call with the errors, as a tool's failure is reported
            message = response.message.model_copy(
                update={
                    "blocks": [
                        b
                        for b in response.message.blocks
                        if not isinstance(b, ToolCallBlock) or b is call
                    ]
                }
            )
            feedback = ChatMessage(
                role=MessageRole.TOOL,
                content=f"Error: the arguments do not match the schema:\n{problems}\n"
                f"Call {self.schema.name} again with corrected arguments.",
                additional_kwargs={"tool_call_id": call.tool_call_id, "name": call.tool_name},
            )
            self.messages = [*self.messages, message, feedback]
            return
        if self.tool is not None:
            hint = f"Call the tool {self.schema.name} with the answer."
        else:
            hint = "Answer again with only the corrected JSON."
        self.messages = [
            *self.messages,
            ChatMessage(role=MessageRole.ASSISTANT, content=raw),
            ChatMessage(
                role=MessageRole.USER,
                content=f"Your answer does not match the JSON schema:\n{problems}\n{hint}",
            ),
        ]

    @staticmethod
    def _truncated(response: ChatResponse) -> bool:
        extra = response.additional_kwargs
        return (extra.get("finish_reason") or extra.get("stop_reason")) in _TRUNCATED

    def _error(self, response: ChatResponse, raw: str, errors: list[Any]) -> StructuredOutputError:
        cut = "; the output was cut off: raise max_tokens" if self._truncated(response) else ""
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        shown = raw if len(raw) <= 300 else raw[:300] + "..."
        problems = describe_validation_errors(errors)
        return StructuredOutputError(
            f"the model's output does not match {self.schema.name} after {tries} "
            f"({self.path} path{cut}):\n{problems}\nthe output: {shown!r}",
            provider=self.llm.provider_label,
            raw=raw,
            errors=errors,
        )


class StreamReader:
    """Reads one streamed attempt into partial objects.

    What is new in each chunk goes to a :class:`PartialJSONParser`, which keeps its
    state, so the parse work of a whole stream grows linearly with its length.

    A partial object costs what is still open in the value (see :class:`PartialBuilder`):
    little for a small object, but a copy of the text so far while a long string is
    open, and of every item while a long array is. So partials are paced by cost: each
    chunk read earns a fixed budget, and a partial is due once the estimated cost of the
    next one fits what was earned since the last. Small, shallow objects get one after
    every chunk that changes them; deep ones every few chunks; a 1 MB string every few
    hundred. The work of a whole stream stays linear in its length, and each partial
    shows the value as it is after the chunk that made it due. Text waits (unparsed)
    until the budget could pay for a partial: parsing fewer, longer pieces is cheaper.
    """

    def __init__(self, run: StructuredRun) -> None:
        self._function = run.tool is not None
        start = "{[" if run.schema.is_list and not self._function else "{"
        self._parser = PartialJSONParser(start, max_depth=_MAX_PARTIAL_DEPTH)
        self._builder = PartialBuilder(run.schema)
        self._seen = 0
        self._pending: list[str] = []  # text not parsed yet
        self._broken = False
        self._version = 0  # the parser's version when the last partial was built
        self._budget = 0  # earned since the last partial
        self._cost = 0  # the estimated cost of the next partial, as of the last parse

    def feed(self, chunk: ChatResponse) -> bool:
        """Read a chunk; whether a partial object is due (the value changed, the budget allows)."""
        if self._broken:
            return False
        if self._function:
            call = _first_call(chunk.message)
            if call is None or not isinstance(call.tool_kwargs, str):
                return False  # no call yet, or complete (the final object follows)
            new = call.tool_kwargs[self._seen :]
        else:
            delta = chunk.delta
            new = delta if delta is not None else (chunk.message.content or "")[self._seen :]
        if not new:
            return False
        self._seen += len(new)
        self._pending.append(new)
        budget = self._budget = self._budget + _CHUNK_BUDGET
        if budget < self._cost:
            return False  # not enough for a partial yet: parse later, in one piece
        parser = self._parser
        pending = self._pending
        text = pending[0] if len(pending) == 1 else "".join(pending)
        pending.clear()
        try:
            parser.feed(text)
        except PartialJSONError:
            self._broken = True  # no more partials; the final answer is still read
            return False
        version = parser.version
        if version == self._version:  # unchanged (or not started: the version starts at 0)
            return False
        depth, entries, items, characters = parser.open_extent()
        cost = self._cost = (
            _COST_BASE
            + _COST_LEVEL * depth
            + _COST_ENTRY * entries
            + _COST_ITEM * items
            + characters // _CHARS_PER_UNIT
        )
        if cost > budget:
            return False  # coalesced: the next partial due includes this chunk
        self._budget = 0
        self._version = version
        return True

    def flush(self) -> bool:
        """At the end of the stream: whether a last partial is due (the value changed since).

        So the last partial always shows all of the answer, whatever the pacing skipped.
        """
        if self._broken:
            return False
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            try:
                self._parser.feed(text)
            except PartialJSONError:
                self._broken = True
                return False
        version = self._parser.version
        if version == self._version:
            return False
        self._version = version
        return True

    def partial(self) -> Any:
        """The partial object (or list of them) so far."""
        return self._builder.build(self._parser.value, self._parser.closed)


# Pacing partial objects (StreamReader): the estimated cost of building one, in about
# nanoseconds on the machine they were measured on, against the budget each chunk read
# earns (bench/bench_structured.py: plain streaming costs ~4.5 µs per chunk there, and
# parsing 0.4-1 µs). Only the ratios matter: a faster machine is faster at both.
_CHUNK_BUDGET = 1_000
_COST_BASE = 900  # the builder's walk and the root's partial object
_COST_LEVEL = 800  # each open object or array on the path (a new partial object or list)
_COST_ENTRY = 25  # each entry of an open object (copied into its partial)
_COST_ITEM = 3  # each item of an open array (a reference copied)
_CHARS_PER_UNIT = 64  # an open string is copied (a memcpy) into the partial


def partial_cost(depth: int, entries: int, items: int, characters: int) -> int:
    """The estimated cost of a partial object, from :meth:`PartialJSONParser.open_extent`."""
    return (
        _COST_BASE
        + _COST_LEVEL * depth
        + _COST_ENTRY * entries
        + _COST_ITEM * items
        + characters // _CHARS_PER_UNIT
    )


# -- drivers -----------------------------------------------------------------------------


def run_sync(run: StructuredRun) -> Any:
    """Call until an answer validates (or the retries are used up)."""
    while True:
        messages, options = run.request()
        result = run.finish(run.llm.chat(messages, **options))
        if result is not _RETRY:
            return result


async def run_async(run: StructuredRun) -> Any:
    """Async :func:`run_sync`."""
    while True:
        messages, options = run.request()
        result = run.finish(await run.llm.achat(messages, **options))
        if result is not _RETRY:
            return result


def stream_sync(run: StructuredRun) -> Generator[Any, None, None]:
    """Yield partial objects as the answer streams, then the validated object."""
    while True:
        messages, options = run.request()
        reader = run.reader()
        last: ChatResponse | None = None
        for chunk in run.llm.stream_chat(messages, **options):
            last = chunk
            if reader.feed(chunk):
                yield reader.partial()
        if reader.flush():
            yield reader.partial()
        result = run.finish(last)
        if result is not _RETRY:
            yield result
            return


async def stream_async(run: StructuredRun) -> AsyncGenerator[Any, None]:
    """Async :func:`stream_sync`."""
    while True:
        messages, options = run.request()
        reader = run.reader()
        last: ChatResponse | None = None
        chunks = await run.llm.astream_chat(messages, **options)
        try:
            async for chunk in chunks:
                last = chunk
                if reader.feed(chunk):
                    yield reader.partial()
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        if reader.flush():
            yield reader.partial()
        result = run.finish(last)
        if result is not _RETRY:
            yield result
            return
