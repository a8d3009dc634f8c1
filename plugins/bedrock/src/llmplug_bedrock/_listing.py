"""Listing models: the built-in table, and Bedrock's control plane.

``list_models`` asks the control plane (``https://bedrock.{region}.amazonaws.com``) for
``ListFoundationModels`` (text output only) and ``ListInferenceProfiles`` (every page),
through the provider's own signed ``request_json``. Each model and profile becomes a
:class:`~llmplug.types.ModelInfo` whose ``id`` goes after ``bedrock:`` in a config
string: a model id, a system inference profile id, or an application profile's ARN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from llmplug.http import HTTPRequest
from llmplug.types import ModelInfo
from llmplug_bedrock._auth import control_endpoint
from llmplug_bedrock._models import LISTED_MODELS, UNKNOWN, family, provider_of

__all__ = [
    "MAX_PAGES",
    "aall_pages",
    "all_pages",
    "control_endpoint",
    "known_models",
    "model_infos",
    "requests",
]

#: Pages of inference profiles read at most (1,000 profiles each).
MAX_PAGES = 20


def known_models() -> list[ModelInfo]:
    """The models of the built-in table, as :class:`~llmplug.types.ModelInfo`."""
    infos = []
    for model_id in LISTED_MODELS:
        info = family(model_id)
        infos.append(
            ModelInfo(
                id=model_id,
                display_name=info.name,
                context_window=info.context_window,
                max_output_tokens=info.max_output,
                owned_by=provider_of(model_id),
                description=_features(info),
            )
        )
    return infos


def _features(info: Any) -> str:
    names = [
        name
        for name, on in (
            ("vision", info.vision),
            ("documents", info.documents),
            ("tools", info.tools),
            ("thinking", info.thinking),
            ("prompt caching", info.cache_points),
            ("JSON schema output", info.json_schema),
        )
        if on
    ]
    return ", ".join(names)


def requests(endpoint: str) -> tuple[HTTPRequest, HTTPRequest]:
    """``ListFoundationModels`` (text models) and the first ``ListInferenceProfiles``."""
    foundation = HTTPRequest(
        f"{endpoint}/foundation-models", method="GET", params={"byOutputModality": "TEXT"}
    )
    profiles = HTTPRequest(
        f"{endpoint}/inference-profiles", method="GET", params={"maxResults": "1000"}
    )
    return foundation, profiles


def _next(request: HTTPRequest, page: Any) -> HTTPRequest | None:
    token = page.get("nextToken") if isinstance(page, dict) else None
    if not isinstance(token, str) or not token:
        return None
    return HTTPRequest(request.path, method="GET", params={**request.params, "nextToken": token})


def all_pages(send: Callable[[HTTPRequest], Any], first: HTTPRequest) -> list[Any]:
    """Every page of a paginated listing (at most :data:`MAX_PAGES`)."""
    pages: list[Any] = []
    request: HTTPRequest | None = first
    while request is not None and len(pages) < MAX_PAGES:
        page = send(request)
        pages.append(page)
        request = _next(first, page)
    return pages


async def aall_pages(
    send: Callable[[HTTPRequest], Awaitable[Any]], first: HTTPRequest
) -> list[Any]:
    """Async :func:`all_pages`."""
    pages: list[Any] = []
    request: HTTPRequest | None = first
    while request is not None and len(pages) < MAX_PAGES:
        page = await send(request)
        pages.append(page)
        request = _next(first, page)
    return pages


def model_infos(foundation: Any, profile_pages: list[Any]) -> list[ModelInfo]:
    """The models and inference profiles of the listings, foundation models first."""
    infos: list[ModelInfo] = []
    for summary in (foundation or {}).get("modelSummaries") or ():
        model_id = summary.get("modelId")
        if not isinstance(model_id, str):
            continue
        known = family(model_id)
        types = summary.get("inferenceTypesSupported") or []
        lifecycle = (summary.get("modelLifecycle") or {}).get("status")
        notes = []
        if "ON_DEMAND" not in types:  # not invocable by its model id
            only = "PROVISIONED" in types and "INFERENCE_PROFILE" not in types
            notes.append(
                "provisioned throughput only" if only else "through an inference profile only"
            )
        if lifecycle and lifecycle != "ACTIVE":
            notes.append(str(lifecycle).lower())
        if summary.get("responseStreamingSupported") is False:
            notes.append("no streaming")
        infos.append(
            ModelInfo(
                id=model_id,
                display_name=summary.get("modelName"),
                context_window=None if known is UNKNOWN else known.context_window,
                max_output_tokens=None if known is UNKNOWN else known.max_output,
                owned_by=summary.get("providerName"),
                description="; ".join(notes),
                raw=summary,
            )
        )
    for page in profile_pages:
        for profile in (page or {}).get("inferenceProfileSummaries") or ():
            application = profile.get("type") == "APPLICATION"
            model_id = profile.get("inferenceProfileArn" if application else "inferenceProfileId")
            if not isinstance(model_id, str):
                continue
            models = [m.get("modelArn", "") for m in profile.get("models") or ()]
            infos.append(
                ModelInfo(
                    id=model_id,
                    display_name=profile.get("inferenceProfileName"),
                    owned_by=provider_of(model_id),
                    description=(
                        f"{'application' if application else 'cross-region'} inference "
                        f"profile over {len(models)} region model(s)"
                    ),
                    raw=profile,
                )
            )
    return infos
