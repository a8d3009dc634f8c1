"""Model listing: the built-in table, and the control plane's ListFoundationModels and
ListInferenceProfiles (every page), signed like chats, sync and async."""

from __future__ import annotations

import re
from typing import Any

import pytest

import llmplug
from llmplug.types import ModelInfo
from llmplug_bedrock import BedrockLLM
from llmplug_bedrock._models import LISTED_MODELS, UNKNOWN, base_model_id, family

SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
FOUNDATION = {
    "modelSummaries": [
        {
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
            "modelId": "amazon.nova-pro-v1:0",
            "modelName": "Nova Pro",
            "providerName": "Amazon",
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"},
        },
        {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}",
            "modelId": SONNET,
            "modelName": "Claude Sonnet 4.5",
            "providerName": "Anthropic",
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "inferenceTypesSupported": [],
            "modelLifecycle": {"status": "ACTIVE"},
        },
        {
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1",
            "modelId": "anthropic.claude-v2:1",
            "modelName": "Claude",
            "providerName": "Anthropic",
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "LEGACY"},
        },
    ]
}


def profiles(*ids: str, next_token: str | None = None, application: bool = False) -> dict[str, Any]:
    page: dict[str, Any] = {
        "inferenceProfileSummaries": [
            {
                "inferenceProfileName": re.sub(r"[^0-9a-zA-Z]+", " ", profile).strip(),
                "inferenceProfileArn": f"arn:aws:bedrock:us-east-1:123456789012:"
                f"{'application-' if application else ''}inference-profile/{profile}",
                "models": [{"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/x.y"}] * 3,
                "inferenceProfileId": profile,
                "status": "ACTIVE",
                "type": "APPLICATION" if application else "SYSTEM_DEFINED",
            }
            for profile in ids
        ]
    }
    if next_token:
        page["nextToken"] = next_token
    return page


PAGE_1 = profiles("us.anthropic.claude-sonnet-4-5-20250929-v1:0", next_token="page-2/token==")
PAGE_2 = profiles("a1b2c3d4e5f6", application=True)


def test_known_models_need_no_instance_and_no_network() -> None:
    models = BedrockLLM.known_models()
    assert [m.id for m in models] == list(LISTED_MODELS)
    sonnet = models[0]
    assert sonnet == ModelInfo(
        id="anthropic.claude-sonnet-4-5-20250929-v1:0",
        display_name="Claude Sonnet 4.5",
        context_window=200_000,
        max_output_tokens=64_000,
        owned_by="anthropic",
        description="vision, documents, tools, thinking, prompt caching, JSON schema output",
    )
    assert all(family(m.id) is not UNKNOWN for m in models)
    assert BedrockLLM.capabilities.model_listing


@pytest.mark.parametrize(
    ("model", "base"),
    [
        pytest.param(
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            id="us",
        ),
        pytest.param(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            id="global",
        ),
        pytest.param("apac.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", id="apac"),
        pytest.param(
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.meta.llama3-2-3b-instruct-v1:0",
            "meta.llama3-2-3b-instruct-v1:0",
            id="profile-arn",
        ),
        pytest.param(
            "arn:aws:bedrock:us-east-1::foundation-model/cohere.command-r-v1:0",
            "cohere.command-r-v1:0",
            id="model-arn",
        ),
        pytest.param("Amazon.Nova-Pro-v1:0", "amazon.nova-pro-v1:0", id="case"),
    ],
)
def test_model_ids_reduce_to_the_model_they_run(model: str, base: str) -> None:
    assert base_model_id(model) == base
    assert family(model) is family(base)
    assert family(model) is not UNKNOWN


def test_metadata_comes_from_the_table(make: Any) -> None:
    meta = make(model="us.amazon.nova-premier-v1:0").metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        1_000_000,
        4096,
        True,
    )
    assert make(model="deepseek.r1-v1:0").metadata.is_function_calling_model is False
    assert (
        make(model="custom-thing", context_window=5000, max_tokens=10).metadata.context_window
        == 5000
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_list_models_reads_every_page_signed(
    registry: Any, server: Any, boto: Any, mode: str
) -> None:
    control = boto.control
    boto.params(FOUNDATION, control.operation_model("ListFoundationModels").output_shape)
    boto.params(PAGE_1, control.operation_model("ListInferenceProfiles").output_shape)
    server.reply(200, FOUNDATION).reply(200, PAGE_1).reply(200, PAGE_2)
    llm = llmplug.load(
        "bedrock?region=us-east-1",
        aws_access_key_id="AKIAIOSFODNN7CANARY1",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1",
        **server.transports(),
    )
    if mode == "sync":
        models = llm.list_models()
    else:
        models = await llm.alist_models()
        await llm.aclose()
    urls = [str(request.url) for request in server.requests]
    assert urls == [
        "https://bedrock.us-east-1.amazonaws.com/foundation-models?byOutputModality=TEXT",
        "https://bedrock.us-east-1.amazonaws.com/inference-profiles?maxResults=1000",
        "https://bedrock.us-east-1.amazonaws.com/inference-profiles?maxResults=1000&nextToken=page-2%2Ftoken%3D%3D",
    ]
    assert all(request.method == "GET" for request in server.requests)
    assert all(
        request.headers["authorization"].startswith("AWS4-HMAC-SHA256")
        for request in server.requests
    )
    # the query names are the service model's
    locations = {
        m.serialization.get("name")
        for m in control.operation_model("ListInferenceProfiles").input_shape.members.values()
    }
    assert {"maxResults", "nextToken"} <= locations
    assert [m.id for m in models] == [
        "amazon.nova-pro-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-v2:1",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
    ]
    nova, sonnet, legacy, profile, application = models
    assert (nova.display_name, nova.owned_by, nova.context_window) == (
        "Nova Pro",
        "Amazon",
        300_000,
    )
    assert nova.raw == FOUNDATION["modelSummaries"][0]
    assert sonnet.description == "through an inference profile only"
    assert legacy.description == "legacy"
    assert legacy.context_window is None
    assert profile.description == "cross-region inference profile over 3 region model(s)"
    assert profile.owned_by == "anthropic"
    assert application.description.startswith("application inference profile")


def test_a_control_endpoint_can_be_given(make: Any, server: Any) -> None:
    server.reply(200, {"modelSummaries": []}).reply(200, {"inferenceProfileSummaries": []})
    llm = make(control_endpoint_url="https://bedrock.example.internal/", **server.transports())
    assert llm.list_models() == []
    assert str(server.requests[0].url).startswith(
        "https://bedrock.example.internal/foundation-models"
    )
