"""Structured output through Converse's ``outputConfig.textFormat``, where it can be used.

Bedrock constrains the answer to a JSON schema (sent as JSON text) for the models that
have structured outputs, when the schema keeps to the subset they take: ``type``,
``properties``, ``required``, ``additionalProperties: false`` on every object,
``items``, ``enum``, ``const``, ``anyOf``, ``allOf``, ``$ref``/``$defs``, ``title``,
``description``, ``minItems`` of 0 or 1 and ``format`` for common string formats.
Recursive schemas, objects with arbitrary keys (``dict`` fields) and other keywords
(``minimum``, ``pattern``...) get ``None``: the structured call then forces a tool,
and pydantic validates the answer either way.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from llmplug.structured import is_recursive

if TYPE_CHECKING:
    from llmplug.structured import OutputSchema

__all__ = ["text_format"]

_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "allOf",
        "$ref",
        "$defs",
        "title",
        "description",
        "minItems",
        "format",
    }
)
_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def text_format(schema: OutputSchema) -> dict[str, Any] | None:
    """The ``outputConfig`` asking for ``schema``, or ``None`` if it cannot be used."""
    strict, ok = schema.strict_json_schema()
    if not ok:
        return None
    cleaned = _without_defaults(strict)
    if is_recursive(cleaned) or not _supported(cleaned):
        return None
    definition: dict[str, Any] = {
        "schema": json.dumps(cleaned, separators=(",", ":")),
        "name": schema.name,
    }
    if schema.description:
        definition["description"] = schema.description
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _without_defaults(node: Any) -> Any:
    # every property is required in the strict form: a default is never used
    if isinstance(node, list):
        return [_without_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _without_defaults(item) for name, item in value.items()}
        else:
            out[key] = _without_defaults(value)
    return out


def _supported(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    if not set(node) <= _KEYWORDS:
        return False
    if node.get("additionalProperties", False) is not False:
        return False
    if node.get("type") == "object" and "additionalProperties" not in node:
        return False
    if node.get("minItems", 0) not in (0, 1):
        return False
    if "format" in node and node["format"] not in _STRING_FORMATS:
        return False
    children: list[Any] = [*(node.get("properties") or {}).values()]
    children += [*(node.get("$defs") or {}).values()]
    children += [*node.get("anyOf", ()), *node.get("allOf", ())]
    if "items" in node:
        children.append(node["items"])
    return all(_supported(child) for child in children)
