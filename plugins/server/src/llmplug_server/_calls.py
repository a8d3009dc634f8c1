"""One gateway call, whichever API it came in by: what to ask which LLM, and the asking.

Both wire modules (``_openai_wire``, ``_anthropic_wire``) parse a request into a
:class:`CallPlan`: llmplug messages, llmplug's per-call options, tools given as JSON
schemas, and an output schema. :meth:`CallPlan.run` and :meth:`CallPlan.stream` call the
model through llmplug's public endpoints (``achat``, ``astream_chat``, the
``*_chat_with_tools`` twins, ``as_structured_llm``), so every hook plugin sees a gateway
call exactly as it sees a library call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from llmplug import LLM, ChatMessage, ChatResponse, ToolCallBlock, Usage
from llmplug.tools import BaseTool, FunctionCallingLLM, ToolMetadata, ToolOutput
from llmplug_server._errors import GatewayError, invalid

__all__ = ["CallPlan", "SchemaTool", "finish_reason", "tool_arguments"]

# llmplug's option name -> the names providers give it, in order of preference
_RENAMES: dict[str, tuple[str, ...]] = {
    "max_tokens": ("max_tokens", "num_predict"),
    "stop": ("stop", "stop_sequences"),
}
_TRUNCATED = frozenset({"length", "max_tokens", "model_length", "MAX_TOKENS"})
_FILTERED = frozenset({"content_filter", "SAFETY", "refusal"})


@dataclass(eq=False)
class _SchemaMetadata(ToolMetadata):
    """Tool metadata whose argument schema is a JSON schema given as data."""

    parameters: dict[str, Any] = field(default_factory=dict)

    def get_parameters_dict(self) -> dict[str, Any]:
        """The JSON schema the client sent (an empty object schema when it sent none)."""
        return self.parameters or {"type": "object", "properties": {}}


class SchemaTool(BaseTool):
    """A tool the client declared: a name, a description and a JSON schema.

    The gateway only offers it to the model; the client runs it and sends the result
    back in a later request, so calling it here is a mistake.
    """

    def __init__(self, name: str, description: str, parameters: dict[str, Any]) -> None:
        self._metadata = _SchemaMetadata(
            description=description, name=name, fn_schema=None, parameters=parameters
        )

    @property
    def metadata(self) -> ToolMetadata:
        """The tool's name, description and JSON schema."""
        return self._metadata

    def __call__(self, input: Any) -> ToolOutput:
        """Refuse: the client runs its own tools."""
        return ToolOutput(
            content="this tool runs on the client, not in the gateway",
            tool_name=self._metadata.get_name(),
            is_error=True,
        )


class AnyObject(BaseModel):
    """Any JSON object (``response_format: {"type": "json_object"}``)."""

    model_config = ConfigDict(extra="allow")


@dataclass
class CallPlan:
    """What one request asks of one model.

    Attributes:
        model: The public model name.
        llm: The model.
        messages: The conversation, as llmplug messages.
        options: llmplug per-call options (``temperature``, ``max_tokens``, ``stop``...),
            renamed for the model by :meth:`call_options`.
        tools: The client's tools, if it offered any.
        tool_choice: ``"auto"``, ``"required"``, ``"none"`` or a tool's name.
        parallel_tool_calls: Whether the model may call several tools at once.
        output: The output schema as a pydantic model (structured output), if asked.
    """

    model: str
    llm: LLM
    messages: list[ChatMessage]
    options: dict[str, Any] = field(default_factory=dict)
    tools: list[SchemaTool] | None = None
    tool_choice: str | None = None
    parallel_tool_calls: bool = True
    output: type[BaseModel] | None = None

    def call_options(self) -> dict[str, Any]:
        """The options under the names this model takes.

        Raises:
            GatewayError: 400, the model takes no such option (naming those it takes).
        """
        declared = type(self.llm).per_call_options
        if not declared or not self.options:
            return dict(self.options)
        result: dict[str, Any] = {}
        for name, value in self.options.items():
            found = next((n for n in _RENAMES.get(name, (name,)) if n in declared), None)
            if found is None:
                raise invalid(
                    f"model {self.model!r} does not take {name!r}; leave it out (options "
                    f"it takes: {', '.join(sorted(declared))})",
                    name,
                    "unsupported_parameter",
                )
            result[found] = value
        return result

    def _check(self) -> None:
        if self.tools and self.output is not None:
            raise invalid(
                "tools and a JSON schema response format in one request are not supported "
                "by this gateway: send one of them",
                "response_format",
            )
        if self.tools and not isinstance(self.llm, FunctionCallingLLM):
            raise invalid(
                f"model {self.model!r} cannot call tools; leave 'tools' out or use another model",
                "tools",
                "tools_unsupported",
            )

    def _tool_kwargs(self) -> dict[str, Any]:
        return {
            "chat_history": self.messages,
            "tool_choice": self.tool_choice,
            "allow_parallel_tool_calls": self.parallel_tool_calls,
            **self.call_options(),
        }

    async def run(self) -> ChatResponse:
        """Call the model once (``achat``, ``achat_with_tools`` or a structured call)."""
        self._check()
        if self.output is not None:
            structured = self.llm.as_structured_llm(self.output)
            return await structured.achat(self.messages, **self.call_options())
        if self.tools:
            assert isinstance(self.llm, FunctionCallingLLM)
            return await self.llm.achat_with_tools(self.tools, **self._tool_kwargs())
        return await self.llm.achat(self.messages, **self.call_options())

    async def stream(self) -> AsyncIterator[ChatResponse]:
        """Start the model's stream; the chunks as llmplug gives them.

        Structured output is validated (and retried) before it is sent, so its stream is
        the finished answer in one chunk.
        """
        self._check()
        if self.output is not None:
            return _one(await self.run())
        if self.tools:
            assert isinstance(self.llm, FunctionCallingLLM)
            return await self.llm.astream_chat_with_tools(self.tools, **self._tool_kwargs())
        return await self.llm.astream_chat(self.messages, **self.call_options())


async def _one(response: ChatResponse) -> AsyncIterator[ChatResponse]:
    text = response.message.content or ""
    yield response.model_copy(update={"delta": text})


def finish_reason(response: ChatResponse | None) -> str:
    """``"stop"``, ``"length"``, ``"tool_calls"`` or ``"content_filter"``, from a reply."""
    if response is None:
        return "stop"
    if any(isinstance(b, ToolCallBlock) for b in response.message.blocks):
        return "tool_calls"
    extra = response.additional_kwargs
    reason = extra.get("finish_reason") or extra.get("stop_reason") or extra.get("done_reason")
    if reason in _TRUNCATED:
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return "stop"


def tool_arguments(block: ToolCallBlock) -> str:
    """A tool call's arguments as JSON text (raw text when the model's did not parse)."""
    kwargs = block.tool_kwargs
    return kwargs if isinstance(kwargs, str) else json.dumps(kwargs, ensure_ascii=False)


def usage_of(response: ChatResponse | None) -> Usage:
    """The reply's usage (zeros when the provider reported none)."""
    usage = response.usage if response is not None else None
    return usage if usage is not None else Usage()


def parse_schema(schema: Any, name: str, param: str) -> type[BaseModel]:
    """The pydantic model of a JSON schema a client sent for structured output.

    Raises:
        GatewayError: 400, the schema is not an object schema llmplug can validate.
    """
    from llmplug.structured import schema_model

    if not isinstance(schema, Mapping):
        raise invalid(f"{param} must be a JSON schema object", param)
    try:
        return schema_model(dict(schema), name or "Output")
    except (ValueError, TypeError) as exc:
        raise invalid(f"{param}: {exc}", param, "invalid_schema") from None


def text_of(blocks: Sequence[Any]) -> str:
    """The text of text blocks (``TextBlock.text``), joined."""
    return "".join(getattr(b, "text", "") for b in blocks if getattr(b, "block_type", "") == "text")


def check_number(
    body: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool = False
) -> float | int | None:
    """A numeric request field within ``[low, high]``, or ``None`` when absent.

    Raises:
        GatewayError: 400 naming the field and its range.
    """
    value = body.get(key)
    if value is None:
        return None
    number = isinstance(value, int) or (not integer and isinstance(value, float))
    if isinstance(value, bool) or not number or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise invalid(f"{key} must be {what} from {low:g} to {high:g}, not {value!r}", key)
    return value  # type: ignore[no-any-return]


def gateway_error_for_status(status: int, message: str) -> GatewayError:
    """A plain error of a status (used for malformed requests)."""
    kinds = {400: "invalid_request", 404: "not_found", 413: "request_too_large"}
    return GatewayError(status, kinds.get(status, "invalid_request"), message)
