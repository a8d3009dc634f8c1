"""Function-calling LLMs: ``chat_with_tools`` and one native tool round.

A provider whose API takes tools derives from :class:`FunctionCallingLLM` (next to its
usual base) and implements one method, :meth:`FunctionCallingLLM._prepare_chat_with_tools`,
which turns the tools and the tool choice into the keyword arguments of its ``chat``::

    class MyLLM(HTTPChatLLM, FunctionCallingLLM):
        def _prepare_chat_with_tools(
            self, tools, user_msg=None, chat_history=None, verbose=False,
            allow_parallel_tool_calls=False, tool_required=False, tool_choice=None,
            **kwargs,
        ):
            choice = resolve_tool_choice(tools, tool_choice, tool_required, self.provider_label)
            return {
                "messages": tool_chat_messages(user_msg, chat_history),
                "tools": [t.metadata.to_openai_tool() for t in tools],
                "tool_choice": ...,  # ``choice`` in the API's format
                **kwargs,
            }

Its ``chat``/``stream_chat`` must return the model's calls as
:class:`~llmplug.ToolCallBlock` s in the reply (streamed: partial blocks, the arguments
as raw text until they parse), and send a ``role="tool"`` message's
``additional_kwargs["tool_call_id"]`` back as the id of the call it answers.
Everything else (streaming, validation, ``predict_and_call``) comes from this class.

The tool machinery (``_execution``: argument checks, running tools) is imported by the
methods that use it, not with the class: a provider deriving from it loads none of it
until tools are used.
"""

from __future__ import annotations

import functools
import inspect
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from llmplug._untrusted import loads_json, shorten
from llmplug.errors import InvalidOptionError, ToolCallError, UnsupportedContentError
from llmplug.llm._base import LLM
from llmplug.types._blocks import ToolCallBlock
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import ChatResponse, ChatResponseAsyncGen, ChatResponseGen

if TYPE_CHECKING:
    import logging

    from llmplug.tools._types import AgentChatResponse, BaseTool, ToolSelection

__all__ = [
    "FunctionCallingLLM",
    "ToolChoice",
    "resolve_tool_choice",
    "split_messages",
    "tool_call_arguments",
    "tools_option",
    "tool_chat_messages",
]


def _logger() -> logging.Logger:
    # lazy for lightness: logging loads only when a warning is logged
    import logging

    return logging.getLogger("llmplug")


class ToolChoice(NamedTuple):
    """Which tool the model must call, whatever the provider's wire format.

    Attributes:
        mode: ``"auto"`` (the model decides), ``"required"`` (some tool), ``"none"``
            (no tool), ``"tool"`` (the tool ``name``), or ``"raw"`` (``raw`` is a
            provider-specific value given by the caller, to send as it is).
        name: The tool's name, for ``mode="tool"``.
        raw: The caller's own value, for ``mode="raw"``.
    """

    mode: Literal["auto", "required", "none", "tool", "raw"]
    name: str | None = None
    raw: Any = None


def resolve_tool_choice(
    tools: Sequence[BaseTool],
    tool_choice: Any = None,
    tool_required: bool = False,
    provider: str | None = None,
) -> ToolChoice:
    """Normalise ``tool_choice``/``tool_required`` for a provider to map to its format.

    Args:
        tools: The tools offered.
        tool_choice: ``None``, ``"auto"``, ``"required"`` (or ``"any"``), ``"none"``, a
            tool's name, or a provider-specific dict passed through as ``raw``.
        tool_required: With no ``tool_choice``: the model must call some tool.
        provider: The provider's name, for errors.

    Raises:
        InvalidOptionError: ``tool_choice`` names no tool given.
    """
    if tool_choice is None:
        return ToolChoice("required" if tool_required else "auto")
    if isinstance(tool_choice, dict):
        return ToolChoice("raw", raw=tool_choice)
    if not isinstance(tool_choice, str):
        raise TypeError(
            f"tool_choice must be 'auto', 'required', 'none' or a tool's name, "
            f"not a {type(tool_choice).__name__}"
        )
    if tool_choice in ("auto", "required", "none"):
        return ToolChoice(tool_choice)  # type: ignore[arg-type]
    if tool_choice == "any":  # Anthropic's word for "required"
        return ToolChoice("required")
    names = [tool.metadata.get_name() for tool in tools]
    if tool_choice not in names:
        raise InvalidOptionError(
            f"tool_choice={tool_choice!r} is not one of the tools given "
            f"({', '.join(names) or 'none'}), nor 'auto', 'required' or 'none'",
            provider=provider,
            option="tool_choice",
            valid_options=["auto", "required", "none", *names],
        )
    return ToolChoice("tool", name=tool_choice)


def tool_chat_messages(
    user_msg: str | ChatMessage | None = None,
    chat_history: Sequence[ChatMessage] | None = None,
) -> list[ChatMessage]:
    """The messages of a tool call: a copy of ``chat_history`` plus ``user_msg``.

    The caller's list is never changed.
    """
    messages = list(chat_history or ())
    if isinstance(user_msg, str):
        user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
    if user_msg is not None:
        messages.append(user_msg)
    return messages


def tools_option(tools: Sequence[Any]) -> list[BaseTool | dict[str, Any]]:
    """A provider's ``tools`` option, in order: the API's own dicts kept, the rest as tools.

    For providers whose ``tools`` option (and per-call ``tools``) takes tool definitions
    in the API's own format as well as llmplug tools: dicts are kept as given,
    :class:`~llmplug.BaseTool` s as they are, and plain functions wrapped with
    ``FunctionTool.from_defaults``; the provider then converts the tools into its
    format. A list of dicts only loads none of the tool machinery.

    Raises:
        ValueError: An item that is none of those.
    """
    if all(isinstance(tool, dict) for tool in tools):
        return list(tools)  # the usual case: no tool machinery to load
    # lazy for lightness: tool types and schemas load only when tools are given
    from llmplug.tools._function_tool import FunctionTool
    from llmplug.tools._types import BaseTool

    result: list[BaseTool | dict[str, Any]] = []
    for tool in tools:
        if isinstance(tool, dict | BaseTool):
            result.append(tool)
        elif callable(tool):
            result.append(FunctionTool.from_defaults(tool))
        else:
            raise ValueError(
                f"a tool is a dict in the API's own format, a FunctionTool "
                f"or a function, not {type(tool).__name__}"
            )
    return result


def tool_call_arguments(block: ToolCallBlock, provider: str | None = None) -> dict[str, Any]:
    """A tool call's arguments as the JSON object an API takes back in a conversation.

    For providers sending the assistant's earlier tool calls: a model's call keeps its
    arguments as a dict, or as the raw text when they did not parse as JSON (``""``
    means none, ``{}``). Text nested too deeply counts as not JSON.

    Args:
        block: The tool call.
        provider: The provider's name, for the error.

    Raises:
        UnsupportedContentError: The arguments are not a JSON object (raised before any
            request, like any other content the provider cannot send).
    """
    arguments: Any = block.tool_kwargs
    if isinstance(arguments, str):
        try:
            arguments = loads_json(arguments) if arguments.strip() else {}
        except ValueError:  # not JSON, or nested too deeply (a model looping on "[[[[")
            arguments = None
    if isinstance(arguments, dict):
        return arguments
    shown = shorten(block.tool_kwargs)
    raise UnsupportedContentError(
        f"the arguments of a tool call are a JSON object, but tool {block.tool_name!r} has "
        f"{shown}, which is not a JSON object; give ToolCallBlock(tool_kwargs={{...}})",
        provider=provider,
        block_type=block.block_type,
    )


def tool_calls_of(message: ChatMessage) -> list[ToolCallBlock]:
    """The tool-call blocks of a message, in order."""
    return [block for block in message.blocks if isinstance(block, ToolCallBlock)]


class FunctionCallingLLM(LLM):
    """An LLM whose API takes tools (LlamaIndex's ``FunctionCallingLLM``).

    A provider implements :meth:`_prepare_chat_with_tools`; ``chat_with_tools`` and its
    async and streaming twins, ``get_tool_calls_from_response`` and a native
    ``predict_and_call`` come with the class. When ``metadata.is_function_calling_model``
    is false (a model that cannot call tools), ``predict_and_call`` uses the ReAct text
    round of :class:`~llmplug.LLM` instead.
    """

    @abstractmethod
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
        """The keyword arguments of the ``chat`` call that offers ``tools``.

        The one method a provider implements for tool calling. Return ``messages``
        (:func:`tool_chat_messages` builds them) and the provider's per-call options
        for the tools and the tool choice (:func:`resolve_tool_choice` validates it),
        plus ``kwargs`` (the caller's other per-call options).

        Args:
            tools: The tools offered.
            user_msg: The new user message, if any.
            chat_history: The conversation so far (do not change it).
            verbose: Print what happens.
            allow_parallel_tool_calls: The model may call several tools in one reply.
            tool_required: The model must call a tool.
            tool_choice: ``"auto"``, ``"required"``, ``"none"``, a tool's name, or a
                provider-specific value.
            **kwargs: Other per-call options, to pass on.
        """

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel calls were allowed (LlamaIndex).

        Providers are asked for one call (``parallel_tool_calls=False``); a model that
        still makes several has the extra ones dropped, and a warning is logged.
        """
        if allow_parallel_tool_calls:
            return response
        calls = tool_calls_of(response.message)
        if len(calls) <= 1:
            return response
        _logger().warning(
            "%s: the model made %d tool calls with allow_parallel_tool_calls=False; "
            "only the first (%s) is kept",
            self.provider_label,
            len(calls),
            calls[0].tool_name,
        )
        first = calls[0]
        blocks = [
            b for b in response.message.blocks if not isinstance(b, ToolCallBlock) or b is first
        ]
        message = response.message.model_copy(update={"blocks": blocks})
        return response.model_copy(update={"message": message})

    def chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Chat, offering ``tools``; the reply's ``ToolCallBlock`` s are the calls.

        Args:
            tools: The tools offered.
            user_msg: The new user message (a str or a ChatMessage).
            chat_history: The conversation so far; never changed.
            verbose: Print what happens.
            allow_parallel_tool_calls: The model may call several tools at once.
            tool_required: The model must call a tool.
            **kwargs: ``tool_choice`` (a tool's name, ``"auto"``, ``"required"``,
                ``"none"``) and per-call options of the provider.
        """
        tools, messages, options = self._tool_chat(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, kwargs
        )
        response = self.chat(messages, **options)
        return self._validate_chat_with_tools_response(
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls
        )

    async def achat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Async :meth:`chat_with_tools`."""
        tools, messages, options = self._tool_chat(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, kwargs
        )
        response = await self.achat(messages, **options)
        return self._validate_chat_with_tools_response(
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls
        )

    def stream_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponseGen:
        """Stream :meth:`chat_with_tools`: tool calls arrive as partial ``ToolCallBlock`` s.

        While a call's arguments are incomplete its ``tool_kwargs`` is the raw text so
        far; once they parse, a dict. Read the calls from the last chunk.
        """
        tools, messages, options = self._tool_chat(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, kwargs
        )
        return self.stream_chat(messages, **options)

    async def astream_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat_with_tools`: ``await`` it, then ``async for``."""
        tools, messages, options = self._tool_chat(
            tools, user_msg, chat_history, verbose, allow_parallel_tool_calls, tool_required, kwargs
        )
        return await self.astream_chat(messages, **options)

    def _tool_chat(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None,
        chat_history: Sequence[ChatMessage] | None,
        verbose: bool,
        allow_parallel_tool_calls: bool,
        tool_required: bool,
        kwargs: dict[str, Any],
    ) -> tuple[list[BaseTool], list[ChatMessage], dict[str, Any]]:
        """The tools, messages and options of one ``*_chat_with_tools`` call."""
        checked = _as_tools(tools)
        if _declares_tool_required(type(self)._prepare_chat_with_tools):
            kwargs = {**kwargs, "tool_required": tool_required}
        elif tool_required:
            # as LlamaIndex: an integration written before tool_required still works
            _logger().warning(
                "%s: tool_required=True is not supported by %s (its _prepare_chat_with_tools "
                "does not take tool_required): the model may answer without calling a tool; "
                "add tool_required to its parameters, or pass tool_choice",
                self.provider_label,
                type(self).__name__,
            )
        chat_kwargs = self._prepare_chat_with_tools(
            checked,
            user_msg=user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            **kwargs,
        )
        messages, options = split_messages(chat_kwargs)
        return checked, messages, options

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The tool calls of a reply, as :class:`~llmplug.ToolSelection` s.

        Args:
            response: A reply of :meth:`chat_with_tools` (or the last streamed chunk).
            error_on_no_tool_call: Raise when the reply holds no tool call.
            **kwargs: Accepted for LlamaIndex compatibility; unused.

        Raises:
            ToolCallError: No tool call, and ``error_on_no_tool_call`` is set.
        """
        from llmplug.tools._execution import selections_from_blocks

        selections = selections_from_blocks(tool_calls_of(response.message))
        if not selections and error_on_no_tool_call:
            text = (response.message.content or "").strip()
            said = f"; it answered: {text[:200]!r}" if text else ""
            raise ToolCallError(
                f"expected at least one tool call, but the model made none{said} "
                f"(pass error_on_no_tool_call=False to accept an answer without one)",
                provider=self.provider_label,
            )
        return selections

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
        """One native tool round (a ReAct text round if the model cannot call tools).

        See :meth:`llmplug.LLM.predict_and_call` for the arguments and the result.
        """
        if not self.metadata.is_function_calling_model:
            return super().predict_and_call(
                tools,
                user_msg,
                chat_history,
                verbose,
                allow_parallel_tool_calls=allow_parallel_tool_calls,
                error_on_no_tool_call=error_on_no_tool_call,
                error_on_tool_error=error_on_tool_error,
                **kwargs,
            )
        from llmplug.tools._execution import call_selections, tool_round_result

        tools = _as_tools(tools)
        response = self.chat_with_tools(
            tools,
            user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            **kwargs,
        )
        selections = self.get_tool_calls_from_response(
            response, error_on_no_tool_call=error_on_no_tool_call
        )
        outputs = call_selections(
            selections, tools, verbose=verbose, error_on_tool_error=error_on_tool_error
        )
        return tool_round_result(response, selections, outputs, response.message.content)

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
        """Async :meth:`predict_and_call`: the tools called run concurrently."""
        if not self.metadata.is_function_calling_model:
            return await super().apredict_and_call(
                tools,
                user_msg,
                chat_history,
                verbose,
                allow_parallel_tool_calls=allow_parallel_tool_calls,
                error_on_no_tool_call=error_on_no_tool_call,
                error_on_tool_error=error_on_tool_error,
                **kwargs,
            )
        from llmplug.tools._execution import acall_selections, tool_round_result

        tools = _as_tools(tools)
        response = await self.achat_with_tools(
            tools,
            user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            **kwargs,
        )
        selections = self.get_tool_calls_from_response(
            response, error_on_no_tool_call=error_on_no_tool_call
        )
        outputs = await acall_selections(
            selections, tools, verbose=verbose, error_on_tool_error=error_on_tool_error
        )
        return tool_round_result(response, selections, outputs, response.message.content)


@functools.cache
def _declares_tool_required(prepare: Callable[..., Any]) -> bool:
    """Whether a ``_prepare_chat_with_tools`` names ``tool_required`` (read once per override).

    As in LlamaIndex, a ``**kwargs`` catch-all does not count: an override written
    before ``tool_required`` existed would pass it on to the provider's API.
    """
    try:
        return "tool_required" in inspect.signature(prepare).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def split_messages(chat_kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``messages`` positional (as the endpoints take it), the options as a dict."""
    options = dict(chat_kwargs)
    try:
        messages = options.pop("messages")
    except KeyError:
        raise TypeError(
            "_prepare_chat_with_tools must return the chat's 'messages' with its options"
        ) from None
    return messages, options


def _as_tools(tools: Sequence[Any]) -> list[BaseTool]:
    from llmplug.tools._execution import as_tools

    return as_tools(tools)
