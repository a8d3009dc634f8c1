"""``llmplug models`` and ``llmplug options``: what installed providers offer.

A thin layer over :mod:`llmplug.config`'s :func:`~llmplug.config.models` (model tables,
or with ``--live`` the providers' listing endpoints) and
:func:`~llmplug.config.provider_options`.
"""

from __future__ import annotations

import argparse
import json
from enum import Enum
from typing import Any

from llmplug.cli._chat import add_option_arguments, option_value, secrets_of
from llmplug.cli._console import Console
from llmplug.errors import ConfigError

__all__ = ["configure_models", "configure_options", "run_models", "run_options"]


def configure_models(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug models``."""
    parser.description = (
        "List the models of installed providers, from each provider's model table; with "
        "--live, from the provider's own listing endpoint (sends a request, with your key)."
    )
    parser.add_argument(
        "-p",
        "--provider",
        dest="providers",
        metavar="PROVIDER",
        action="append",
        help="only this provider (a name, config string or alias; repeatable)",
    )
    parser.add_argument(
        "--live", action="store_true", help="ask the provider's API (needs -p PROVIDER)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_option_arguments(parser)
    parser.set_defaults(model=None)


def _number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def run_models(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug models``."""
    from llmplug.cli._main import exit_code
    from llmplug.config._catalog import models  # lazy for lightness: the registry

    console.add_secrets(secrets_of(args))
    if args.model is not None:
        raise ConfigError("models takes the provider as -p PROVIDER, not -m")
    if args.live and not args.providers:
        raise ConfigError(
            "--live asks each provider's API with your key: name the provider, e.g. "
            "llmplug models --live -p openai"
        )
    options = {key: option_value(key, text) for key, text in args.options}
    if options and not args.live:
        raise ConfigError("-o options are for --live (they configure the provider asked)")
    if args.live:
        console.status(f"asking {', '.join(args.providers)} for their models...")
    listed = models(args.providers, live=args.live, **options)
    console.clear_status()
    if args.json:
        data = [
            {
                "provider": entry.provider,
                "live": entry.live,
                "error": str(entry.error) if entry.error else None,
                "models": [m.model_dump(mode="json", exclude={"raw"}) for m in entry.models],
            }
            for entry in listed
        ]
        console.out(json.dumps(data, indent=2))
    else:
        _print_models(listed, args.live, bool(args.providers), console)
    failed = [entry for entry in listed if entry.error is not None]
    if args.providers and failed:
        return max(exit_code(entry.error) for entry in failed if entry.error is not None)
    return 0


def _config_string(asked: str, model: str) -> str:
    """The config string that loads ``model`` of the provider asked as ``asked``.

    ``openai?base_url=...`` and model ``m`` give ``openai:m?base_url=...``; an alias
    gives its provider's name and options. Secret values are redacted.
    """
    from llmplug._secrets import redact_query
    from llmplug.config._file import read_config
    from llmplug.config._load import _resolve
    from llmplug.config._spec import ModelSpec

    try:
        parsed, alias_options, _ = _resolve(asked, read_config())
    except ConfigError:
        return f"{asked}:{model}"
    options = {**alias_options, **parsed.options}
    return redact_query(str(ModelSpec(parsed.provider, model, options)))


def _print_models(listed: list[Any], live: bool, asked: bool, console: Console) -> None:
    rows = []
    empty = []
    for entry in listed:
        if entry.error is not None:
            text = str(entry.error)
            if not text.startswith(f"[{entry.provider}]"):
                text = f"{entry.provider}: {text}"
            # asked for by name: an error; found among all installed: a warning
            (console.error if asked else console.warning)(text)
            continue
        if not entry.models:
            empty.append(entry.provider)
        for model in entry.models:
            about = model.display_name or model.description or ""
            rows.append(
                [
                    _config_string(entry.provider, model.id),
                    _number(model.context_window),
                    _number(model.max_output_tokens),
                    about,
                ]
            )
    if rows:
        console.table(["MODEL", "CONTEXT", "OUTPUT", "ABOUT"], rows)
    if empty:
        what = "listed no models" if live else "have no model table"
        console.note(
            f"{', '.join(empty)} {what}; "
            + ("" if live else "any model name works: -m PROVIDER:MODEL, or ask them: ")
            + ("" if live else "llmplug models --live -p PROVIDER")
        )


def configure_options(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``llmplug options``."""
    parser.description = (
        "Show the options PROVIDER takes (its pydantic fields): type, default and "
        "description, and which ones a single call may override."
    )
    parser.add_argument("provider", metavar="PROVIDER", help="a provider name or alias")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _default_text(option: Any) -> str:
    if option.required:
        return "(required)"
    value = option.default
    if isinstance(value, Enum):
        value = value.value  # what a config string takes
    return repr(value)


def run_options(args: argparse.Namespace, console: Console) -> int:
    """Run ``llmplug options PROVIDER``."""
    import textwrap

    from llmplug.config._catalog import _provider, provider_options
    from llmplug.config._keys import key_source

    described = provider_options(args.provider)
    name, spec = _provider(args.provider)
    if args.json:
        data = {
            "provider": name,
            "key_env": spec.key_env,
            "options": [
                {**option._asdict(), "default": None if option.required else option.default}
                for option in described
            ],
        }
        console.out(json.dumps(data, indent=2, default=str))
        return 0
    about = f": {spec.description}" if spec.description else ""
    console.out(console.style(name, "bold") + about)
    if spec.key_env:
        where = key_source(spec.key_env) or "not set"
        console.out(f"API key: {spec.key_env} ({where}; llmplug keys set {spec.key_env})")
    console.out()
    for option in described:
        flags = [
            flag for flag, on in (("per call", option.per_call), ("secret", option.secret)) if on
        ]
        head = f"{option.name}: {option.type} = {_default_text(option)}"
        console.out(console.style(head, "bold") + (f"  [{', '.join(flags)}]" if flags else ""))
        if option.description:
            console.out(textwrap.fill(option.description, 88, initial_indent="    ",
                                      subsequent_indent="    "))  # fmt: skip
    per_call = [option.name for option in described if option.per_call]
    console.out()
    if per_call:
        console.out(
            "A call may override: " + ", ".join(per_call) + " (llm.chat(messages, NAME=...))."
        )
    else:
        console.out("The provider does not declare which options a call may override.")
    return 0
