"""Configuration: config strings, the TOML config file, and ``load()``.

``load("provider:model?key=value")`` parses the string, expands aliases from the config
file, asks the provider registry for the class and validates the options against its
fields. The only layer that imports ``llmplug.plugins``; nothing but the top imports it.
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
    "DEFAULT_PROVIDER": "llmplug.config._load",
    "MODEL_ENV": "llmplug.config._load",
    "load": "llmplug.config._load",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmplug.config._file import (
        CONFIG_ENV as CONFIG_ENV,
        ConfigFile as ConfigFile,
        config_path as config_path,
        read_config as read_config,
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
