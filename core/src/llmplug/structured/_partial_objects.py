"""Partial objects: what a structured stream yields while the JSON is still arriving.

:class:`FlexibleModel` classes (:func:`create_flexible_model`) have every field optional
and allow extras; :class:`PartialBuilder` turns an incremental parser's value into them.
"""

from __future__ import annotations

from functools import cache
from itertools import islice
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


_MODEL, _LIST, _RAW = range(3)
# where a JSON key's value goes: (field name or None for an extra, kind, nested model)
_Slot = tuple[str | None, int, type[BaseModel] | None]
_EXTRA: _Slot = (None, _RAW, None)

# pydantic's own slots on every model, set directly: what ``model_construct`` does for a
# FlexibleModel (every field defaults to None, extras allowed, no private attributes),
# minus its Python-level loop over the fields
_new = object.__new__
_BASE_SLOTS = BaseModel.__dict__
_set_dict = _BASE_SLOTS["__dict__"].__set__
_set_fields = _BASE_SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _BASE_SLOTS["__pydantic_extra__"].__set__
_set_private = _BASE_SLOTS["__pydantic_private__"].__set__


class _Shape:
    """How the JSON object of one model becomes its partial object."""

    __slots__ = ("defaults", "direct", "flexible", "slots")

    def __init__(self, model: type[BaseModel]) -> None:
        self.flexible = create_flexible_model(model)
        # built directly while FlexibleModel keeps model_construct's trivial path
        self.direct = not self.flexible.__pydantic_post_init__
        self.defaults: dict[str, Any] = dict.fromkeys(self.flexible.model_fields)
        self.slots: dict[str, _Slot] = {}
        for name, field in model.model_fields.items():
            annotation = _unwrap(field.annotation)
            nested = _model_class(annotation)
            kind = _MODEL if nested else _RAW
            if nested is None and get_origin(annotation) is list:
                args = get_args(annotation)
                nested = _model_class(_unwrap(args[0]) if args else None)
                kind = _LIST if nested else _RAW
            self.slots[field.alias or name] = (name, kind, nested)
        for name in model.model_fields:  # a field's own name sets it too (not an extra)
            self.slots.setdefault(name, (name, _RAW, None))

    def construct(self, values: dict[str, Any], names: set[str], extra: dict[str, Any]) -> Any:
        """A new partial: ``values`` holds every field (``None`` if unset), ``names`` the set ones.

        Equal to ``flexible.model_construct(**set_fields, **extra)``; the arguments
        become the object's own (pass copies).
        """
        if not self.direct:
            return self.flexible.model_construct(**{n: values[n] for n in names}, **extra)
        partial = _new(self.flexible)
        _set_dict(partial, values)
        _set_fields(partial, names)
        _set_extra(partial, extra)
        _set_private(partial, None)
        return partial


@cache
def _shape(model: type[BaseModel]) -> _Shape:
    return _Shape(model)


class _OpenObject:
    """An object still arriving: what was built from its complete entries."""

    __slots__ = ("count", "extra", "last_key", "names", "shape", "size", "tail", "values")

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        self.count = 0  # its first `count` entries are built (into values, names, extra)
        self.last_key: str | None = None  # the key of the last of them
        self.size = 0  # its size at the last build
        self.tail: str | None = None  # its last key at the last build
        self.values: dict[str, Any] = shape.defaults.copy()  # every field, None until set
        self.names: set[str] = set()  # the fields set
        self.extra: dict[str, Any] = {}


class PartialBuilder:
    """Builds partial objects from a :class:`~llmplug.structured.PartialJSONParser`'s value.

    Every partial is a new object, but what it holds from complete parts of the value
    is built once and shared: objects and arrays the parser reports closed are cached,
    and so are the complete entries of an object or array still arriving (all but its
    last). A partial thus costs the open path from the root to the cursor: a copy of
    the references held by the open objects and arrays on it, the characters of an
    open string, and one new partial object per open level, not the whole value.
    Shared parts never change; do not change them either.

    The value must grow as the parser's does: objects and arrays change only at their
    end (an entry is complete once another follows it); a key given again moves to the
    end of its object.
    """

    def __init__(self, schema: OutputSchema) -> None:
        self._schema = schema
        self._cache: dict[int, Any] = {}  # closed containers -> what was built
        self._prefixes: dict[int, list[Any]] = {}  # open arrays -> their built items
        self._objects: dict[int, _OpenObject] = {}  # open objects -> their built entries

    def build(self, value: Any, closed: set[int]) -> Any:
        """The partial output for the parsed ``value`` (a partial model, or a list of them)."""
        schema = self._schema
        if schema.is_list:
            value = schema.unwrap(value)
            items = value if isinstance(value, list) else []
            return self._list(schema.item_cls, items, closed)
        return self._model(schema.item_cls, value if isinstance(value, dict) else {}, closed)

    def _model(self, model: type[BaseModel] | None, data: Any, closed: set[int]) -> Any:
        if model is None or not isinstance(data, dict):
            return self._raw(data, closed)
        key = id(data)
        done = key in closed
        if done:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        state = self._objects.get(key)
        if state is None:
            state = self._objects[key] = _OpenObject(_shape(model))
        size = len(data)
        tail: str | None = next(reversed(data)) if size else None
        if size == state.size and tail != state.tail:
            # a key given again moved to the end: build its entries again
            state = self._objects[key] = _OpenObject(state.shape)
        state.size = size
        state.tail = tail
        complete = size if done or not size else size - 1
        if state.count < complete and not self._add_complete(state, data, complete, closed):
            state = self._objects[key] = _OpenObject(state.shape)
            self._add_complete(state, data, complete, closed)
        shape = state.shape
        if done:
            partial = shape.construct(state.values, state.names, state.extra)
            self._cache[key] = partial
            del self._objects[key]
            return partial
        values = state.values.copy()
        names = state.names.copy()
        extra = state.extra.copy() if state.extra else {}
        if tail is not None and complete < size:
            self._add(shape, values, names, extra, tail, data[tail], closed)
        return shape.construct(values, names, extra)

    def _add_complete(
        self, state: _OpenObject, data: dict[str, Any], complete: int, closed: set[int]
    ) -> bool:
        """Build the entries that became complete; False if earlier ones moved (start over)."""
        count = state.count
        size = len(data)
        # the new complete keys, and the last one built before them to check it is in place
        keys = list(islice(reversed(data), size - complete, size - count + (1 if count else 0)))
        if count and keys.pop() != state.last_key:
            return False
        keys.reverse()
        shape, values, names, extra = state.shape, state.values, state.names, state.extra
        for json_key in keys:
            self._add(shape, values, names, extra, json_key, data[json_key], closed)
        state.count = complete
        state.last_key = keys[-1]
        return True

    def _add(
        self,
        shape: _Shape,
        values: dict[str, Any],
        names: set[str],
        extra: dict[str, Any],
        json_key: str,
        item: Any,
        closed: set[int],
    ) -> None:
        name, kind, nested = shape.slots.get(json_key) or _EXTRA
        if kind == _MODEL:
            item = self._model(nested, item, closed)
        elif kind == _LIST and isinstance(item, list):
            item = self._list(nested, item, closed)
        elif isinstance(item, list | dict):
            item = self._raw(item, closed)
        if name is None:
            extra[json_key] = item
        else:
            values[name] = item
            names.add(name)

    def _list(self, model: type[BaseModel] | None, items: list[Any], closed: set[int]) -> Any:
        key = id(items)
        done = key in closed
        cached = self._cache.get(key) if done else None
        if cached is not None:
            return cached
        # every item but the last is complete: built once, kept in a prefix
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = self._prefixes[key] = []
        size = len(items)
        complete = size if done else size - 1
        built = len(prefix)
        while built < complete:
            prefix.append(self._model(model, items[built], closed))
            built += 1
        if done:
            self._cache[key] = prefix
            del self._prefixes[key]
            return prefix
        partial = prefix[:]
        if built < size:
            partial.append(self._model(model, items[-1], closed))
        return partial

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
