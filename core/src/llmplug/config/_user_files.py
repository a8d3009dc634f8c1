"""Where llmplug keeps the user's files, and how it writes them (atomically).

The user's config directory comes from platformdirs (``~/.config/llmplug`` on Linux,
honouring ``$XDG_CONFIG_HOME``; ``~/Library/Application Support/llmplug`` on macOS;
``%APPDATA%/llmplug`` on Windows). The config file (``config.toml``) and the key store
(``keys.json``) live there unless an environment variable points elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["APP_NAME", "atomic_write", "user_config_dir"]

APP_NAME = "llmplug"


def user_config_dir() -> Path:
    """The directory holding llmplug's config file and key store."""
    linux = _linux_config_dir()
    if linux is not None:
        return linux
    # lazy for lightness: only the paths that read or write user files pay for it
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True))


def atomic_write(path: Path, text: str, *, mode: int) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old or the new file, whole.

    The text goes to a temporary file in the same directory, created with ``mode``
    (never readable by others in between), flushed to disk, then renamed over ``path``.
    Missing directories are created readable by the user only.

    Raises:
        OSError: The directory or the file cannot be written.
    """
    import tempfile  # lazy for lightness: only when a user file is written

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode)  # mkstemp makes it 0600; a config file may be wider
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _linux_config_dir() -> Path | None:
    """The directory platformdirs names on Linux, where all its versions agree, without it.

    ``load()`` reads the config file every time, and importing platformdirs costs a few
    percent of a cold ``load()``. An absolute ``$XDG_CONFIG_HOME``, else (the variable
    unset or empty) an absolute ``$HOME`` + ``.config``; anything else (a relative
    variable, Android, another OS) is left to platformdirs.
    """
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel"):
        return None
    if os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system":
        return None  # maybe an Android app: platformdirs knows where its files go
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg.startswith("/"):
        return Path(xdg, APP_NAME)
    home = os.environ.get("HOME", "")
    if not xdg and home.startswith("/"):
        return Path(home, ".config", APP_NAME)
    return None
