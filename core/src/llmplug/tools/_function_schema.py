"""A tool's argument schema, built from a function's signature, type hints and docstring.

:func:`function_schema` turns ``def f(city: str, days: int = 3)`` into a pydantic model
whose JSON schema is what a model sees as the tool's parameters. Descriptions come from
``Annotated[T, "text"]``, ``Annotated[T, Field(description=...)]``, a ``Field(...)``
default, or else the docstring's parameter section: Google (``Args:``), NumPy
(``Parameters`` underlined), reST/Sphinx (``:param name:``), epytext (``@param name:``)
and Javadoc (``@param name text``) styles are read.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

__all__ = ["function_schema", "parse_param_docs"]

# Google-style section headers that list parameters
_GOOGLE_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
)
# "name (type): text" or "name: text" (also "*args" and "**kwargs")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
# ":param name: text", ":param type name: text", ":parameter name: text"
_REST_ITEM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)$"
)
# epytext's "@param name: text" and Javadoc's "@param name text" (no colon)
_AT_ITEM = re.compile(
    r"^@(?:param|parameter|arg|argument|key|keyword)\s+\*{0,2}(\w+)(?:\s*:\s*|\s+|$)(.*)$"
)
# NumPy: "name : type" (or a bare "name", or "x, y : type" for several) under a
# "Parameters\n----------" header
_NUMPY_ITEM = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::\s*(.*))?$")
_NUMPY_SECTIONS = frozenset({"parameters", "other parameters", "keyword arguments"})


def parse_param_docs(docstring: str | None) -> dict[str, str]:
    """The per-parameter descriptions a docstring gives, by parameter name.

    Reads Google (``Args:`` / ``Parameters:`` sections), NumPy (a ``Parameters``
    header underlined with dashes), reST/Sphinx (``:param name: text``), epytext
    (``@param name: text``) and Javadoc (``@param name text``) styles; continuation
    lines are joined with single spaces. The first description found for a name wins.

    Args:
        docstring: The docstring (indentation as written or already cleaned).
    """
    if not docstring:
        return {}
    lines = inspect.cleandoc(docstring).splitlines()
    docs: dict[str, str] = {}
    for name, text in (*_rest(lines), *_google(lines), *_numpy(lines)):
        text = " ".join(text.split())
        if text and name not in docs:
            docs[name] = text
    return docs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _rest(lines: list[str]) -> Iterable[tuple[str, str]]:
    current: list[str] | None = None
    name = ""
    for line in lines:
        stripped = line.strip()
        match = _REST_ITEM.match(stripped) or _AT_ITEM.match(stripped)
        if match:
            if current is not None:
                yield name, " ".join(current)
            name, current = match.group(1), [match.group(2)]
        elif current is not None and stripped and not stripped.startswith((":", "@")):
            current.append(stripped)
        elif current is not None:
            yield name, " ".join(current)
            current = None
    if current is not None:
        yield name, " ".join(current)


def _google(lines: list[str]) -> Iterable[tuple[str, str]]:
    i = 0
    while i < len(lines):
        header = lines[i].strip()
        if not (header.endswith(":") and header[:-1].lower() in _GOOGLE_SECTIONS):
            i += 1
            continue
        base = _indent(lines[i])
        i += 1
        item_indent: int | None = None
        name, text = "", list[str]()
        while i < len(lines):
            line = lines[i]
            if line.strip() and _indent(line) <= base:
                break  # the section ended
            if not line.strip():
                i += 1
                continue
            indent = _indent(line)
            if item_indent is None:
                item_indent = indent
            match = _GOOGLE_ITEM.match(line.strip()) if indent == item_indent else None
            if match:
                if name:
                    yield name, " ".join(text)
                name, text = match.group(1), [match.group(3)]
            elif name:
                text.append(line.strip())
            i += 1
        if name:
            yield name, " ".join(text)


def _numpy(lines: list[str]) -> Iterable[tuple[str, str]]:
    i = 0
    while i + 1 < len(lines):
        header, rule = lines[i].strip(), lines[i + 1].strip()
        if not (
            header.lower() in _NUMPY_SECTIONS and rule and set(rule) == {"-"} and len(rule) >= 3
        ):
            i += 1
            continue
        base = _indent(lines[i])
        i += 2
        names, text = list[str](), list[str]()
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            if i + 1 < len(lines) and stripped and set(lines[i + 1].strip()) == {"-"}:
                break  # the next section's header
            if stripped and _indent(line) <= base:
                match = _NUMPY_ITEM.match(stripped)
                if not match:
                    break
                yield from ((name, " ".join(text)) for name in names)
                names = [name.strip().lstrip("*") for name in match.group(1).split(",")]
                text = []
            elif stripped and names:
                text.append(stripped)
            i += 1
        yield from ((name, " ".join(text)) for name in names)


# -- the schema ------------------------------------------------------------------------


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations (``from __future__ import annotations`` included).

    A name that cannot be resolved (a class local to the function defining the tool
    and not used in the tool's body) leaves that one parameter untyped (``Any``),
    rather than failing the whole tool.
    """
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # one bad name: resolve the others one by one
        pass
    hints: dict[str, Any] = {}
    target = inspect.unwrap(fn)
    namespace = dict(getattr(target, "__globals__", {}))
    with contextlib.suppress(TypeError, ValueError):  # names seen in an enclosing scope
        namespace.update(inspect.getclosurevars(target).nonlocals)
    for name, annotation in getattr(fn, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # the function's own annotation
            except Exception:
                annotation = Any
        hints[name] = annotation
    return hints


def function_schema(
    name: str,
    fn: Callable[..., Any],
    *,
    ignore: Iterable[str] = (),
    param_docs: dict[str, str] | None = None,
) -> type[BaseModel]:
    """A pydantic model of ``fn``'s parameters: the tool's argument schema.

    ``*args`` are left out; a function taking ``**kwargs`` gets a schema that allows
    extra arguments.

    Args:
        name: The model's name (the tool's name).
        fn: The function (sync or async).
        ignore: Parameters to leave out (those filled by ``partial_params``).
        param_docs: Descriptions by parameter, used where the signature gives none
            (default: parsed from ``fn``'s docstring).
    """
    skip = set(ignore)
    docs = parse_param_docs(fn.__doc__) if param_docs is None else param_docs
    hints = _hints(fn)
    fields: dict[str, Any] = {}
    extra_allowed = False
    for param in inspect.signature(fn).parameters.values():
        if param.name in skip or param.kind is param.VAR_POSITIONAL:
            continue
        if param.kind is param.VAR_KEYWORD:
            extra_allowed = True
            continue
        hint, info = _field(param, hints.get(param.name, Any), docs.get(param.name))
        key = param.name
        if hasattr(BaseModel, key):  # json, schema, copy, dict...: pydantic refuses the name
            while key in fields or hasattr(BaseModel, key):
                key += "_"
            info = FieldInfo.merge_field_infos(info, Field(alias=param.name))
        fields[key] = (hint, info)
    config = ConfigDict(
        extra="allow" if extra_allowed else "forbid",
        protected_namespaces=(),  # model_name, model_id... are ordinary parameter names
    )
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


def _field(param: inspect.Parameter, hint: Any, doc: str | None) -> tuple[Any, FieldInfo]:
    described: FieldInfo | None = None
    description: str | None = None
    if get_origin(hint) is Annotated:
        base, *metadata = get_args(hint)
        for item in metadata:
            if isinstance(item, str) and description is None:
                description = item
            elif isinstance(item, FieldInfo):
                described = item
                description = description or item.description
        # keep other metadata (annotated_types constraints) on the type
        rest = [item for item in metadata if not isinstance(item, str | FieldInfo)]
        hint = Annotated[(base, *rest)] if rest else base
    default = param.default
    if isinstance(default, FieldInfo):
        described = FieldInfo.merge_field_infos(described, default) if described else default
        default = inspect.Parameter.empty
    if described is not None and described.description:
        description = described.description
    description = description or doc
    overrides: dict[str, Any] = {}
    if description:
        overrides["description"] = description
    if default is not inspect.Parameter.empty:
        overrides["default"] = default
    if described is not None:
        info = FieldInfo.merge_field_infos(described, **overrides)
    else:
        info = FieldInfo(**overrides)
    return (Any if hint is inspect.Parameter.empty else hint), info
