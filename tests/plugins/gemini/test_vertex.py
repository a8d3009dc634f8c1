"""The ``vertex`` provider: where requests go, OAuth tokens (fixed, a function, credentials
objects, Application Default Credentials through google-auth over a loopback token
server), refreshes off the event loop, labels, gs:// files, listing, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import ChatMessage
from llmplug.errors import AuthenticationError, ConfigError, PermissionDeniedError
from llmplug.http.testing import FakeClock, MockServer, Reply
from llmplug_gemini import VertexLLM
from llmplug_gemini._auth import CredentialsToken

from . import wire_data as w

HI = [ChatMessage(content="Hi")]


def wired(make_vertex: Any, *replies: Reply, **options: Any) -> tuple[Any, MockServer]:
    server = MockServer(*(replies or (Reply(200, json=w.TEXT),)))
    llm = make_vertex(
        transport=server.transport(),
        async_transport=server.async_transport(),
        clock=FakeClock(),
        **options,
    )
    return llm, server


class FakeCredentials:
    """google-auth's credentials interface: ``valid``, ``token``, ``refresh(request)``."""

    def __init__(self, project_id: str | None = None) -> None:
        self.token: str | None = None
        self.valid = False
        self.refreshes: list[int] = []  # the thread of each refresh
        self.project_id = project_id

    def refresh(self, request: Any) -> None:
        assert callable(request)  # a google-auth transport
        self.refreshes.append(threading.get_ident())
        self.token = f"ya29.fake-{len(self.refreshes)}"
        self.valid = True


# -- where requests go ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "url"),
    [
        pytest.param(
            {},
            "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/"
            "us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
            id="regional",
        ),
        pytest.param(
            {"location": "global", "api_version": "v1beta1"},
            "https://aiplatform.googleapis.com/v1beta1/projects/my-project/locations/global/"
            "publishers/google/models/gemini-2.5-flash:generateContent",
            id="global",
        ),
        pytest.param(
            {"model": "endpoints/123"},
            "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/"
            "us-central1/endpoints/123:generateContent",
            id="tuned-endpoint",
        ),
        pytest.param(
            {"model": "projects/other/locations/europe-west4/publishers/google/models/x"},
            "https://us-central1-aiplatform.googleapis.com/v1/projects/other/locations/"
            "europe-west4/publishers/google/models/x:generateContent",
            id="full-name",
        ),
    ],
)
def test_urls(make_vertex: Any, options: dict[str, Any], url: str) -> None:
    llm, server = wired(make_vertex, **options)
    llm.chat(HI)
    assert str(server.requests[0].url) == url


def test_project_and_location_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    llm = VertexLLM(access_token="t")
    assert (llm.project, llm.location) == ("env-project", "europe-west4")
    assert llm.base_url == "https://europe-west4-aiplatform.googleapis.com"
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    monkeypatch.delenv("GOOGLE_CLOUD_LOCATION")
    monkeypatch.setenv("VERTEXAI_PROJECT", "litellm-style")
    assert VertexLLM(access_token="t").project == "litellm-style"
    assert VertexLLM(access_token="t").location == "global"


def test_body_labels_gs_files_safety_methods_and_caches(
    build: Any, make_vertex: Any, sdk: Any
) -> None:
    from llmplug import DocumentBlock

    llm = make_vertex(
        labels={"team": "search"},
        safety_settings=[
            {"category": "harassment", "threshold": "block_only_high", "method": "severity"}
        ],
        cached_content="cache-1",
    )
    message = ChatMessage(blocks=[DocumentBlock(url="gs://b/r.pdf")])
    body = llm.build_request([message], {}, stream=False).json
    sdk.check_request(body, vertex=True)
    assert body["labels"] == {"team": "search"}
    assert body["safetySettings"][0]["method"] == "SEVERITY"
    assert (
        body["cachedContent"] == "projects/my-project/locations/us-central1/cachedContents/cache-1"
    )
    assert body["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/r.pdf"}}
    ]


def test_express_mode_takes_an_api_key(make_vertex: Any) -> None:
    llm, server = wired(make_vertex, api_key="vertex-express-key", project=None, location=None)
    llm.chat(HI)
    request = server.requests[0]
    assert str(request.url) == (
        "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert request.headers["x-goog-api-key"] == "vertex-express-key"
    assert "authorization" not in request.headers


# -- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_fixed_token(make_vertex: Any, mode: str) -> None:
    llm, server = wired(make_vertex)
    llm.chat(HI) if mode == "sync" else await llm.achat(HI)
    assert server.requests[0].headers["authorization"] == "Bearer ya29.test-token"
    assert "ya29.test-token" not in repr(llm)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_token_provider_is_called_for_each_request(make_vertex: Any, mode: str) -> None:
    tokens = iter(["tok-1", "tok-2"])
    threads: list[int] = []

    def provider() -> str:
        threads.append(threading.get_ident())
        return next(tokens)

    llm, server = wired(make_vertex, Reply(200, json=w.TEXT), token_provider=provider)
    for _ in range(2):
        llm.chat(HI) if mode == "sync" else await llm.achat(HI)
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer tok-1", "Bearer tok-2"]


@pytest.mark.parametrize("endpoint", ["chat", "achat", "stream_chat", "astream_chat"])
async def test_credentials_are_refreshed_when_due(make_vertex: Any, endpoint: str) -> None:
    credentials = FakeCredentials()
    stream = "stream" in endpoint
    reply = (
        Reply(200, body=w.sse(w.TEXT_STREAM), headers={"content-type": "text/event-stream"})
        if stream
        else Reply(200, json=w.TEXT)
    )
    llm, server = wired(make_vertex, reply, credentials=credentials)
    loop_thread = threading.get_ident()
    for _ in range(2):
        if endpoint == "chat":
            llm.chat(HI)
        elif endpoint == "achat":
            await llm.achat(HI)
        elif endpoint == "stream_chat":
            list(llm.stream_chat(HI))
        else:
            [c async for c in await llm.astream_chat(HI)]
    assert len(credentials.refreshes) == 1  # valid after the first: not refreshed again
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer ya29.fake-1"] * 2
    if endpoint.startswith("a"):
        assert credentials.refreshes[0] != loop_thread  # never on the event loop
    credentials.valid = False  # expired
    list(llm.stream_chat(HI)) if stream else llm.chat(HI)
    assert server.requests[-1].headers["authorization"] == "Bearer ya29.fake-2"


def test_the_project_may_come_from_the_credentials(make_vertex: Any) -> None:
    llm, server = wired(make_vertex, project=None, credentials=FakeCredentials("cred-project"))
    llm.chat(HI)
    assert "/projects/cred-project/" in str(server.requests[0].url)


def test_no_project_is_a_clear_error(make_vertex: Any) -> None:
    llm, server = wired(make_vertex, project=None)
    with pytest.raises(ConfigError, match=r"pass project=\.\.\. or set GOOGLE_CLOUD_PROJECT"):
        llm.chat(HI)
    assert server.requests == []


def test_an_authorization_header_of_ones_own_is_kept(make_vertex: Any) -> None:
    llm, server = wired(make_vertex, extra_headers={"Authorization": "Bearer mine"})
    llm.chat(HI)
    assert server.requests[0].headers["authorization"] == "Bearer mine"


def test_a_failed_refresh_is_an_authentication_error(make_vertex: Any) -> None:
    class Broken(FakeCredentials):
        def refresh(self, request: Any) -> None:
            raise RuntimeError("invalid_grant: Token has been expired or revoked.")

    llm, server = wired(make_vertex, credentials=Broken())
    with pytest.raises(AuthenticationError, match="gcloud auth application-default login"):
        llm.chat(HI)
    assert server.requests == []


# -- Application Default Credentials, through google-auth ----------------------------------


class TokenHandler(BaseHTTPRequestHandler):
    """Google's OAuth token endpoint, as far as a refresh-token grant goes."""

    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        form = self.rfile.read(int(self.headers["content-length"])).decode()
        self.server.forms.append(form)
        data = json.dumps(
            {"access_token": "ya29.from-adc", "expires_in": 3599, "token_type": "Bearer"}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def token_server() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    server.forms = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def adc_file(token_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("google.auth")
    port = token_server.server_address[1]
    path = tmp_path / "adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "test-client.apps.googleusercontent.com",
                "client_secret": "test-secret",
                "refresh_token": "1//test-refresh",
                "token_uri": f"http://127.0.0.1:{port}/token",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    # google-auth sends every authorized_user refresh to Google's token endpoint, whatever
    # the file says: point that one URL at the loopback server, the rest runs for real
    from google.oauth2 import credentials

    monkeypatch.setattr(
        credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", f"http://127.0.0.1:{port}/token"
    )
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    return path


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_application_default_credentials(
    make_vertex: Any, adc_file: Path, token_server: Any, mode: str
) -> None:
    llm, server = wired(make_vertex, access_token=None)
    assert llm.access_token is None
    for _ in range(2):
        llm.chat(HI) if mode == "sync" else await llm.achat(HI)
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer ya29.from-adc"] * 2
    (form,) = token_server.forms  # refreshed once, then reused
    assert "grant_type=refresh_token" in form
    assert "refresh_token=1%2F%2Ftest-refresh" in form


def test_without_google_auth_the_error_says_what_to_install(
    make_vertex: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)  # import google.auth fails
    llm, server = wired(make_vertex, access_token=None)
    with pytest.raises(ConfigError, match=r"pip install 'llmplug-gemini\[vertex\]'"):
        llm.chat(HI)
    assert server.requests == []


def test_no_adc_is_a_clear_error(
    make_vertex: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.auth")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    llm, _ = wired(make_vertex, access_token=None)
    with pytest.raises(ConfigError, match="gcloud auth"):
        llm.chat(HI)


def test_google_auth_is_imported_only_for_adc() -> None:
    code = (
        "import sys\n"
        "from llmplug import ChatMessage\n"
        "from llmplug_gemini import GeminiLLM, VertexLLM\n"
        "GeminiLLM(api_key='k').build_request([ChatMessage(content='x')], {}, stream=False)\n"
        "llm = VertexLLM(project='p', access_token='t')\n"
        "llm.headers(llm.build_request([ChatMessage(content='x')], {}, stream=False))\n"
        "assert 'google.auth' not in sys.modules, 'google.auth imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- errors and listing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (403, PermissionDeniedError)]
)
def test_auth_errors_point_at_the_credentials(make_vertex: Any, status: int, error: type) -> None:
    body = {"error": {**w.VERTEX_UNAUTHENTICATED["error"], "code": status}}
    llm, _ = wired(make_vertex, Reply(status, json=body))
    with pytest.raises(error, match="gcloud auth application-default login") as info:
        llm.chat(HI)
    assert "api_key" not in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_list_models(make_vertex: Any, mode: str) -> None:
    llm, server = wired(make_vertex, Reply(200, json=w.VERTEX_MODELS))
    models = llm.list_models() if mode == "sync" else await llm.alist_models()
    assert [(m.id, m.context_window, m.description) for m in models] == [
        ("gemini-2.5-flash", 1_048_576, "GA")
    ]
    request = server.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/v1beta1/publishers/google/models"
    assert request.headers["authorization"] == "Bearer ya29.test-token"


def test_load_by_name(registry: Any) -> None:
    llm = llmplug.load(
        "vertex:gemini-2.5-pro?project=p&access_token=t&labels=%7B%22a%22:%22b%22%7D"
    )
    assert isinstance(llm, VertexLLM)
    assert llm.labels == {"a": "b"}
    assert llm.provider_label == "vertex"


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_used_provider_can_be_copied(make_vertex: Any, how: str) -> None:
    import copy
    import pickle

    credentials = FakeCredentials()
    llm, server = wired(make_vertex, credentials=credentials)
    llm.chat(HI)  # the token source (and its lock) now exist
    if how == "pickle":
        used = make_vertex()
        used.headers()  # the token source exists now
        used._tokens = CredentialsToken(object())  # one holding a lock
        clone = pickle.loads(pickle.dumps(used))
        assert clone._tokens is None  # the copy makes its own on first use
        assert clone.token_source().token() == "ya29.test-token"
        return
    clone = copy.deepcopy(llm)
    assert clone.credentials is credentials  # shared, not copied
    clone.chat(HI)
    assert server.requests[-1].headers["authorization"] == "Bearer ya29.fake-1"
