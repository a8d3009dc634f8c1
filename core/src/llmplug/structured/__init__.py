"""Structured output: the public names, for applications and for provider plugins.

Applications mostly need ``llm.structured_predict(Model, prompt)`` and its async and
streaming forms, and ``llm.as_structured_llm(Model)`` (:class:`StructuredLLM`, also
importable from ``llmplug``). A provider with native JSON-schema output implements
``LLM._structured_request_kwargs(schema)``, reading the :class:`OutputSchema` and, for
strict APIs, :func:`strict_json_schema`.

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "PartialJSONError": "llmplug._partial_json",
    "PartialJSONParser": "llmplug._partial_json",
    "StructuredLLM": "llmplug._structured",
    "FlexibleModel": "llmplug._structured_output",
    "OutputSchema": "llmplug._structured_output",
    "PartialBuilder": "llmplug._structured_output",
    "PydanticOutputParser": "llmplug._structured_output",
    "create_flexible_model": "llmplug._structured_output",
    "extract_json": "llmplug._structured_output",
    "output_schema": "llmplug._structured_output",
    "strict_json_schema": "llmplug._structured_output",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug._partial_json import (
        PartialJSONError as PartialJSONError,
        PartialJSONParser as PartialJSONParser,
    )
    from llmplug._structured import StructuredLLM as StructuredLLM
    from llmplug._structured_output import (
        FlexibleModel as FlexibleModel,
        OutputSchema as OutputSchema,
        PartialBuilder as PartialBuilder,
        PydanticOutputParser as PydanticOutputParser,
        create_flexible_model as create_flexible_model,
        extract_json as extract_json,
        output_schema as output_schema,
        strict_json_schema as strict_json_schema,
    )
