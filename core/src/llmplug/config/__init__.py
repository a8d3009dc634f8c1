"""Configuration: config strings, the config file and its aliases, API keys, ``load()``.

``load("provider:model?key=value")`` parses the string, expands aliases from the config
file, asks the provider registry for the class and validates the options against its
fields. Beside it: the key store (API keys kept for the user, found after the
environment), changing the config file's aliases, and what installed providers offer
(their models and options): the library behind the ``llmplug`` command. The only layer
that imports ``llmplug.plugins``; nothing but the top imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmplug._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ModelSpec": "llmplug.config._spec",
    "parse_spec": "llmplug.config._spec",
    "CONFIG_ENV": "llmplug.config._file",
    "ConfigFile": "llmplug.config._file",
    "config_path": "llmplug.config._file",
    "read_config": "llmplug.config._file",
    "user_config_dir": "llmplug.config._user_files",
    "DEFAULT_PROVIDER": "llmplug.config._load",
    "MODEL_ENV": "llmplug.config._load",
    "load": "llmplug.config._load",
    "KEYS_ENV": "llmplug.config._keys",
    "KeyStore": "llmplug.config._keys",
    "key_source": "llmplug.config._keys",
    "keys_path": "llmplug.config._keys",
    "resolve_key": "llmplug.config._keys",
    "Alias": "llmplug.config._aliases",
    "aliases": "llmplug.config._aliases",
    "remove_alias": "llmplug.config._aliases",
    "set_alias": "llmplug.config._aliases",
    "ProviderModels": "llmplug.config._catalog",
    "alist_models": "llmplug.config._catalog",
    "known_models": "llmplug.config._catalog",
    "list_models": "llmplug.config._catalog",
    "models": "llmplug.config._catalog",
    "provider_options": "llmplug.config._catalog",
    "OptionInfo": "llmplug.llm._options",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.config._aliases import (
        Alias as Alias,
        aliases as aliases,
        remove_alias as remove_alias,
        set_alias as set_alias,
    )
    from llmplug.config._catalog import (
        ProviderModels as ProviderModels,
        alist_models as alist_models,
        known_models as known_models,
        list_models as list_models,
        models as models,
        provider_options as provider_options,
    )
    from llmplug.config._file import (
        CONFIG_ENV as CONFIG_ENV,
        ConfigFile as ConfigFile,
        config_path as config_path,
        read_config as read_config,
    )
    from llmplug.config._keys import (
        KEYS_ENV as KEYS_ENV,
        KeyStore as KeyStore,
        key_source as key_source,
        keys_path as keys_path,
        resolve_key as resolve_key,
    )
    from llmplug.config._load import (
        DEFAULT_PROVIDER as DEFAULT_PROVIDER,
        MODEL_ENV as MODEL_ENV,
        load as load,
    )
    from llmplug.config._spec import (
        ModelSpec as ModelSpec,
        parse_spec as parse_spec,
    )
    from llmplug.config._user_files import (
        user_config_dir as user_config_dir,
    )
    from llmplug.llm._options import (
        OptionInfo as OptionInfo,
    )
