"""Output schemas given as data: a JSON schema, or the concise ``name, age int`` syntax.

Structured output runs on pydantic models (:class:`~llmplug.structured.OutputSchema`);
:func:`schema_model` builds one from a JSON schema, so the answer is validated (and a
wrong one sent back with the errors) exactly as for a model written in Python.
:func:`concise_schema` reads the short syntax of simonw's ``llm``::

    name, age int, bio: a one-line biography

Fields are separated by commas, or by newlines when there are several lines (then a
description may hold commas); each is ``name [type][: description]`` with the type one
of ``str`` (the default), ``int``, ``float`` or ``bool``. Every field is required.
"""

from __future__ import annotations

import functools
import keyword
import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

__all__ = ["CONCISE_TYPES", "concise_schema", "schema_model"]

#: The types of the concise syntax, and their JSON schema types.
CONCISE_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}

_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": None,
}
# JSON schema keyword -> pydantic Field constraint
_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_length",
    "maxItems": "max_length",
}


def concise_schema(text: str) -> dict[str, Any]:
    """The JSON schema (an object of required fields) that a concise spec describes.

    Raises:
        ValueError: A field that does not read as ``name [type][: description]``, an
            unknown type, or a name given twice.
    """
    parts = text.splitlines() if "\n" in text.strip() else text.split(",")
    properties: dict[str, Any] = {}
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        head, _, description = part.partition(":")
        words = head.split()
        if len(words) not in (1, 2) or not words[0].isidentifier():
            raise ValueError(
                f"cannot read the field {part!r}: write 'name', 'name type' or "
                f"'name type: description' (e.g. 'age int: age in years')"
            )
        name, kind = words[0], (words[1] if len(words) == 2 else "str")
        if kind not in CONCISE_TYPES:
            raise ValueError(
                f"unknown type {kind!r} for the field {name!r}; use one of "
                f"{', '.join(CONCISE_TYPES)}"
            )
        if name in properties:
            raise ValueError(f"the field {name!r} is given twice")
        prop: dict[str, Any] = {"type": CONCISE_TYPES[kind]}
        if description.strip():
            prop["description"] = description.strip()
        properties[name] = prop
    if not properties:
        raise ValueError("the schema names no field; e.g. 'name, age int, bio: a short bio'")
    return {"type": "object", "properties": properties, "required": list(properties)}


def schema_model(schema: dict[str, Any], name: str = "Output") -> type[BaseModel]:
    """A pydantic model whose instances are the JSON objects ``schema`` describes.

    Understood: ``type`` (one or a list), ``properties``, ``required``, ``items``,
    ``enum``, ``const``, ``anyOf``/``oneOf``, a single ``allOf``, ``$ref`` into
    ``$defs``/``definitions``, ``additionalProperties``, ``description``, ``default``,
    ``title`` and the numeric, length and pattern bounds. Property names that cannot be
    Python field names are kept as aliases (dump with ``by_alias=True``).

    Raises:
        ValueError: ``schema`` is not an object schema, refers to a missing or recursive
            definition, or has a ``type`` this does not know.
    """
    if not isinstance(schema, dict):
        raise ValueError(f"a JSON schema is an object, not {type(schema).__name__}")
    builder = _Builder(schema)
    root = builder.resolve(schema)
    if root.get("type", "object") != "object" or not isinstance(root.get("properties"), dict):
        raise ValueError(
            "the schema must describe a JSON object with properties "
            '({"type": "object", "properties": {...}})'
        )
    return builder.model(root, str(schema.get("title") or name))


class _Builder:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = {**root.get("definitions", {}), **root.get("$defs", {})}
        self.models: dict[str, type[BaseModel]] = {}
        self.active: set[str] = set()

    def resolve(self, node: Any) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise ValueError(f"a schema is an object, not {node!r}")
        ref = node.get("$ref")
        if ref is None:
            return node
        return self._definition(ref)

    def _definition(self, ref: Any) -> dict[str, Any]:
        key = ref.rpartition("/")[2] if isinstance(ref, str) else None
        if not isinstance(ref, str) or not ref.startswith("#/") or key not in self.defs:
            raise ValueError(f"the schema refers to {ref!r}, which it does not define")
        found = self.defs[key]
        if not isinstance(found, dict):
            raise ValueError(f"the definition {ref!r} is not a schema")
        return found

    def model(self, node: dict[str, Any], name: str) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        required = set(node.get("required") or ())
        for index, (key, sub) in enumerate((node.get("properties") or {}).items()):
            annotation = self.annotation(sub, f"{name}_{key}")
            info = sub if isinstance(sub, dict) else {}
            field_name, alias = _python_name(str(key), index)
            if key in required:
                default: Any = ...
            else:
                annotation = annotation | None
                default = info.get("default")
            fields[field_name] = (
                annotation,
                Field(default, alias=alias, description=info.get("description")),
            )
        closed = node.get("additionalProperties") is False
        config = ConfigDict(
            extra="forbid" if closed else "ignore", protected_namespaces=(), populate_by_name=True
        )
        model: type[BaseModel] = create_model(
            _class_name(str(node.get("title") or name)),
            __config__=config,
            __doc__=node.get("description"),
            **fields,
        )
        return model

    def annotation(self, node: Any, name: str) -> Any:
        if not isinstance(node, dict):
            return Any  # ``true`` (anything goes)
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, name)
        constraints = {v: node[k] for k, v in _CONSTRAINTS.items() if k in node}
        base = self._base(node, name)
        return Annotated[base, Field(**constraints)] if constraints else base

    def _ref(self, ref: str, name: str) -> Any:
        if ref in self.models:
            return self.models[ref]
        if ref in self.active:
            raise ValueError(f"the schema is recursive ({ref!r}), which is not supported here")
        self.active.add(ref)
        try:
            target = self._definition(ref)
            result = self.annotation(target, str(target.get("title") or ref.rpartition("/")[2]))
        finally:
            self.active.discard(ref)
        if isinstance(result, type) and issubclass(result, BaseModel):
            self.models[ref] = result
        return result

    def _base(self, node: dict[str, Any], name: str) -> Any:
        if "const" in node:
            return Literal[node["const"]]
        if "enum" in node:
            values = node["enum"]
            if not isinstance(values, list) or not values:
                raise ValueError(f"'enum' must be a non-empty list, got {values!r}")
            return Literal[tuple(values)]
        for key in ("anyOf", "oneOf"):
            if key in node:
                choices = [self.annotation(sub, f"{name}_{i}") for i, sub in enumerate(node[key])]
                return functools.reduce(operator.or_, choices)
        if "allOf" in node:
            parts = node["allOf"]
            if not isinstance(parts, list) or len(parts) != 1:
                raise ValueError("'allOf' with several schemas is not supported here")
            return self.annotation(parts[0], name)
        kind = node.get("type")
        if isinstance(kind, list):
            rest = {k: v for k, v in node.items() if k != "type"}
            return functools.reduce(
                operator.or_, [self._base({**rest, "type": each}, name) for each in kind]
            )
        if kind is None:
            return self.model(node, name) if "properties" in node else Any
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            items = node.get("items")
            return list[self.annotation(items, f"{name}_item")] if items else list[Any]  # type: ignore[misc]
        if kind == "object":
            if isinstance(node.get("properties"), dict):
                return self.model(node, name)
            values = node.get("additionalProperties")
            value_type = self.annotation(values, f"{name}_value") if values else Any
            return dict[str, value_type]  # type: ignore[valid-type]
        raise ValueError(f"unknown JSON schema type {kind!r}")


def _python_name(key: str, index: int) -> tuple[str, str | None]:
    """A field name for a property, and the alias keeping the property's own name."""
    usable = (
        key.isidentifier()
        and not key.startswith("_")
        and not keyword.iskeyword(key)
        and not hasattr(BaseModel, key)
    )
    return (key, None) if usable else (f"field_{index}", key)


def _class_name(title: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in title).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"Output_{cleaned}"
