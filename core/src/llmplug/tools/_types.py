"""What tools are made of: LlamaIndex's ``BaseTool``, its metadata, calls and outputs.

A tool has :class:`ToolMetadata` (name, description, argument schema) and a call that
gives a :class:`ToolOutput`. A model's choice of tool is a :class:`ToolSelection`;
``llm.predict_and_call(tools, ...)`` returns an :class:`AgentChatResponse` whose
``sources`` are the outputs of the tools called. :class:`~llmplug.FunctionTool`
(``_function_tool``) wraps a plain function.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmplug.llm._bridges import run_in_thread
from llmplug.types._base_model import Model
from llmplug.types._blocks import ContentBlock, TextBlock

__all__ = [
    "AgentChatResponse",
    "AsyncBaseTool",
    "BaseTool",
    "BaseToolAsyncAdapter",
    "DefaultToolFnSchema",
    "ToolMetadata",
    "ToolOutput",
    "ToolSelection",
    "adapt_to_async_tool",
    "tools_by_name",
]


#: Longest tool description OpenAI accepts.
MAX_DESCRIPTION = 1024


class DefaultToolFnSchema(BaseModel):
    """The argument schema of a tool that declares none: one string, ``input``."""

    input: str


@dataclass
class ToolMetadata:
    """What a model is told about a tool: its name, description and argument schema.

    Attributes:
        description: What the tool does (the model reads this to choose it).
        name: The name the model calls it by.
        fn_schema: A pydantic model of the arguments (``None``: one string ``input``).
        return_direct: Agents return the tool's output as the answer, without another
            model turn.
    """

    description: str
    name: str | None = None
    fn_schema: type[BaseModel] | None = DefaultToolFnSchema
    return_direct: bool = False

    def get_parameters_dict(self) -> dict[str, Any]:
        """The JSON schema of the arguments (``type``, ``properties``, ``required``, ``$defs``)."""
        if self.fn_schema is None:
            return {
                "type": "object",
                "properties": {"input": {"title": "input query string", "type": "string"}},
                "required": ["input"],
            }
        schema = self.fn_schema.model_json_schema()
        return {
            key: value
            for key, value in schema.items()
            if key in ("type", "properties", "required", "definitions", "$defs")
        }

    @property
    def fn_schema_str(self) -> str:
        """The argument schema as JSON text.

        Raises:
            ValueError: ``fn_schema`` is ``None``.
        """
        if self.fn_schema is None:
            raise ValueError("fn_schema is None: this tool declares no argument schema")
        return json.dumps(self.get_parameters_dict(), ensure_ascii=False)

    def get_name(self) -> str:
        """The tool's name.

        Raises:
            ValueError: The tool has no name.
        """
        if self.name is None:
            raise ValueError("the tool has no name: give ToolMetadata a name")
        return self.name

    def to_openai_tool(self, skip_length_check: bool = False) -> dict[str, Any]:
        """The tool in OpenAI's format: ``{"type": "function", "function": {...}}``.

        Args:
            skip_length_check: Allow a description over OpenAI's 1,024 characters.

        Raises:
            ValueError: The description is too long (and the check is not skipped).
        """
        if not skip_length_check and len(self.description) > MAX_DESCRIPTION:
            raise ValueError(
                f"the description of tool {self.name!r} has {len(self.description)} "
                f"characters, over OpenAI's {MAX_DESCRIPTION}; shorten it (or move the "
                f"detail into the prompt), or pass skip_length_check=True"
            )
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.get_parameters_dict(),
            },
        }


class ToolOutput(Model):
    """What one tool call gave back.

    ``ToolOutput(content="18C", tool_name=...)`` and ``ToolOutput(blocks=[...], ...)``
    both work; ``content`` is the text of the text blocks.

    Attributes:
        blocks: The output as content blocks (text, images...).
        tool_name: The tool called.
        raw_input: The arguments it was called with.
        raw_output: What the function returned (or the error's text).
        is_error: The call failed: the tool raised, its arguments did not fit its
            schema, or no tool had that name. ``content`` says what went wrong.
        exception: The exception, when the tool raised one (not serialised).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    blocks: list[ContentBlock] = Field(default=[])  # copied per instance (ChatMessage.blocks)
    tool_name: str
    raw_input: dict[str, Any] = Field(default_factory=dict)
    raw_output: Any = None
    is_error: bool = False
    exception: BaseException | None = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _content_to_blocks(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "content" not in data:
            return data
        data = dict(data)
        content = data.pop("content")
        if content is not None:
            if data.get("blocks"):
                raise ValueError("give a ToolOutput either content or blocks, not both")
            data["blocks"] = [TextBlock(text=str(content))]
        return data

    @property
    def content(self) -> str:
        """The text of the output's text blocks, joined by newlines."""
        return "\n".join(block.text for block in self.blocks if isinstance(block, TextBlock))

    @content.setter
    def content(self, content: str) -> None:
        self.blocks = [TextBlock(text=content)]

    def __str__(self) -> str:
        return self.content


class ToolSelection(Model):
    """One tool call the model asked for.

    Attributes:
        tool_id: The call's id (answer it with a ``role="tool"`` message whose
            ``additional_kwargs["tool_call_id"]`` is this id).
        tool_name: The tool's name, as the model wrote it.
        tool_kwargs: The arguments.
        invalid_arguments: The model's raw argument text when it was not a JSON
            object (``tool_kwargs`` is then empty and calling the tool gives an error
            output quoting it).
    """

    tool_id: str
    tool_name: str
    tool_kwargs: dict[str, Any] = Field(default_factory=dict)
    invalid_arguments: str | None = None


@dataclass
class AgentChatResponse:
    """The result of ``predict_and_call``: the answer and the tool outputs behind it.

    Attributes:
        response: The answer: the tool output(s) as text (several joined by blank
            lines), or the model's text when it called no tool.
        sources: The output of every tool called, in call order.
        source_nodes: Retrieved nodes (LlamaIndex field; llmplug retrieves none).
        is_dummy_stream: LlamaIndex field, kept for compatibility.
        metadata: ``"tool_calls"``: the :class:`ToolSelection` behind each source;
            ``"chat_response"``: the model's reply.
    """

    response: str = ""
    sources: list[ToolOutput] = field(default_factory=list)
    source_nodes: list[Any] = field(default_factory=list)
    is_dummy_stream: bool = False
    metadata: dict[str, Any] | None = None

    def __str__(self) -> str:
        return self.response


class BaseTool(ABC):
    """A tool: metadata for the model, and a call."""

    @property
    @abstractmethod
    def metadata(self) -> ToolMetadata:
        """The tool's name, description and argument schema."""

    @abstractmethod
    def __call__(self, input: Any) -> ToolOutput:
        """Run the tool."""


class AsyncBaseTool(BaseTool):
    """A tool with a sync :meth:`call` and an async :meth:`acall`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ToolOutput:
        return self.call(*args, **kwargs)

    @abstractmethod
    def call(self, input: Any) -> ToolOutput:
        """Run the tool."""

    @abstractmethod
    async def acall(self, input: Any) -> ToolOutput:
        """Run the tool without blocking the event loop."""


class BaseToolAsyncAdapter(AsyncBaseTool):
    """A sync :class:`BaseTool` as an :class:`AsyncBaseTool` (``acall`` uses a thread)."""

    def __init__(self, tool: BaseTool) -> None:
        self.base_tool = tool

    @property
    def metadata(self) -> ToolMetadata:
        """The wrapped tool's metadata."""
        return self.base_tool.metadata

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Call the wrapped tool."""
        return self.base_tool(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Call the wrapped tool in a worker thread."""
        return await run_in_thread(self.base_tool, *args, **kwargs)


def adapt_to_async_tool(tool: BaseTool) -> AsyncBaseTool:
    """``tool`` itself if it is async-capable, else wrapped in :class:`BaseToolAsyncAdapter`."""
    return tool if isinstance(tool, AsyncBaseTool) else BaseToolAsyncAdapter(tool)


def tools_by_name(tools: Sequence[BaseTool]) -> dict[str, BaseTool]:
    """The tools by name.

    Raises:
        TypeError: An item is not a tool.
        ValueError: A tool has no name, or two tools share one.
    """
    named: dict[str, BaseTool] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, BaseTool):
            raise TypeError(
                f"tools[{i}] is a {type(tool).__name__}, not a tool; wrap a function with "
                f"FunctionTool.from_defaults(fn)"
            )
        name = tool.metadata.get_name()
        if name in named:
            raise ValueError(f"two tools are named {name!r}; tool names must be unique")
        named[name] = tool
    return named
