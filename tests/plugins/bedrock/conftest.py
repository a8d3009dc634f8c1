"""Fixtures for the Bedrock plugin's tests: botocore's service model as the validator, a
hermetic AWS environment, and a loopback Bedrock that checks what it receives.

Every request body a test builds goes through ``check_body`` (``build`` does it), and
every request the loopback server receives through ``Botocore.check``:

* the body is read back into parameters by walking ``bedrock-runtime``'s service model
  (blobs decoded from base64), then validated by botocore's own ``ParamValidator``
  (types, required members, unknown members, one member per union, minimums), made
  stricter here with the model's enums, maximums and patterns;
* botocore's rest-json serializer then serializes those parameters: its URL path and
  JSON body must equal ours, byte for byte in the path and value for value in the body;
* the server also checks the request's SigV4 signature by recomputing it with botocore.

botocore is this plugin's runtime dependency, so it is always here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.serialize
import botocore.session
import botocore.validate
import httpx2
import pytest

import llmplug_bedrock
from llmplug.http.testing import Body, FakeClock
from llmplug.testing import fake_entry_point, isolated_registry
from llmplug_bedrock import BedrockLLM

from . import wire_data as w

ACCESS_KEY = "AKIAIOSFODNN7CANARY1"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjECANARY-session-token-7f3a"
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1CANARY-bearer-9d1e"
REGION = "us-east-1"
MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "LLMPLUG_MODEL",
    "LLMPLUG_CONFIG",
    "LLMPLUG_PLUGINS",
)


# -- botocore's service model as a validator ------------------------------------------


class Botocore:
    """``bedrock-runtime``'s service model: validates requests as botocore would send them."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.model = session.get_service_model("bedrock-runtime")
        self.control = session.get_service_model("bedrock")
        self.validator = botocore.validate.ParamValidator()
        self.serializer = botocore.serialize.create_serializer(
            "rest-json", include_validation=False
        )

    def operation(self, stream: bool) -> Any:
        return self.model.operation_model("ConverseStream" if stream else "Converse")

    def params(self, body: Any, shape: Any, where: str = "") -> Any:
        """``body`` (decoded JSON) as botocore parameters; raises on what the model lacks."""
        kind = shape.type_name
        if kind == "structure" and shape.is_document_type:
            return body
        if kind == "structure":
            assert isinstance(body, dict), f"{where}: expected an object, got {body!r}"
            members = shape.members
            out = {}
            for key, value in body.items():
                # an unknown key is kept as it is: the validator reports it
                out[key] = (
                    self.params(value, members[key], f"{where}.{key}") if key in members else value
                )
            return out
        if kind == "list":
            assert isinstance(body, list), f"{where}: expected an array, got {body!r}"
            self._check_limits(body, shape, where)
            return [self.params(item, shape.member, f"{where}[{i}]") for i, item in enumerate(body)]
        if kind == "map":
            assert isinstance(body, dict), f"{where}: expected an object, got {body!r}"
            self._check_limits(body, shape, where)
            return {
                self.params(k, shape.key, f"{where} key"): self.params(
                    v, shape.value, f"{where}.{k}"
                )
                for k, v in body.items()
            }
        if kind == "blob":
            assert isinstance(body, str), f"{where}: a blob is base64 text in JSON, got {body!r}"
            return base64.b64decode(body, validate=True)
        if kind == "string":
            assert isinstance(body, str), f"{where}: expected a string, got {body!r}"
            enum = shape.metadata.get("enum")
            assert enum is None or body in enum, f"{where}: {body!r} is not one of {enum}"
            pattern = shape.metadata.get("pattern")
            if pattern and shape.name not in ("ConversationalModelId",):
                assert re.fullmatch(pattern, body), f"{where}: {body!r} does not match {pattern}"
        if kind in ("integer", "long", "float", "double"):
            assert not isinstance(body, bool), f"{where}: a number, not {body!r}"
        self._check_limits(body, shape, where)
        return body

    @staticmethod
    def _check_limits(value: Any, shape: Any, where: str) -> None:
        high = shape.metadata.get("max")
        if high is None:
            return
        size = len(value) if isinstance(value, str | list | dict) else value
        assert size <= high, f"{where}: {size} is over the maximum of {high}"

    def check(self, path: str, body: dict[str, Any], *, stream: bool) -> None:
        """Assert that botocore validates ``body`` and serializes it to the same request."""
        operation = self.operation(stream)
        assert path.startswith("/model/")
        assert path.endswith(f"/{operation.http['requestUri'].rsplit('/', 1)[1]}")
        model_id = unquote(path.split("/")[2])
        params = {"modelId": model_id, **self.params(body, operation.input_shape)}
        report = self.validator.validate(params, operation.input_shape)
        assert not report.has_errors(), report.generate_report()
        serialized = self.serializer.serialize_to_request(params, operation)
        assert serialized["url_path"] == path
        assert json.loads(serialized["body"]) == body

    def check_converse_response(self, data: dict[str, Any]) -> None:
        """Assert that a Converse response fixture is one botocore's model describes."""
        output = self.model.operation_model("Converse").output_shape
        self.params(data, output)


@pytest.fixture(scope="session")
def boto() -> Botocore:
    """botocore's view of Bedrock Runtime (strict)."""
    return Botocore()


@pytest.fixture(scope="session")
def check_body(boto: Botocore) -> Callable[..., Any]:
    """Assert that a request body (a Converse one by default) is one botocore sends."""

    def check(body: Any, *, stream: bool = False, path: str | None = None) -> Any:
        boto.check(
            path or f"/model/{MODEL.replace(':', '%3A')}/converse{'-stream' if stream else ''}",
            body,
            stream=stream,
        )
        return body

    return check


@pytest.fixture
def build(check_body: Callable[..., Any]) -> Callable[..., Any]:
    """``build(llm, messages="Hi", stream=False, **options)``: the request, its body checked."""
    from llmplug import ChatMessage

    def run(llm: BedrockLLM, messages: Any = "Hi", *, stream: bool = False, **options: Any) -> Any:
        if isinstance(messages, str):
            messages = [ChatMessage(role="user", content=messages)]
        request = llm.build_request(messages, options, stream=stream)
        check_body(request.json, stream=stream, path=request.path)
        return request

    return run


# -- the plugin, hermetic -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No AWS credentials, profile or region from the developer's machine; no IMDS."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def clock() -> FakeClock:
    """2025-06-01T12:00:00Z, and never really waits."""
    return FakeClock(wall=1_748_779_200.0)


@pytest.fixture
def make(clock: FakeClock) -> Callable[..., BedrockLLM]:
    """``make(**options)``: the provider as ``load`` builds it, with test credentials."""

    def new(**options: Any) -> BedrockLLM:
        if "api_key" not in options:
            options.setdefault("aws_access_key_id", ACCESS_KEY)
            options.setdefault("aws_secret_access_key", SECRET_KEY)
        options.setdefault("region", REGION)
        options.setdefault("model", MODEL)
        options.setdefault("clock", clock)
        llm = BedrockLLM(**options)
        llm._provider = "bedrock"
        return llm

    return new


@pytest.fixture
def registry() -> Iterator[Any]:
    """A fresh llmplug registry that sees this plugin's two entry points only."""
    eps = [
        fake_entry_point(name, "llmplug_bedrock", dist="llmplug-bedrock", version="0.1.0")
        for name in ("bedrock", "aws")
    ]
    with isolated_registry(eps, with_mock=False) as reg:
        yield reg


@pytest.fixture
def plugin() -> Any:
    """The plugin module."""
    return llmplug_bedrock


# -- a loopback Bedrock -------------------------------------------------------------------


def verify_signature(request: httpx2.Request, *, token: str | None = None) -> None:
    """Recompute the request's SigV4 signature with botocore; assert it matches."""
    headers = dict(request.headers)
    authorization = headers["authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", authorization)
    assert signed is not None, authorization
    names = signed.group(1).split(";")
    aws = botocore.awsrequest.AWSRequest(
        method=request.method,
        url=str(request.url),
        data=request.content,
        headers={name: headers[name] for name in names if name != "host"},
    )
    aws.context["timestamp"] = headers["x-amz-date"]
    credentials = botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY, token)
    auth = botocore.auth.SigV4Auth(credentials, "bedrock", REGION)
    canonical = auth.canonical_request(aws)
    expected = auth.signature(auth.string_to_sign(aws, canonical), aws)
    assert authorization.endswith(f"Signature={expected}"), (authorization, canonical)
    assert (
        f"Credential={ACCESS_KEY}/{headers['x-amz-date'][:8]}/{REGION}/bedrock/aws4_request"
        in authorization
    )


class Server:
    """A loopback Bedrock Runtime: checks each request, answers JSON or an event stream.

    ``replies`` is a script of ``(status, body, headers)``: a dict body is JSON, bytes
    (or a list of byte items) an event stream. The last reply repeats.
    """

    def __init__(self, boto: Botocore) -> None:
        self.boto = boto
        self.requests: list[httpx2.Request] = []
        self.bodies: list[Any] = []
        self.responses: list[Body] = []
        self.replies: list[tuple[int, Any, dict[str, str]]] = []
        self.token: str | None = None  # the session token requests must be signed with

    def reply(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None
    ) -> Server:
        """Add a reply to the script (``None``: a text answer, JSON or a stream as asked)."""
        self.replies.append((status, body, dict(headers or {})))
        return self

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        raw = request.read()
        body = json.loads(raw) if raw else None
        self.bodies.append(body)
        path = request.url.raw_path.decode().split("?")[0]
        if path.startswith("/model/"):
            self.boto.check(path, body, stream=path.endswith("/converse-stream"))
        if "authorization" in request.headers and request.headers["authorization"].startswith(
            "AWS4"
        ):
            verify_signature(request, token=self.token)
        index = min(len(self.requests), len(self.replies)) - 1
        status, reply, headers = self.replies[index] if self.replies else (200, None, {})
        if reply is None:
            reply = w.stream(w.TEXT_STREAM) if path.endswith("/converse-stream") else w.TEXT
        if isinstance(reply, dict):
            items: list[Any] = [json.dumps(reply).encode()]
            headers = {"content-type": "application/json", **headers}
        else:
            items = [reply] if isinstance(reply, bytes) else list(reply)
            headers = {"content-type": "application/vnd.amazon.eventstream", **headers}
        headers.setdefault("x-amzn-RequestId", "3c6d84ab-7f7d-4d3d-9a2f-8f0a5e0c1b2d")
        stream = Body(items)
        self.responses.append(stream)
        return httpx2.Response(status, headers=headers, stream=stream, request=request)

    @property
    def open_responses(self) -> list[Body]:
        return [body for body in self.responses if not body.closed]

    def transports(self) -> dict[str, Any]:
        sync = httpx2.MockTransport(self)

        async def handle(request: httpx2.Request) -> httpx2.Response:
            return self(request)

        return {"transport": sync, "async_transport": httpx2.MockTransport(handle)}


@pytest.fixture
def server(boto: Botocore) -> Iterator[Server]:
    server = Server(boto)
    yield server
    assert server.open_responses == [], "a response was left open"


ENDPOINTS = ["chat", "achat", "stream_chat", "astream_chat"]


async def call(llm: Any, endpoint: str, messages: Any = None, **options: Any) -> list[Any]:
    """Call one of the four endpoints; the response, or every chunk of the stream."""
    from llmplug import ChatMessage

    if messages is None:
        messages = [ChatMessage(role="user", content="Hi")]
    if endpoint == "chat":
        return [llm.chat(messages, **options)]
    if endpoint == "stream_chat":
        return list(llm.stream_chat(messages, **options))
    try:
        if endpoint == "achat":
            return [await llm.achat(messages, **options)]
        chunks = await llm.astream_chat(messages, **options)
        return [chunk async for chunk in chunks]
    finally:
        await llm.aclose()
