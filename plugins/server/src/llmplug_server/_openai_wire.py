"""OpenAI Chat Completions on the wire: a request to a :class:`CallPlan`, replies back.

Messages: ``system``/``developer``, ``user`` (text, ``image_url``, ``input_audio``,
``file``), ``assistant`` (text, ``tool_calls``), ``tool`` (results). Options:
``temperature``, ``top_p``, ``max_tokens``/``max_completion_tokens``, ``stop``, ``seed``,
``tools``, ``tool_choice``, ``parallel_tool_calls``, ``response_format`` (``json_schema``,
``json_object``, ``text``), ``stream`` with ``stream_options.include_usage``. Fields the
gateway cannot honour (``n`` > 1, ``logprobs``, audio output...) are refused with a 400
that names them, never silently dropped; a few that only label a request (``user``,
``metadata``, ``store``, ``service_tier``) are accepted and ignored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from llmplug import LLM, ChatMessage, ChatResponse, MessageRole, TextBlock, ToolCallBlock, Usage
from llmplug_server._calls import (
    AnyObject,
    CallPlan,
    SchemaTool,
    check_number,
    finish_reason,
    parse_schema,
    tool_arguments,
    usage_of,
)
from llmplug_server._errors import invalid
from llmplug_server._media import Media

__all__ = ["StreamWriter", "completion_body", "parse_chat_request"]

_IGNORED = frozenset(
    {"user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
)
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "stream",
        "stream_options",
        "n",
        "presence_penalty",
        "frequency_penalty",
    }
)
_ROLES = {
    "system": MessageRole.SYSTEM,
    "developer": MessageRole.DEVELOPER,
    "user": MessageRole.USER,
    "assistant": MessageRole.ASSISTANT,
    "tool": MessageRole.TOOL,
}


def parse_chat_request(body: Mapping[str, Any], model: str, llm: LLM, media: Media) -> CallPlan:
    """The :class:`CallPlan` of a ``POST /v1/chat/completions`` body.

    Raises:
        GatewayError: 400 naming the field at fault and what it must be.
    """
    unknown = sorted(set(body) - _HANDLED - _IGNORED)
    if unknown:
        raise invalid(
            f"unrecognized request argument(s) {unknown}: this gateway does not support "
            f"them; leave them out",
            unknown[0],
            "unsupported_parameter",
        )
    n = body.get("n")
    if n not in (None, 1):
        raise invalid("n must be 1: the gateway answers with one choice", "n")
    options: dict[str, Any] = {}
    for key, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = check_number(body, key, low, high)
        if value is not None:
            options[key] = value
    for key in ("presence_penalty", "frequency_penalty"):
        value = check_number(body, key, -2, 2)
        if value is not None:
            options[key] = value
    max_tokens = check_number(body, "max_completion_tokens", 1, 10**7, integer=True)
    if max_tokens is None:
        max_tokens = check_number(body, "max_tokens", 1, 10**7, integer=True)
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    seed = check_number(body, "seed", -(2**63), 2**63 - 1, integer=True)
    if seed is not None:
        options["seed"] = seed
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise invalid("stop must be a string or a list of strings", "stop")
        if stops:
            options["stop"] = stops
    plan = CallPlan(model, llm, parse_messages(body.get("messages"), media), options)
    _parse_tools(body, plan)
    _parse_response_format(body.get("response_format"), plan)
    return plan


def parse_messages(raw: Any, media: Media) -> list[ChatMessage]:
    """Llmplug messages from the request's ``messages``."""
    if not isinstance(raw, list) or not raw:
        raise invalid("messages must be a non-empty list of messages", "messages")
    messages = []
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, Mapping):
            raise invalid(f"{where} must be an object with a role and content", where)
        role = _ROLES.get(item.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise invalid(
                f"{where}.role must be one of {', '.join(_ROLES)}, not {item.get('role')!r}",
                f"{where}.role",
            )
        extra: dict[str, Any] = {}
        if isinstance(item.get("name"), str):
            extra["name"] = item["name"]
        content = item.get("content")
        if role == MessageRole.TOOL:
            call_id = item.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise invalid(f"{where}.tool_call_id is required on a tool message", where)
            extra["tool_call_id"] = call_id
        blocks: list[Any] = _content_blocks(content, where, role, media)
        if role == MessageRole.ASSISTANT:
            blocks += _tool_calls(item.get("tool_calls"), where)
            if not blocks:
                raise invalid(f"{where} has neither content nor tool_calls", f"{where}.content")
        messages.append(ChatMessage(role=role, blocks=blocks, additional_kwargs=extra))
    return messages


def _content_blocks(content: Any, where: str, role: MessageRole, media: Media) -> list[Any]:
    if content is None:
        if role in (MessageRole.ASSISTANT,):
            return []
        raise invalid(f"{where}.content is required", f"{where}.content")
    if isinstance(content, str):
        return [TextBlock(text=content)]
    if not isinstance(content, list):
        raise invalid(f"{where}.content must be a string or a list of parts", f"{where}.content")
    blocks: list[Any] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            blocks.append(TextBlock(text=part["text"]))
        elif kind == "refusal" and role == MessageRole.ASSISTANT:
            blocks.append(TextBlock(text=str(part.get("refusal", ""))))
        elif role != MessageRole.USER:
            raise invalid(f"{at}: {role.value} messages take text parts only", at)
        elif kind == "image_url" and isinstance(part.get("image_url"), Mapping):
            image = part["image_url"]
            blocks.append(media.image(image.get("url"), at, detail=image.get("detail")))
        elif kind == "input_audio" and isinstance(part.get("input_audio"), Mapping):
            audio = part["input_audio"]
            blocks.append(media.audio(audio.get("data"), audio.get("format"), at))
        elif kind == "file" and isinstance(part.get("file"), Mapping):
            file = part["file"]
            blocks.append(media.document(file.get("file_data"), file.get("filename"), at))
        else:
            raise invalid(
                f"{at}: a part is {{'type': 'text', 'text': ...}}, an image_url, an "
                f"input_audio or a file (file_data); got type {kind!r}",
                at,
            )
    return blocks


def _tool_calls(raw: Any, where: str) -> list[ToolCallBlock]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid(f"{where}.tool_calls must be a list", f"{where}.tool_calls")
    blocks = []
    for k, call in enumerate(raw):
        at = f"{where}.tool_calls[{k}]"
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise invalid(f"{at} must have an id and a function with a name and arguments", at)
        arguments = function.get("arguments") or "{}"
        try:
            kwargs: Any = json.loads(arguments) if isinstance(arguments, str) else arguments
        except ValueError:
            kwargs = arguments  # what the model wrote, sent back as it was
        if not isinstance(kwargs, dict | str):
            kwargs = str(arguments)
        blocks.append(
            ToolCallBlock(
                tool_call_id=call.get("id"), tool_name=function["name"], tool_kwargs=kwargs
            )
        )
    return blocks


def _parse_tools(body: Mapping[str, Any], plan: CallPlan) -> None:
    raw = body.get("tools")
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    if parallel is not None:
        if not isinstance(parallel, bool):
            raise invalid("parallel_tool_calls must be true or false", "parallel_tool_calls")
        plan.parallel_tool_calls = parallel
    if raw is None:
        if choice not in (None, "none", "auto"):
            raise invalid("tool_choice needs tools", "tool_choice")
        return
    if not isinstance(raw, list):
        raise invalid("tools must be a list of function tools", "tools")
    tools = []
    for i, tool in enumerate(raw):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if (
            not isinstance(tool, Mapping)
            or tool.get("type") != "function"
            or not isinstance(function, Mapping)
            or not isinstance(function.get("name"), str)
        ):
            raise invalid(
                f"tools[{i}] must be {{'type': 'function', 'function': {{'name': ..., "
                f"'parameters': {{...}}}}}}",
                f"tools[{i}]",
            )
        parameters = function.get("parameters") or {}
        if not isinstance(parameters, Mapping):
            raise invalid(f"tools[{i}].function.parameters must be a JSON schema object")
        tools.append(
            SchemaTool(function["name"], str(function.get("description") or ""), dict(parameters))
        )
    if not tools:
        return
    names = [t.metadata.get_name() for t in tools]
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if choice.get("type") != "function" or name not in names:
            raise invalid(
                f"tool_choice names no tool given (tools: {', '.join(names)})", "tool_choice"
            )
        choice = name
    elif choice not in (None, "auto", "required", "none"):
        raise invalid(
            "tool_choice must be 'auto', 'required', 'none' or "
            "{'type': 'function', 'function': {'name': ...}}",
            "tool_choice",
        )
    if choice == "none":
        return  # the model may not call tools: offer none
    plan.tools = tools
    plan.tool_choice = choice


def _parse_response_format(raw: Any, plan: CallPlan) -> None:
    if raw is None:
        return
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind == "text":
        return
    if kind == "json_object":
        plan.output = AnyObject
        return
    if kind == "json_schema" and isinstance(raw.get("json_schema"), Mapping):
        spec = raw["json_schema"]
        name = spec.get("name") if isinstance(spec.get("name"), str) else "Output"
        plan.output = parse_schema(spec.get("schema"), name, "response_format.json_schema.schema")
        return
    raise invalid(
        "response_format must be {'type': 'text'}, {'type': 'json_object'} or "
        "{'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}}",
        "response_format",
    )


# -- replies ------------------------------------------------------------------------------


def usage_body(usage: Usage) -> dict[str, Any]:
    """OpenAI's ``usage`` object."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _message_body(message: ChatMessage) -> dict[str, Any]:
    texts = [b.text for b in message.blocks if isinstance(b, TextBlock)]
    calls = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    body: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        body["tool_calls"] = [
            {
                "id": call.tool_call_id or f"call_{i}",
                "type": "function",
                "function": {"name": call.tool_name, "arguments": tool_arguments(call)},
            }
            for i, call in enumerate(calls)
        ]
    return body


def completion_body(response: ChatResponse, model: str, request_id: str) -> dict[str, Any]:
    """The ``chat.completion`` object of a reply."""
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": _message_body(response.message),
                "logprobs": None,
                "finish_reason": finish_reason(response),
            }
        ],
        "usage": usage_body(usage_of(response)),
    }


class StreamWriter:
    """Turns llmplug's stream chunks into ``chat.completion.chunk`` SSE events.

    llmplug's chunks carry the text that just arrived (``delta``) and, for tool calls,
    partial :class:`~llmplug.ToolCallBlock` s whose arguments grow as raw text; this
    sends each call's name once, then the new part of its arguments.
    """

    def __init__(self, model: str, request_id: str, include_usage: bool) -> None:
        self.model = model
        self.request_id = request_id
        self.include_usage = include_usage
        self.created = int(time.time())
        self._sent_args: list[str] = []
        self._head = (
            f'{{"id":{json.dumps(request_id)},"object":"chat.completion.chunk",'
            f'"created":{self.created},"model":{json.dumps(model)},"choices":'
        )

    def _event(self, choices: str, usage: str = "null") -> bytes:
        return f'data: {self._head}{choices},"usage":{usage}}}\n\n'.encode()

    def start(self) -> bytes:
        """The first event: the assistant's role."""
        return self._event(
            '[{"index":0,"delta":{"role":"assistant","content":""},'
            '"logprobs":null,"finish_reason":null}]'
        )

    def chunk(self, chunk: ChatResponse) -> bytes:
        """The events of one llmplug chunk (empty when it brings nothing new)."""
        out = b""
        if chunk.delta:
            out = self._event(
                f'[{{"index":0,"delta":{{"content":{json.dumps(chunk.delta)}}},'
                f'"logprobs":null,"finish_reason":null}}]'
            )
        calls = [b for b in chunk.message.blocks if isinstance(b, ToolCallBlock)]
        for index, call in enumerate(calls):
            delta = self._call_delta(index, call)
            if delta is not None:
                out += self._event(
                    f'[{{"index":0,"delta":{{"tool_calls":[{json.dumps(delta)}]}},'
                    f'"logprobs":null,"finish_reason":null}}]'
                )
        return out

    def _call_delta(self, index: int, call: ToolCallBlock) -> dict[str, Any] | None:
        text = call.tool_kwargs if isinstance(call.tool_kwargs, str) else None
        if index == len(self._sent_args):  # a new call: its id and name first
            self._sent_args.append("")
            first = text or ""
            if text is None:
                first = tool_arguments(call)
            self._sent_args[index] = first
            return {
                "index": index,
                "id": call.tool_call_id or f"call_{index}",
                "type": "function",
                "function": {"name": call.tool_name, "arguments": first},
            }
        sent = self._sent_args[index]
        if text is None:  # complete: send what is missing, if the text so far is a prefix
            full = tool_arguments(call)
            if not full.startswith(sent) or full == sent or _parses(sent):
                return None
            text = full
        if not text.startswith(sent) or text == sent:
            return None
        self._sent_args[index] = text
        return {"index": index, "function": {"arguments": text[len(sent) :]}}

    def finish(self, last: ChatResponse | None, usage: Usage) -> bytes:
        """The closing events: the finish reason, the usage if asked, ``[DONE]``."""
        reason = finish_reason(last)
        if self._sent_args and reason != "tool_calls":
            reason = "tool_calls"
        out = self._event(
            f'[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"{reason}"}}]'
        )
        if self.include_usage:
            out += self._event("[]", json.dumps(usage_body(usage)))
        return out + b"data: [DONE]\n\n"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def stream_error_event(body: dict[str, Any]) -> bytes:
    """An error in the middle of a stream, as OpenAI sends it (the SDK raises on it)."""
    return b"data: " + json.dumps(body).encode() + b"\n\n"
