"""The signature of a fixed request, with fixed credentials and time, equals botocore's.

Two references: botocore's ``SigV4Auth.add_auth`` (what every AWS SDK for Python signs
with), and botocore's own ``bedrock-runtime`` client, whose prepared request is caught
before it is sent. The client also fixes what the URL path and body of a Converse call
are: ours must be the same.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.session
import pytest

from llmplug import ChatMessage
from llmplug.http import OutgoingRequest

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, SESSION_TOKEN

FIXED = datetime.datetime(2025, 6, 1, 12, 0, 0)  # botocore's clock is naive UTC
MODELS = [
    pytest.param("anthropic.claude-sonnet-4-5-20250929-v1:0", id="model-id"),
    pytest.param("us.anthropic.claude-sonnet-4-5-20250929-v1:0", id="profile-id"),
    pytest.param(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        id="profile-arn",
    ),
    pytest.param(
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", id="foundation-arn"
    ),
    pytest.param(
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
        id="application-profile-arn",
    ),
]
MESSAGES = [
    ChatMessage(role="system", content="Be brief — très brief."),
    ChatMessage(role="user", content="Hi ✓"),
]


class Caught(Exception):
    """Raised by the before-send hook with the request botocore would have sent."""

    def __init__(self, request: Any) -> None:
        super().__init__("caught")
        self.request = request


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FIXED)


def botocore_request(boto: Any, operation: str, params: dict[str, Any], token: str | None) -> Any:
    """The request botocore's bedrock-runtime client prepares for ``params``."""
    client = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
    )

    def catch(request: Any, **_: Any) -> None:
        raise Caught(request)

    client.meta.events.register(f"before-send.bedrock-runtime.{operation}", catch)
    method = {"Converse": client.converse, "ConverseStream": client.converse_stream}[operation]
    with pytest.raises(Caught) as caught:
        method(**params)
    return caught.value.request


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["long-term", "temporary"])
@pytest.mark.parametrize("stream", [False, True], ids=["converse", "converse-stream"])
@pytest.mark.parametrize("model", MODELS)
def test_same_request_and_signature_as_botocores_client(
    make: Any, boto: Any, clock: Any, model: str, stream: bool, token: str | None
) -> None:
    llm = make(model=model, aws_session_token=token, max_tokens=50, temperature=0.3)
    request = llm.build_request(MESSAGES, {}, stream=stream)
    operation = "ConverseStream" if stream else "Converse"
    params = {"modelId": model, **boto.params(request.json, boto.operation(stream).input_shape)}
    theirs = botocore_request(boto, operation, params, token)

    # the same URL (the model id encoded as one path segment) and the same body
    assert llm.url_for(request.path) == theirs.url
    assert json.loads(theirs.body) == request.json

    # signing botocore's exact request (the headers it signed, its body bytes) gives its
    # signature (botocore adds amz-sdk-* and Content-Length after signing)
    sent = {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in theirs.headers.items()
    }
    signed = sent["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert signed[:2] == ["content-type", "host"]
    headers = {
        name: value
        for name, value in sent.items()
        if name.lower() in signed and name.lower() not in ("x-amz-date", "x-amz-security-token")
    }
    outgoing = OutgoingRequest("POST", theirs.url, headers, theirs.body)
    assert clock.time() == FIXED.replace(tzinfo=datetime.UTC).timestamp()
    ours = llm.sign_request(outgoing)
    assert ours is not None
    assert ours["Authorization"] == sent["Authorization"]
    assert ours["X-Amz-Date"] == sent["X-Amz-Date"] == "20250601T120000Z"
    if token:
        assert ours["X-Amz-Security-Token"] == sent["X-Amz-Security-Token"] == token
    else:
        assert "X-Amz-Security-Token" not in ours


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["long-term", "temporary"])
@pytest.mark.parametrize("model", MODELS)
def test_our_own_request_is_signed_as_add_auth_signs_it(
    make: Any, model: str, token: str | None
) -> None:
    llm = make(model=model, aws_session_token=token)
    request = llm.build_request(MESSAGES, {}, stream=False)
    body = json.dumps(request.json, ensure_ascii=False, separators=(",", ":")).encode()
    url = llm.url_for(request.path)
    headers = {"User-Agent": "llmplug/0.1.0", "Content-Type": "application/json"}
    ours = llm.sign_request(OutgoingRequest("POST", url, headers, body))
    assert ours is not None

    reference = botocore.awsrequest.AWSRequest(
        method="POST", url=url, data=body, headers=dict(headers)
    )
    credentials = botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY, token)
    botocore.auth.SigV4Auth(credentials, "bedrock", REGION).add_auth(reference)
    assert ours["Authorization"] == reference.headers["Authorization"]
    assert ours["X-Amz-Date"] == reference.headers["X-Amz-Date"]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def test_a_known_signature_computed_by_the_published_algorithm(make: Any) -> None:
    # AWS Signature Version 4 as the IAM user guide describes it, step by step, with no
    # botocore: a change in canonicalisation (the twice-encoded path of a non-S3
    # service, the headers, the body hash) shows here
    body = b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}'
    path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    host = "bedrock-runtime.us-east-1.amazonaws.com"
    canonical = "\n".join(
        [
            "POST",
            path.replace("%", "%25"),  # each path segment URI-encoded twice
            "",
            f"content-type:application/json\nhost:{host}\nx-amz-date:20250601T120000Z\n",
            "content-type;host;x-amz-date",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = "20250601/us-east-1/bedrock/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            "20250601T120000Z",
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{SECRET_KEY}".encode(), "20250601")
    for part in ("us-east-1", "bedrock", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert signature == "79a5689e8a1df53e4137cbe4d1ff8b7eb9d9d327cbc31f9ebacd4c561640608d"

    llm = make(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    outgoing = OutgoingRequest(
        "POST", f"https://{host}{path}", {"Content-Type": "application/json"}, body
    )
    assert llm.sign_request(outgoing) == {
        "X-Amz-Date": "20250601T120000Z",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
            f"SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        ),
    }


def test_a_bedrock_api_key_is_not_signed(make: Any) -> None:
    llm = make(api_key="ABSK-bearer")
    assert llm.sign_request(OutgoingRequest("POST", "https://x.test/", {}, b"{}")) is None
