"""Loaded models: one in-process llama.cpp server per weights and load options.

An :class:`Engine` wraps ``xllamacpp.Server`` (llama.cpp's own server, run in-process).
Engines live in a process-wide cache keyed by :class:`LoadOptions`, so every ``LLM``
instance with the same weights and load options shares one loaded model.

Facts about the pinned ``xllamacpp`` this module relies on:

* ``Server(params)`` loads the model and starts llama.cpp's server loop in a C++ thread;
  dropping the last reference stops it. Calls release the GIL while they wait.
* It always starts llama.cpp's HTTP listener as well. We bind it to a Unix socket in a
  private (0700) temporary directory, so no TCP port is opened, not even on loopback.
* ``handle_chat_completions(request)`` takes an OpenAI request dict and returns the
  response dict (or ``{"error": {...}}``). With ``"stream": True`` it blocks and calls
  ``callback(chunk_dict)`` for each ``chat.completion.chunk`` as llama.cpp decodes it;
  the callback returning ``True`` cancels the request (llama.cpp frees the slot).
  An exception in the callback is swallowed and also cancels, so ours never raises.
* Concurrent calls are safe: the server has ``n_parallel`` slots decoded in one batch
  (two requests at once take ~1.3x the time of one, not 2x); requests beyond the slots
  wait in llama.cpp's queue.
"""

from __future__ import annotations

import atexit
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from llmplug.errors import ConfigError, PluginLoadError
from llmplug_local._weights import PROVIDER

__all__ = [
    "XLLAMACPP_VERSION",
    "Engine",
    "LoadOptions",
    "get_engine",
    "loaded_engines",
    "unload_all",
]

#: The xllamacpp release this module is written against (pinned in pyproject.toml).
XLLAMACPP_VERSION = "2026.10.11549"

Chunk = dict[str, Any]


class _Server(Protocol):
    """The part of ``xllamacpp.Server`` we use (xllamacpp ships no type hints)."""

    def handle_chat_completions(
        self, prompt: dict[str, Any], callback: Callable[[Chunk], bool] | None = None
    ) -> Any: ...

    def handle_metrics(self) -> str: ...


@dataclass(frozen=True)
class LoadOptions:
    """What a loaded model depends on: the cache key of :func:`get_engine`.

    Attributes:
        path: The resolved GGUF file.
        name: The model name llama.cpp reports in responses.
        n_ctx: Context tokens of each request (each slot).
        n_threads: CPU threads for decoding and prompt processing.
        n_parallel: Requests decoded at the same time (slots).
        verbose: Let llama.cpp log to stderr.
    """

    path: Path
    name: str
    n_ctx: int
    n_threads: int
    n_parallel: int
    verbose: bool = False


class _Stop:
    """The end of a stream, or the exception that ended it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Engine:
    """One loaded model, shared by every LLM instance with the same :class:`LoadOptions`.

    Thread-safe: any number of threads may call :meth:`chat` and :meth:`stream` at once.
    """

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self._socket_dir = tempfile.mkdtemp(prefix="llmplug-local-")
        self._lock = threading.Condition()
        self._active = 0
        self._cancels: set[threading.Event] = set()
        try:
            self._server: _Server | None = _start_server(options, self._socket_dir)
        except BaseException:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            raise

    def __repr__(self) -> str:
        o = self.options
        return (
            f"Engine({o.name!r}, n_ctx={o.n_ctx}, n_threads={o.n_threads}, "
            f"n_parallel={o.n_parallel}, active={self._active})"
        )

    def _server_or_raise(self) -> _Server:
        server = self._server
        if server is None:
            raise RuntimeError(f"{PROVIDER}: model {self.options.name!r} was unloaded")
        return server

    def chat(self, request: dict[str, Any]) -> Chunk:
        """Run a non-streaming request in the calling thread; return the response dict."""
        server = self._server_or_raise()
        with self._lock:
            self._active += 1
        try:
            result: Chunk = server.handle_chat_completions(request)
            return result
        finally:
            self._release()

    def stream(self, request: dict[str, Any]) -> Generator[Chunk, None, None]:
        """Stream a request: yield each chunk dict as llama.cpp decodes its token.

        llama.cpp runs the request in a producer thread that hands chunks over a queue.
        Closing the generator (``break``, ``close()``, garbage collection) cancels the
        request: llama.cpp stops at its next token and frees the slot. Closing does not
        wait for that; :meth:`wait_idle` does.
        """
        server = self._server_or_raise()
        chunks: queue.SimpleQueue[Chunk | _Stop] = queue.SimpleQueue()
        cancel = threading.Event()

        def on_chunk(chunk: Chunk) -> bool:
            if cancel.is_set():
                return True  # tells llama.cpp to stop this request
            chunks.put(chunk)
            return False

        def produce() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # handed to the consumer, raised there
                chunks.put(_Stop(exc))
            else:
                chunks.put(_Stop())
            finally:
                with self._lock:
                    self._cancels.discard(cancel)
                self._release()

        with self._lock:
            self._active += 1
            self._cancels.add(cancel)
        thread = threading.Thread(target=produce, name="llmplug-local-stream", daemon=True)
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._cancels.discard(cancel)
            self._release()
            raise
        try:
            while True:
                item = chunks.get()
                if isinstance(item, _Stop):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            cancel.set()

    def _release(self) -> None:
        with self._lock:
            self._active -= 1
            self._lock.notify_all()

    @property
    def active(self) -> int:
        """Requests running or queued in llama.cpp right now."""
        with self._lock:
            return self._active

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no request is running (cancelled streams included).

        Returns:
            False if ``timeout`` seconds passed first.
        """
        with self._lock:
            return self._lock.wait_for(lambda: self._active == 0, timeout)

    def metrics(self) -> dict[str, float]:
        """llama.cpp's counters (``tokens_predicted_total``, ``requests_processing``...)."""
        text = self._server_or_raise().handle_metrics()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("llamacpp:"):
                name, _, value = line.partition(" ")
                try:
                    values[name.removeprefix("llamacpp:")] = float(value)
                except ValueError:
                    continue
        return values

    def close(self, timeout: float = 5.0) -> None:
        """Cancel running streams, wait up to ``timeout`` s for requests, stop the server."""
        with self._lock:
            for cancel in self._cancels:
                cancel.set()
        self.wait_idle(timeout)
        # a request still running holds its own reference: the server stops after it
        self._server = None
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def _start_server(options: LoadOptions, socket_dir: str) -> _Server:
    try:
        import xllamacpp  # type: ignore[import-untyped]  # ~0.1 s, paid on the first call
    except ImportError as exc:
        raise PluginLoadError(
            f"the local provider runs models with xllamacpp, which failed to import "
            f"({exc}); reinstall it with:  pip install --force-reinstall "
            f"'xllamacpp=={XLLAMACPP_VERSION}'",
            plugin=PROVIDER,
            distribution="llmplug-local",
            provider=PROVIDER,
        ) from exc
    params = xllamacpp.CommonParams()
    params.model.path = str(options.path)
    params.model_alias = {options.name}  # a set of names in this xllamacpp
    params.n_parallel = options.n_parallel
    # each slot gets n_ctx / n_parallel of the KV cache
    params.n_ctx = options.n_ctx * options.n_parallel
    # both pools: prompt processing uses cpuparams_batch, decoding cpuparams
    params.cpuparams.n_threads = options.n_threads
    params.cpuparams_batch.n_threads = options.n_threads
    params.hostnames = [str(Path(socket_dir) / "llama.sock")]
    params.n_threads_http = 1
    params.ui = False
    params.endpoint_metrics = True
    params.verbosity = 3 if options.verbose else 0
    try:
        server: _Server = xllamacpp.Server(params)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"llama.cpp could not load model file {str(options.path)!r} with "
            f"n_ctx={options.n_ctx}, n_threads={options.n_threads}, "
            f"n_parallel={options.n_parallel} ({exc}). The file is GGUF but may be "
            f"corrupt, of an architecture this llama.cpp does not know, or too large for "
            f"the memory; add '?verbose=true' to see llama.cpp's log",
            provider=PROVIDER,
        ) from exc
    return server


_engines: dict[LoadOptions, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(options: LoadOptions) -> Engine:
    """The engine for ``options``, loading the model on first use (once per process)."""
    engine = _engines.get(options)
    if engine is not None:
        return engine
    with _engines_lock:
        engine = _engines.get(options)
        if engine is None:
            engine = Engine(options)
            _engines[options] = engine
        return engine


def loaded_engines() -> list[Engine]:
    """The engines loaded in this process."""
    with _engines_lock:
        return list(_engines.values())


def unload_all(timeout: float = 5.0) -> None:
    """Cancel running streams and unload every model (run at interpreter exit)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close(timeout)


# llama.cpp's server thread must stop before the interpreter tears down
atexit.register(unload_all)
