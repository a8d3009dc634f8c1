"""A provider's options: which exist, which hold secrets, and errors that say what to fix.

Used when loading (``llmplug.load``, in ``llmplug.config``) and when a call passes
options of its own (:meth:`~llmplug.LLM.with_call_options`). Values shown in an error
have their secrets redacted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from llmplug._secrets import REDACTED, is_secret_name, redact_options
from llmplug._untrusted import shorten
from llmplug.errors import InvalidOptionError

__all__ = [
    "describe_errors",
    "is_secret_option",
    "secret_location",
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
