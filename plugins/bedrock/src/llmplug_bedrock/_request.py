"""The Converse request body, from a provider's options and the messages: pure.

Each option goes where the Bedrock Runtime API reference puts it: ``inferenceConfig``
(``maxTokens``, ``temperature``, ``topP``, ``stopSequences``), ``toolConfig``,
``additionalModelRequestFields`` (``top_k`` and ``thinking`` where the model family
takes them, then the caller's own fields), ``additionalModelResponseFieldPaths``,
``guardrailConfig``, ``performanceConfig``, ``serviceTier``, ``requestMetadata`` and
``outputConfig``. Unset options are not sent. :func:`check_options` first refuses
what the (known) model or Converse would refuse, before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmplug import ChatMessage
from llmplug.errors import InvalidOptionError
from llmplug_bedrock._models import UNKNOWN, Family
from llmplug_bedrock._options import deep_merge
from llmplug_bedrock._wire import messages_to_wire

if TYPE_CHECKING:
    from llmplug_bedrock._llm import BedrockLLM

__all__ = ["ANSWER_TOKENS", "check_options", "model_fields", "request_body"]

_FORCING = ("any", "tool")

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
    fields = model_fields(opts, info)
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


def check_options(opts: BedrockLLM, info: Family, stream: bool) -> None:
    """Refuse, before any request, what the (known) model or Converse refuses."""
    provider = opts.provider_label
    if stream and opts.tools and not info.stream_tools:
        raise InvalidOptionError(
            f"{info.name} does not call tools in a stream (ConverseStream with "
            f"toolConfig); use chat() rather than stream_chat() with tools",
            provider=provider,
            option="tools",
        )
    if opts.tools and not info.tools:
        raise InvalidOptionError(
            f"{info.name} does not call tools; leave tools unset for this model",
            provider=provider,
            option="tools",
        )
    if opts.tool_choice is not None and not opts.tools:
        raise InvalidOptionError(
            "tool_choice set but no tools given: pass tools=[...] with it, or leave "
            "it unset (llm.chat_with_tools(tools, ...) sets it)",
            provider=provider,
            option="tool_choice",
        )
    if (opts.guardrail_identifier is None) != (opts.guardrail_version is None):
        raise InvalidOptionError(
            "guardrail_identifier and guardrail_version go together: set both",
            provider=provider,
            option="guardrail_version",
        )
    if opts.top_k is not None and info.top_k is None:
        raise InvalidOptionError(
            f"top_k has no Converse field, and where {info.name} takes it is not "
            f"known here; pass it in additional_model_request_fields in the form the "
            f"model takes",
            provider=provider,
            option="top_k",
        )
    _check_thinking(opts, info, provider)


def _check_thinking(opts: BedrockLLM, info: Family, provider: str) -> None:
    budget = opts.thinking_budget
    if budget is None:
        return
    if not info.thinking and info is not UNKNOWN:
        raise InvalidOptionError(
            f"{info.name} has no extended thinking with a budget; leave "
            f"thinking_budget unset, or pass the model's own reasoning fields in "
            f"additional_model_request_fields",
            provider=provider,
            option="thinking_budget",
        )
    if opts.max_tokens is not None and budget >= opts.max_tokens:
        raise InvalidOptionError(
            f"thinking_budget ({budget}) must be less than max_tokens "
            f"({opts.max_tokens}), which counts the thinking too; raise max_tokens",
            provider=provider,
            option="thinking_budget",
        )
    refused = [name for name in ("temperature", "top_k") if getattr(opts, name) is not None]
    if refused:
        raise InvalidOptionError(
            f"extended thinking (thinking_budget) does not take "
            f"{', '.join(map(repr, refused))}; leave it unset while thinking",
            provider=provider,
            option=refused[0],
        )
    choice = next(iter(opts.tool_choice or {"auto": {}}))
    if choice in _FORCING:
        raise InvalidOptionError(
            f"extended thinking cannot force a tool call (tool_choice {choice!r}); "
            f"use tool_choice='auto'",
            provider=provider,
            option="tool_choice",
        )


def model_fields(opts: BedrockLLM, info: Family) -> dict[str, Any]:
    """``additionalModelRequestFields``: top_k, thinking, then the user's fields."""
    fields: dict[str, Any] = {}
    if opts.top_k is not None and info.top_k is not None:
        head, _, tail = info.top_k.partition(".")
        fields = {head: {tail: opts.top_k}} if tail else {head: opts.top_k}
    if opts.thinking_budget is not None:
        fields["thinking"] = {"type": "enabled", "budget_tokens": opts.thinking_budget}
    if opts.additional_model_request_fields:
        fields = deep_merge(fields, opts.additional_model_request_fields)
    return fields
