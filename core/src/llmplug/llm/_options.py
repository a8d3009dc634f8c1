"""A provider's options: which exist, which hold secrets, and errors that say what to fix.

Used when loading (``llmplug.load``, in ``llmplug.config``) and when a call passes
options of its own (:meth:`~llmplug.LLM.with_call_options`). Values shown in an error
have their secrets redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel

from llmplug._secrets import REDACTED, is_secret_name, redact_options, redact_url
from llmplug._untrusted import shorten
from llmplug.errors import InvalidOptionError

__all__ = [
    "OptionInfo",
    "describe_errors",
    "describe_options",
    "is_secret_option",
    "secret_location",
    "shown_options",
    "unknown_call_options",
    "valid_options",
]


def valid_options(cls: type[BaseModel]) -> list[str]:
    """The options a provider class accepts when loading, sorted."""
    # callables and parser objects (excluded from dumps) cannot come from a string
    return sorted(name for name, info in cls.model_fields.items() if not info.exclude)


def is_secret_option(cls: type[BaseModel], name: str) -> bool:
    """Whether option ``name`` of ``cls`` holds a secret (a ``SecretStr``, or by its name)."""
    info = cls.model_fields.get(name)
    annotation = repr(info.annotation) if info is not None else ""
    return "Secret" in annotation or is_secret_name(name)


def secret_location(cls: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether a validation error's location is (inside) a secret option."""
    return bool(loc) and (
        is_secret_option(cls, str(loc[0])) or any(is_secret_name(str(part)) for part in loc)
    )


def shown_options(llm: BaseModel, extra: Mapping[str, Any] = {}) -> dict[str, Any]:
    """``llm``'s options (its model, and those set explicitly), then ``extra``, redacted.

    Values become what JSON holds (enums their value, models dicts, anything else
    its text); secret options, secret-named keys at any depth and secrets in URLs are
    ``"<redacted>"``. For showing or keeping a call's options (logs, traces).
    """
    from pydantic_core import to_jsonable_python  # lazy: only when options are shown

    cls = type(llm)
    names = [getattr(cls, "model_field", None), *sorted(llm.model_fields_set)]
    values: dict[str, Any] = {}
    for name in names:
        info = cls.model_fields.get(name) if name else None
        if name is None or info is None or info.exclude or name in values:
            continue
        values[name] = REDACTED if is_secret_option(cls, name) else getattr(llm, name)
    values.update(extra)
    shown = redact_options(to_jsonable_python(values, fallback=str))
    return {
        key: redact_url(value) if isinstance(value, str) and "://" in value else value
        for key, value in shown.items()
    }


def _shown(value: Any) -> str:
    text = repr(redact_options(value))
    return text if len(text) <= 120 else text[:117] + "..."


def describe_errors(cls: type[BaseModel], exc: Any) -> tuple[str, str | None]:
    """Describe a ValidationError of ``cls``'s options: ``(text, the one option or None)``.

    Each failing value is shown as the input at its location, with secrets redacted.
    """
    lines = []
    names = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        names.append(str(loc[0]) if loc else "?")
        where = ".".join(str(part) for part in loc) or "options"
        if error.get("type") == "missing":  # its "input" is every other option: not useful
            named = where == getattr(cls, "model_field", None)
            hint = "name the model: PROVIDER:MODEL" if named else f"set it: ?{where}=..."
            lines.append(f"{where}: {error['msg']} ({hint})")
            continue
        shown = REDACTED if secret_location(cls, loc) else _shown(error.get("input"))
        lines.append(f"{where}={shown}: {error['msg']}")
    return "; ".join(lines), (names[0] if len(set(names)) == 1 else None)


def unknown_call_options(
    provider: str, cls: type[BaseModel], options: Mapping[str, Any], allowed: Sequence[str]
) -> InvalidOptionError | None:
    """The error for per-call ``options`` not in ``allowed``, or ``None`` if all are.

    It names the closest allowed option and, for an option that can only be set when
    loading, how to set it there.
    """
    unknown = sorted(set(options) - set(allowed))
    if not unknown:
        return None
    import difflib  # lazy for lightness: only on this error path

    hints = []
    for name in unknown:
        # a name far longer than any option's matches none (and difflib is quadratic)
        close = (
            difflib.get_close_matches(name, allowed, n=1, cutoff=0.6) if len(name) <= 100 else []
        )
        shown = shorten(name)
        hints.append(f"{shown} (did you mean {close[0]!r}?)" if close else shown)
    load_time = [name for name in unknown if name in cls.model_fields]
    hint = (
        f"; {', '.join(map(repr, load_time))} can only be set when loading "
        f"(llmplug.load('{provider}?{load_time[0]}=...'))"
        if load_time
        else ""
    )
    return InvalidOptionError(
        f"a call does not take option {', '.join(hints)}; per-call options: "
        f"{', '.join(allowed)}{hint}",
        provider=provider,
        option=unknown[0] if len(unknown) == 1 else None,
        valid_options=list(allowed),
    )


# -- describing a provider's options (``llmplug options``) --------------------------------


class OptionInfo(NamedTuple):
    """One option of a provider class, described for people (``llmplug options``).

    Attributes:
        name: The option's name (a pydantic field of the provider class).
        type: Its type as text, with its bounds (``"float | None (>= 0, <= 2)"``).
        required: Whether it must be given (it has no default).
        default: The default value (``None`` when required; never shown for a secret).
        description: What it does: the field's description, else the class docstring's.
        per_call: Whether a call may override it (``llm.chat(messages, name=...)``).
        secret: Whether it holds a secret (its value is never shown).
    """

    name: str
    type: str
    required: bool
    default: Any
    description: str
    per_call: bool
    secret: bool


def describe_options(cls: type[BaseModel]) -> list[OptionInfo]:
    """Describe the options of a provider class, its own first, then inherited ones.

    The model option (``cls.model_field``) comes first. Descriptions come from each
    field's ``description`` or, failing that, the ``Attributes:`` section of the
    docstring of the class that declares it (or of a subclass).
    """
    per_call = set(getattr(cls, "per_call_options", ()))
    docs = _attribute_docs(cls)
    fields = cls.model_fields
    order: list[str] = []
    model_field = getattr(cls, "model_field", None)
    if model_field in fields:
        order.append(model_field)
    for klass in cls.__mro__:
        for name in vars(klass).get("__annotations__", {}):
            if name in fields and name not in order:
                order.append(name)
    order += [name for name in fields if name not in order]
    described = []
    for name in order:
        info = fields[name]
        if info.exclude:
            continue  # callables and parser objects: not options a string can set
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        secret = is_secret_option(cls, name)
        described.append(
            OptionInfo(
                name=name,
                type=_type_text(info.annotation) + _bounds(info.metadata),
                required=required,
                default=None if secret else default,
                description=_plain(info.description or docs.get(name, "")),
                per_call=name in per_call,
                secret=secret,
            )
        )
    return described


# "    name: text" in a Google-style Attributes section, then deeper-indented continuations
# compiled on first use (and cached by re), so importing stays cheap
_SECTION = r"(?m)^(?P<indent>[ \t]*)Attributes:[ \t]*$"


def _attribute_docs(cls: type) -> dict[str, str]:
    """``name -> description`` from the ``Attributes:`` sections of ``cls`` and its bases."""
    import inspect  # lazy for lightness: only when options are described

    found: dict[str, str] = {}
    for klass in cls.__mro__:
        doc = inspect.cleandoc(vars(klass).get("__doc__") or "")
        match = re.search(_SECTION, doc)
        if match is None:
            continue
        indent = len(match["indent"])
        name: str | None = None
        first_depth = 0
        lines: dict[str, list[str]] = {}
        for line in doc[match.end() :].splitlines()[1:]:
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            if depth <= indent:
                break  # the next section
            head, colon, rest = line.strip().partition(":")
            if colon and head.isidentifier() and (name is None or depth <= first_depth):
                first_depth = depth
                name = head
                lines[name] = [rest]
            elif name is not None:
                lines[name].append(line.strip())
        for key, parts in lines.items():
            found.setdefault(key, " ".join(" ".join(parts).split()))
    return found


_ROLE = r":[a-z]+:`~?(?:[\w.]*\.)?([^`.]+)`"


def _plain(text: str) -> str:
    """Docstring markup as plain text: ``x`` becomes `x`, :class:`~a.B` becomes B."""
    return " ".join(re.sub(_ROLE, r"\1", text).replace("``", "`").split())


_MODULE_PREFIX = r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])"


def _type_text(annotation: Any) -> str:
    if annotation is None:
        return "None"
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    text = repr(annotation).replace("NoneType", "None")
    return re.sub(_MODULE_PREFIX, "", text)


_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def _bounds(metadata: Sequence[Any]) -> str:
    parts = []
    for item in metadata:
        for attr, sign in _BOUNDS:
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
        for attr in ("min_length", "max_length"):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{attr}={value}")
    return f" ({', '.join(parts)})" if parts else ""
