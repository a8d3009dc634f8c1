"""JSON schemas in the form Anthropic's structured outputs take (``output_config.format``).

The API constrains Claude's answer to a schema when every object has
``additionalProperties: false`` and the schema uses the keywords it supports: ``type``,
``enum``, ``const``, ``anyOf`` (``oneOf`` is read as it), ``allOf``, ``$ref``/``$defs``,
``properties``, ``required``, ``items``, ``minItems`` of 0 or 1, ``format`` for a set of
string formats, ``title`` and ``description``. Other keywords (``minimum``,
``maxLength``, ``pattern``, ``default``...) are moved into the description, where the
model may still follow them; the answer is validated by pydantic in any case. Recursive
schemas and objects with arbitrary keys (``dict`` fields) cannot be expressed: those get
``None``, and the structured call uses a forced tool instead.
"""

from __future__ import annotations

from typing import Any

from llmplug.structured import is_recursive

__all__ = ["output_format"]

_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_KEPT = frozenset({"type", "enum", "const", "title", "description", "$ref", "required"})


class _Unsupported(Exception):
    """The schema has a construct the API cannot take."""


def output_format(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``output_config.format`` for a pydantic JSON schema, or ``None`` if impossible."""
    if is_recursive(schema):
        return None
    try:
        converted = _convert(schema)
    except _Unsupported:
        return None
    return {"type": "json_schema", "schema": converted}


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: node[key] for key in _KEPT if key in node}
    rest = {key: value for key, value in node.items() if key not in _KEPT}
    if "$defs" in rest:
        out["$defs"] = {name: _convert(d) for name, d in rest.pop("$defs").items()}
    for key in ("anyOf", "oneOf"):
        if key in rest:
            out["anyOf"] = [_convert(variant) for variant in rest.pop(key)]
    if "allOf" in rest:
        out["allOf"] = [_convert(variant) for variant in rest.pop("allOf")]
    kind = node.get("type")
    if kind == "object" or "properties" in rest:
        extra = rest.pop("additionalProperties", False)
        if extra is not False:
            raise _Unsupported("an object with arbitrary keys")
        out["properties"] = {k: _convert(v) for k, v in rest.pop("properties", {}).items()}
        out["additionalProperties"] = False
    elif kind == "array":
        if "items" in rest:
            out["items"] = _convert(rest.pop("items"))
        if rest.get("minItems") in (0, 1):
            out["minItems"] = rest.pop("minItems")
    elif kind == "string" and rest.get("format") in _STRING_FORMATS:
        out["format"] = rest.pop("format")
    rest.pop("default", None)  # the answer's own default, applied by pydantic
    if rest:
        # keywords the API does not take: a hint in the description, checked by pydantic
        hint = "{" + ", ".join(f"{key}: {value}" for key, value in rest.items()) + "}"
        text = out.get("description")
        out["description"] = f"{text}\n\n{hint}" if text else hint
    return out
