"""The SDK validators themselves, and every fixture parsed by the SDK's types.

Without the first half, a validator that accepts everything would make every "the SDK
accepts it" check in the other modules pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import wire_data as w

GOOD = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_a_plain_body_passes(sdk: Any) -> None:
    validated = sdk.check_request(
        {
            **GOOD,
            "generationConfig": {"temperature": 0.5, "thinkingConfig": {"thinkingLevel": "LOW"}},
        }
    )
    assert validated["generationConfig"].thinking_config.thinking_level == "LOW"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"generationConfig": {}}, id="no-contents"),
        pytest.param({**GOOD, "generation_config": {}}, id="snake-case-top-level"),
        pytest.param({**GOOD, "temperature": 0.2}, id="unknown-top-level"),
        pytest.param(
            {**GOOD, "generationConfig": {"max_output_tokens": 5}}, id="snake-case-nested"
        ),
        pytest.param({**GOOD, "generationConfig": {"maxTokens": 5}}, id="unknown-nested"),
        pytest.param(
            {"contents": [{"role": "user", "parts": [{"txt": "Hi"}]}]}, id="misspelt-part"
        ),
        pytest.param(
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": "not base64!"}}],
                    }
                ]
            },
            id="data-not-base64",
        ),
        pytest.param(
            {"contents": [{"role": "model", "parts": [{"text": "x", "thoughtSignature": "%%%"}]}]},
            id="signature-not-base64",
        ),
        pytest.param(
            {**GOOD, "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}},
            id="unknown-mode",
        ),
        pytest.param(
            {
                **GOOD,
                "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "MAYBE"}],
            },
            id="unknown-threshold",
        ),
    ],
)
def test_bad_bodies_are_refused(sdk: Any, body: dict[str, Any]) -> None:
    with pytest.raises((AssertionError, ValueError)):
        sdk.check_request(body)


def test_labels_only_on_vertex(sdk: Any) -> None:
    with pytest.raises(AssertionError, match="labels"):
        sdk.check_request({**GOOD, "labels": {"team": "a"}})
    assert sdk.check_request({**GOOD, "labels": {"team": "a"}}, vertex=True)


RESPONSES = [
    "TEXT",
    "THINKING",
    "CALLS",
    "CALL_NO_ID",
    "BLOCKED_PROMPT",
    "SAFETY_CUT",
    "MAX_TOKENS",
    "MALFORMED_CALL",
    "GROUNDED",
    "LOGPROBS",
    "IMAGE_OUT",
    "CODE_EXECUTION",
]


@pytest.mark.parametrize("name", RESPONSES)
def test_response_fixtures_parse_with_the_sdk(sdk: Any, name: str) -> None:
    sdk.check_response(getattr(w, name))


@pytest.mark.parametrize("name", ["TEXT_STREAM", "THOUGHT_CALL_STREAM", "SAFETY_STREAM"])
def test_stream_fixtures_parse_with_the_sdk(sdk: Any, name: str) -> None:
    for chunk in getattr(w, name):
        sdk.check_response(chunk)


def test_the_response_validator_refuses_unknown_fields(sdk: Any) -> None:
    with pytest.raises(ValueError, match=r"finish_reason|Extra"):
        sdk.check_response({"candidates": [{"finish_reason": "STOP"}]})


@pytest.mark.parametrize(
    "name",
    [
        "RATE_LIMITED",
        "KEY_INVALID",
        "MODEL_NOT_FOUND",
        "TOO_LONG",
        "UNAVAILABLE",
        "VERTEX_UNAUTHENTICATED",
    ],
)
def test_error_fixtures_are_rpc_statuses(sdk: Any, name: str) -> None:
    sdk.check_error(getattr(w, name))


def test_model_listing_fixtures_use_the_fields_the_sdk_reads() -> None:
    # the SDK's own converter of a Gemini API model record names the wire fields it reads
    import inspect
    import re

    from google.genai import models

    read = set(
        re.findall(r"getv\(from_object, \['(\w+)'\]\)", inspect.getsource(models._Model_from_mldev))
    )
    for page in (w.MODELS_PAGE_1, w.MODELS_PAGE_2):
        for record in page["models"]:
            assert set(record) <= read, sorted(set(record) - read)
    listing = inspect.getsource(models._ListModelsResponse_from_mldev)
    assert "'nextPageToken'" in listing
    vertex = inspect.getsource(models._Model_from_vertex)
    assert "'name'" in vertex
    assert "'versionId'" in vertex
