"""The gateway's ASGI app (Starlette): its routes, and how each request is served.

``create_app(config)`` builds it; ``llmplug serve`` runs it on uvicorn. Routes:

* ``POST /v1/chat/completions`` (OpenAI), ``POST /v1/messages`` (Anthropic);
* ``GET /v1/models`` (in OpenAI's shape, or Anthropic's when the request carries an
  ``anthropic-version`` header) and ``GET /v1/models/{model}``;
* ``GET /v1/status``: the calling key's limits and budget, and the health of the
  deployments behind the models (``llmplug.routing.routing_state().snapshot()``);
* ``GET /health`` (the process is up) and ``GET /ready`` (models loaded, not shutting
  down: 503 otherwise), without a key.

A request is authenticated, parsed into a :class:`~llmplug_server._calls.CallPlan`,
admitted by its key's limits, then run through llmplug's public endpoints. A stream's
first chunk is awaited before the response starts, so a call that fails at once gets
a proper error status; a failure after that is sent as the API's error event.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from llmplug import LLM, ChatResponse, Usage
from llmplug_server import _anthropic_wire as anthropic_wire, _openai_wire as openai_wire
from llmplug_server._calls import CallPlan, usage_of
from llmplug_server._config import GatewayConfig, ModelEntry, model_entry
from llmplug_server._disconnect import CancelOnDisconnect
from llmplug_server._errors import (
    GatewayError,
    anthropic_error_body,
    from_llm_error,
    invalid,
    openai_error_body,
)
from llmplug_server._gate import Admission, Gate, ModelTable
from llmplug_server._keys import GatewayKeys
from llmplug_server._media import Media

__all__ = ["Gateway", "create_app"]

_JSON = "application/json"
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class _Api:
    """What differs between the two APIs: error bodies, error events, id prefixes."""

    def __init__(
        self,
        name: str,
        error_body: Callable[[GatewayError], dict[str, Any]],
        error_event: Callable[[dict[str, Any]], bytes],
        prefix: str,
    ) -> None:
        self.name = name
        self.error_body = error_body
        self.error_event = error_event
        self.prefix = prefix

    def new_id(self) -> str:
        return self.prefix + uuid.uuid4().hex

    def error(self, error: GatewayError) -> Response:
        body = json.dumps(self.error_body(error)).encode()
        return Response(body, error.status, headers=error.headers(), media_type=_JSON)


OPENAI = _Api("openai", openai_error_body, openai_wire.stream_error_event, "chatcmpl-")
ANTHROPIC = _Api("anthropic", anthropic_error_body, anthropic_wire.stream_error_event, "msg_")


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response that cancels its source when the client leaves.

    ``cleanup`` runs however the response ends, even if the events never started (the
    client gone before the first byte): it closes the model's stream and settles the
    call's limits.
    """

    def __init__(
        self,
        events: AsyncIterator[bytes],
        headers: Mapping[str, str],
        cleanup: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(events, 200, headers=headers, media_type="text/event-stream")
        self.events = events
        self.cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        events = self.events
        try:
            async with CancelOnDisconnect(receive):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                async for data in events:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            await self.cleanup()


class Gateway:
    """The gateway's state: its config, models, keys and whether it is ready.

    Args:
        config: What to serve and how.
        models: Public name -> config string or LLM, added to (or replacing) the
            config's ``[models]``.
        keys: The key file (``config.keys_file`` or the default when not given).
    """

    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        models: Mapping[str, str | LLM] | None = None,
        keys: GatewayKeys | None = None,
    ) -> None:
        self.config = config if config is not None else GatewayConfig()
        entries = dict(self.config.models)
        llms: dict[str, LLM] = {}
        for name, value in (models or {}).items():
            if isinstance(value, str):
                entries[name] = model_entry(name, value)
            else:
                llms[name] = value
                entries.pop(name, None)
        if not entries and not llms:
            entries = _aliases_as_models()
        self.table = ModelTable(entries, llms)
        self.keys = keys if keys is not None else GatewayKeys(self.config.keys_file)
        self.gate = Gate(self.keys, self.table)
        self.media = Media(self.config.remote_media)
        self.ready = False
        self.draining = False

    # -- lifecycle ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Load the models (in a worker thread) before serving; close them after."""
        import asyncio

        await asyncio.to_thread(self.table.load)
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            await self.table.aclose()

    # -- plain routes -------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        """``GET /health``: the process answers."""
        return _json({"status": "ok"})

    async def readiness(self, request: Request) -> Response:
        """``GET /ready``: 200 once the models are loaded, 503 while starting or draining."""
        if self.draining:
            return _json({"status": "draining"}, 503)
        if not self.ready:
            return _json({"status": "starting"}, 503)
        return _json({"status": "ready", "models": len(self.table.names())})

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``: the models the calling key may use."""
        api = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        try:
            key = self.gate.authenticate(request.headers)
        except GatewayError as error:
            return api.error(error)
        names = self.gate.visible(key)
        if api is ANTHROPIC:
            data = [self._anthropic_model(name) for name in names]
            return _json(
                {
                    "data": data,
                    "has_more": False,
                    "first_id": names[0] if names else None,
                    "last_id": names[-1] if names else None,
                }
            )
        return _json({"object": "list", "data": [self._openai_model(n) for n in names]})

    async def model(self, request: Request) -> Response:
        """``GET /v1/models/{model}``: one model, if the calling key may use it."""
        api = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        try:
            key = self.gate.authenticate(request.headers)
            entry, _ = self.gate.model(key, request.path_params["model"])
        except GatewayError as error:
            return api.error(error)
        if api is ANTHROPIC:
            return _json(self._anthropic_model(entry.name))
        return _json(self._openai_model(entry.name))

    def _openai_model(self, name: str) -> dict[str, Any]:
        entry: ModelEntry = self.table.entries[name]
        body: dict[str, Any] = {"id": name, "object": "model", "created": 0, "owned_by": "llmplug"}
        if entry.description:
            body["description"] = entry.description
        return body

    def _anthropic_model(self, name: str) -> dict[str, Any]:
        entry = self.table.entries[name]
        return {
            "type": "model",
            "id": name,
            "display_name": entry.description or name,
            "created_at": "1970-01-01T00:00:00Z",
        }

    async def status(self, request: Request) -> Response:
        """``GET /v1/status``: the calling key's limits, budget and models' health."""
        try:
            key = self.gate.authenticate(request.headers)
        except GatewayError as error:
            return OPENAI.error(error)
        return _json(self.gate.key_status(key))

    # -- the two APIs -------------------------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        """``POST /v1/chat/completions`` (OpenAI)."""
        return await self._serve(request, OPENAI)

    async def messages(self, request: Request) -> Response:
        """``POST /v1/messages`` (Anthropic)."""
        return await self._serve(request, ANTHROPIC)

    async def _serve(self, request: Request, api: _Api) -> Response:
        request_id = api.new_id()
        try:
            key = self.gate.authenticate(request.headers)
            body = await _read_json(request, self.config.max_request_bytes)
            entry, llm = self.gate.model(key, body.get("model"))
            stream = body.get("stream", False)
            if not isinstance(stream, bool):
                raise invalid("stream must be true or false", "stream")
            include_usage = False
            if api is OPENAI:
                plan = openai_wire.parse_chat_request(body, entry.name, llm, self.media)
                include_usage = _include_usage(body.get("stream_options"), stream)
            else:
                plan = anthropic_wire.parse_messages_request(body, entry.name, llm, self.media)
            admission = self.gate.admit(key, entry, plan)
        except GatewayError as error:
            return api.error(error)
        if stream:
            return await self._stream(request, api, plan, admission, request_id, include_usage)
        response: ChatResponse | None = None
        try:
            async with CancelOnDisconnect(request.receive) as watch:
                response = await plan.run()
        except BaseException as exc:
            admission.settle(None, failed=True)
            if not isinstance(exc, Exception):
                raise
            return api.error(from_llm_error(exc, plan.model))
        if watch.gone or response is None:
            admission.settle(None)  # the prompt was sent: it counts (estimated)
            return Response(status_code=499)  # nobody is there to read it
        usage = usage_of(response)
        admission.settle(usage)
        if api is OPENAI:
            out = openai_wire.completion_body(response, plan.model, request_id)
        else:
            out = anthropic_wire.message_body(response, plan.model, request_id, usage)
        return Response(json.dumps(out).encode(), media_type=_JSON)

    async def _stream(
        self,
        request: Request,
        api: _Api,
        plan: CallPlan,
        admission: Admission,
        request_id: str,
        include_usage: bool,
    ) -> Response:
        chunks: Any = None
        first: ChatResponse | None = None
        try:
            async with CancelOnDisconnect(request.receive) as watch:
                chunks = await plan.stream()
                first = await anext(chunks, None)
        except BaseException as exc:
            admission.settle(None, failed=True)
            if chunks is not None:
                await _aclose(chunks)
            if not isinstance(exc, Exception):
                raise
            return api.error(from_llm_error(exc, plan.model))
        if watch.gone:
            admission.settle(None)  # the prompt was sent: it counts (estimated)
            await _aclose(chunks)
            return Response(status_code=499)
        if api is OPENAI:
            writer: Any = openai_wire.StreamWriter(plan.model, request_id, include_usage)
        else:
            writer = anthropic_wire.MessageStreamWriter(plan.model, request_id)
        events = _events(api, plan, admission, writer, chunks, first)

        async def cleanup() -> None:
            admission.settle(None)  # a no-op once the events settled it
            await _aclose(chunks)

        return EventStream(events, _SSE_HEADERS, cleanup)


async def _events(
    api: _Api,
    plan: CallPlan,
    admission: Admission,
    writer: Any,
    chunks: Any,
    first: ChatResponse | None,
) -> AsyncIterator[bytes]:
    """The SSE events of one stream; the model's stream is closed however it ends."""
    last = first
    usage: Usage | None = None
    chars = 0  # of answer delivered: what a call cut short is counted by
    try:
        yield writer.start()
        if first is not None:
            usage = first.usage
            chars += len(first.delta or "")
            data = writer.chunk(first)
            if data:
                yield data
            async for chunk in chunks:
                last = chunk
                chars += len(chunk.delta or "")
                if chunk.usage is not None:
                    usage = chunk.usage
                data = writer.chunk(chunk)
                if data:
                    yield data
        usage = usage if usage is not None else usage_of(last)
        yield writer.finish(last, usage)
    except Exception as exc:
        error = from_llm_error(exc, plan.model)
        yield api.error_event(api.error_body(error))
    finally:
        # a stream cut short (an error, the client leaving) still used what it sent
        admission.settle(usage, output_chars=chars)
        await _aclose(chunks)


async def _aclose(chunks: Any) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def _include_usage(options: Any, stream: bool) -> bool:
    if options is None:
        return False
    if not isinstance(options, Mapping) or not stream:
        raise invalid(
            "stream_options is only allowed with stream=true, as {'include_usage': true}",
            "stream_options",
        )
    return bool(options.get("include_usage"))


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    data = bytearray()
    async for part in request.stream():
        data += part
        if len(data) > limit:
            raise _too_large(limit)
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise invalid(
            "the request body is not valid JSON; send a JSON object with "
            "'Content-Type: application/json'"
        ) from None
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    return body


def _too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        "request_too_large",
        f"the request body is larger than this gateway accepts ({limit} bytes); send less "
        f"(smaller or fewer images), or ask its operator to raise max_request_bytes",
    )


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data).encode(), status, media_type=_JSON)


def _aliases_as_models() -> dict[str, ModelEntry]:
    """With no ``[models]``: every alias of llmplug's config file, under its own name."""
    from llmplug.config import read_config

    return {name: ModelEntry(name, name) for name in read_config().aliases}


def create_app(
    config: GatewayConfig | None = None,
    *,
    models: Mapping[str, str | LLM] | None = None,
    keys: GatewayKeys | None = None,
) -> Starlette:
    """The gateway as an ASGI app (run it with any ASGI server; ``llmplug serve`` uses uvicorn).

    Args:
        config: What to serve and how (defaults: no models beyond ``models``).
        models: Public name -> config string or LLM instance, beside the config's.
        keys: The gateway's key file (default: the config's, else
            ``gateway-keys.json`` in llmplug's config directory).

    The :class:`Gateway` is ``app.state.gateway``. Models load when the app starts
    (its lifespan); a model that fails to load stops the start with its error.
    """
    gateway = Gateway(config, models=models, keys=keys)
    routes = [
        Route("/health", gateway.health, methods=["GET"]),
        Route("/ready", gateway.readiness, methods=["GET"]),
        Route("/v1/models", gateway.models, methods=["GET"]),
        Route("/v1/models/{model:path}", gateway.model, methods=["GET"]),
        Route("/v1/status", gateway.status, methods=["GET"]),
        Route("/v1/chat/completions", gateway.chat_completions, methods=["POST"]),
        Route("/v1/messages", gateway.messages, methods=["POST"]),
    ]
    middleware = []
    if gateway.config.cors_origins:
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(gateway.config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
                max_age=600,
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=gateway.lifespan)
    app.state.gateway = gateway
    app.state.started = time.time()
    return app
