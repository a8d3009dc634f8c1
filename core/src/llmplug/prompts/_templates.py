"""Prompt templates: LlamaIndex's ``PromptTemplate`` and ``ChatPromptTemplate``.

Templates use ``{name}`` variables, formatted *safely* (see ``_formatting``): a
``{...}`` whose content is not a given keyword is left as it is.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema

from llmplug.prompts._formatting import (
    format_string,
    get_template_vars,
    messages_to_prompt,
    prompt_to_messages,
)
from llmplug.prompts._output_parsers import BaseOutputParser
from llmplug.types._base_model import Model
from llmplug.types._blocks import TextBlock
from llmplug.types._messages import ChatMessage, MessageRole

__all__ = [
    "BasePromptTemplate",
    "ChatPromptTemplate",
    "PromptTemplate",
    "PromptType",
]


class PromptType(StrEnum):
    """What a prompt template is for (LlamaIndex's ``PromptType``; default ``CUSTOM``)."""

    SUMMARY = "summary"
    TREE_INSERT = "insert"
    TREE_SELECT = "tree_select"
    TREE_SELECT_MULTIPLE = "tree_select_multiple"
    QUESTION_ANSWER = "text_qa"
    REFINE = "refine"
    KEYWORD_EXTRACT = "keyword_extract"
    QUERY_KEYWORD_EXTRACT = "query_keyword_extract"
    SCHEMA_EXTRACT = "schema_extract"
    TEXT_TO_SQL = "text_to_sql"
    TEXT_TO_GRAPH_QUERY = "text_to_graph_query"
    TABLE_CONTEXT = "table_context"
    KNOWLEDGE_TRIPLET_EXTRACT = "knowledge_triplet_extract"
    SIMPLE_INPUT = "simple_input"
    PANDAS = "pandas"
    JSON_PATH = "json_path"
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    VECTOR_STORE_QUERY = "vector_store_query"
    SUB_QUESTION = "sub_question"
    SQL_RESPONSE_SYNTHESIS = "sql_response_synthesis"
    SQL_RESPONSE_SYNTHESIS_V2 = "sql_response_synthesis_v2"
    CONVERSATION = "conversation"
    DECOMPOSE = "decompose"
    CHOICE_SELECT = "choice_select"
    CUSTOM = "custom"
    RANKGPT_RERANK = "rankgpt_rerank"


# ChatPromptTemplate.format has a parameter of the same name
_default_messages_to_prompt = messages_to_prompt


def _callable_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return f"{getattr(fn, '__module__', None) or ''}.{name}"


# Function mappings hold arbitrary callables; they serialize as their dotted name.
_SerializableCallable = Annotated[
    Callable[..., Any],
    WithJsonSchema({"type": "string"}),
    PlainSerializer(_callable_name, return_type=str),
]


# --------------------------------------------------------------------------- templates


# The ``type: ignore[no-redef]`` on the template classes: pydantic's mypy plugin
# synthesizes ``__init__(..., kwargs=..., **kwargs)`` for the ``kwargs`` field (a field
# name LlamaIndex's API fixes) and reports the clash.
class BasePromptTemplate(Model, ABC):  # type: ignore[no-redef]
    """Base class of prompt templates.

    Attributes:
        metadata: Free-form metadata; holds ``"prompt_type"``.
        template_vars: The template's variables, in order.
        kwargs: Values fixed by the constructor or :meth:`partial_format`; the
            keyword arguments of a ``format`` call take precedence over them.
        output_parser: Adds formatting instructions to the formatted prompt.
        template_var_mappings: Renames variables: ``{given_name: template_name}``.
        function_mappings: ``{variable: fn}``; at format time the variable's value
            is ``fn(**all_kwargs)``, which overrides a fixed value of that name.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    metadata: dict[str, Any]
    template_vars: list[str]
    kwargs: dict[str, Any]
    output_parser: BaseOutputParser | None
    template_var_mappings: dict[str, Any] | None = Field(
        default_factory=dict, description="Template variable mappings (optional)."
    )
    function_mappings: dict[str, _SerializableCallable] | None = Field(
        default_factory=dict,
        description=(
            "Function mappings (optional): template variable name -> a function called "
            "with the current format kwargs that returns the variable's value."
        ),
    )

    def _map_template_vars(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Rename the keys of ``kwargs`` by ``template_var_mappings``."""
        mappings = self.template_var_mappings or {}
        return {mappings.get(key, key): value for key, value in kwargs.items()}

    def _map_function_vars(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Compute the function-mapped variables and merge them over ``kwargs``.

        Each function is called with all of ``kwargs``; its result replaces a fixed
        value of the same name.
        """
        mappings = self.function_mappings or {}
        computed = {name: fn(**kwargs) for name, fn in mappings.items()}
        # computed keys first, as LlamaIndex orders them (the order decides which value
        # wins when template_var_mappings then maps two keys onto one name)
        return {**computed, **{k: v for k, v in kwargs.items() if k not in computed}}

    def _map_all_vars(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Apply the function mappings, then the template variable mappings."""
        return self._map_template_vars(self._map_function_vars(kwargs))

    def _partial_copy(self, kwargs: dict[str, Any]) -> Self:
        """Return a deep copy of this template with ``kwargs`` added to its fixed values.

        The output parser and the mapped functions are shared, not copied: they may
        hold clients or locks that cannot be (and need not be) deep-copied.
        """
        memo: dict[int, Any] = {}
        shared: list[Any] = [self.output_parser, *(self.function_mappings or {}).values()]
        for obj in shared:
            if obj is not None:
                memo[id(obj)] = obj
        prompt = copy.deepcopy(self, memo)
        prompt.kwargs.update(kwargs)
        return prompt

    @abstractmethod
    def partial_format(self, **kwargs: Any) -> BasePromptTemplate:
        """Return a copy of the template with some variables fixed.

        Args:
            **kwargs: The values to fix, by variable name.

        Returns:
            A new template; this one is unchanged.
        """

    @abstractmethod
    def format(self, llm: Any = None, **kwargs: Any) -> str:
        """Format the template into one prompt string.

        Args:
            llm: The LLM the prompt is for, if any.
            **kwargs: The variables' values.

        Returns:
            The prompt text.
        """

    @abstractmethod
    def format_messages(self, llm: Any = None, **kwargs: Any) -> list[ChatMessage]:
        """Format the template into chat messages.

        Args:
            llm: The LLM the prompt is for, if any (unused by the built-in templates).
            **kwargs: The variables' values.

        Returns:
            The formatted messages.
        """

    @abstractmethod
    def get_template(self, llm: Any = None) -> str:
        """Return the unformatted template as text.

        Args:
            llm: The LLM the prompt is for, if any (unused by the built-in templates).

        Returns:
            The template text.
        """


class PromptTemplate(BasePromptTemplate):  # type: ignore[no-redef]
    r"""A completion prompt template: one string with ``{name}`` variables.

    Example:
        >>> qa = PromptTemplate("Context: {context}\nQuestion: {question}")
        >>> qa.format(context="Paris is in France.", question="Where is Paris?")
        'Context: Paris is in France.\nQuestion: Where is Paris?'

    Args:
        template: The template text.
        prompt_type: Stored as ``metadata["prompt_type"]``.
        output_parser: Adds formatting instructions to the formatted prompt.
        metadata: Extra metadata (copied, never changed).
        template_var_mappings: Renames variables: ``{given_name: template_name}``.
        function_mappings: ``{variable: fn}``, values computed at format time.
        **kwargs: Fixed values for some variables.
    """

    template: str

    def __init__(
        self,
        template: str,
        prompt_type: str = PromptType.CUSTOM,
        output_parser: BaseOutputParser | None = None,
        metadata: dict[str, Any] | None = None,
        template_var_mappings: dict[str, Any] | None = None,
        function_mappings: dict[str, Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            template=template,
            template_vars=get_template_vars(template),
            kwargs=kwargs,
            metadata={**(metadata or {}), "prompt_type": prompt_type},
            output_parser=output_parser,
            template_var_mappings=template_var_mappings,
            function_mappings=function_mappings,
        )

    def partial_format(self, **kwargs: Any) -> PromptTemplate:
        """Return a copy of the template with some variables fixed.

        Args:
            **kwargs: The values to fix, by variable name.

        Returns:
            A new template; this one is unchanged.
        """
        return self._partial_copy(kwargs)

    def format(
        self,
        llm: Any = None,
        completion_to_prompt: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> str:
        """Format the template into a prompt string.

        Fixed values and ``kwargs`` are merged (``kwargs`` win), the mappings are
        applied, the template is filled safely, then the output parser's ``format``
        and ``completion_to_prompt`` are applied, in that order.

        Args:
            llm: Unused (accepted for API compatibility).
            completion_to_prompt: Wraps the formatted prompt, e.g. in a chat template.
            **kwargs: The variables' values.

        Returns:
            The prompt text.
        """
        del llm  # a completion template needs nothing from the LLM
        values = self._map_all_vars({**self.kwargs, **kwargs})
        prompt = format_string(self.template, **values)
        if self.output_parser is not None:
            prompt = self.output_parser.format(prompt)
        if completion_to_prompt is not None:
            prompt = completion_to_prompt(prompt)
        return prompt

    def format_messages(self, llm: Any = None, **kwargs: Any) -> list[ChatMessage]:
        """Format the template into a chat of one user message.

        Args:
            llm: Unused (accepted for API compatibility).
            **kwargs: The variables' values.

        Returns:
            ``[ChatMessage(role=USER, content=self.format(**kwargs))]``.
        """
        del llm
        return prompt_to_messages(self.format(**kwargs))

    def get_template(self, llm: Any = None) -> str:
        """Return the template text.

        Args:
            llm: Unused (accepted for API compatibility).

        Returns:
            The template text.
        """
        return self.template


class ChatPromptTemplate(BasePromptTemplate):  # type: ignore[no-redef]
    """A chat prompt template: messages whose text blocks hold ``{name}`` variables.

    Example:
        >>> chat = ChatPromptTemplate.from_messages(
        ...     [("system", "You speak {language}."), ("user", "{question}")]
        ... )
        >>> [m.content for m in chat.format_messages(language="French", question="Hi?")]
        ['You speak French.', 'Hi?']

    Args:
        message_templates: The template messages.
        prompt_type: Stored as ``metadata["prompt_type"]``.
        output_parser: Adds formatting instructions to the formatted messages.
        metadata: Extra metadata (copied, never changed).
        template_var_mappings: Renames variables: ``{given_name: template_name}``.
        function_mappings: ``{variable: fn}``, values computed at format time.
        **kwargs: Fixed values for some variables.
    """

    message_templates: list[ChatMessage]

    def __init__(
        self,
        message_templates: Sequence[ChatMessage],
        prompt_type: str = PromptType.CUSTOM,
        output_parser: BaseOutputParser | None = None,
        metadata: dict[str, Any] | None = None,
        template_var_mappings: dict[str, Any] | None = None,
        function_mappings: dict[str, Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        template_vars = [
            name for message in message_templates for name in _message_template_vars(message)
        ]
        super().__init__(
            message_templates=list(message_templates),
            template_vars=template_vars,
            kwargs=kwargs,
            metadata={**(metadata or {}), "prompt_type": prompt_type},
            output_parser=output_parser,
            template_var_mappings=template_var_mappings,
            function_mappings=function_mappings,
        )

    @classmethod
    def from_messages(
        cls,
        message_templates: Sequence[ChatMessage | tuple[str, str]],
        **kwargs: Any,
    ) -> Self:
        """Build a chat template from messages or ``(role, template)`` pairs.

        Args:
            message_templates: ``ChatMessage`` objects, or ``(role, text)`` tuples
                whose role is a :class:`MessageRole` value (``"system"``, ``"user"``…).
            **kwargs: Passed to the constructor.

        Returns:
            The template.

        Raises:
            ValueError: A tuple's role is not a :class:`MessageRole` value.
        """
        messages = [
            item
            if isinstance(item, ChatMessage)
            else ChatMessage(role=MessageRole(item[0]), content=item[1])
            for item in message_templates
        ]
        return cls(message_templates=messages, **kwargs)

    def partial_format(self, **kwargs: Any) -> ChatPromptTemplate:
        """Return a copy of the template with some variables fixed.

        Args:
            **kwargs: The values to fix, by variable name.

        Returns:
            A new template; this one is unchanged.
        """
        return self._partial_copy(kwargs)

    def format(
        self,
        llm: Any = None,
        messages_to_prompt: Callable[[Sequence[ChatMessage]], str] | None = None,
        **kwargs: Any,
    ) -> str:
        """Format the messages, then render them as one prompt string.

        The renderer is ``messages_to_prompt`` if given, else ``llm.messages_to_prompt``
        if ``llm`` has one, else the default :func:`messages_to_prompt`.

        Args:
            llm: An object whose ``messages_to_prompt`` renders the chat (optional).
            messages_to_prompt: Renders the chat; takes precedence over ``llm``'s.
            **kwargs: The variables' values.

        Returns:
            The prompt text.
        """
        messages = self.format_messages(**kwargs)
        render = messages_to_prompt
        if render is None and llm is not None:
            render = getattr(llm, "messages_to_prompt", None)
        if render is None:
            render = _default_messages_to_prompt
        return render(messages)

    def format_messages(self, llm: Any = None, **kwargs: Any) -> list[ChatMessage]:
        """Format each message's text blocks; other blocks are kept as they are.

        Fixed values and ``kwargs`` are merged (``kwargs`` win) and the mappings
        applied; then the output parser's ``format_messages``, if any, is applied.
        The template messages are never changed: each result is a copy.

        Args:
            llm: Unused (accepted for API compatibility).
            **kwargs: The variables' values.

        Returns:
            The formatted messages.
        """
        del llm
        values = self._map_all_vars({**self.kwargs, **kwargs})
        messages = [_format_message(message, values) for message in self.message_templates]
        if self.output_parser is not None:
            messages = self.output_parser.format_messages(messages)
        return messages

    def get_template(self, llm: Any = None) -> str:
        """Return the unformatted messages rendered by :func:`messages_to_prompt`.

        Args:
            llm: Unused (accepted for API compatibility).

        Returns:
            The template text.
        """
        return messages_to_prompt(self.message_templates)


def _message_template_vars(message: ChatMessage) -> list[str]:
    return [
        name
        for block in message.blocks
        if isinstance(block, TextBlock)
        for name in get_template_vars(block.text)
    ]


def _format_message(template: ChatMessage, values: dict[str, Any]) -> ChatMessage:
    """Return a deep copy of ``template`` with its text blocks formatted."""
    message = template.model_copy(deep=True)
    blocks: list[Any] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            names = get_template_vars(block.text)
            relevant = {key: value for key, value in values.items() if key in names}
            block = block.model_copy(update={"text": format_string(block.text, **relevant)})
        blocks.append(block)
    return message.model_copy(update={"blocks": blocks})
