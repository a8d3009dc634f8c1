"""The output parser for structured output in the prompt (LlamaIndex's name).

:class:`PydanticOutputParser` puts the schema and an instruction in the prompt, then
finds the JSON in the answer (prose or a code fence) and validates it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from llmplug.errors import StructuredOutputError
from llmplug.prompts._json_text import extract_json
from llmplug.prompts._output_parsers import BaseOutputParser
from llmplug.structured._output_schema import (
    OutputSchema,
    describe_validation_errors,
    no_json_error,
    output_schema,
)

__all__ = ["PydanticOutputParser"]

_FORMAT = (
    "Answer with a JSON {kind} that matches this JSON schema:\n"
    "```json\n{schema}\n```\n"
    "Write only the JSON, not the schema."
)


class PydanticOutputParser(BaseOutputParser):
    """Asks for JSON matching a pydantic model in the prompt; reads the object back.

    LlamaIndex's ``PydanticOutputParser``: :meth:`format` adds the schema and the
    instruction to a prompt, :meth:`parse` finds the JSON in the answer (in prose or a
    code fence, see :func:`extract_json`) and validates it.

    Args:
        output_cls: A pydantic model class, or ``list[Model]``.
        excluded_schema_keys_from_format: Schema keys not shown in the prompt (e.g.
            ``["title"]``), to save tokens.
        pydantic_format_tmpl: The instruction; ``{schema}`` is replaced by the schema
            and ``{kind}`` by ``object``.
    """

    def __init__(
        self,
        output_cls: Any,
        excluded_schema_keys_from_format: list[str] | None = None,
        pydantic_format_tmpl: str = _FORMAT,
    ) -> None:
        self._schema = output_schema(output_cls)
        self._excluded = list(excluded_schema_keys_from_format or [])
        self._template = pydantic_format_tmpl

    @property
    def output_cls(self) -> Any:
        """The output class."""
        return self._schema.output_cls

    @property
    def schema(self) -> OutputSchema:
        """The output's :class:`OutputSchema`."""
        return self._schema

    @property
    def format_string(self) -> str:
        """The instruction added to prompts, schema included."""
        schema = {k: v for k, v in self._schema.json_schema.items() if k not in self._excluded}
        text = json.dumps(schema, ensure_ascii=False)
        return self._template.replace("{schema}", text).replace("{kind}", "object")

    def get_format_string(self, escape_json: bool = True) -> str:
        """The instruction, with braces doubled (``escape_json``) for a prompt template."""
        text = self.format_string
        return text.replace("{", "{{").replace("}", "}}") if escape_json else text

    def format(self, query: str) -> str:
        """The prompt with the schema and the instruction appended."""
        return f"{query}\n\n{self.format_string}" if query else self.format_string

    def parse(self, output: str) -> Any:
        """The validated output in a model's text.

        Raises:
            StructuredOutputError: No JSON in the text, or JSON that does not validate
                (``raw`` is the text, ``errors`` pydantic's errors).
        """
        value, errors = self.parse_errors(output)
        if errors:
            problems = describe_validation_errors(errors)
            raise StructuredOutputError(
                f"the output does not match {self._schema.name}:\n{problems}",
                raw=output,
                errors=errors,
            )
        return value

    def parse_errors(self, output: str) -> tuple[Any, list[Any]]:
        """``(output, [])`` if the text holds a valid answer, else ``(None, errors)``."""
        value = extract_json(output, self._schema.expected())
        if value is None:
            return None, [no_json_error(output)]
        try:
            return self._schema.validate(value), []
        except ValidationError as exc:
            return None, exc.errors(include_url=False)
