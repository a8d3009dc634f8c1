"""The base of llmplug's own pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Model"]


class Model(BaseModel):
    """A pydantic model whose validation schema is built on first use, not at import.

    ``import llmplug`` then builds no schema for types a program never touches (the
    thirteen block and response types cost ~15 ms to build on this machine).
    """

    model_config = ConfigDict(defer_build=True)
