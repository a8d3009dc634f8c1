"""Stand-ins for the network providers LlamaIndex's documentation examples construct.

The examples in ``tests/compat`` are LlamaIndex's own, with only their imports changed:
``from llama_index.llms.openai import OpenAI`` becomes ``from ._stand_ins import OpenAI``.
``OpenAI(...)`` here is llmplug's OpenAI provider (llmplug-openai) over httpx2's
``MockTransport`` instead of the network: every request goes through the real wire
code and HTTP runtime, and the answers are Chat Completions bodies and SSE streams as
the API documents them, taken from the test's :class:`Script`.

A scripted reply is:

* a ``str``: the assistant's text;
* a ``dict`` or a pydantic object: an answer to a structured call. Sent as JSON text,
  or, when the request forces a tool call (``tool_choice`` naming a function), as that
  call's arguments: the path llmplug picks for the model does not change the script;
* :class:`Calls`: tool calls, ``Calls(("name", {"arg": 1}), ...)``.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import httpx2
from pydantic import BaseModel

from llmplug.http.testing import Body
from llmplug_openai import OpenAILLM

__all__ = ["Calls", "OpenAI", "Script", "current_script", "use_script"]


class Calls:
    """Tool calls the model makes in one reply: ``Calls(("add", {"a": 1}), ...)``."""

    def __init__(self, *calls: tuple[str, dict[str, Any]]) -> None:
        self.calls = list(calls)


class Script:
    """The replies the stand-in providers give, in order, and the requests they got.

    Attributes:
        bodies: Every request body received (JSON).
        streams: Every response body sent (each records whether the client closed it).
    """

    def __init__(self) -> None:
        self.replies: deque[Any] = deque()
        self.bodies: list[dict[str, Any]] = []
        self.streams: list[Body] = []

    def add(self, *replies: Any) -> Script:
        """Script the next replies."""
        self.replies.extend(replies)
        return self

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one Chat Completions request with the next scripted reply."""
        body = json.loads(request.content)
        self.bodies.append(body)
        if not self.replies:
            raise AssertionError(f"the script is used up; the request was {body}")
        message = _message(self.replies.popleft(), body)
        if body.get("stream"):
            items = [f"data: {json.dumps(event)}\n\n".encode() for event in _events(message)]
            items.append(b"data: [DONE]\n\n")
            headers = {"content-type": "text/event-stream"}
        else:
            items = [json.dumps(_completion(message)).encode()]
            headers = {"content-type": "application/json"}
        stream = Body(items)
        self.streams.append(stream)
        return httpx2.Response(200, headers=headers, stream=stream, request=request)

    def transports(self) -> dict[str, httpx2.MockTransport]:
        """The sync and async transports of a provider answering from this script."""

        async def ahandle(request: httpx2.Request) -> httpx2.Response:
            return self.handle(request)

        return {
            "transport": httpx2.MockTransport(self.handle),
            "async_transport": httpx2.MockTransport(ahandle),
        }


_current: Script | None = None


def use_script(script: Script | None) -> None:
    """Make ``script`` the one stand-ins answer from (``tests/compat/conftest.py``)."""
    global _current
    _current = script


def current_script() -> Script:
    if _current is None:
        raise RuntimeError("no script: use the `script` fixture of tests/compat")
    return _current


def OpenAI(  # LlamaIndex's class name: the examples call it as a constructor
    model: str = "gpt-3.5-turbo",
    temperature: float | None = None,
    max_tokens: int | None = None,
    api_key: str | None = None,
    strict: bool | None = None,
    additional_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> OpenAILLM:
    """LlamaIndex's ``OpenAI(...)``: llmplug's OpenAI provider, answering from the script.

    ``strict`` is accepted and not used: llmplug's provider sends strict schemas whenever
    the schema allows. ``additional_kwargs`` go in the request body (``extra_body``),
    except ``user``, which is an option of its own.
    """
    extra = dict(additional_kwargs or {})
    return OpenAILLM(
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        api_key=api_key or "sk-compat-test",
        user=extra.pop("user", None),
        extra_body=extra,
        **current_script().transports(),
        **kwargs,
    )


# -- Chat Completions bodies -------------------------------------------------------------


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        return str(choice["function"]["name"])
    return None


def _message(reply: Any, body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(reply, BaseModel):
        reply = reply.model_dump(mode="json")
    if isinstance(reply, dict):
        forced = _forced_tool(body)
        if forced is None:
            return {"role": "assistant", "content": json.dumps(reply)}
        reply = Calls((forced, reply))
    if isinstance(reply, Calls):
        calls = [
            {
                "id": f"call_{i}_{name}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for i, (name, arguments) in enumerate(reply.calls)
        ]
        return {"role": "assistant", "content": None, "tool_calls": calls}
    return {"role": "assistant", "content": str(reply)}


_USAGE = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}


def _completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-compat",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"refusal": None, **message},
                "logprobs": None,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": _USAGE,
    }


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> Any:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-compat",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": choices,
        **extra,
    }


def _events(message: dict[str, Any]) -> list[Any]:
    """The stream of ``message``: text word by word, tool arguments in pieces."""
    events = [_chunk({"role": "assistant", "content": ""})]
    text = message.get("content") or ""
    words = text.split(" ")
    events += [_chunk({"content": w if i == 0 else f" {w}"}) for i, w in enumerate(words) if text]
    for index, call in enumerate(message.get("tool_calls") or ()):
        head = {"index": index, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        events.append(_chunk({"tool_calls": [head]}))
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 7):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 7]}}
            events.append(_chunk({"tool_calls": [piece]}))
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    events.append(_chunk({}, finish))
    events.append(_chunk(None, usage=_USAGE))
    return events
