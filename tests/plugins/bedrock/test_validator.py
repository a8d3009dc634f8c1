"""The realism checks themselves can fail: botocore's validator, made strict, refuses
bodies Bedrock would refuse."""

from __future__ import annotations

from typing import Any

import pytest

OK = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}
BAD = [
    pytest.param(
        {"messages": [{"role": "user", "content": [{"txt": "Hi"}]}]}, "txt", id="unknown-member"
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": [{"text": "a", "cachePoint": {"type": "default"}}]}
            ]
        },
        "Can only set one",
        id="union-two-members",
    ),
    pytest.param(
        {"messages": [{"role": "robot", "content": [{"text": "Hi"}]}]}, "robot", id="enum"
    ),
    pytest.param({"messages": [{"role": "user"}]}, "content", id="required"),
    pytest.param({**OK, "inferenceConfig": {"maxTokens": 0}}, "maxTokens", id="minimum"),
    pytest.param({**OK, "inferenceConfig": {"temperature": "hot"}}, "temperature", id="type"),
    pytest.param(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": {"format": "png", "source": {"bytes": "not base64!"}}}],
                }
            ]
        },
        "base64|Incorrect padding|Non-base64",
        id="blob-not-base64",
    ),
    pytest.param(
        {
            **OK,
            "toolConfig": {"tools": [{"toolSpec": {"name": "a b", "inputSchema": {"json": {}}}}]},
        },
        "a b",
        id="pattern",
    ),
    pytest.param({**OK, "additionalModelResponseFieldPaths": ["/a"] * 11}, "maximum", id="maximum"),
]


def test_a_valid_body_passes(check_body: Any) -> None:
    check_body(OK)


@pytest.mark.parametrize(("body", "match"), BAD)
def test_an_invalid_body_fails(check_body: Any, body: dict[str, Any], match: str) -> None:
    with pytest.raises((AssertionError, ValueError), match=match):
        check_body(body)


def test_a_path_botocore_would_encode_otherwise_fails(boto: Any) -> None:
    with pytest.raises(AssertionError):
        boto.check(
            "/model/arn:aws:bedrock:us-east-1::foundation-model/x.y/converse", OK, stream=False
        )
