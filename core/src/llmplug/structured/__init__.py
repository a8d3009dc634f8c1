"""Structured output: the public names, for applications and for provider plugins.

Applications mostly need ``llm.structured_predict(Model, prompt)`` and its async and
streaming forms, and ``llm.as_structured_llm(Model)`` (:class:`StructuredLLM`, also
importable from ``llmplug``); :func:`get_function_tool` makes a tool of a model, to
extract objects with ``chat_with_tools``. A provider with native JSON-schema output implements
``LLM._structured_request_kwargs(schema)``, reading the :class:`OutputSchema` and, for
strict APIs, :func:`strict_json_schema`.

Names are imported on first use. This layer imports ``llmplug.tools`` (the forced tool
call path) and the layers below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "PartialJSONError": "llmplug.structured._incremental_json",
    "PartialJSONParser": "llmplug.structured._incremental_json",
    "StructuredLLM": "llmplug.structured._structured_llm",
    "get_function_tool": "llmplug.structured._model_tool",
    "FlexibleModel": "llmplug.structured._partial_objects",
    "PartialBuilder": "llmplug.structured._partial_objects",
    "create_flexible_model": "llmplug.structured._partial_objects",
    "OutputSchema": "llmplug.structured._output_schema",
    "is_recursive": "llmplug.structured._output_schema",
    "output_schema": "llmplug.structured._output_schema",
    "strict_json_schema": "llmplug.structured._output_schema",
    "PydanticOutputParser": "llmplug.structured._pydantic_parser",
    "CONCISE_TYPES": "llmplug.structured._schema_models",
    "concise_schema": "llmplug.structured._schema_models",
    "schema_model": "llmplug.structured._schema_models",
    "extract_json": "llmplug.prompts._json_text",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.prompts._json_text import (
        extract_json as extract_json,
    )
    from llmplug.structured._incremental_json import (
        PartialJSONError as PartialJSONError,
        PartialJSONParser as PartialJSONParser,
    )
    from llmplug.structured._model_tool import (
        get_function_tool as get_function_tool,
    )
    from llmplug.structured._output_schema import (
        OutputSchema as OutputSchema,
        is_recursive as is_recursive,
        output_schema as output_schema,
        strict_json_schema as strict_json_schema,
    )
    from llmplug.structured._partial_objects import (
        FlexibleModel as FlexibleModel,
        PartialBuilder as PartialBuilder,
        create_flexible_model as create_flexible_model,
    )
    from llmplug.structured._pydantic_parser import (
        PydanticOutputParser as PydanticOutputParser,
    )
    from llmplug.structured._schema_models import (
        CONCISE_TYPES as CONCISE_TYPES,
        concise_schema as concise_schema,
        schema_model as schema_model,
    )
    from llmplug.structured._structured_llm import (
        StructuredLLM as StructuredLLM,
    )
