"""The ``bedrock`` provider: Amazon Bedrock's Converse API over llmplug's HTTP runtime.

:class:`BedrockLLM` holds the options and the pure methods the runtime calls
(``build_request``, ``parse_response``, ``start_stream``, ``parse_event``), and signs
each attempt (``sign_request``). The wire format is in ``_wire`` (requests), ``_parse``
(responses and stream events) and ``_eventstream`` (the binary stream framing); the
options' types in ``_options``, the request body and its checks in ``_request``;
credentials and signing in ``_auth``; model listing in ``_listing``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from llmplug import Capabilities, ChatMessage, ChatResponse, LLMMetadata
from llmplug.errors import APIError, ConfigError, InvalidOptionError
from llmplug.http import (
    STREAM_END,
    ChunkResult,
    Clock,
    HTTPChatLLM,
    HTTPRequest,
    OutgoingRequest,
    ServerEvent,
    StreamDecoder,
    json_from_text,
)
from llmplug.tools import FunctionCallingLLM, resolve_tool_choice, tool_chat_messages
from llmplug.types import ModelInfo
from llmplug_bedrock import _listing
from llmplug_bedrock._auth import CredentialCache, profile_region, runtime_endpoint, sign
from llmplug_bedrock._errors import (
    RETRIED_IN_STREAM,
    STREAM_STATUSES,
    error_class,
    normalized_error,
)
from llmplug_bedrock._eventstream import ConverseStreamDecoder
from llmplug_bedrock._models import family
from llmplug_bedrock._options import (
    GuardrailIdentifier,
    GuardrailVersion,
    Latency,
    MaxTokens,
    RequestMetadata,
    ResponseFieldPaths,
    ServiceTier,
    StopSequences,
    StreamProcessing,
    ToolChoice,
    Tools,
    Trace,
    Unit,
)
from llmplug_bedrock._parse import StreamState, parse_converse, parse_stream_event
from llmplug_bedrock._request import check_options, request_body
from llmplug_bedrock._schema import text_format
from llmplug_bedrock._tools import tool_choice_to_wire, tool_definition

if TYPE_CHECKING:
    from llmplug.structured import OutputSchema
    from llmplug.tools import BaseTool

__all__ = ["DEFAULT_MODEL", "BedrockLLM"]

#: The model used when none is named (on demand in most commercial regions).
DEFAULT_MODEL = "amazon.nova-lite-v1:0"

_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
_CLOCK = Clock()
_FORCING = ("any", "tool")

# the options a call may override: llm.chat(messages, temperature=0)
PER_CALL = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "thinking_budget",
    "additional_model_request_fields",
    "additional_model_response_field_paths",
    "tools",
    "tool_choice",
    "cache_tools",
    "guardrail_identifier",
    "guardrail_version",
    "guardrail_trace",
    "guardrail_stream_processing",
    "performance_latency",
    "service_tier",
    "request_metadata",
    "output_config",
    "extra_headers",
)


def _arn_region(model: str) -> str | None:
    parts = model.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and _REGION.fullmatch(parts[3]):
        return parts[3]
    return None


class BedrockLLM(HTTPChatLLM, FunctionCallingLLM):
    """Chat with any model on Amazon Bedrock through the Converse API.

    One wire format for every model family (Anthropic, Amazon Nova, Llama, Mistral,
    Cohere...). The model is a model id, an inference profile id
    (``us.anthropic.claude-sonnet-4-5-20250929-v1:0``) or an ARN. Requests are signed
    with AWS Signature Version 4 from the standard credential chain (botocore's), or
    sent with a Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``) when one is set.

    A :class:`~llmplug.tools.FunctionCallingLLM`: ``predict_and_call`` makes native tool
    calls. Options left unset (``None``) are not sent: the model's defaults apply.

    Attributes:
        model: A model id, inference profile id, or ARN.
        region: The AWS region; else the region of an ARN given as the model,
            ``AWS_REGION``, ``AWS_DEFAULT_REGION``, or the profile's ``region`` (read on
            the first request).
        profile: The AWS profile of the shared config files (else ``AWS_PROFILE``).
        endpoint_url: Bedrock Runtime's endpoint, instead of the region's (a VPC
            endpoint, a proxy); also settable as ``base_url``.
        control_endpoint_url: The control plane's endpoint for :meth:`list_models`.
        api_key: A Bedrock API key, sent as a bearer token instead of signing; read
            from ``AWS_BEARER_TOKEN_BEDROCK``. Never shown.
        aws_access_key_id: Explicit credentials, instead of the chain. Never shown.
        aws_secret_access_key: With ``aws_access_key_id``. Never shown.
        aws_session_token: For temporary credentials. Never shown.
        max_tokens: ``inferenceConfig.maxTokens``.
        temperature: ``inferenceConfig.temperature`` (0 to 1).
        top_p: ``inferenceConfig.topP`` (0 to 1).
        top_k: Sample from the k likeliest tokens: sent in
            ``additionalModelRequestFields`` where the model family takes it.
        stop_sequences: ``inferenceConfig.stopSequences``; a string is one sequence.
        thinking_budget: Extended thinking (Claude 3.7 and later) with this many tokens
            (at least 1,024): ``additionalModelRequestFields.thinking``.
        additional_model_request_fields: Model-specific fields, merged last.
        additional_model_response_field_paths: JSON pointers of model-specific response
            fields to return (``["/stop_sequence"]``).
        tools: Converse ``Tool`` objects (``{"toolSpec": {...}}``); FunctionTools are
            converted. ``chat_with_tools`` and ``predict_and_call`` take theirs as an
            argument instead.
        tool_choice: ``"auto"``, ``"any"`` (or ``"required"``), a tool's name, or the
            ``toolChoice`` object.
        cache_tools: Put a ``cachePoint`` after the tools (prompt caching of the tools).
        guardrail_identifier: The guardrail's id or ARN (``guardrailConfig``).
        guardrail_version: Its version, or ``DRAFT``.
        guardrail_trace: ``enabled``, ``disabled`` or ``enabled_full``.
        guardrail_stream_processing: ``sync`` or ``async`` (streams only).
        performance_latency: ``optimized`` for the latency-optimised version of the
            model (``performanceConfig``).
        service_tier: ``priority``, ``default``, ``flex`` or ``reserved``.
        request_metadata: Up to 16 key-value pairs recorded with the invocation logs.
        output_config: ``outputConfig`` as the API takes it; structured calls set it
            on models with native JSON-schema output.
        context_window: Reported in ``metadata`` instead of the model table's.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        chat=True,
        streaming=True,
        native_async=True,
        tools=True,
        json_schema=True,
        vision=True,
        audio=True,
        video=True,
        documents=True,
        model_listing=True,
    )
    key_env: ClassVar[str | None] = "AWS_BEARER_TOKEN_BEDROCK"
    stream_format: ClassVar[str] = "eventstream"
    stream_end: ClassVar[str | None] = "the metadata event"
    in_stream_retry_statuses: ClassVar[frozenset[int]] = RETRIED_IN_STREAM
    error_type_statuses: ClassVar[Mapping[str, int]] = STREAM_STATUSES
    auth_hint: ClassVar[str | None] = (
        "check the AWS credentials (profile= or AWS_PROFILE, AWS_ACCESS_KEY_ID / "
        "AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, an expired `aws sso login`), the "
        "region, or the Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"
    )

    base_url: str = Field(default="", description="Bedrock Runtime's endpoint (else the region's).")
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=2048)
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    control_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    max_tokens: MaxTokens = None
    temperature: Unit = None
    top_p: Unit = None
    top_k: int | None = Field(default=None, ge=1)
    stop_sequences: StopSequences = None
    thinking_budget: int | None = Field(default=None, ge=1024)
    additional_model_request_fields: dict[str, Any] = Field(default_factory=dict)
    additional_model_response_field_paths: ResponseFieldPaths = None
    tools: Tools = None
    tool_choice: ToolChoice = None
    cache_tools: bool = False
    guardrail_identifier: GuardrailIdentifier = None
    guardrail_version: GuardrailVersion = None
    guardrail_trace: Trace | None = None
    guardrail_stream_processing: StreamProcessing | None = None
    performance_latency: Latency | None = None
    service_tier: ServiceTier | None = None
    request_metadata: RequestMetadata = None
    output_config: dict[str, Any] | None = None
    context_window: int | None = Field(default=None, gt=0)

    _credentials: CredentialCache = PrivateAttr(default_factory=CredentialCache)
    _profile_region: str | None = PrivateAttr(default=None)
    # the latest signatures made, redacted too should an error echo one
    _signatures: deque[str] = PrivateAttr(default_factory=lambda: deque(maxlen=64))

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.fullmatch(value):
            raise ValueError(f"an AWS region looks like 'us-east-1', not {value!r}")
        return value

    @field_validator("additional_model_request_fields", "output_config", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        return json_from_text(value)

    @model_validator(mode="after")
    def _endpoint(self) -> BedrockLLM:
        values = self.__dict__  # set directly: validate_assignment would re-run this
        if values["region"] is None:
            # an ARN names the region its resource lives in, which is where to call it
            env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            region = _arn_region(self.model) or env
            values["region"] = region if region and _REGION.fullmatch(region) else None
        if self.endpoint_url:
            values["base_url"] = self.endpoint_url
        elif not self.base_url and values["region"]:
            values["base_url"] = runtime_endpoint(values["region"])
        return self

    @classmethod
    def class_name(cls) -> str:
        """The class's name (``"BedrockLLM"``)."""
        return cls.__name__

    @property
    def metadata(self) -> LLMMetadata:
        """Context window and output size of the model, from a built-in table.

        A model the table does not know gets 128,000 tokens of context (or
        ``context_window`` when set); it never raises.
        """
        info = family(self.model)
        return LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or min(4096, info.max_output),
            is_chat_model=True,
            is_function_calling_model=info.tools,
            model_name=self.model,
        )

    # -- where requests go -------------------------------------------------------------

    def resolved_region(self) -> str:
        """The region requests go to and are signed for.

        Raises:
            ConfigError: No region is set anywhere.
        """
        region = self.region or self._profile_region
        if region is None:
            region = profile_region(self.profile)  # botocore: the shared config file
            if region is None:
                raise ConfigError(
                    "no AWS region: set region=... (bedrock:<model>?region=us-east-1), "
                    "AWS_REGION, or a region in your AWS profile",
                    provider=self.provider_label,
                )
            self._profile_region = region
        return region

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on Bedrock Runtime (the region's, or the endpoint)."""
        if path.startswith(("https://", "http://")):
            return path
        base = self.base_url or runtime_endpoint(self.resolved_region())
        return f"{base.rstrip('/')}/{path.lstrip('/')}"

    # -- authentication ----------------------------------------------------------------

    def sign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        """SigV4 headers for ``request``; ``None`` with a Bedrock API key (a bearer token).

        Raises:
            ConfigError: No credentials could be found or loaded.
        """
        if self.api_key is not None:
            return None
        credentials = self._credentials.frozen(**self._credential_options())
        return self._sign(request, credentials)

    async def asign_request(self, request: OutgoingRequest) -> Mapping[str, str] | None:
        """Async :meth:`sign_request`: credentials are fetched in a worker thread."""
        if self.api_key is not None:
            return None
        credentials = self._credentials.ready()
        if credentials is None:  # resolving or refreshing may read files or the network
            options = self._credential_options()
            credentials = await asyncio.to_thread(self._credentials.frozen, **options)
        return self._sign(request, credentials)

    def _sign(self, request: OutgoingRequest, credentials: Any) -> dict[str, str]:
        headers = sign(request, credentials, self.resolved_region(), (self.clock or _CLOCK).time())
        self._signatures.append(headers["Authorization"].rpartition("Signature=")[2])
        return headers

    def _credential_options(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "access_key_id": self.aws_access_key_id,
            "secret_access_key": self.aws_secret_access_key,
            "session_token": self.aws_session_token,
        }

    def secret_values(self) -> tuple[str, ...]:
        """The API key, the explicit keys and the resolved credentials: all redacted."""
        explicit = (self.aws_access_key_id, self.aws_secret_access_key, self.aws_session_token)
        values = [s.get_secret_value() for s in explicit if s is not None]
        return (
            *super().secret_values(),
            *values,
            *self._credentials.secrets(),
            *self._signatures,
        )

    # -- tools -------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments offering ``tools`` with the tool choice.

        Each tool goes out as a ``toolSpec``. ``tool_choice`` is ``"auto"``,
        ``"required"`` (or ``"any"``), a tool's name or Converse's own object;
        ``tool_required=True`` with no ``tool_choice`` is ``{"any": {}}``. Converse has
        no "none" choice and no switch for parallel calls (extra calls are dropped by
        ``FunctionCallingLLM`` unless allowed).

        Raises:
            InvalidOptionError: ``tool_choice`` names no tool given, is ``"none"``, or
                forces a tool call with extended thinking (which the model refuses).
        """
        options: dict[str, Any] = {"messages": tool_chat_messages(user_msg, chat_history)}
        if tools:
            provider = self.provider_label
            choice = resolve_tool_choice(tools, tool_choice, tool_required, provider)
            wire_choice = tool_choice_to_wire(choice, provider=provider)
            budget = kwargs.get("thinking_budget", self.thinking_budget)
            if budget is not None and next(iter(wire_choice)) in _FORCING:
                raise InvalidOptionError(
                    "a forced tool call (tool_choice 'any' or a tool's name) does not go "
                    "with extended thinking: leave the choice to the model "
                    "(tool_choice='auto'), or call without thinking_budget",
                    provider=provider,
                    option="tool_choice",
                )
            options["tools"] = [tool_definition(tool, provider=provider) for tool in tools]
            options["tool_choice"] = wire_choice
        options.update(kwargs)
        return options

    def _structured_request_kwargs(self, schema: OutputSchema) -> dict[str, Any] | None:
        """``outputConfig.textFormat``: the answer constrained to the schema.

        ``None`` for models without native JSON-schema output and for schemas they
        cannot take (recursive ones, ``dict`` fields, keywords outside the supported
        subset): the call then forces a tool instead.
        """
        if not family(self.model).json_schema:
            return None
        config = text_format(schema)
        return None if config is None else {"output_config": config}

    # -- the provider contract (pure) --------------------------------------------------

    def build_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], *, stream: bool
    ) -> HTTPRequest:
        """Build the ``POST /model/{modelId}/converse`` (or ``converse-stream``) request.

        The model id is percent-encoded as one path segment (an ARN's ``:`` and ``/``
        included), as AWS's SDKs encode it.

        Raises:
            InvalidOptionError: An option a call does not take, a bad value, or one the
                model is known to refuse.
            UnsupportedContentError: A block Converse or the model cannot take.
        """
        opts = self.with_call_options(options, PER_CALL) if options else self
        info = family(opts.model)
        check_options(opts, info, stream)
        body = request_body(opts, info, messages, stream=stream)
        operation = "converse-stream" if stream else "converse"
        path = f"/model/{quote(opts.model, safe='-._~')}/{operation}"
        headers: dict[str, str] = {}
        if options and "extra_headers" in options:
            # the instance's own extra_headers are sent by the runtime on every request
            headers.update(opts.extra_headers)
        return HTTPRequest(path, body, headers=headers)

    def parse_response(self, data: Any) -> ChatResponse:
        """Turn a Converse response into a ChatResponse with ``usage``.

        ``additional_kwargs["stop_reason"]`` says why the model stopped (``end_turn``,
        ``tool_use``, ``max_tokens``, ``stop_sequence``, ``guardrail_intervened``,
        ``content_filtered``...), ``latency_ms`` how long it took.
        """
        if not isinstance(data, dict) or "output" not in data:
            raise APIError(
                f"a Converse response has an 'output', this one does not: {str(data)[:200]!r}",
                provider=self.provider_label,
            )
        return parse_converse(data)

    def stream_decoder(self) -> StreamDecoder:
        """The decoder of ConverseStream's binary event stream framing."""
        return ConverseStreamDecoder()

    def start_stream(self) -> StreamState:
        """A new accumulator for one stream."""
        return StreamState()

    def parse_event(self, event: ServerEvent, state: Any) -> ChunkResult:
        """Turn one ConverseStream event into chunks.

        Text, tool input, reasoning and citation deltas each yield a chunk; the
        ``metadata`` event (the last) yields the closing chunk, with the stop reason,
        ``usage`` and ``latency_ms``, then ends the stream.

        Raises:
            APIError: An exception event, mapped like an error response
                (``throttlingException`` is a ``RateLimitError``, retried if no chunk
                was delivered yet; ``validationException`` a ``BadRequestError``...).
        """
        if event.id != "event":
            body = event.json() if event.data.strip() else {}
            if not isinstance(body, dict):
                body = {"message": str(body)}
            raise self.error_from_body({**body, "__type": event.event})
        data = event.json()
        if event.event == "metadata":
            return [state.last_chunk(data), STREAM_END]
        return parse_stream_event(event.event or "", data, state)

    def error_from_body(
        self, body: Any, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """The error for an AWS error response or exception event (see ``_errors``)."""
        return super().error_from_body(normalized_error(body, headers), status, headers)

    def error_class(self, status: int | None, body: Any, message: str) -> type | None:
        """A finer class by the AWS error type (refused credentials, input too long).

        ``AuthenticationError`` when the credentials themselves were refused,
        ``ContextWindowExceededError`` when the input does not fit the model.
        """
        return error_class(status, body, message)

    # -- listing models ----------------------------------------------------------------

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        """The models of the built-in table, by model id.

        Most also run through a cross-region inference profile: ``us.``, ``eu.``,
        ``apac.`` or ``global.`` before the model id.
        """
        return _listing.known_models()

    def list_models(self) -> list[ModelInfo]:
        """The text models and inference profiles Bedrock offers in the region now.

        ``ListFoundationModels`` (``byOutputModality=TEXT``) and
        ``ListInferenceProfiles`` on the control plane, signed as chats are.
        """
        requests = _listing.requests(self._control_endpoint())
        foundation = self.request_json(requests[0])
        profiles = _listing.all_pages(self.request_json, requests[1])
        return _listing.model_infos(foundation, profiles)

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        requests = _listing.requests(self._control_endpoint())
        foundation = await self.arequest_json(requests[0])
        profiles = await _listing.aall_pages(self.arequest_json, requests[1])
        return _listing.model_infos(foundation, profiles)

    def _control_endpoint(self) -> str:
        if self.control_endpoint_url:
            return self.control_endpoint_url.rstrip("/")
        return _listing.control_endpoint(self.resolved_region())
