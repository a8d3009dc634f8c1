"""``ProviderConformance``: the checks every llmplug provider must pass.

Subclass it in a test module as ``TestSomething`` and set :attr:`provider`; pytest
collects the inherited tests. A provider whose replies can be scripted overrides
:meth:`llm_answering`; one that cannot (a real local model) is checked for
consistency instead: every endpoint must give what ``chat`` gives, at its
deterministic settings (:attr:`options`).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmplug._entry_points import PROVIDERS_GROUP
from llmplug.config._load import load
from llmplug.errors import InvalidOptionError, UnsupportedContentError
from llmplug.llm._base import LLM, Capabilities
from llmplug.plugins._registry import Registry, register_plugin, set_registry
from llmplug.testing._helpers import isolated_registry
from llmplug.testing.conformance._checks import (
    ENDPOINTS,
    STREAM_ENDPOINTS,
    call_endpoint,
)
from llmplug.types._blocks import (
    AudioBlock,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    VideoBlock,
)
from llmplug.types._messages import ChatMessage, MessageRole
from llmplug.types._responses import LLMMetadata

__all__ = ["ANSWER", "LONG_TEXT", "ProviderConformance"]

#: A scripted answer long enough to stop a stream part-way through.
LONG_TEXT = "one two three four five six seven eight nine ten eleven twelve"
ANSWER = "Hello there, world"
#: Content blocks and the capability that says a provider takes them.
_CONTENT: dict[str, Callable[[], ContentBlock]] = {
    "vision": lambda: ImageBlock(image=b"\x89PNG\r\n\x1a\n", image_mimetype="image/png"),
    "audio": lambda: AudioBlock(audio=b"RIFF0000WAVE", format="wav"),
    "video": lambda: VideoBlock(video=b"\x00\x00\x00\x18ftypmp42", video_mimetype="video/mp4"),
    "documents": lambda: DocumentBlock(
        data=b"%PDF-1.4\n%%EOF", document_mimetype="application/pdf"
    ),
}
_LLMPLUG_ENV = ("LLMPLUG_MODEL", "LLMPLUG_CONFIG", "LLMPLUG_PLUGINS")


class ProviderConformance:
    """The contract of an llmplug provider, as tests (see the module docstring).

    Set :attr:`provider` (and :attr:`model`, :attr:`options` as needed); override
    :meth:`llm_answering` for scripted answers, :meth:`assert_released` to check your
    provider's resources after a stream stopped early.

    Attributes:
        provider: The provider name, as users load it.
        model: A model name for the config string (``None``: the provider's default).
        options: Options every test loads the provider with (``{"max_tokens": 16}``).
        sample_options: Options and valid values for the config-string round trip
            (default: ``temperature`` and ``max_tokens`` where the class has them).
        plugin: A plugin object to register instead of the installed entry points
            (for a provider that is not installed, e.g. in the suite's own tests).
    """

    provider: ClassVar[str]
    model: ClassVar[str | None] = None
    options: ClassVar[dict[str, Any]] = {}
    sample_options: ClassVar[dict[str, Any] | None] = None
    plugin: ClassVar[object | None] = None

    # -- what a plugin's tests may override ----------------------------------------------

    @property
    def spec(self) -> str:
        """The config string the suite loads (``provider[:model]``)."""
        return self.provider if self.model is None else f"{self.provider}:{self.model}"

    def load(self, spec: str | None = None, **options: Any) -> LLM:
        """Load the provider by name, with :attr:`options` and ``options``."""
        return load(spec or self.spec, **{**self.options, **options})

    def llm_answering(self, text: str, *, stream: bool) -> LLM | None:
        """An LLM whose next call answers ``text`` (streamed when ``stream``).

        ``None`` (the default) means the provider cannot be scripted: the suite then
        compares endpoints with each other rather than with ``text``.
        """
        return None

    def assert_released(self, llm: LLM) -> None:
        """Assert that ``llm`` holds nothing of a stream the caller stopped early.

        The default checks nothing an in-process provider could not fake; override it
        to check your resources (the HTTP suite checks every response was closed).
        """

    # -- set-up ------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _llmplug_hermetic(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
        """No llmplug setting from the caller's environment; a fresh registry."""
        for name in _LLMPLUG_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.setenv("LLMPLUG_DISABLE_PLUGIN_AUTOLOAD", "1")
        if self.plugin is not None:
            with isolated_registry(with_mock=False):
                register_plugin(self.plugin, f"conformance:{self.provider}")
                yield
            return
        previous = set_registry(Registry())
        try:
            yield
        finally:
            set_registry(previous)

    def _answering(self, text: str, *, stream: bool, **options: Any) -> LLM:
        llm = self.llm_answering(text, stream=stream)
        if llm is None:
            return self.load(**options)
        if options:
            llm = llm.model_copy(update=options)
        return llm

    def _expected(self, text: str) -> str | None:
        """The text a scripted provider must give, or ``None`` when not scripted."""
        return text if self.llm_answering(text, stream=False) is not None else None

    # -- the provider is found by name ------------------------------------------------------

    def test_loads_by_name(self) -> None:
        """``load(provider)`` gives an LLM labelled with the provider's name."""
        llm = self.load()
        assert isinstance(llm, LLM)
        assert llm.provider_label == self.provider

    def test_listed_without_import_with_its_key_variable(self) -> None:
        """``llmplug providers`` lists it from metadata, with the key variable it reads."""
        if self.plugin is not None:
            pytest.skip("registered directly (plugin = ...), not through an entry point")
        from llmplug.plugins._registry import registry

        infos = {info.name: info for info in registry().providers()}
        assert self.provider in infos, f"no {PROVIDERS_GROUP!r} entry point {self.provider!r}"
        info = infos[self.provider]
        assert info.status in ("available", "loaded"), info.error
        spec = registry().get(self.provider)
        # one meaning of key_env: declared in metadata == registered == read by the class
        assert info.key_env == spec.key_env, (
            f"the llmplug.key_env entry point says {info.key_env!r}, the registration "
            f'{spec.key_env!r}: declare [project.entry-points."llmplug.key_env"] '
            f'{self.provider} = "{spec.key_env}"'
            if spec.key_env
            else "remove the llmplug.key_env entry point: the provider reads no key"
        )

    # -- the eight endpoints ---------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    def test_endpoint_answers(self, endpoint: str) -> None:
        """Every endpoint answers, sync and async, and they agree with each other."""
        stream = "stream" in endpoint
        llm = self._answering(ANSWER, stream=stream)
        answer = call_endpoint(llm, endpoint, "Say hello.")
        expected = self._expected(ANSWER)
        if expected is None:  # not scripted: the same as chat gives
            reference = call_endpoint(self._answering(ANSWER, stream=False), "chat", "Say hello.")
            expected = reference.text
        assert answer.text == expected, f"{endpoint} gave {answer.text!r}, chat {expected!r}"
        if stream:
            assert answer.deltas, f"{endpoint} streamed no chunk"

    @pytest.mark.parametrize("endpoint", STREAM_ENDPOINTS)
    def test_stream_deltas_add_up(self, endpoint: str) -> None:
        """Each chunk's text is the deltas so far; the last one is the whole answer."""
        llm = self._answering(LONG_TEXT, stream=True)
        answer = call_endpoint(llm, endpoint, "Count to twelve.")
        assert answer.deltas is not None
        assert answer.texts is not None
        sofar = ""
        for delta, text in zip(answer.deltas, answer.texts, strict=True):
            sofar += delta
            assert text == sofar, f"a chunk's text {text!r} is not its deltas so far {sofar!r}"
        expected = self._expected(LONG_TEXT)
        if expected is not None:
            assert answer.text == expected

    # -- stopping a stream -------------------------------------------------------------------

    @pytest.mark.parametrize("how", ["break", "close", "aclose", "cancel"])
    def test_stopped_stream_releases(self, how: str) -> None:
        """``break``, ``close()``, ``aclose()`` and task cancellation end the stream."""
        llm = self._answering(LONG_TEXT, stream=True)
        messages = [ChatMessage(role=MessageRole.USER, content="Count to twelve.")]
        if how == "break":
            for _ in llm.stream_chat(messages):
                break
        elif how == "close":
            stream = llm.stream_chat(messages)
            next(iter(stream))
            stream.close()
            with pytest.raises(StopIteration):
                next(stream)
        else:
            asyncio.run(self._stop_async(llm, messages, how))
        self.assert_released(llm)

    async def _stop_async(self, llm: LLM, messages: list[ChatMessage], how: str) -> None:
        if how == "aclose":
            stream = await llm.astream_chat(messages)
            await anext(stream)
            await stream.aclose()
            with pytest.raises(StopAsyncIteration):
                await anext(stream)
            return
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in await llm.astream_chat(messages):
                first.set()
                await asyncio.Event().wait()  # the caller is still busy when cancelled

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    # -- options --------------------------------------------------------------------------

    def _samples(self, cls: type[LLM]) -> dict[str, Any]:
        if self.sample_options is not None:
            return dict(self.sample_options)
        samples = {"temperature": 0.5, "max_tokens": 7}
        return {name: value for name, value in samples.items() if name in cls.model_fields}

    def test_config_string_round_trip(self) -> None:
        """Options given in a config string are validated and kept, as keyword ones."""
        cls = type(self.load())
        samples = self._samples(cls)
        if not samples:
            pytest.skip("no sample options: set sample_options = {...}")
        query = urllib.parse.urlencode({k: str(v) for k, v in samples.items()})
        others = {k: v for k, v in self.options.items() if k not in samples}
        from_string = load(f"{self.spec}?{query}", **others)
        from_kwargs = load(self.spec, **{**others, **samples})
        for name, value in samples.items():
            assert getattr(from_string, name) == value, f"{name} from a config string"
            assert getattr(from_kwargs, name) == value, f"{name} as a keyword"
        assert from_string.model_dump() == from_kwargs.model_dump()

    @pytest.mark.parametrize(
        "query", ["no_such_option=1", "temperature=hot"], ids=["unknown", "bad-value"]
    )
    def test_bad_option_is_refused_when_loading(self, query: str) -> None:
        """An unknown option or a bad value is an InvalidOptionError naming it."""
        cls = type(self.load())
        name = query.partition("=")[0]
        if name != "no_such_option" and name not in cls.model_fields:
            pytest.skip(f"{cls.__name__} has no {name!r} option")
        others = {k: v for k, v in self.options.items() if k != name}
        with pytest.raises(InvalidOptionError) as info:
            load(f"{self.spec}?{query}", **others)
        assert name in str(info.value)
        assert self.provider in str(info.value)
        assert info.value.valid_options, "the error lists the valid options"

    @pytest.mark.parametrize("endpoint", ["chat", "achat"])
    def test_unknown_call_option_is_refused(self, endpoint: str) -> None:
        """A per-call option the provider does not know is refused, not ignored."""
        llm = self._answering(ANSWER, stream=False)
        with pytest.raises(InvalidOptionError) as info:
            call_endpoint(llm, endpoint, "Hi", no_such_option=1)
        assert "no_such_option" in str(info.value)
        self.assert_no_request(llm)

    # -- content it cannot send ----------------------------------------------------------------

    @pytest.mark.parametrize("capability", sorted(_CONTENT))
    @pytest.mark.parametrize("endpoint", ["chat", "achat", "stream_chat"])
    def test_unsupported_content_fails_before_any_request(
        self, capability: str, endpoint: str
    ) -> None:
        """A block the provider cannot take is refused before anything is sent."""
        llm = self._answering(ANSWER, stream="stream" in endpoint)
        if getattr(type(llm).capabilities, capability):
            pytest.skip(f"{type(llm).__name__} declares {capability}")
        block = _CONTENT[capability]()
        message = ChatMessage(
            role=MessageRole.USER, blocks=[TextBlock(text="What is this?"), block]
        )
        with pytest.raises(UnsupportedContentError) as info:
            self._send(llm, endpoint, [message])
        assert info.value.provider == llm.provider_label or self.provider in str(info.value)
        self.assert_no_request(llm)

    def _send(self, llm: LLM, endpoint: str, messages: list[ChatMessage]) -> None:
        if endpoint == "chat":
            llm.chat(messages)
        elif endpoint == "stream_chat":
            list(llm.stream_chat(messages))
        else:
            asyncio.run(llm.achat(messages))

    def assert_no_request(self, llm: LLM) -> None:
        """Assert nothing was sent for ``llm`` (the HTTP suite checks its server)."""

    # -- metadata ----------------------------------------------------------------------------

    def test_metadata_is_sane(self) -> None:
        """``metadata`` and ``capabilities`` describe the model truthfully."""
        llm = self.load()
        metadata = llm.metadata
        assert isinstance(metadata, LLMMetadata)
        assert metadata.model_name, "metadata.model_name is empty"
        assert metadata.model_name != "unknown", "metadata.model_name is 'unknown'"
        if self.model is not None and "/" not in self.model:
            assert metadata.model_name == self.model
        assert metadata.context_window > 0
        assert metadata.num_output > 0 or metadata.num_output == -1
        assert isinstance(type(llm).capabilities, Capabilities)
        assert metadata.is_chat_model == type(llm).capabilities.chat
        assert metadata.context_window >= metadata.num_output

    # -- async ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("endpoint", ["achat", "astream_chat"])
    def test_async_never_blocks_the_event_loop(self, endpoint: str) -> None:
        """While an async call runs, other tasks on the loop run too."""
        llm = self._answering(LONG_TEXT, stream="stream" in endpoint)
        asyncio.run(self._ticks_during(llm, endpoint))

    async def _ticks_during(self, llm: LLM, endpoint: str) -> None:
        ticks = 0
        done = False

        async def tick() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)  # the ticker starts
        before = ticks
        messages = [ChatMessage(role=MessageRole.USER, content="Count to twelve.")]
        if endpoint == "achat":
            await llm.achat(messages)
        else:
            async for _ in await llm.astream_chat(messages):
                pass
        done = True
        await ticker
        assert ticks > before, (
            f"{endpoint} never let the event loop run another task: it blocks the loop "
            f"(a sync call inside an async endpoint?)"
        )
