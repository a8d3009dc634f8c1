"""The Bedrock plugin's per-token and per-request costs, beside botocore's.

* the event stream decoder (ConverseStream's binary framing, both CRC32 checks) on a
  2,000-token text stream fed in network-sized pieces, against botocore's
  ``EventStreamBuffer`` on the same bytes;
* one SigV4 signature of a Converse request, against botocore's ``SigV4Auth.add_auth``;
* a whole ConverseStream call through llmplug's runtime over an in-memory transport
  (decoding, parsing, chunks), per token.

Numbers are CPU time. ``python bench/bench_bedrock.py``
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.eventstream
import httpx2

from llmplug import ChatMessage
from llmplug.http import OutgoingRequest
from llmplug_bedrock import BedrockLLM
from llmplug_bedrock._eventstream import EventStreamDecoder

TOKENS = 2_000
PIECE = 1_400  # bytes per network read


def message(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack("!H", len(raw)) + raw
    data = json.dumps({**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"}).encode()
    prelude = struct.pack("!II", 16 + len(headers) + len(data), len(headers))
    body = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers + data
    return body + struct.pack("!I", zlib.crc32(body))


def text_stream(tokens: int) -> bytes:
    parts = [message("messageStart", {"role": "assistant"})]
    parts += [
        message("contentBlockDelta", {"delta": {"text": " word"}, "contentBlockIndex": 0})
        for _ in range(tokens)
    ]
    parts += [
        message("contentBlockStop", {"contentBlockIndex": 0}),
        message("messageStop", {"stopReason": "end_turn"}),
        message(
            "metadata",
            {
                "usage": {"inputTokens": 10, "outputTokens": tokens, "totalTokens": tokens + 10},
                "metrics": {"latencyMs": 100},
            },
        ),
    ]
    return b"".join(parts)


def cpu(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def main() -> None:
    body = text_stream(TOKENS)
    pieces = [body[i : i + PIECE] for i in range(0, len(body), PIECE)]

    def ours() -> int:
        decoder = EventStreamDecoder()
        return sum(len(decoder.feed(piece)) for piece in pieces)

    def botocores() -> int:
        buffer = botocore.eventstream.EventStreamBuffer()
        count = 0
        for piece in pieces:
            buffer.add_data(piece)
            count += sum(1 for _ in buffer)
        return count

    assert ours() == botocores() == TOKENS + 4
    a, b = cpu(ours, 20), cpu(botocores, 20)
    mb = len(body) / 1e6
    print(f"event stream, {TOKENS} tokens ({mb:.2f} MB, {len(pieces)} reads)")
    print(f"  llmplug-bedrock decoder {a * 1e6 / TOKENS:7.2f} us/event  {mb / a:6.1f} MB/s")
    print(f"  botocore EventStreamBuffer {b * 1e6 / TOKENS:4.2f} us/event  {mb / b:6.1f} MB/s")

    llm = BedrockLLM(
        region="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    request = llm.build_request([ChatMessage(role="user", content="Hi")], {}, stream=False)
    url = llm.url_for(request.path)
    data = json.dumps(request.json).encode()
    outgoing = OutgoingRequest("POST", url, {"Content-Type": "application/json"}, data)
    credentials = botocore.credentials.Credentials(
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )

    def add_auth() -> None:
        aws = botocore.awsrequest.AWSRequest(
            method="POST", url=url, data=data, headers={"Content-Type": "application/json"}
        )
        botocore.auth.SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(aws)

    s, r = cpu(lambda: llm.sign_request(outgoing), 2_000), cpu(add_auth, 2_000)
    print("SigV4, one Converse request")
    print(f"  llmplug-bedrock sign_request {s * 1e6:6.1f} us")
    print(f"  botocore add_auth            {r * 1e6:6.1f} us")

    def reply(_: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return httpx2.Response(200, headers=headers, stream=httpx2.ByteStream(body))

    streamer = BedrockLLM(
        region="us-east-1",
        api_key="bench",
        transport=httpx2.MockTransport(reply),
    )
    hi = [ChatMessage(role="user", content="Hi")]

    def stream() -> None:
        for _ in streamer.stream_chat(hi):
            pass

    t = cpu(stream, 10)
    print(f"ConverseStream through the runtime: {t * 1e6 / TOKENS:.2f} us/token ({t * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
