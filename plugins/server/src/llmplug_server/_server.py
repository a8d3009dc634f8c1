"""Running the gateway on uvicorn, and stopping it gracefully.

On SIGTERM or Ctrl-C (or :meth:`GatewayServer.stop`) the gateway first reports itself
not ready (``GET /ready`` answers 503 "draining", so a load balancer stops sending it
work), stops accepting connections, and lets requests and streams in flight finish for
up to ``shutdown_timeout`` seconds before cancelling what is left (which cancels their
upstream calls); then the models' connections are closed.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping
from typing import Any

import uvicorn

from llmplug import LLM
from llmplug_server._app import Gateway, create_app
from llmplug_server._config import GatewayConfig
from llmplug_server._keys import GatewayKeys

__all__ = ["GatewayServer", "serve"]


class GatewayServer(uvicorn.Server):
    """A uvicorn server for the gateway that drains before it stops.

    Args:
        config: What to serve and how.
        models: Public name -> config string or LLM, beside the config's.
        keys: The gateway's key file.
        access_log: Log one line per request (uvicorn's access log).
        log_level: uvicorn's log level.
    """

    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        models: Mapping[str, str | LLM] | None = None,
        keys: GatewayKeys | None = None,
        access_log: bool = True,
        log_level: str = "info",
    ) -> None:
        self.gateway_config = config if config is not None else GatewayConfig()
        self.app = create_app(self.gateway_config, models=models, keys=keys)
        uv_config = uvicorn.Config(
            self.app,
            host=self.gateway_config.host,
            port=self.gateway_config.port,
            lifespan="on",
            access_log=access_log,
            log_level=log_level,
            timeout_graceful_shutdown=math.ceil(self.gateway_config.shutdown_timeout),
            # requests in flight are ours to drain: uvicorn's own keep-alive timeout is fine
            server_header=False,
        )
        super().__init__(uv_config)
        self._startup_done = threading.Event()

    @property
    def gateway(self) -> Gateway:
        """The gateway's state (models, keys, readiness)."""
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def port(self) -> int:
        """The port it listens on (useful with ``port = 0``), once started."""
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the gateway is not listening yet")

    def handle_exit(self, sig: int, frame: Any) -> None:
        """A signal asks us to stop: report draining, then stop as uvicorn does."""
        self.gateway.draining = True
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        """Ask the server to stop gracefully (from any thread)."""
        self.gateway.draining = True
        self.should_exit = True

    async def startup(self, sockets: Any = None) -> None:
        """Start as uvicorn does, then tell :meth:`run_in_thread` (started or not)."""
        try:
            await super().startup(sockets)
        finally:
            self._startup_done.set()

    def run(self, sockets: Any = None) -> None:
        """Serve until asked to stop (blocking)."""
        try:
            super().run(sockets)
        finally:
            self._startup_done.set()

    def _run_in_thread(self) -> None:
        # uvicorn exits the process when start-up fails: in a thread, we report it instead
        with contextlib.suppress(SystemExit):
            self.run()

    def run_in_thread(self, timeout: float = 60.0) -> threading.Thread:
        """Start serving in a daemon thread; return once it listens.

        Raises:
            RuntimeError: It did not start within ``timeout`` seconds (a model failed to
                load, or the port is taken: uvicorn has logged why).
        """
        thread = threading.Thread(target=self._run_in_thread, name="llmplug-server", daemon=True)
        thread.start()
        self._startup_done.wait(timeout)
        if not self.started:
            self.should_exit = True
            raise RuntimeError("the gateway did not start; see the log above for why")
        return thread


def serve(
    config: GatewayConfig | None = None,
    *,
    models: Mapping[str, str | LLM] | None = None,
    keys: GatewayKeys | None = None,
    access_log: bool = True,
) -> None:
    """Run the gateway until SIGTERM or Ctrl-C, then drain and stop (see the module docstring).

    Raises:
        SystemExit: uvicorn could not start (the port is taken, a model failed to load).
    """
    server = GatewayServer(config, models=models, keys=keys, access_log=access_log)
    server.run()
    if not server.started:
        raise SystemExit(1)
