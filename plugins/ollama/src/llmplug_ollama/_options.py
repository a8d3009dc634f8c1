"""The ``ollama`` provider's options: their types, checks and where each goes on the wire.

The model parameters of Ollama's ``options`` object (the Modelfile's ``PARAMETER`` names:
``temperature``, ``num_ctx``...) are options of the provider like any other, so a config
string sets them directly (``ollama:qwen3:8b?num_ctx=8192&temperature=0``); the request
gathers the ones that are set into ``options``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from llmplug import ImageBlock
from llmplug.http import json_from_text

__all__ = [
    "CHAT_ONLY",
    "COMPLETION_ONLY",
    "MODEL_OPTIONS",
    "PER_CALL",
    "Format",
    "Images",
    "KeepAlive",
    "Stop",
    "Think",
]

#: The ``options`` object's fields, as Ollama's API reference lists them.
MODEL_OPTIONS = (
    "num_keep",
    "seed",
    "num_predict",
    "top_k",
    "top_p",
    "min_p",
    "typical_p",
    "repeat_last_n",
    "temperature",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "penalize_newline",
    "stop",
    "numa",
    "num_ctx",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "low_vram",
    "vocab_only",
    "use_mmap",
    "use_mlock",
    "num_thread",
)

#: Fields of ``/api/generate`` only: complete() and friends.
COMPLETION_ONLY = ("suffix", "system", "template", "raw", "context", "images")
#: Fields of ``/api/chat`` only.
CHAT_ONLY = ("tools",)

#: The options a call may override: ``llm.chat(messages, temperature=0)``.
PER_CALL = (
    "model",
    *MODEL_OPTIONS,
    "keep_alive",
    "format",
    "think",
    "logprobs",
    "top_logprobs",
    *CHAT_ONLY,
    *COMPLETION_ONLY,
    "extra_options",
    "extra_body",
    "extra_headers",
)

# a Go duration, as the server parses keep_alive text: "5m", "1h30m", "300ms", "-1s"
_DURATION = re.compile(
    r"-?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*"
)


def _keep_alive(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            if not _DURATION.fullmatch(text):
                raise ValueError(
                    f"keep_alive is seconds (a number; negative: keep the model loaded) or a "
                    f"duration such as '5m', '1h30m', '300ms', not {value!r}"
                ) from None
            return text
        value = number
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _stop(value: Any) -> Any:
    value = json_from_text(value)
    return [value] if isinstance(value, str) else value


def _format(value: Any) -> Any:
    value = json_from_text(value)
    if isinstance(value, str) and value != "json":
        raise ValueError(
            f"format is 'json' or a JSON schema (an object), not {value!r}; for a schema from "
            f"a config string give it as JSON text"
        )
    return value


def _images(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        value = [value]
    images = []
    for item in value:
        if isinstance(item, bytes | bytearray):
            item = ImageBlock(image=bytes(item))
        elif isinstance(item, Path):
            item = ImageBlock(path=item)
        elif isinstance(item, str):
            path = Path(item)
            item = (
                ImageBlock(path=path)
                if len(item) < 4096 and path.is_file()
                else (ImageBlock(image=item.encode("ascii")))
            )
        images.append(item)
    return images


KeepAlive = Annotated[str | int | float | None, BeforeValidator(_keep_alive)]
Stop = Annotated[list[str] | None, BeforeValidator(_stop)]
Format = Annotated[Literal["json"] | dict[str, Any] | None, BeforeValidator(_format)]
Think = bool | Literal["low", "medium", "high"] | None
Images = Annotated[list[ImageBlock] | None, BeforeValidator(_images)]
Unit = Annotated[float | None, Field(ge=0.0, le=1.0)]
