"""MockServer refuses a script that would silently send something else than meant."""

from __future__ import annotations

from typing import Any

import pytest

from llmplug.http.testing import MockServer, Reply, ndjson, sse


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        pytest.param(Reply(200, body=b'{"delta": "hi"}\n'), "list of items", id="bare-bytes"),
        pytest.param(Reply(200, body=bytearray(b"data: x\n\n")), "list of items", id="bytearray"),
        pytest.param(Reply(200, body="data: x\n\n"), "list of items", id="str"),  # type: ignore[arg-type]
        pytest.param(Reply(200, json={"a": 1}, body=[b"x"]), "not both", id="json-and-body"),
        pytest.param({"status": 200}, "takes Reply objects", id="not-a-reply"),
    ],
)
def test_refused(reply: Any, needle: str) -> None:
    with pytest.raises(TypeError, match=needle):
        MockServer(reply)


def test_bytes_in_a_list_are_sent() -> None:
    import httpx2

    server = MockServer(Reply(200, body=[b"one ", b"two"]))
    with httpx2.Client(transport=server.transport()) as client:
        assert client.get("https://x.test/").text == "one two"
    assert server.open_bodies == []


def test_ndjson_and_sse_items() -> None:
    assert ndjson({"a": 1}, "raw") == [b'{"a": 1}\n', b"raw\n"]
    assert sse({"a": 1}) == [b'data: {"a": 1}\n\n', b"data: [DONE]\n\n"]
