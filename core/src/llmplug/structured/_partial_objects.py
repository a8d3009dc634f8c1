"""Partial objects: what a structured stream yields while the JSON is still arriving.

:class:`FlexibleModel` classes (:func:`create_flexible_model`) have every field optional
and allow extras; :class:`PartialBuilder` turns an incremental parser's value into them.
"""

from __future__ import annotations

from functools import cache
from types import UnionType
from typing import Annotated, Any, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, create_model

from llmplug.structured._output_schema import OutputSchema

__all__ = ["FlexibleModel", "PartialBuilder", "create_flexible_model"]


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
    """Builds partial objects from a :class:`~llmplug.structured.PartialJSONParser`'s value.

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
