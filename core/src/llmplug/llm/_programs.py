"""The seam: the seed API's methods that belong to the layers above ``llmplug.llm``.

LlamaIndex's ``LLM`` offers ``structured_predict`` (and its async and streaming forms),
``as_structured_llm`` and ``predict_and_call``, whose machinery lives above this layer:
in ``llmplug.structured`` and ``llmplug.tools``. :class:`ProgramMethods`, a base of
:class:`~llmplug.LLM`, holds them as thin entry points.

This module is the one place where ``llmplug.llm`` reaches upward, and it does so only
in the four function bodies marked "the seam" (plus type-only imports): the layers above
are imported when one of these methods is first called, never when the LLM base is.
The import-linter contract (``pyproject.toml``) lists exactly these edges.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel

from llmplug.types._messages import ChatMessage

if TYPE_CHECKING:
    from llmplug.llm._base import LLM
    from llmplug.prompts._templates import BasePromptTemplate
    from llmplug.structured._output_schema import OutputSchema
    from llmplug.structured._run import StructuredRun
    from llmplug.structured._structured_llm import StructuredLLM
    from llmplug.tools._types import AgentChatResponse, BaseTool

__all__ = ["ProgramMethods"]

Model = TypeVar("Model", bound=BaseModel)


class ProgramMethods:
    """Structured output and the tool round of every :class:`~llmplug.LLM`."""

    __slots__ = ()

    def _llm(self) -> LLM:
        return self  # type: ignore[return-value]  # only ever a base of LLM

    # -- structured output -------------------------------------------------------------

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """The per-call options that make the provider answer with JSON fitting ``schema``.

        For providers with native constrained output: declare
        ``Capabilities(json_schema=True)`` and return the options (e.g. OpenAI's
        ``{"response_format": {"type": "json_schema", ...}}``) built from
        ``schema.name``, ``schema.description`` and ``schema.json_schema`` (or
        ``schema.strict_json_schema()``). ``None`` (the default) means no native path,
        for this model: structured calls then use a tool call or the prompt.
        """
        return None

    def _structured_run(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> StructuredRun:
        from llmplug.prompts._templates import PromptTemplate  # lazy for lightness: pydantic models
        from llmplug.structured._run import StructuredRun  # the seam: structured output

        template = PromptTemplate(prompt) if isinstance(prompt, str) else prompt
        messages = template.format_messages(llm=self._llm(), **prompt_args)
        return StructuredRun(self._llm(), output_cls, messages, llm_kwargs)

    @overload
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model: ...

    @overload
    def structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any: ...

    def structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Format ``prompt`` with ``prompt_args``; answer with a validated ``output_cls``.

        The path follows ``pydantic_program_mode`` and what the provider offers (see
        :class:`PydanticProgramMode`). An answer that does not validate is sent back
        with the errors, ``structured_output_retries`` times.

        Args:
            output_cls: A pydantic model class, or ``list[Model]``.
            prompt: A prompt template (a str is used as a ``PromptTemplate``).
            llm_kwargs: Per-call options of the provider (``temperature=0``...).
            **prompt_args: The template's variables.

        Returns:
            An ``output_cls`` instance (a list of models for ``list[Model]``).

        Raises:
            StructuredOutputError: The answer still does not validate after the
                retries (``raw``: the text, ``errors``: pydantic's errors).
            InvalidOptionError: The mode forces a path the provider does not have.
        """
        return self._structured_run(output_cls, prompt, llm_kwargs, prompt_args).result()

    @overload
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model: ...

    @overload
    async def astructured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any: ...

    async def astructured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async :meth:`structured_predict`."""
        run = self._structured_run(output_cls, prompt, llm_kwargs, prompt_args)
        return await run.aresult()

    def stream_structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Like :meth:`structured_predict`, yielding partial objects as the answer streams.

        Partial objects are :class:`~llmplug.FlexibleModel` s (a list of them for
        ``list[Model]``): every field ``None`` until it arrives, strings growing as
        they stream, not validated. The last item is the validated ``output_cls``
        object. A retry streams again: partials then start over.
        """
        return self._structured_run(output_cls, prompt, llm_kwargs, prompt_args).stream()

    async def astream_structured_predict(
        self,
        output_cls: Any,
        prompt: BasePromptTemplate | str,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream_structured_predict`: ``await`` it, then ``async for``."""
        return self._structured_run(output_cls, prompt, llm_kwargs, prompt_args).astream()

    def as_structured_llm(self, output_cls: Any, **kwargs: Any) -> StructuredLLM:
        """An LLM answering every call with an ``output_cls`` object (its JSON as text).

        Args:
            output_cls: A pydantic model class, or ``list[Model]``.
            **kwargs: Other fields of :class:`~llmplug.StructuredLLM`
                (``system_prompt``...).
        """
        from llmplug.structured._structured_llm import StructuredLLM  # the seam

        structured = StructuredLLM(llm=self._llm(), output_cls=output_cls, **kwargs)
        structured._provider = self._llm().provider_label
        return structured

    # -- one tool round ----------------------------------------------------------------

    def predict_and_call(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Let the model pick a tool (or several) for ``user_msg``, call it, return its output.

        One round: the model's choice is run, its output is the answer; the model does
        not see the output (an agent loop would send it back). A function-calling model
        (``metadata.is_function_calling_model``, see :class:`~llmplug.FunctionCallingLLM`)
        calls tools natively; any other model is shown the tools in a ReAct prompt and
        its ``Thought`` / ``Action`` / ``Action Input`` reply is parsed.

        Arguments are validated against each tool's schema. A tool that raises, arguments
        that do not fit, or a tool name the model invented give an output with
        ``is_error=True`` saying so (or raise, with ``error_on_tool_error``). The caller's
        ``chat_history`` is never changed.

        Args:
            tools: The tools (``FunctionTool`` s, other ``BaseTool`` s, or plain functions).
            user_msg: The new user message.
            chat_history: The conversation so far.
            verbose: Print each call and its output.
            allow_parallel_tool_calls: Run every call the model makes (else the first).
            error_on_no_tool_call: Raise when the model calls no tool (else its text
                is the answer).
            error_on_tool_error: Raise when a call fails instead of returning an error
                output.
            **kwargs: ``tool_required``, ``tool_choice`` (a tool's name) and per-call
                options of the provider.

        Returns:
            ``response``: the outputs' text (joined by blank lines), or the model's
            answer when it called no tool; ``sources``: the tool outputs.

        Raises:
            ToolCallError: No tool call (with ``error_on_no_tool_call``), or a failed
                call (with ``error_on_tool_error``).
        """
        from llmplug.tools._react import react_round  # the seam: one ReAct round

        return react_round(
            self._llm(),
            tools,
            user_msg,
            chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            error_on_no_tool_call=error_on_no_tool_call,
            error_on_tool_error=error_on_tool_error,
            options=kwargs,
        )

    async def apredict_and_call(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Async :meth:`predict_and_call`: the tools called run concurrently.

        Async tools are awaited together (``asyncio.gather``); sync tools run in worker
        threads, so the event loop is never blocked.
        """
        from llmplug.tools._react import areact_round  # the seam: one ReAct round

        return await areact_round(
            self._llm(),
            tools,
            user_msg,
            chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            error_on_no_tool_call=error_on_no_tool_call,
            error_on_tool_error=error_on_tool_error,
            options=kwargs,
        )
