"""``llmplug plugin new``: write a working plugin distribution from a template.

Two kinds: ``http`` (a provider for an HTTP JSON API, on ``llmplug.http``, with the
conformance suite as its tests) and ``hook`` (a hook plugin logging every call). What
is written installs and passes its own tests unchanged::

    llmplug plugin new acme --kind http
    pip install ./llmplug-acme && pytest llmplug-acme

The templates are files under ``_templates/<kind>/`` filled in with
:class:`string.Template` (``$name``): a handful of files and six values need no
templating library (copier or cookiecutter would add a dependency, and a second tool
to learn, for no logic the standard library lacks).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Literal

from llmplug._version import __version__
from llmplug.errors import ConfigError

__all__ = ["KINDS", "plugin_values", "write_plugin"]

KINDS = ("http", "hook")
_TEMPLATES = Path(__file__).with_name("_templates")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def plugin_values(name: str) -> dict[str, str]:
    """The values the templates use for the plugin ``name``.

    Raises:
        ConfigError: ``name`` is not a lower-case name (``acme``, ``acme-eu``).
    """
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"a plugin name is lower-case letters and digits, words joined by '-' "
            f"(acme, acme-eu); got {name!r}"
        )
    words = name.split("-")
    major, minor = __version__.split(".")[:2]
    return {
        "name": name,
        "distribution": f"llmplug-{name}",
        "package": f"llmplug_{'_'.join(words)}",
        "cls": "".join(w.capitalize() for w in words) + "LLM",
        "title": " ".join(w.capitalize() for w in words),
        "key_env": f"{'_'.join(words).upper()}_API_KEY",
        "model": f"{name}-small",
        "core_version": f"{major}.{minor}",
    }


def write_plugin(
    name: str, *, kind: Literal["http", "hook"] | str = "http", directory: Path = Path(".")
) -> Path:
    """Write the distribution ``llmplug-NAME`` into ``directory``; return its folder.

    Args:
        name: The provider (or hook plugin) name.
        kind: ``"http"`` or ``"hook"``.
        directory: Where the distribution's folder is created.

    Raises:
        ConfigError: A bad name or kind, or the folder exists already.
    """
    if kind not in KINDS:
        raise ConfigError(f"kind is one of {', '.join(KINDS)}, not {kind!r}")
    values = plugin_values(name)
    root = directory / values["distribution"]
    if root.exists():
        raise ConfigError(f"{str(root)!r} exists already; remove it or choose another name")
    source = _TEMPLATES / kind
    for template in sorted(source.rglob("*.tmpl")):
        relative = template.relative_to(source).with_suffix("")
        target = root / str(relative).replace("PACKAGE", values["package"])
        target.parent.mkdir(parents=True, exist_ok=True)
        text = Template(template.read_text(encoding="utf-8")).substitute(values)
        target.write_text(text, encoding="utf-8")
    return root
