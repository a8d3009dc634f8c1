"""Options: each goes where the API reference puts it, bad values are refused up front,
and config strings (ARNs included) load the provider by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage
from llmplug.errors import ConfigError, InvalidOptionError

from .conftest import MODEL

ARN = (
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)
TOOLS = [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        pytest.param(
            {"max_tokens": 200, "temperature": 0.5, "top_p": 0.9, "stop_sequences": ["END"]},
            "inferenceConfig",
            {"maxTokens": 200, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
            id="inference-config",
        ),
        pytest.param(
            {"stop_sequences": "STOP"},
            "inferenceConfig",
            {"stopSequences": ["STOP"]},
            id="one-stop",
        ),
        pytest.param(
            {"top_k": 40}, "additionalModelRequestFields", {"top_k": 40}, id="top-k-claude"
        ),
        pytest.param(
            {"thinking_budget": 2048},
            "additionalModelRequestFields",
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            id="thinking",
        ),
        pytest.param(
            {"thinking_budget": 2048},
            "inferenceConfig",
            {"maxTokens": 6144},
            id="thinking-max-tokens",
        ),
        pytest.param(
            {
                "additional_model_request_fields": {"anthropic_beta": ["context-1m-2025-08-07"]},
                "top_k": 5,
            },
            "additionalModelRequestFields",
            {"top_k": 5, "anthropic_beta": ["context-1m-2025-08-07"]},
            id="extra-fields-merged",
        ),
        pytest.param(
            {"additional_model_response_field_paths": ["/stop_sequence"]},
            "additionalModelResponseFieldPaths",
            ["/stop_sequence"],
            id="response-paths",
        ),
        pytest.param(
            {
                "guardrail_identifier": "gr0abc123",
                "guardrail_version": "DRAFT",
                "guardrail_trace": "enabled",
            },
            "guardrailConfig",
            {"guardrailIdentifier": "gr0abc123", "guardrailVersion": "DRAFT", "trace": "enabled"},
            id="guardrail",
        ),
        pytest.param(
            {"performance_latency": "optimized"},
            "performanceConfig",
            {"latency": "optimized"},
            id="latency",
        ),
        pytest.param({"service_tier": "flex"}, "serviceTier", {"type": "flex"}, id="service-tier"),
        pytest.param(
            {"request_metadata": {"team": "search", "run-id": "r1"}},
            "requestMetadata",
            {"team": "search", "run-id": "r1"},
            id="request-metadata",
        ),
        pytest.param(
            {"tools": TOOLS, "tool_choice": "any"},
            "toolConfig",
            {"tools": TOOLS, "toolChoice": {"any": {}}},
            id="tools-any",
        ),
        pytest.param(
            {"tools": TOOLS, "tool_choice": "get_weather", "cache_tools": True},
            "toolConfig",
            {
                "tools": [*TOOLS, {"cachePoint": {"type": "default"}}],
                "toolChoice": {"tool": {"name": "get_weather"}},
            },
            id="tools-named-cached",
        ),
    ],
)
def test_options_go_where_the_api_reference_puts_them(
    make: Any, build: Any, options: dict[str, Any], field: str, expected: Any
) -> None:
    # at construction and per call, the same body
    assert build(make(**options)).json[field] == expected
    assert build(make(), **options).json[field] == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("amazon.nova-pro-v1:0", {"inferenceConfig": {"topK": 7}}, id="nova"),
        pytest.param("mistral.mistral-large-2407-v1:0", {"top_k": 7}, id="mistral"),
        pytest.param("cohere.command-r-plus-v1:0", {"k": 7}, id="cohere"),
    ],
)
def test_top_k_goes_where_each_family_takes_it(
    make: Any, build: Any, model: str, expected: Any
) -> None:
    assert build(make(model=model, top_k=7)).json["additionalModelRequestFields"] == expected


def test_a_stream_carries_the_guardrail_processing_mode_and_a_chat_does_not(
    make: Any, build: Any
) -> None:
    llm = make(
        guardrail_identifier="gr0abc123", guardrail_version="1", guardrail_stream_processing="async"
    )
    assert build(llm, stream=True).json["guardrailConfig"]["streamProcessingMode"] == "async"
    assert "streamProcessingMode" not in build(llm).json["guardrailConfig"]


def test_unset_options_are_not_sent(make: Any, build: Any) -> None:
    assert build(make()).json == {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}


def test_per_call_options_leave_the_instance_unchanged(make: Any, build: Any) -> None:
    llm = make(temperature=0.9)
    body = build(llm, temperature=0.1, model="amazon.nova-lite-v1:0").json
    assert body["inferenceConfig"] == {"temperature": 0.1}
    assert llm.temperature == 0.9
    assert llm.build_request(
        [ChatMessage(role="user", content="x")], {"model": "amazon.nova-lite-v1:0"}, stream=False
    ).path == ("/model/amazon.nova-lite-v1%3A0/converse")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"temperature": 1.5}, "temperature", id="temperature"),
        pytest.param({"top_p": -0.1}, "top_p", id="top-p"),
        pytest.param({"max_tokens": 0}, "max_tokens", id="max-tokens"),
        pytest.param({"stop_sequences": [""]}, "empty", id="empty-stop"),
        pytest.param({"thinking_budget": 100}, "thinking_budget", id="small-budget"),
        pytest.param(
            {"guardrail_identifier": "Not An Id!", "guardrail_version": "1"},
            "guardrail_identifier",
            id="guardrail-id",
        ),
        pytest.param(
            {"guardrail_identifier": "gr1", "guardrail_version": "v1"},
            "DRAFT",
            id="guardrail-version",
        ),
        pytest.param({"guardrail_trace": "verbose"}, "guardrail_trace", id="trace"),
        pytest.param({"performance_latency": "fast"}, "performance_latency", id="latency"),
        pytest.param({"service_tier": "gold"}, "service_tier", id="tier"),
        pytest.param({"request_metadata": {"k": "v" * 300}}, "at most 256", id="metadata-long"),
        pytest.param(
            {"request_metadata": {"k": "no;semicolons"}}, "request_metadata", id="metadata-chars"
        ),
        pytest.param(
            {"request_metadata": {str(i): "v" for i in range(17)}}, "1 to 16", id="metadata-many"
        ),
        pytest.param(
            {"additional_model_response_field_paths": ["stop"]}, "JSON pointer", id="path"
        ),
        pytest.param({"tool_choice": "none"}, "no tool_choice 'none'", id="tool-choice-none"),
        pytest.param({"tool_choice": {"required": {}}}, "tool_choice", id="tool-choice-object"),
        pytest.param({"tools": [{"name": "x"}]}, "toolSpec", id="tools-shape"),
        pytest.param({"region": "US East"}, "region", id="region"),
        pytest.param({"model": ""}, "model", id="empty-model"),
    ],
)
def test_bad_values_are_refused_when_set(make: Any, options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make(**options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"tool_choice": "any"}, "no tools given", id="choice-without-tools"),
        pytest.param({"guardrail_identifier": "gr1"}, "go together", id="guardrail-half"),
        pytest.param(
            {"thinking_budget": 2048, "max_tokens": 1024},
            "less than max_tokens",
            id="budget-over-max",
        ),
        pytest.param(
            {"thinking_budget": 2048, "temperature": 0.5}, "temperature", id="thinking-temperature"
        ),
        pytest.param(
            {"thinking_budget": 2048, "tools": TOOLS, "tool_choice": "any"},
            "force a tool",
            id="thinking-forced",
        ),
        pytest.param(
            {"model": "amazon.nova-pro-v1:0", "thinking_budget": 2048},
            "no extended thinking",
            id="nova-thinking",
        ),
        pytest.param(
            {"model": "meta.llama3-3-70b-instruct-v1:0", "top_k": 5}, "top_k", id="llama-top-k"
        ),
        pytest.param(
            {"model": "deepseek.r1-v1:0", "tools": TOOLS}, "does not call tools", id="r1-tools"
        ),
        pytest.param(
            {"model": "amazon.nova-micro-v1:0", "thinking_budget": 9_999},
            "no extended thinking",
            id="micro",
        ),
    ],
)
def test_combinations_the_model_refuses_fail_before_the_request(
    make: Any, options: dict[str, Any], match: str
) -> None:
    llm = make(**options)
    with pytest.raises(InvalidOptionError, match=match):
        llm.build_request([ChatMessage(role="user", content="Hi")], {}, stream=False)


def test_tools_in_a_stream_are_refused_for_a_model_that_cannot_stream_them(
    make: Any, build: Any
) -> None:
    llm = make(model="meta.llama3-1-70b-instruct-v1:0", tools=TOOLS)
    build(llm)  # a chat is fine
    with pytest.raises(InvalidOptionError, match="use chat"):
        llm.build_request([ChatMessage(role="user", content="Hi")], {}, stream=True)


def test_an_unknown_per_call_option_is_refused(make: Any) -> None:
    with pytest.raises(InvalidOptionError, match="temprature"):
        make().build_request(
            [ChatMessage(role="user", content="Hi")], {"temprature": 0}, stream=False
        )


# -- config strings, regions and endpoints ---------------------------------------------


def test_load_by_name_and_alias_with_an_arn(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-CANARY")
    llm = llmplug.load(f"bedrock:{ARN}?temperature=0&max_tokens=64")
    assert llm.model == ARN
    assert (llm.temperature, llm.max_tokens) == (0.0, 64)
    assert llm.region == "us-west-2"  # the ARN's region
    assert llm.base_url == "https://bedrock-runtime.us-west-2.amazonaws.com"
    request = llm.build_request([ChatMessage(role="user", content="Hi")], {}, stream=False)
    assert request.path == (
        "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    )
    alias = llmplug.load("aws:amazon.nova-pro-v1:0?region=eu-west-1")
    assert type(alias) is type(llm)
    assert alias.base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert "bedrock-api-key-CANARY" not in repr(llm)


def test_an_unknown_option_in_a_config_string_names_the_valid_ones(registry: Any) -> None:
    with pytest.raises(InvalidOptionError, match="did you mean"):
        llmplug.load("bedrock:amazon.nova-pro-v1:0?regoin=us-east-1")


@pytest.mark.parametrize(
    ("env", "model", "expected"),
    [
        pytest.param({"AWS_REGION": "eu-central-1"}, MODEL, "eu-central-1", id="aws-region"),
        pytest.param(
            {"AWS_DEFAULT_REGION": "ap-south-1"}, MODEL, "ap-south-1", id="aws-default-region"
        ),
        pytest.param(
            {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "ap-south-1"},
            MODEL,
            "eu-central-1",
            id="both",
        ),
        pytest.param({"AWS_REGION": "eu-central-1"}, ARN, "us-west-2", id="arn-over-env"),
        pytest.param({"AWS_REGION": "cn-north-1"}, MODEL, "cn-north-1", id="china"),
    ],
)
def test_the_region_comes_from_the_environment_or_the_arn(
    monkeypatch: pytest.MonkeyPatch, make: Any, env: dict[str, str], model: str, expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    llm = make(model=model, region=None)
    assert llm.region == expected
    suffix = "amazonaws.com.cn" if expected.startswith("cn-") else "amazonaws.com"
    assert llm.url_for("/x") == f"https://bedrock-runtime.{expected}.{suffix}/x"


def test_the_region_option_wins(monkeypatch: pytest.MonkeyPatch, make: Any) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert make(model=ARN, region="ap-northeast-1").resolved_region() == "ap-northeast-1"


def test_the_region_of_the_profile_is_read_on_the_first_request(
    monkeypatch: pytest.MonkeyPatch, make: Any, tmp_path: Path
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = sa-east-1\n[profile work]\nregion = ca-central-1\n")
    llm = make(region=None)
    assert llm.region is None
    assert llm.base_url == ""
    assert llm.url_for("/x") == "https://bedrock-runtime.sa-east-1.amazonaws.com/x"
    assert make(region=None, profile="work").resolved_region() == "ca-central-1"


def test_no_region_anywhere_is_a_clear_error(make: Any) -> None:
    with pytest.raises(ConfigError, match="no AWS region: set region="):
        make(region=None).url_for("/x")


def test_a_profile_that_does_not_exist_is_a_clear_error(make: Any) -> None:
    with pytest.raises(ConfigError, match="'nope' is not in the AWS config"):
        make(region=None, profile="nope").resolved_region()


def test_an_endpoint_url_replaces_the_regions(make: Any) -> None:
    llm = make(endpoint_url="https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com/")
    assert llm.url_for("/model/x/converse") == (
        "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/x/converse"
    )
    assert llm.resolved_region() == "us-east-1"  # still signed for the region
