"""Chat Completions bodies and stream events, as the API reference documents them.

Shared by the parsing tests and the end-to-end tests; ``test_parse`` checks the OpenAI
ones against the response schemas of the official OpenAPI spec.
"""

from __future__ import annotations

import json
from typing import Any


def completion(message: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    body = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": None, **message},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
    }
    body.update(extra)
    return body


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": choices,
        **extra,
    }


USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
}

TEXT = completion({"content": "Hello! How can I assist you today?"})
TOOL_CALLS = completion(
    {
        "tool_calls": [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
            },
            {
                "id": "call_def456",
                "type": "function",
                "function": {"name": "get_time", "arguments": "not json"},
            },
        ]
    },
    finish="tool_calls",
)
REFUSAL = completion({"refusal": "I can't help with that."})
TRUNCATED = completion({"content": "Once upon a"}, finish="length", usage=USAGE)
LOGPROBS = completion({"content": "Hi"})
LOGPROBS["choices"][0]["logprobs"] = {
    "content": [
        {
            "token": "Hi",
            "logprob": -0.01,
            "bytes": [72, 105],
            "top_logprobs": [
                {"token": "Hi", "logprob": -0.01, "bytes": [72, 105]},
                {"token": "Hello", "logprob": -4.6, "bytes": [72, 101, 108, 108, 111]},
            ],
        }
    ],
    "refusal": None,
}
# DeepSeek's reasoner: reasoning_content beside content, its own cache counter
DEEPSEEK = completion(
    {"content": "42", "reasoning_content": "6 times 7..."},
    model="deepseek-reasoner",
    usage={
        "prompt_tokens": 30,
        "completion_tokens": 50,
        "total_tokens": 80,
        "prompt_cache_hit_tokens": 16,
        "prompt_cache_miss_tokens": 14,
        "completion_tokens_details": {"reasoning_tokens": 40},
    },
)
OPENAI_BODIES = [TEXT, TOOL_CALLS, REFUSAL, TRUNCATED, LOGPROBS, DEEPSEEK]

TEXT_STREAM = [
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "Hello"}),
    chunk({"content": "!"}),
    chunk({}, finish="stop"),
    chunk(None, usage=USAGE),
]
TOOL_STREAM = [
    chunk(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ],
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "Paris"}'}}]}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_def",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ]
        }
    ),
    chunk({}, finish="tool_calls"),
    chunk(None, usage=USAGE),
]
OPENAI_STREAMS = [*TEXT_STREAM, *TOOL_STREAM]


CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your "
        "messages resulted in 130000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


def sse(events: list[Any]) -> bytes:
    """An SSE body: one ``data:`` event per item, then ``data: [DONE]``."""
    lines = [f"data: {json.dumps(e) if not isinstance(e, str) else e}\n\n" for e in events]
    return ("".join(lines) + "data: [DONE]\n\n").encode()
