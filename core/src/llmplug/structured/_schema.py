"""What structured output asks for, and how a model's answer is read back.

* :class:`OutputSchema`: the output class (a pydantic model or ``list[Model]``), the
  name, description and JSON schema a provider sends, and the validation of an answer.
* :func:`strict_json_schema`: a schema in the strict form OpenAI-style APIs take.
* :func:`extract_json`: the JSON value in a model's text (prose, code fences, Python-ish
  literals).
* :class:`PydanticOutputParser`: the schema into the prompt, the object out of the text.
* :class:`FlexibleModel`, :func:`create_flexible_model` and :class:`PartialBuilder`: the
  partial objects a structured stream yields.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from types import UnionType
from typing import Annotated, Any, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from llmplug._output_parsers import BaseOutputParser

__all__ = [
    "FlexibleModel",
    "OutputSchema",
    "PartialBuilder",
    "PydanticOutputParser",
    "create_flexible_model",
    "extract_json",
    "output_schema",
    "strict_json_schema",
]

_TOOL_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_LIST_FIELD = "items"


def _describe_errors(errors: list[Any], limit: int = 8) -> str:
    lines = []
    for error in errors[:limit]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "(the whole value)"
        lines.append(f"- {where}: {error.get('msg', error)}")
    if len(errors) > limit:
        lines.append(f"- ... and {len(errors) - limit} more")
    return "\n".join(lines)


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
        """The schema in strict form, and whether it is strict (see :func:`strict_json_schema`)."""
        return strict_json_schema(self.json_schema)

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


# -- strict schemas ----------------------------------------------------------------------


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


# -- reading JSON in text --------------------------------------------------------------


def extract_json(text: str, expected: str = "object") -> Any:
    """The first JSON value of the expected kind in a model's text, else ``None``.

    Tries the whole text, then each fenced code block, then each balanced ``{...}``
    or ``[...]`` in the prose. Lenient with what models write: single quotes,
    ``True``/``None``, trailing commas (read as Python literals when not JSON).

    Args:
        text: The model's answer.
        expected: ``"object"`` (a dict) or ``"array"`` (a list; an object is also
            returned, for ``{"items": [...]}`` answers).
    """
    from llmplug._react import _FENCE, _balanced_end, _loads

    kinds: tuple[type, ...] = (dict,) if expected == "object" else (list, dict)
    stripped = text.strip()
    candidates = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(stripped))]
    for candidate in candidates:
        if candidate[:1] in ("{", "["):
            value = _loads(candidate)
            if isinstance(value, kinds):
                return value
    at = 0
    while True:
        starts = [i for i in (stripped.find("{", at), stripped.find("[", at)) if i >= 0]
        if not starts:
            return None
        start = min(starts)
        end = _balanced_end(stripped, start)
        if end > 0:
            value = _loads(stripped[start:end])
            if isinstance(value, kinds):
                return value
        at = start + 1


# -- the output parser -------------------------------------------------------------------

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
        from llmplug.errors import StructuredOutputError

        value, errors = self.parse_errors(output)
        if errors:
            raise StructuredOutputError(
                f"the output does not match {self._schema.name}:\n{_describe_errors(errors)}",
                raw=output,
                errors=errors,
            )
        return value

    def parse_errors(self, output: str) -> tuple[Any, list[Any]]:
        """``(output, [])`` if the text holds a valid answer, else ``(None, errors)``."""
        value = extract_json(output, self._schema.expected())
        if value is None:
            return None, [_no_json_error(output)]
        try:
            return self._schema.validate(value), []
        except ValidationError as exc:
            return None, exc.errors(include_url=False)


def _no_json_error(text: str) -> dict[str, Any]:
    what = "no text" if not text.strip() else "no JSON object"
    return {"type": "json_invalid", "loc": (), "msg": f"the answer holds {what}", "input": text}


# -- partial objects ---------------------------------------------------------------------


class FlexibleModel(BaseModel):
    """The base of partial objects: any field may be missing (``None``), extras allowed.

    A structured stream yields instances of :func:`create_flexible_model` classes:
    fields fill in as the JSON arrives; they are not validated until the final object.
    """

    model_config = ConfigDict(extra="allow")


@cache
def create_flexible_model(model: type[BaseModel]) -> type[FlexibleModel]:
    """The partial form of ``model``: every field optional (``None`` until it arrives).

    The class is named ``Flexible<Model>`` and keeps the model's docstring.
    """
    fields: dict[str, Any] = {name: (Optional[Any], None) for name in model.model_fields}  # noqa: UP045
    flexible: type[FlexibleModel] = create_model(
        f"Flexible{model.__name__}", __base__=FlexibleModel, __doc__=model.__doc__, **fields
    )
    return flexible


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]``, ``Optional[X]``, ``X | None`` -> ``X``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
            if get_origin(annotation) is Annotated:
                annotation = get_args(annotation)[0]
    return annotation


def _model_class(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


@cache
def _field_kinds(model: type[BaseModel]) -> dict[str, tuple[str, str, type[BaseModel] | None]]:
    """JSON key -> (field name, kind, nested model) with kind ``model``, ``list`` or ``raw``."""
    kinds: dict[str, tuple[str, str, type[BaseModel] | None]] = {}
    for name, field in model.model_fields.items():
        annotation = _unwrap(field.annotation)
        nested = _model_class(annotation)
        kind = "model" if nested else "raw"
        if nested is None and get_origin(annotation) is list:
            nested = _model_class(
                _unwrap(get_args(annotation)[0]) if get_args(annotation) else None
            )
            kind = "list" if nested else "raw"
        kinds[field.alias or name] = (name, kind, nested)
    return kinds


class PartialBuilder:
    """Builds partial objects from a :class:`~llmplug._partial_json.PartialJSONParser`'s value.

    Every partial is a new object, but what it holds from complete parts of the value
    is built once and shared: objects and arrays the parser reports closed are cached,
    and so are the complete items of an array still arriving (all but its last). A
    partial thus costs the open path from the root to the cursor, plus a copy of the
    references of the open arrays and objects on it, not the whole value. Shared parts
    never change; do not change them either.
    """

    def __init__(self, schema: OutputSchema) -> None:
        self._schema = schema
        self._cache: dict[int, Any] = {}
        self._prefixes: dict[int, list[Any]] = {}

    def build(self, value: Any, closed: set[int]) -> Any:
        """The partial output for the parsed ``value`` (a partial model, or a list of them)."""
        value = self._schema.unwrap(value)
        if self._schema.is_list:
            items = value if isinstance(value, list) else []
            return self._list(self._schema.item_cls, items, closed)
        return self._model(self._schema.item_cls, value if isinstance(value, dict) else {}, closed)

    def _model(self, model: type[BaseModel] | None, data: Any, closed: set[int]) -> Any:
        if model is None or not isinstance(data, dict):
            return self._raw(data, closed)
        key = id(data)
        done = key in closed
        if done:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        kinds = _field_kinds(model)
        values: dict[str, Any] = {}
        for json_key, item in data.items():
            name, kind, nested = kinds.get(json_key, (json_key, "raw", None))
            if kind == "model":
                item = self._model(nested, item, closed)
            elif kind == "list" and isinstance(item, list):
                item = self._list(nested, item, closed)
            else:
                item = self._raw(item, closed)
            values[name] = item
        partial = create_flexible_model(model).model_construct(**values)
        if done:
            self._cache[key] = partial
        return partial

    def _list(self, model: type[BaseModel] | None, items: list[Any], closed: set[int]) -> Any:
        key = id(items)
        done = key in closed
        cached = self._cache.get(key) if done else None
        if cached is not None:
            return cached
        # every item but the last is complete: built once, kept in a prefix
        prefix = self._prefixes.setdefault(key, [])
        complete = len(items) if done else len(items) - 1
        while len(prefix) < complete:
            prefix.append(self._model(model, items[len(prefix)], closed))
        built = prefix[:]
        if len(built) < len(items):
            built.append(self._model(model, items[-1], closed))
        if done:
            self._cache[key] = built
            del self._prefixes[key]
        return built

    def _raw(self, value: Any, closed: set[int]) -> Any:
        """A plain value; an open array or object is copied (only its last item may change)."""
        if isinstance(value, list):
            return self._list(None, value, closed)
        if isinstance(value, dict) and id(value) not in closed:
            copied = dict(value)
            if copied:
                last = next(reversed(copied))
                copied[last] = self._raw(copied[last], closed)
            return copied
        return value
