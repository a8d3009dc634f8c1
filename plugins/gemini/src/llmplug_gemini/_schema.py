"""JSON schemas for structured output: ``responseJsonSchema``, or the older ``responseSchema``.

Gemini 2.5 and later take the answer's schema as JSON Schema (``responseJsonSchema``,
``$ref``/``$defs`` and ``anyOf`` included): a pydantic schema is sent as it is. Older
models (Gemini 2.0, 1.5) take only ``responseSchema``, a subset of the OpenAPI 3.0
schema object: :func:`response_schema` converts a pydantic schema to it. References are
inlined, ``type`` names are the API's (``OBJECT``, ``STRING``...), a ``null`` alternative
becomes ``nullable``, ``const`` becomes a one-value ``enum``, properties keep their
order (``propertyOrdering``: Gemini 2.0 needs it). Keywords the subset lacks
(``additionalProperties``, ``exclusiveMinimum``...) are moved into the description,
where the model may still follow them; the answer is validated by pydantic in any case.
A recursive schema cannot be inlined: it gets ``None``, and the structured call uses a
forced function call instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["response_schema"]

_TYPES = {
    "object": "OBJECT",
    "array": "ARRAY",
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
}
# kept as they are (the subset's own keywords, beside type, properties, items, anyOf)
_KEPT = frozenset(
    {
        "description",
        "enum",
        "format",
        "maxItems",
        "minItems",
        "maxLength",
        "minLength",
        "maxProperties",
        "minProperties",
        "maximum",
        "minimum",
        "pattern",
        "required",
        "title",
        "example",
    }
)
_DROPPED = frozenset({"default", "$defs", "definitions"})  # pydantic applies defaults
_DEFS = "#/$defs/"
_MAX_DEPTH = 64


class _Unsupported(Exception):
    """The schema has a construct the subset cannot express."""


def response_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``responseSchema`` for a pydantic JSON schema, or ``None`` if impossible."""
    defs = schema.get("$defs", {})
    try:
        return _convert(schema, defs, ())
    except _Unsupported:
        return None


def _convert(node: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if len(seen) > _MAX_DEPTH:
        raise _Unsupported("too deep")
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith(_DEFS) or ref in seen:
            raise _Unsupported(f"reference {ref}")  # recursive, or not to a definition
        target = defs.get(ref.removeprefix(_DEFS))
        if not isinstance(target, dict):
            raise _Unsupported(f"reference {ref}")
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, (*seen, ref))
    out: dict[str, Any] = {}
    rest = dict(node)
    variants = rest.pop("anyOf", None) or rest.pop("oneOf", None)
    if variants is not None:
        kept = [v for v in variants if not (isinstance(v, dict) and v.get("type") == "null")]
        if len(kept) < len(variants):
            out["nullable"] = True
        if len(kept) == 1:
            inner = _convert(kept[0], defs, seen)
            inner.update({k: v for k, v in out.items()})
            out = inner
        else:
            out["anyOf"] = [_convert(v, defs, seen) for v in kept]
    if "allOf" in rest:
        parts = rest.pop("allOf")
        if len(parts) != 1:
            raise _Unsupported("allOf")
        out.update(_convert(parts[0], defs, seen))
    kind = rest.pop("type", None)
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        if len(types) < len(kind):
            out["nullable"] = True
        if len(types) != 1:
            raise _Unsupported("a union of types")
        kind = types[0]
    if "const" in rest:
        out["enum"] = [rest.pop("const")]
        kind = kind or "string"
    if kind is not None:
        if kind not in _TYPES:
            raise _Unsupported(f"type {kind}")
        out["type"] = _TYPES[kind]
    properties = rest.pop("properties", None)
    if properties is not None:
        out["properties"] = {k: _convert(v, defs, seen) for k, v in properties.items()}
        out["propertyOrdering"] = list(properties)
        out.setdefault("type", "OBJECT")
    if "items" in rest:
        out["items"] = _convert(rest.pop("items"), defs, seen)
    for key in list(rest):
        if key in _KEPT:
            out[key] = rest.pop(key)
        elif key in _DROPPED:
            rest.pop(key)
    if "enum" in out and out.get("type") == "STRING":
        out["format"] = "enum"
    if "enum" in out and out.get("type") not in (None, "STRING"):
        # the subset's enums are strings: keep the values as a hint, check with pydantic
        rest["enum"] = out.pop("enum")
    if rest:
        hint = "{" + ", ".join(f"{key}: {value}" for key, value in rest.items()) + "}"
        text = out.get("description")
        out["description"] = f"{text}\n\n{hint}" if text else hint
    return out
