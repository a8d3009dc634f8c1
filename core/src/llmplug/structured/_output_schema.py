"""What structured output asks for: the output class, its name and JSON schema.

* :class:`OutputSchema`: the output class (a pydantic model or ``list[Model]``), the
  name, description and JSON schema a provider sends, and the validation of an answer.
* :func:`strict_json_schema`: a schema in the strict form OpenAI-style APIs take.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any, get_args, get_origin

from pydantic import BaseModel, create_model

__all__ = [
    "OutputSchema",
    "describe_validation_errors",
    "is_recursive",
    "no_json_error",
    "output_schema",
    "strict_json_schema",
]

_TOOL_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_LIST_FIELD = "items"
_DEFS_REF = "#/$defs/"


def describe_validation_errors(errors: list[Any], limit: int = 8) -> str:
    """Pydantic errors as lines for a model (or a person) to read, at most ``limit``."""
    lines = []
    for error in errors[:limit]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "(the whole value)"
        lines.append(f"- {where}: {error.get('msg', error)}")
    if len(errors) > limit:
        lines.append(f"- ... and {len(errors) - limit} more")
    return "\n".join(lines)


def no_json_error(text: str) -> dict[str, Any]:
    """The validation error (pydantic's shape) for an answer holding no JSON object."""
    what = "no text" if not text.strip() else "no JSON object"
    return {"type": "json_invalid", "loc": (), "msg": f"the answer holds {what}", "input": text}


class OutputSchema:
    """The structured output a call asks for: a pydantic model, or a list of them.

    Providers read :attr:`name`, :attr:`description` and :attr:`json_schema` (or
    :meth:`strict_json_schema`) to ask for output in their native way. The schema is
    always of a JSON object: a ``list[Model]`` output is asked for as
    ``{"items": [...]}`` (what tool calls and strict JSON modes need), and a bare array
    in the model's answer is accepted too.

    Args:
        output_cls: A pydantic model class, or ``list[Model]``.

    Raises:
        TypeError: ``output_cls`` is neither.
    """

    def __init__(self, output_cls: Any) -> None:
        self.output_cls = output_cls
        item = get_args(output_cls)[0] if get_origin(output_cls) is list else output_cls
        if not (isinstance(item, type) and issubclass(item, BaseModel)):
            raise TypeError(
                f"structured output needs a pydantic model class or list[Model], not {output_cls!r}"
            )
        #: Whether the output is ``list[Model]``.
        self.is_list: bool = item is not output_cls
        #: The model class (of the items, for a list).
        self.item_cls: type[BaseModel] = item
        base = _TOOL_NAME.sub("_", item.__name__)[:60] or "Output"
        #: A name for the output, usable as a tool or schema name (``[a-zA-Z0-9_-]``).
        self.name: str = f"{base}List" if self.is_list else base
        doc = item.__doc__ if item.__doc__ != BaseModel.__doc__ else None
        what = " ".join((doc or "").split()) or f"A {item.__name__}"
        #: What the output is: the model's docstring, or its name.
        self.description: str = f"A list of items, each: {what}" if self.is_list else what
        #: The model whose JSON object is the answer (a wrapper for a list).
        items: Any = list[item]  # type: ignore[valid-type]
        self.answer_model: type[BaseModel] = (
            create_model(self.name, __doc__=self.description, items=(items, ...))
            if self.is_list
            else item
        )

    def __repr__(self) -> str:
        return f"OutputSchema({self.name})"

    @property
    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the answer object (pydantic's, with ``$defs``)."""
        return _schema_of(self.answer_model)

    def strict_json_schema(self) -> tuple[dict[str, Any], bool]:
        """The schema in strict form, and whether it is strict (see :func:`strict_json_schema`).

        Made once per output class and shared, like :attr:`json_schema`: do not change
        it (copy it first).
        """
        return _strict_schema_of(self.answer_model)

    def unwrap(self, value: Any) -> Any:
        """The output's value in an answer: the list of ``{"items": [...]}`` for a list."""
        if self.is_list and isinstance(value, dict) and set(value) == {_LIST_FIELD}:
            return value[_LIST_FIELD]
        return value

    def validate(self, value: Any) -> Any:
        """Validate a parsed answer into the output class (a list of models for a list).

        Raises:
            ValidationError: It does not fit.
        """
        value = self.unwrap(value)
        if self.is_list:
            validated: BaseModel = self.answer_model.model_validate({_LIST_FIELD: value})
            return getattr(validated, _LIST_FIELD)
        return self.item_cls.model_validate(value)

    def dump_json(self, output: Any) -> str:
        """The JSON text of an output (a model, a list of models, or a partial)."""
        if isinstance(output, list):
            return "[" + ",".join(item.model_dump_json() for item in output) + "]"
        return str(output.model_dump_json())

    def expected(self) -> str:
        """``"object"`` or ``"array"``: what the answer's JSON is."""
        return "array" if self.is_list else "object"


@cache
def output_schema(output_cls: Any) -> OutputSchema:
    """The :class:`OutputSchema` of ``output_cls``, made once per class (cached)."""
    return OutputSchema(output_cls)


@cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


@cache
def _strict_schema_of(model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    # every structured call on the native path asks for it: deep-copying and rewriting
    # the schema each time cost ~1 µs per streamed token of a 1 KB answer
    return strict_json_schema(_schema_of(model))


# -- strict schemas ----------------------------------------------------------------------


def is_recursive(schema: dict[str, Any]) -> bool:
    """Whether a JSON schema's ``$defs`` refer to themselves, directly or through others.

    For providers whose native schema mode takes no recursive schemas (a tree of
    nodes, say): such an output then goes through a tool call or the prompt instead.
    """
    defs = schema.get("$defs") or {}
    edges = {name: _refs(node) for name, node in defs.items()}
    done: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> bool:
        if name in path:
            return True
        if name in done:
            return False
        found = any(visit(child, path | {name}) for child in edges.get(name, ()))
        done.add(name)
        return found

    return any(visit(name, frozenset()) for name in edges)


def _refs(node: Any) -> set[str]:
    """The ``$defs`` names ``node`` refers to (``#/$defs/Name``), at any depth."""
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set().union(*(_refs(value) for value in node.values())) if node else set()
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_REF):
        found.add(ref.removeprefix(_DEFS_REF))
    return found


def strict_json_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A JSON schema in the strict form OpenAI's structured outputs take.

    Every object gets ``additionalProperties: false`` and lists all its properties as
    required (optional fields stay nullable: the model writes ``null``); ``default:
    null`` is dropped, and a ``$ref`` with sibling keys is inlined. The input is not
    changed.

    Returns:
        The new schema, and whether it is strict: ``False`` when an object takes
        arbitrary keys (a ``dict`` field), which strict mode cannot express; the schema
        is then still usable without ``strict``.
    """
    result = copy.deepcopy(schema)
    defs = result.get("$defs", {})
    strict = _make_strict(result, defs)
    return result, strict


def _make_strict(node: Any, defs: dict[str, Any]) -> bool:
    if isinstance(node, list):
        return all([_make_strict(item, defs) for item in node])
    if not isinstance(node, dict):
        return True
    ok = True
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1 and ref.startswith("#/$defs/"):
        # strict mode takes no keys beside a $ref: inline the definition
        target = defs.get(ref.removeprefix("#/$defs/"), {})
        del node["$ref"]
        for key, value in copy.deepcopy(target).items():
            node.setdefault(key, value)
    if "default" in node and node["default"] is None:
        del node["default"]
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            ok = False  # a dict field: arbitrary keys
        else:
            node["additionalProperties"] = False
            node["required"] = list(node.get("properties", {}))
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        node.pop("allOf")
        for key, value in all_of[0].items():
            node.setdefault(key, value)
    for key in ("properties", "$defs", "definitions"):
        for child in (node.get(key) or {}).values():
            ok = _make_strict(child, defs) and ok
    for key in ("items", "anyOf", "allOf", "oneOf", "prefixItems", "additionalProperties"):
        if key in node and node[key] is not False:
            ok = _make_strict(node[key], defs) and ok
    return ok
