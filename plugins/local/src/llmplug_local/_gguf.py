"""Just enough of the GGUF format to check a file and read its header.

llama.cpp reports any bad model file as "failed to init server"; reading the header in
Python first lets us say *what* is wrong (not GGUF at all, a version we do not know, a
truncated file) and learn the model's name and training context without loading it.
The format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["GGUF_MAGIC", "GGUFError", "GGUFHeader", "read_header"]

GGUF_MAGIC = b"GGUF"
_VERSIONS = (2, 3)
# value type -> struct format of one scalar (8 = string, 9 = array, handled apart)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
# the keys we read come first (before the tokenizer's large arrays); stop after this many
_MAX_KEYS = 64


class GGUFError(ValueError):
    """The file is not a GGUF model llama.cpp can read (the message says why)."""


@dataclass(frozen=True)
class GGUFHeader:
    """What the header of a GGUF file says about its model.

    Attributes:
        version: The GGUF format version.
        architecture: ``general.architecture`` (``"llama"``, ``"qwen2"``...).
        name: ``general.name``, if set.
        context_length: ``<architecture>.context_length``: the training context, if set.
    """

    version: int
    architecture: str | None = None
    name: str | None = None
    context_length: int | None = None


def read_header(path: Path) -> GGUFHeader:
    """Check that ``path`` is a GGUF file and read the model facts from its header.

    Raises:
        GGUFError: The file is not GGUF, has an unknown version, or its header is cut short.
        OSError: The file cannot be opened.
    """
    with path.open("rb") as f:
        head = f.read(24)
        if head[:4] != GGUF_MAGIC:
            raise GGUFError(
                f"not a GGUF file (it starts with {head[:4]!r}, GGUF files start with "
                f"{GGUF_MAGIC!r}); convert the model to GGUF or pick a .gguf file"
            )
        if len(head) < 24:
            raise GGUFError("the GGUF header is truncated (the file is cut short)")
        version, _n_tensors, n_kv = struct.unpack("<IQQ", head[4:24])
        if version not in _VERSIONS:
            raise GGUFError(
                f"GGUF version {version} is not supported (llama.cpp reads versions "
                f"{', '.join(map(str, _VERSIONS))})"
            )
        try:
            return _read_keys(f, version, n_kv)
        except (struct.error, UnicodeDecodeError, _Truncated) as exc:
            raise GGUFError(f"the GGUF header is corrupt or truncated ({exc})") from exc


class _Truncated(Exception):
    pass


def _read(f: BinaryIO, size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise _Truncated(f"wanted {size} bytes, the file ends after {len(data)}")
    return data


def _string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read(f, 8))
    return _read(f, length).decode("utf-8")


def _skip_array(f: BinaryIO) -> None:
    item_type, count = struct.unpack("<IQ", _read(f, 12))
    if item_type == _STRING:
        for _ in range(count):
            (length,) = struct.unpack("<Q", _read(f, 8))
            f.seek(length, 1)
    elif item_type in _SCALARS:
        f.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
    else:  # nested arrays do not occur in model headers
        raise _Truncated(f"unexpected array item type {item_type}")


def _read_keys(f: BinaryIO, version: int, n_kv: int) -> GGUFHeader:
    values: dict[str, object] = {}
    for _ in range(min(n_kv, _MAX_KEYS)):
        key = _string(f)
        (value_type,) = struct.unpack("<I", _read(f, 4))
        if value_type == _STRING:
            value: object = _string(f)
        elif value_type == _ARRAY:
            _skip_array(f)
            continue
        elif value_type in _SCALARS:
            fmt = _SCALARS[value_type]
            (value,) = struct.unpack(fmt, _read(f, struct.calcsize(fmt)))
        else:
            raise _Truncated(f"unknown value type {value_type} for key {key!r}")
        values[key] = value
        if key == f"{values.get('general.architecture')}.context_length":
            break
    architecture = values.get("general.architecture")
    arch = architecture if isinstance(architecture, str) else None
    context = values.get(f"{arch}.context_length") if arch else None
    name = values.get("general.name")
    return GGUFHeader(
        version=version,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        context_length=context if isinstance(context, int) and context > 0 else None,
    )
