"""Response bodies, stream chunks and error bodies in the shapes Google documents.

Shapes follow the examples of the Gemini API reference (ai.google.dev/api), the Vertex AI
generateContent reference and the thought-signatures guide; every response and chunk
here is checked by ``test_sdk.py`` against the official ``google-genai`` SDK's types
(unknown fields refused), and every error body against ``google.rpc.Status``'s fields.
"""

from __future__ import annotations

import json
from typing import Any

# opaque thought signatures, base64 as the API sends them (the SDK decodes them as bytes)
SIG_A = "CiQBjz1rX1ubXbpwQNdZwnaMHCk4Ld3pBPNIjDEyUXTmlO6Q2PY="
SIG_B = "CpwCAY89a1/hTjaKM6b7kN5HgbFBGm6p9IaSHnL7xKzDw3lYQxE="
SIG_C = "AY89a18iOcFus5wr5bW5xN6zZ4aUiCyhgmg6HE2YjtYDV/dwZ5oZlZHeTmiUKv34qq0="

USAGE = {
    "promptTokenCount": 8,
    "candidatesTokenCount": 12,
    "totalTokenCount": 20,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
}

TEXT = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Hello! How can I help you today?"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
            "avgLogprobs": -0.23,
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash",
    "responseId": "tTCwacuEBMvnitYP06qsgQY",
}

# thinking with include_thoughts: a thought summary, then the answer carrying the signature
THINKING = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "**Counting**\nThe user wants the count of r's.", "thought": True},
                    {"text": "There are three r's in strawberry.", "thoughtSignature": SIG_A},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 10,
        "candidatesTokenCount": 9,
        "thoughtsTokenCount": 120,
        "cachedContentTokenCount": 4,
        "totalTokenCount": 139,
    },
    "modelVersion": "gemini-2.5-pro",
}

# parallel function calls (Gemini 3): the signature on the first call only
CALLS = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {
                        "functionCall": {
                            "id": "fc-paris",
                            "name": "get_weather",
                            "args": {"city": "Paris"},
                        },
                        "thoughtSignature": SIG_B,
                    },
                    {
                        "functionCall": {
                            "id": "fc-london",
                            "name": "get_weather",
                            "args": {"city": "London"},
                        }
                    },
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 20, "totalTokenCount": 60},
    "modelVersion": "gemini-3-pro-preview",
}

# a function call without an id (Gemini 2.5 on the Gemini API)
CALL_NO_ID = {
    "candidates": [
        {
            "content": {
                "parts": [{"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 5, "totalTokenCount": 35},
}

BLOCKED_PROMPT = {
    "promptFeedback": {
        "blockReason": "SAFETY",
        "safetyRatings": [
            {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH"},
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"},
        ],
    },
    "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    "modelVersion": "gemini-2.5-flash",
}

SAFETY_CUT = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Here is how"}], "role": "model"},
            "finishReason": "SAFETY",
            "index": 0,
            "safetyRatings": [
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "blocked": True,
                },
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            ],
        }
    ],
    "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3, "totalTokenCount": 12},
}

MAX_TOKENS = {
    "candidates": [
        {
            "content": {"parts": [{"text": "The answer is"}], "role": "model"},
            "finishReason": "MAX_TOKENS",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8},
}

MALFORMED_CALL = {
    "candidates": [
        {
            "content": {"parts": [], "role": "model"},
            "finishReason": "MALFORMED_FUNCTION_CALL",
            "finishMessage": "Malformed function call: get_weather(city=)",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
}

GROUNDED = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "Spain won Euro 2024, defeating England 2-1 in the final."}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
            "groundingMetadata": {
                "webSearchQueries": ["UEFA Euro 2024 winner"],
                "searchEntryPoint": {"renderedContent": "<!-- HTML and CSS -->"},
                "groundingChunks": [
                    {
                        "web": {
                            "uri": "https://vertexaisearch.cloud.google.com/x",
                            "title": "uefa.com",
                        }
                    }
                ],
                "groundingSupports": [
                    {
                        "segment": {"startIndex": 0, "endIndex": 56, "text": "Spain won Euro 2024"},
                        "groundingChunkIndices": [0],
                    }
                ],
            },
            "citationMetadata": {
                "citations": [
                    {"startIndex": 0, "endIndex": 19, "uri": "https://www.uefa.com/euro2024/"}
                ]
            },
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash",
}

LOGPROBS = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Yes"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
            "avgLogprobs": -0.01,
            "logprobsResult": {
                "topCandidates": [
                    {
                        "candidates": [
                            {"token": "Yes", "logProbability": -0.01},
                            {"token": "No", "logProbability": -4.6},
                        ]
                    }
                ],
                "chosenCandidates": [{"token": "Yes", "logProbability": -0.01}],
                "logProbabilitySum": -0.01,
            },
        }
    ],
    "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1, "totalTokenCount": 5},
}

IMAGE_OUT = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "Here is your image:"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 1290, "totalTokenCount": 1296},
}

CODE_EXECUTION = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4\n"}},
                    {"text": "The result is 4."},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 30, "totalTokenCount": 40},
}

# -- streams ---------------------------------------------------------------------------

# a text stream as Vertex AI sends it: usage only at the end, the signature in an empty
# last part (the Gemini API sends running usage on every chunk; both are covered)
TEXT_STREAM: list[dict[str, Any]] = [
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello!"}]}}],
        "usageMetadata": {"trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    },
    {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": " How can I help you today"}]}}
        ],
        "usageMetadata": {"trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    },
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "?"}]}}],
        "usageMetadata": {"trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    },
    {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "", "thoughtSignature": SIG_C}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 1,
            "candidatesTokenCount": 9,
            "totalTokenCount": 10,
            "trafficType": "ON_DEMAND",
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
        },
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    },
]

# thoughts first, then a function call with its signature, as the Gemini API streams them
THOUGHT_CALL_STREAM: list[dict[str, Any]] = [
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "**Checking the weather**", "thought": True}],
                },
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 30, "totalTokenCount": 30},
    },
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": " I need Paris.", "thought": True}],
                },
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 30, "totalTokenCount": 30},
    },
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                            "thoughtSignature": SIG_B,
                        }
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 30,
            "candidatesTokenCount": 8,
            "thoughtsTokenCount": 50,
            "totalTokenCount": 88,
        },
    },
]

SAFETY_STREAM: list[dict[str, Any]] = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Step one"}]}, "index": 0}]},
    {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": ", then"}]},
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [
                    {
                        "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                        "probability": "HIGH",
                        "blocked": True,
                    }
                ],
            }
        ]
    },
]


def sse(events: list[Any]) -> list[bytes]:
    """SSE body items as the API frames them (``data: {...}\\r\\n\\r\\n``, no end marker)."""
    return [f"data: {json.dumps(e)}\r\n\r\n".encode() for e in events]


# -- errors (google.rpc.Status in an "error" object) ------------------------------------

RATE_LIMITED = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": (
                            "generativelanguage.googleapis.com/generate_content_free_tier_requests"
                        ),
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
        ],
    }
}

KEY_INVALID = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}

MODEL_NOT_FOUND = {
    "error": {
        "code": 404,
        "message": "models/gemini-9-ultra is not found for API version v1beta, or is not "
        "supported for generateContent. Call ListModels to see the list of available models "
        "and their supported methods.",
        "status": "NOT_FOUND",
    }
}

TOO_LONG = {
    "error": {
        "code": 400,
        "message": "The input token count (1200000) exceeds the maximum number of tokens "
        "allowed (1048576).",
        "status": "INVALID_ARGUMENT",
    }
}

UNAVAILABLE = {
    "error": {
        "code": 503,
        "message": "The model is overloaded. Please try again later.",
        "status": "UNAVAILABLE",
    }
}

VERTEX_UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        "status": "UNAUTHENTICATED",
    }
}

# -- model listings ----------------------------------------------------------------------

MODELS_PAGE_1 = {
    "models": [
        {
            "name": "models/gemini-2.5-flash",
            "version": "001",
            "displayName": "Gemini 2.5 Flash",
            "description": "Stable version of Gemini 2.5 Flash.",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": [
                "generateContent",
                "countTokens",
                "createCachedContent",
                "batchGenerateContent",
            ],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
            "thinking": True,
        },
        {
            "name": "models/gemini-embedding-001",
            "version": "001",
            "displayName": "Gemini Embedding 001",
            "description": "Obtain a distributed representation of a text.",
            "inputTokenLimit": 2048,
            "outputTokenLimit": 1,
            "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens"],
        },
    ],
    "nextPageToken": "Ch1tb2RlbHMvZ2VtaW5pLTIuNS1wcm8=",
}

MODELS_PAGE_2 = {
    "models": [
        {
            "name": "models/gemini-2.5-pro",
            "version": "2.5",
            "displayName": "Gemini 2.5 Pro",
            "description": "Stable release of Gemini 2.5 Pro",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
            "thinking": True,
        }
    ]
}

VERTEX_MODELS = {
    "publisherModels": [
        {
            "name": "publishers/google/models/gemini-2.5-flash",
            "versionId": "001",
            "launchStage": "GA",
            "openSourceCategory": "PROPRIETARY",
        },
        {
            "name": "publishers/google/models/imagen-4.0-generate-001",
            "versionId": "001",
            "launchStage": "GA",
        },
    ]
}
