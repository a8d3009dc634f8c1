"""The directory of first-party plugins: the only names an install hint may name.

An error about an unknown provider suggests an installed name or one of these plugins,
never a package name built from what the user typed (a misspelt name turned into a
package name would invite typosquatting once anything is published). ``llmplug plugin list
--available`` prints this table.

The distributions are not on a package index yet: :func:`install_hint` says how to
install one from a clone of the llmplug repository (or from the files ``nox -s build``
puts in ``dist/``). Flip :data:`PUBLISHED` when they are on PyPI.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from llmplug._untrusted import shorten
from llmplug.errors import UnknownProviderError

__all__ = [
    "DIRECTORY",
    "PUBLISHED",
    "REPOSITORY",
    "KnownPlugin",
    "install_hint",
    "known_plugin",
    "plugin_for_provider",
    "unknown_provider",
]

# the longest name an unknown-provider error looks up (typos, directory entries)
_LONGEST_NAME = 100

#: Whether the first-party distributions can be installed by name from PyPI.
PUBLISHED = False
#: Where they come from until then.
REPOSITORY = "the llmplug repository"


class KnownPlugin(NamedTuple):
    """A first-party plugin distribution.

    Attributes:
        distribution: The distribution name (``llmplug-openai``).
        kind: ``"provider"`` (serves provider names), ``"hook"`` (observes calls),
            ``"app"`` (a program built on llmplug, such as the gateway) or
            ``"integration"`` (llmplug inside another framework, such as Ray).
        providers: The provider names it serves.
        description: One line.
        path: Its folder in the llmplug repository.
        status: ``"ready"`` (in the repository now) or ``"in development"`` (being
            written in the current batch of work, not in the repository yet).
    """

    distribution: str
    kind: Literal["provider", "hook", "app", "integration"]
    providers: tuple[str, ...]
    description: str
    path: str
    status: Literal["ready", "in development"] = "ready"


_OPENAI_PRESETS = (
    "openai",
    "azure",
    "vllm",
    "llama-server",
    "lmstudio",
    "groq",
    "together",
    "openrouter",
    "deepseek",
    "mistral",
    "fireworks",
    "xai",
)

#: Every first-party plugin, in the order ``llmplug plugin list --available`` shows them.
DIRECTORY: tuple[KnownPlugin, ...] = (
    KnownPlugin(
        "llmplug",
        "provider",
        ("mock",),
        "The core: the LLM interface, the registry, and the scripted 'mock' provider.",
        "core",
    ),
    KnownPlugin(
        "llmplug-local",
        "provider",
        ("local",),
        "A real chat model in-process through llama.cpp, offline (the embedded default).",
        "plugins/local",
    ),
    KnownPlugin(
        "llmplug-openai",
        "provider",
        _OPENAI_PRESETS,
        "OpenAI's Chat Completions API and compatible services (Azure, vLLM, Groq, ...).",
        "plugins/openai",
    ),
    KnownPlugin(
        "llmplug-anthropic",
        "provider",
        ("anthropic",),
        "Anthropic's Claude models (Messages API).",
        "plugins/anthropic",
    ),
    KnownPlugin(
        "llmplug-ollama",
        "provider",
        ("ollama",),
        "Models served by a local Ollama server.",
        "plugins/ollama",
    ),
    KnownPlugin(
        "llmplug-gemini",
        "provider",
        ("gemini", "vertex"),
        "Google's Gemini models, through the Gemini API or Vertex AI.",
        "plugins/gemini",
    ),
    KnownPlugin(
        "llmplug-bedrock",
        "provider",
        ("bedrock", "aws"),
        "Every model on Amazon Bedrock, through the Converse API (AWS credentials).",
        "plugins/bedrock",
    ),
    KnownPlugin(
        "llmplug-ray",
        "integration",
        (),
        "Batch jobs on Ray Data, one machine to a cluster: a model loaded once per actor.",
        "plugins/ray",
    ),
    KnownPlugin(
        "llmplug-log",
        "hook",
        (),
        "Logs every call to SQLite; browse, search and continue them with 'llmplug logs'.",
        "plugins/log",
    ),
    KnownPlugin(
        "llmplug-cost",
        "hook",
        (),
        "The cost of each call on its usage, priced by genai-prices.",
        "plugins/cost",
    ),
    KnownPlugin(
        "llmplug-otel",
        "hook",
        (),
        "OpenTelemetry GenAI spans and token metrics for every call.",
        "plugins/otel",
    ),
    KnownPlugin(
        "llmplug-cache",
        "hook",
        (),
        "A response cache in SQLite: repeated calls answered without the provider.",
        "plugins/cache",
    ),
    KnownPlugin(
        "llmplug-server",
        "app",
        (),
        "A gateway serving any installed provider over the OpenAI and Anthropic APIs.",
        "plugins/server",
    ),
)


def known_plugin(distribution: str) -> KnownPlugin | None:
    """The directory entry of ``distribution`` (any spelling PEP 503 equates), if any."""
    wanted = _canonical(distribution)
    return next((p for p in DIRECTORY if _canonical(p.distribution) == wanted), None)


def plugin_for_provider(name: str) -> KnownPlugin | None:
    """The first-party plugin that serves the provider ``name``, if one does."""
    return next((p for p in DIRECTORY if name in p.providers), None)


def install_hint(plugin: KnownPlugin) -> str:
    """How to install ``plugin`` today, as one short clause.

    Never a name outside the directory; an ``in development`` plugin says so.
    """
    if plugin.status != "ready":
        return f"{plugin.distribution} is in development in {REPOSITORY}, not released yet"
    if PUBLISHED:
        return f"pip install {plugin.distribution}"
    return f"pip install ./{plugin.path} in a clone of {REPOSITORY} (not on PyPI yet)"


def unknown_provider(name: str, installed: list[str]) -> UnknownProviderError:
    """The error for a provider name nothing installed serves.

    It suggests an installed name close to ``name``, or the first-party plugin serving
    ``name`` (or a name close to it), with :func:`install_hint`: never a package name
    made from what the user typed.
    """
    import difflib  # lazy for lightness: only on this error path

    parts = [f"unknown provider {shorten(name)}."]
    suggestion = None
    # a name far longer than any provider's matches none (and difflib is quadratic)
    plausible = len(name) <= _LONGEST_NAME
    known = plugin_for_provider(name) if plausible else None
    if known is not None:
        parts.append(
            f"It is served by the plugin {known.distribution}, which is not installed "
            f"({install_hint(known)})."
        )
    elif plausible:
        close = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
        if close:
            suggestion = close[0]
            parts.append(f"Did you mean {suggestion!r}?")
        else:
            offered = [p for plugin in DIRECTORY for p in plugin.providers]
            near = difflib.get_close_matches(name, offered, n=1, cutoff=0.6)
            plugin = plugin_for_provider(near[0]) if near else None
            if plugin is not None:
                parts.append(
                    f"Did you mean {near[0]!r}, served by the plugin {plugin.distribution} "
                    f"({install_hint(plugin)})?"
                )
    parts.append(f"Installed providers: {', '.join(installed) or 'none'}.")
    parts.append("Known plugins: llmplug plugin list --available")
    return UnknownProviderError(
        " ".join(parts), name=name, available=installed, suggestion=suggestion
    )


def _canonical(name: str) -> str:
    return name.replace("_", "-").replace(".", "-").lower()
