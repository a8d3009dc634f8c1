"""Ollama's answers, as its API reference and guides show them (docs/api.md, the
OpenAPI file, the thinking, tool-calling and errors pages); every one is checked against
the official ``ollama`` package's response types in ``test_sdk.py``."""

from __future__ import annotations

import json
from typing import Any

# -- /api/chat ----------------------------------------------------------------------------

CHAT = {
    "model": "llama3.2",
    "created_at": "2023-12-12T14:13:43.416799Z",
    "message": {"role": "assistant", "content": "Hello! How are you today?"},
    "done": True,
    "done_reason": "stop",
    "total_duration": 5191566416,
    "load_duration": 2154458,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 383809000,
    "eval_count": 298,
    "eval_duration": 4799921000,
}

CHAT_TOOL_CALL = {
    "model": "llama3.2",
    "created_at": "2024-07-22T20:33:28.123648Z",
    "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "function": {
                    "name": "get_current_weather",
                    "arguments": {"format": "celsius", "location": "Paris, FR"},
                }
            }
        ],
    },
    "done_reason": "stop",
    "done": True,
    "total_duration": 885095291,
    "load_duration": 3753500,
    "prompt_eval_count": 122,
    "prompt_eval_duration": 328493000,
    "eval_count": 33,
    "eval_duration": 552222000,
}

CHAT_THINKING = {
    "model": "qwen3",
    "created_at": "2025-05-29T09:35:56.836222Z",
    "message": {
        "role": "assistant",
        "content": "There are 3 r's in strawberry.",
        "thinking": "Let me count: s-t-r-a-w-b-e-r-r-y. r appears at 3, 8 and 9.",
    },
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 17,
    "eval_count": 120,
}

CHAT_STRUCTURED = {
    "model": "llama3.1",
    "created_at": "2024-12-06T00:46:58.265747Z",
    "message": {"role": "assistant", "content": '{"age": 22, "available": false}'},
    "done_reason": "stop",
    "done": True,
    "total_duration": 2254970291,
    "load_duration": 574751416,
    "prompt_eval_count": 34,
    "prompt_eval_duration": 1502000000,
    "eval_count": 12,
    "eval_duration": 175000000,
}

CHAT_LOGPROBS = {
    "model": "llama3.2",
    "created_at": "2025-10-17T23:14:07.414671Z",
    "message": {"role": "assistant", "content": "Hi"},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 11,
    "eval_count": 1,
    "logprobs": [
        {
            "token": "Hi",
            "logprob": -0.05,
            "top_logprobs": [
                {"token": "Hi", "logprob": -0.05},
                {"token": "Hello", "logprob": -3.1},
            ],
        }
    ],
}


def chat_chunk(content: str = "", **message: Any) -> dict[str, Any]:
    """One streamed chat object (``done: false``)."""
    return {
        "model": "llama3.2",
        "created_at": "2023-08-04T08:52:19.385406455-07:00",
        "message": {"role": "assistant", "content": content, **message},
        "done": False,
    }


CHAT_DONE = {
    "model": "llama3.2",
    "created_at": "2023-08-04T19:22:45.499127Z",
    "message": {"role": "assistant", "content": ""},
    "done": True,
    "done_reason": "stop",
    "total_duration": 4883583458,
    "load_duration": 1334875,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 342546000,
    "eval_count": 282,
    "eval_duration": 4535599000,
}

CHAT_STREAM = [chat_chunk("The"), chat_chunk(" sky"), chat_chunk(" is blue."), CHAT_DONE]

THINKING_STREAM = [
    chat_chunk(thinking="17 * 23"),
    chat_chunk(thinking=" = 391"),
    chat_chunk("391"),
    CHAT_DONE,
]

TOOL_STREAM = [
    chat_chunk(
        tool_calls=[{"function": {"name": "get_temperature", "arguments": {"city": "New York"}}}]
    ),
    chat_chunk(
        tool_calls=[{"function": {"name": "get_conditions", "arguments": {"city": "New York"}}}]
    ),
    CHAT_DONE,
]

# -- /api/generate --------------------------------------------------------------------

GENERATE = {
    "model": "llama3.2",
    "created_at": "2023-08-04T19:22:45.499127Z",
    "response": "The sky is blue because it is the color of the sky.",
    "done": True,
    "context": [1, 2, 3],
    "total_duration": 5043500667,
    "load_duration": 5025959,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 325953000,
    "eval_count": 290,
    "eval_duration": 4709213000,
}

GENERATE_SUFFIX = {
    "model": "codellama:code",
    "created_at": "2024-07-22T20:47:51.147561Z",
    "response": (
        "\n  if a == 0:\n    return b\n  else:\n    return compute_gcd(b % a, a)\n\n"
        "def compute_lcm(a, b):\n  result = (a * b) / compute_gcd(a, b)\n"
    ),
    "done": True,
    "done_reason": "stop",
    "context": [1, 2, 3],
    "total_duration": 1162761250,
    "load_duration": 6683708,
    "prompt_eval_count": 17,
    "prompt_eval_duration": 201222000,
    "eval_count": 63,
    "eval_duration": 953997000,
}


def generate_chunk(response: str = "", **extra: Any) -> dict[str, Any]:
    """One streamed generate object (``done: false``)."""
    return {
        "model": "llama3.2",
        "created_at": "2023-08-04T08:52:19.385406455-07:00",
        "response": response,
        "done": False,
        **extra,
    }


GENERATE_DONE = {
    "model": "llama3.2",
    "created_at": "2023-08-04T19:22:45.499127Z",
    "response": "",
    "done": True,
    "done_reason": "stop",
    "context": [1, 2, 3],
    "total_duration": 10706818083,
    "load_duration": 6338219291,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 130079000,
    "eval_count": 259,
    "eval_duration": 4232710000,
}

GENERATE_STREAM = [generate_chunk("The"), generate_chunk(" sky"), GENERATE_DONE]

# -- errors ---------------------------------------------------------------------------

NOT_PULLED = {"error": 'model "llama3.2:1b" not found, try pulling it first'}
SHOW_NOT_FOUND = {"error": "model 'llama3.2:1b' not found"}
STREAM_ERROR = {"error": "an error was encountered while running the model"}
NO_TOOLS = {"error": "registry.ollama.ai/library/gemma:2b does not support tools"}

# -- models -------------------------------------------------------------------------

SHOW = {
    "parameters": "temperature 0.7\nnum_ctx 2048",
    "license": "Gemma Terms of Use",
    "capabilities": ["completion", "vision"],
    "modified_at": "2025-08-14T15:49:43.634137516-07:00",
    "details": {
        "parent_model": "",
        "format": "gguf",
        "family": "gemma4",
        "families": ["gemma4"],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_K_M",
    },
    "model_info": {
        "gemma4.block_count": 42,
        "gemma4.context_length": 131072,
        "gemma4.embedding_length": 2560,
        "general.architecture": "gemma4",
        "general.file_type": 15,
        "tokenizer.ggml.tokens": None,
    },
}

SHOW_TOOLS = {
    "capabilities": ["completion", "tools", "thinking"],
    "details": {"family": "qwen3", "parameter_size": "8.2B", "quantization_level": "Q4_K_M"},
    "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960},
}

TAGS = {
    "models": [
        {
            "name": "gemma4",
            "model": "gemma4",
            "modified_at": "2025-10-03T23:34:03.409490317-07:00",
            "size": 9608350245,
            "digest": "c6eb396dbd5992bbe3f5cdb947e8bbc0ee413d7c17e2beaae69f5d569cf982eb",
            "details": {
                "format": "gguf",
                "family": "gemma4",
                "families": ["gemma4"],
                "parameter_size": "8.0B",
                "quantization_level": "Q4_K_M",
            },
        },
        {
            "name": "qwen3:8b",
            "model": "qwen3:8b",
            "modified_at": "2025-09-01T10:00:00Z",
            "size": 5225387923,
            "digest": "500a1f067a9f782620b40bee6f7b0c89e17ae61f686b92c24933e4ca4b2b8b41",
            "details": {
                "format": "gguf",
                "family": "qwen3",
                "families": ["qwen3"],
                "parameter_size": "8.2B",
                "quantization_level": "Q4_K_M",
            },
        },
    ]
}

PULL_STREAM = [
    {"status": "pulling manifest"},
    {
        "status": "pulling 6a0746a1ec1a",
        "digest": "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa",
        "total": 2142590208,
        "completed": 241970,
    },
    {
        "status": "pulling 6a0746a1ec1a",
        "digest": "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa",
        "total": 2142590208,
        "completed": 2142590208,
    },
    {"status": "verifying sha256 digest"},
    {"status": "writing manifest"},
    {"status": "success"},
]
PULL_ERROR = {"error": "pull model manifest: file does not exist"}


def ndjson(*objects: Any) -> list[bytes]:
    """Body items: one JSON object per line."""
    return [(json.dumps(o) + "\n").encode() for o in objects]
