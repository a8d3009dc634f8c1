"""The Converse request body, from a provider's options and the messages: pure.

Each option goes where the Bedrock Runtime API reference puts it: ``inferenceConfig``
(``maxTokens``, ``temperature``, ``topP``, ``stopSequences``), ``toolConfig``,
``additionalModelRequestFields`` (``top_k`` and ``thinking`` where the model family
takes them, then the caller's own fields), ``additionalModelResponseFieldPaths``,
``guardrailConfig``, ``performanceConfig``, ``serviceTier``, ``requestMetadata`` and
``outputConfig``. Unset options are not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmplug import ChatMessage
from llmplug.errors import InvalidOptionError
from llmplug_bedrock._models import UNKNOWN, Family
from llmplug_bedrock._wire import messages_to_wire

if TYPE_CHECKING:
    from llmplug_bedrock._llm import BedrockLLM

__all__ = ["ANSWER_TOKENS", "request_body"]

#: Tokens left for the answer on top of a thinking budget when max_tokens is unset.
ANSWER_TOKENS = 4096


def request_body(
    opts: BedrockLLM, info: Family, messages: Sequence[ChatMessage], *, stream: bool
) -> dict[str, Any]:
    """The JSON body of a Converse (``stream=False``) or ConverseStream request.

    Raises:
        InvalidOptionError: A thinking budget that leaves no room for an answer.
        UnsupportedContentError: A block Converse or the model cannot take.
    """
    provider = opts.provider_label
    system, wire = messages_to_wire(messages, provider=provider, model=info)
    body: dict[str, Any] = {"messages": wire}
    if system:
        body["system"] = system
    inference = _inference(opts, info, provider)
    if inference:
        body["inferenceConfig"] = inference
    if opts.tools:
        tools = list(opts.tools)
        if opts.cache_tools and (info.cache_points or info is UNKNOWN):
            tools.append({"cachePoint": {"type": "default"}})
        config: dict[str, Any] = {"tools": tools}
        if opts.tool_choice is not None:
            config["toolChoice"] = opts.tool_choice
        body["toolConfig"] = config
    fields = opts.merged_model_fields(info)
    if fields:
        body["additionalModelRequestFields"] = fields
    if opts.additional_model_response_field_paths:
        body["additionalModelResponseFieldPaths"] = opts.additional_model_response_field_paths
    guardrail = _guardrail(opts, stream)
    if guardrail:
        body["guardrailConfig"] = guardrail
    if opts.performance_latency is not None:
        body["performanceConfig"] = {"latency": opts.performance_latency}
    if opts.service_tier is not None:
        body["serviceTier"] = {"type": opts.service_tier}
    if opts.request_metadata:
        body["requestMetadata"] = dict(opts.request_metadata)
    if opts.output_config:
        body["outputConfig"] = opts.output_config
    return body


def _inference(opts: BedrockLLM, info: Family, provider: str) -> dict[str, Any]:
    inference: dict[str, Any] = {}
    max_tokens = opts.max_tokens
    budget = opts.thinking_budget
    if max_tokens is None and budget is not None:
        # thinking counts in maxTokens, which must exceed the budget
        max_tokens = budget + ANSWER_TOKENS
        if info is not UNKNOWN:
            max_tokens = min(max_tokens, info.max_output)
            if max_tokens <= budget:
                raise InvalidOptionError(
                    f"thinking_budget ({budget}) leaves no room for an answer in "
                    f"{info.name}'s {info.max_output} output tokens; lower it",
                    provider=provider,
                    option="thinking_budget",
                )
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if opts.temperature is not None:
        inference["temperature"] = opts.temperature
    if opts.top_p is not None:
        inference["topP"] = opts.top_p
    if opts.stop_sequences:
        inference["stopSequences"] = list(opts.stop_sequences)
    return inference


def _guardrail(opts: BedrockLLM, stream: bool) -> dict[str, Any]:
    guardrail: dict[str, Any] = {}
    if opts.guardrail_identifier is not None:
        guardrail["guardrailIdentifier"] = opts.guardrail_identifier
        guardrail["guardrailVersion"] = opts.guardrail_version
        if opts.guardrail_trace is not None:
            guardrail["trace"] = opts.guardrail_trace
        if stream and opts.guardrail_stream_processing is not None:
            guardrail["streamProcessingMode"] = opts.guardrail_stream_processing
    return guardrail
