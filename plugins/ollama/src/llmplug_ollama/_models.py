"""What Ollama says about its models: ``/api/show``, ``/api/tags``, ``/api/pull``.

Pure functions over the decoded JSON: the requests are sent by :class:`OllamaLLM`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from llmplug import ModelInfo

__all__ = [
    "DEFAULT_NUM_CTX",
    "KNOWN_MODELS",
    "ModelDetails",
    "PullProgress",
    "model_info_from_tag",
    "not_found_model",
    "parse_show",
    "tag_entries",
]

#: The context Ollama gives a model when neither the request (``num_ctx``) nor the
#: model's Modelfile sets one, on a machine with less than 24 GiB of VRAM (Ollama's
#: context-length guide); the offline default of ``metadata.context_window``.
DEFAULT_NUM_CTX = 4096

#: A few models of Ollama's library, for ``llmplug models`` without a server.
KNOWN_MODELS = (
    ("llama3.2", "Meta Llama 3.2 3B (tools)"),
    ("llama3.2:1b", "Meta Llama 3.2 1B (tools)"),
    ("qwen3", "Qwen3 8B (tools, thinking)"),
    ("gpt-oss", "OpenAI gpt-oss 20B (tools, thinking levels low/medium/high)"),
    ("deepseek-r1", "DeepSeek-R1 distilled (thinking)"),
    ("gemma3", "Google Gemma 3 4B (vision)"),
    ("llava", "LLaVA (vision)"),
)

_NOT_FOUND = re.compile(r"""model\s+["']?(?P<name>[^"'\s]+)["']?\s+not\s+found""", re.IGNORECASE)


@dataclass(frozen=True)
class ModelDetails:
    """One model as ``/api/show`` describes it.

    Attributes:
        name: The model's name.
        context_length: The context it was trained for (``<arch>.context_length`` in
            ``model_info``), if given.
        num_ctx: The context its Modelfile sets (``PARAMETER num_ctx``), if any.
        capabilities: What it can do: ``completion``, ``tools``, ``vision``,
            ``thinking``, ``insert`` (a suffix), ``embedding``...
        family: Its family (``llama``, ``qwen3``...).
        parameter_size: ``"8.0B"``...
        quantization_level: ``"Q4_K_M"``...
        raw: The whole ``/api/show`` answer.
    """

    name: str
    context_length: int | None = None
    num_ctx: int | None = None
    capabilities: tuple[str, ...] = ()
    family: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    def supports(self, capability: str) -> bool:
        """Whether ``capability`` (``"tools"``, ``"vision"``...) is in :attr:`capabilities`.

        A server too old to list capabilities says nothing: then every one is assumed.
        """
        return not self.capabilities or capability in self.capabilities


def _num_ctx(parameters: Any) -> int | None:
    # the Modelfile's parameters, as text: "temperature 0.7\nnum_ctx 2048"
    if not isinstance(parameters, str):
        return None
    for line in parameters.splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx":
            try:
                return int(value.strip().strip('"'))
            except ValueError:
                return None
    return None


def parse_show(name: str, data: Any) -> ModelDetails:
    """A ``/api/show`` answer as :class:`ModelDetails` (missing fields left ``None``)."""
    if not isinstance(data, dict):
        return ModelDetails(name=name, raw=data)
    info = data.get("model_info") or {}
    context_length = None
    if isinstance(info, dict):
        arch = info.get("general.architecture")
        value = info.get(f"{arch}.context_length") if arch else None
        if value is None:  # no architecture named: any ``*.context_length``
            value = next((v for k, v in info.items() if k.endswith(".context_length")), None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            context_length = value
    details = data.get("details") or {}
    capabilities = data.get("capabilities") or ()
    return ModelDetails(
        name=name,
        context_length=context_length,
        num_ctx=_num_ctx(data.get("parameters")),
        capabilities=tuple(str(c) for c in capabilities),
        family=details.get("family") if isinstance(details, dict) else None,
        parameter_size=details.get("parameter_size") if isinstance(details, dict) else None,
        quantization_level=(
            details.get("quantization_level") if isinstance(details, dict) else None
        ),
        raw=data,
    )


def model_info_from_tag(entry: dict[str, Any], details: ModelDetails | None) -> ModelInfo:
    """One ``/api/tags`` entry as a :class:`~llmplug.ModelInfo`.

    ``details`` (``/api/show``'s answer, when it was fetched) adds the context length.
    """
    name = entry.get("model") or entry.get("name") or ""
    facts = entry.get("details") or {}
    said = [
        str(facts[key])
        for key in ("family", "parameter_size", "quantization_level")
        if isinstance(facts, dict) and facts.get(key)
    ]
    size = entry.get("size")
    if isinstance(size, int) and size > 0:
        said.append(f"{size / 1e9:.1f} GB")
    if details is not None and details.capabilities:
        said.append(", ".join(details.capabilities))
    return ModelInfo(
        id=name,
        display_name=entry.get("name") or name,
        context_window=details.context_length if details is not None else None,
        description=" · ".join(said),
        raw=entry,
    )


def not_found_model(message: str) -> str | None:
    """The model a "model ... not found" error message names, if it is one."""
    match = _NOT_FOUND.search(message)
    return match.group("name") if match else None


class PullProgress(NamedTuple):
    """One progress event of a model download (``POST /api/pull``).

    Attributes:
        model: The model being pulled.
        status: What the server is doing: ``pulling manifest``, ``pulling <digest>``,
            ``verifying sha256 digest``, ``writing manifest``, ``success``.
        digest: The layer being downloaded, if any.
        total: Its size in bytes, if known.
        completed: Bytes downloaded so far, if known.
    """

    model: str
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None

    @property
    def fraction(self) -> float | None:
        """How much of the layer has arrived, 0 to 1 (``None`` when unknown)."""
        if not self.total or self.completed is None:
            return None
        return min(self.completed / self.total, 1.0)

    @classmethod
    def from_event(cls, model: str, data: dict[str, Any]) -> PullProgress:
        """Read one decoded progress event."""
        return cls(
            model=model,
            status=str(data.get("status") or ""),
            digest=data.get("digest") or None,
            total=data.get("total"),
            completed=data.get("completed"),
        )


def tag_entries(data: Any) -> list[dict[str, Any]]:
    """The model entries of a ``/api/tags`` answer."""
    models = data.get("models") if isinstance(data, dict) else None
    return [m for m in models or () if isinstance(m, dict)]
