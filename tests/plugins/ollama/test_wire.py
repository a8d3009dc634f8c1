"""Request bodies: every mapping of messages and options, each body checked against the
``ollama`` package's request types (``build`` / ``build_completion``)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import llmplug
from llmplug import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    FunctionTool,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llmplug.errors import ConfigError, InvalidOptionError, UnsupportedContentError

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()


def msg(role: str, *blocks: Any, **extra: Any) -> ChatMessage:
    return ChatMessage(role=role, blocks=list(blocks), additional_kwargs=extra)


def test_a_plain_chat_is_model_messages_and_stream(make: Any, build: Any) -> None:
    body = build(make(model="llama3.2:1b"), "Hi").json
    assert body == {
        "model": "llama3.2:1b",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    assert build(make(), "Hi", stream=True).json["stream"] is True


def test_every_role(make: Any, build: Any) -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="developer", content="Use metric units."),
        ChatMessage(role="user", content="Weather in Paris?"),
        msg(
            "assistant",
            ThinkingBlock(content="I should call the tool."),
            ToolCallBlock(
                tool_call_id="call_0", tool_name="get_weather", tool_kwargs={"city": "Paris"}
            ),
        ),
        msg("tool", TextBlock(text="18C"), tool_call_id="call_0"),
        ChatMessage(role="chatbot", content="It is 18C."),
        msg("function", TextBlock(text="ok"), name="legacy"),
        msg("tool", TextBlock(text="22C"), tool_name="get_weather"),
    ]
    body = build(make(), messages).json
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use metric units."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "thinking": "I should call the tool.",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "18C", "tool_name": "get_weather"},
        {"role": "assistant", "content": "It is 18C."},
        {"role": "tool", "content": "ok", "tool_name": "legacy"},
        {"role": "tool", "content": "22C", "tool_name": "get_weather"},
    ]


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(ImageBlock(image=PNG), id="bytes"),
        pytest.param(ImageBlock(image=PNG_B64.encode()), id="base64-bytes"),
        pytest.param(ImageBlock(url=f"data:image/png;base64,{PNG_B64}"), id="data-url"),
    ],
)
def test_images_go_in_images_as_base64(make: Any, build: Any, image: ImageBlock) -> None:
    message = msg("user", TextBlock(text="What is this?"), image, TextBlock(text="Briefly."))
    (sent,) = build(make(), [message]).json["messages"]
    assert sent == {"role": "user", "content": "What is this?\nBriefly.", "images": [PNG_B64]}


def test_an_image_file_is_read(make: Any, build: Any, tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    (sent,) = build(make(), [msg("user", ImageBlock(path=path))]).json["messages"]
    assert sent["images"] == [PNG_B64]


def test_an_image_url_is_refused_before_sending(make: Any, build: Any) -> None:
    with pytest.raises(UnsupportedContentError, match="inline, not as a URL"):
        build(make(), [msg("user", ImageBlock(url="https://example.com/cat.png"))])


@pytest.mark.parametrize(
    ("role", "block", "why"),
    [
        pytest.param("user", AudioBlock(audio=b"RIFF....WAVE"), "no audio", id="audio"),
        pytest.param("user", VideoBlock(video=b"\x00\x00\x00 ftypmp42"), "no video", id="video"),
        pytest.param("user", DocumentBlock(data=b"%PDF-1.4"), "no documents", id="document"),
        pytest.param("system", ImageBlock(image=PNG), "only user messages", id="system-image"),
        pytest.param("user", ThinkingBlock(content="hm"), "assistant", id="user-thinking"),
        pytest.param("user", ToolCallBlock(tool_name="f"), "assistant", id="user-tool-call"),
    ],
)
def test_blocks_the_api_cannot_take_are_refused(
    make: Any, build: Any, role: str, block: Any, why: str
) -> None:
    with pytest.raises(UnsupportedContentError, match=why) as caught:
        build(make(), [msg(role, block)])
    assert caught.value.provider == "ollama"


def test_a_cache_point_has_no_wire_form(make: Any, build: Any) -> None:
    message = msg(
        "user",
        TextBlock(text="long prefix"),
        CachePoint(cache_control=CacheControl(type="ephemeral")),
        TextBlock(text="question"),
    )
    assert build(make(), [message]).json["messages"] == [
        {"role": "user", "content": "long prefix\nquestion"}
    ]


def test_tool_arguments_given_as_json_text_go_as_an_object(make: Any, build: Any) -> None:
    call = ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs='{"x": 1}')
    (sent,) = build(make(), [msg("assistant", call)]).json["messages"]
    assert sent["tool_calls"] == [{"function": {"name": "f", "arguments": {"x": 1}}}]


def test_tool_arguments_that_are_not_an_object_are_refused(make: Any, build: Any) -> None:
    call = ToolCallBlock(tool_name="f", tool_kwargs="not json")
    with pytest.raises(UnsupportedContentError, match="not a JSON object"):
        build(make(), [msg("assistant", call)])


def test_a_tool_result_must_name_its_tool(make: Any, build: Any) -> None:
    with pytest.raises(UnsupportedContentError, match="tool_name"):
        build(make(), [msg("tool", TextBlock(text="18C"), tool_call_id="unknown")])


# -- options -------------------------------------------------------------------------------

ALL_OPTIONS = {
    "num_keep": 5,
    "seed": 42,
    "num_predict": 100,
    "top_k": 20,
    "top_p": 0.9,
    "min_p": 0.0,
    "typical_p": 0.7,
    "repeat_last_n": 33,
    "temperature": 0.8,
    "repeat_penalty": 1.2,
    "presence_penalty": 1.5,
    "frequency_penalty": 1.0,
    "mirostat": 1,
    "mirostat_tau": 0.8,
    "mirostat_eta": 0.6,
    "penalize_newline": True,
    "stop": ["\n", "user:"],
    "numa": False,
    "num_ctx": 1024,
    "num_batch": 2,
    "num_gpu": 1,
    "main_gpu": 0,
    "low_vram": False,
    "vocab_only": False,
    "use_mmap": True,
    "use_mlock": False,
    "num_thread": 8,
}


def test_every_model_option_goes_in_the_options_object(make: Any, build: Any) -> None:
    # the API reference's "every available option" example, as options of the provider
    body = build(make(**ALL_OPTIONS), "Why is the sky blue?").json
    assert body["options"] == ALL_OPTIONS
    assert set(body) == {"model", "messages", "options", "stream"}


def test_options_per_call_override_the_instance(make: Any, build: Any) -> None:
    llm = make(temperature=0.8, num_ctx=2048)
    body = build(llm, "Hi", temperature=0, seed=7, model="qwen3:8b").json
    assert body["model"] == "qwen3:8b"
    assert body["options"] == {"temperature": 0.0, "seed": 7, "num_ctx": 2048}
    assert llm.temperature == 0.8  # the instance is unchanged


@pytest.mark.parametrize(
    ("spec", "model", "options"),
    [
        pytest.param("ollama:llama3.2:1b", "llama3.2:1b", None, id="model-with-a-tag"),
        pytest.param("ollama:qwen3:8b?num_ctx=8192", "qwen3:8b", {"num_ctx": 8192}, id="num-ctx"),
        pytest.param(
            'ollama:qwen3:8b?stop=["a","b"]&top_p=0.5&mirostat=2',
            "qwen3:8b",
            {"stop": ["a", "b"], "top_p": 0.5, "mirostat": 2},
            id="json-list-and-numbers",
        ),
        pytest.param("ollama:m?stop=END", "m", {"stop": ["END"]}, id="one-stop"),
    ],
)
def test_config_strings(
    registry: Any, build: Any, spec: str, model: str, options: dict[str, Any] | None
) -> None:
    llm = llmplug.load(spec, fetch_metadata=False)
    body = build(llm, "Hi").json
    assert body["model"] == model
    assert body.get("options") == options


def test_an_unknown_option_is_refused_with_the_valid_ones(registry: Any) -> None:
    with pytest.raises(ConfigError, match="temprature") as caught:
        llmplug.load("ollama:llama3.2?temprature=0")
    assert "temperature" in str(caught.value)


def test_an_unknown_option_per_call_is_refused(make: Any, build: Any) -> None:
    with pytest.raises(InvalidOptionError, match="max_tokens") as caught:
        build(make(), "Hi", max_tokens=5)
    assert "num_predict" in caught.value.valid_options


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("temperature", -1, id="temperature"),
        pytest.param("top_p", 1.5, id="top-p"),
        pytest.param("min_p", -0.1, id="min-p"),
        pytest.param("mirostat", 3, id="mirostat"),
        pytest.param("num_ctx", 0, id="num-ctx"),
        pytest.param("top_logprobs", 21, id="top-logprobs"),
        pytest.param("keep_alive", "soon", id="keep-alive"),
        pytest.param("think", "maximum", id="think"),
        pytest.param("format", "yaml", id="format"),
    ],
)
def test_bad_values_are_refused(make: Any, build: Any, option: str, value: Any) -> None:
    with pytest.raises(InvalidOptionError, match=option):
        build(make(), "Hi", **{option: value})


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        pytest.param("5m", "5m", id="duration"),
        pytest.param("1h30m", "1h30m", id="compound-duration"),
        pytest.param("0", 0, id="zero-text"),
        pytest.param("-1", -1, id="forever-text"),
        pytest.param(300, 300, id="seconds"),
        pytest.param(2.5, 2.5, id="fractional-seconds"),
    ],
)
def test_keep_alive(make: Any, build: Any, given: Any, sent: Any) -> None:
    assert build(make(keep_alive=given), "Hi").json["keep_alive"] == sent


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        pytest.param("true", True, id="true"),
        pytest.param(False, False, id="false"),
        pytest.param("low", "low", id="low"),
        pytest.param("high", "high", id="high"),
    ],
)
def test_think(registry: Any, build: Any, given: Any, sent: Any) -> None:
    llm = llmplug.load("ollama:gpt-oss", think=given, fetch_metadata=False)
    assert build(llm, "What is 1+1?").json["think"] == sent


def test_format_json_or_a_schema(make: Any, build: Any, registry: Any) -> None:
    assert build(make(format="json"), "Hi").json["format"] == "json"
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
        "required": ["age", "available"],
    }
    assert build(make(), "Hi", format=schema).json["format"] == schema
    llm = llmplug.load('ollama:m?format={"type":"object"}', fetch_metadata=False)
    assert build(llm, "Hi").json["format"] == {"type": "object"}


def test_logprobs(make: Any, build: Any) -> None:
    body = build(make(logprobs=True, top_logprobs=2), "Hi").json
    assert (body["logprobs"], body["top_logprobs"]) == (True, 2)
    with pytest.raises(InvalidOptionError, match="needs logprobs"):
        build(make(top_logprobs=2), "Hi")


def test_extra_options_body_and_headers(make: Any, build: Any) -> None:
    request = build(
        make(extra_options={"tfs_z": 1.0}, extra_body={"keep_alive": "1h"}),
        "Hi",
        extra_headers={"X-Trace": "1"},
    )
    assert request.json["options"] == {"tfs_z": 1.0}
    assert request.json["keep_alive"] == "1h"
    assert request.headers == {"X-Trace": "1"}


def test_tools_from_definitions_and_functions(make: Any, build: Any) -> None:
    def get_temperature(city: str) -> str:
        """Get the current temperature for a city.

        Args:
            city: The name of the city.
        """
        return "22C"

    definition = {
        "type": "function",
        "function": {
            "name": "get_conditions",
            "description": "Get the current weather conditions for a city",
            "parameters": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string", "description": "The name of the city"}},
            },
        },
    }
    body = build(make(tools=[definition, FunctionTool.from_defaults(get_temperature)]), "Hi").json
    assert body["tools"][0] == definition
    assert body["tools"][1]["function"]["name"] == "get_temperature"
    assert body["tools"][1]["function"]["parameters"]["required"] == ["city"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("suffix", "return x", id="suffix"),
        pytest.param("raw", True, id="raw"),
        pytest.param("system", "Be brief.", id="system"),
        pytest.param("template", "{{ .Prompt }}", id="template"),
        pytest.param("images", [PNG], id="images"),
    ],
)
def test_completion_options_are_refused_in_a_chat(
    make: Any, build: Any, option: str, value: Any
) -> None:
    with pytest.raises(InvalidOptionError, match=f"'{option}' applies to complete"):
        build(make(), "Hi", **{option: value})


# -- /api/generate -----------------------------------------------------------------------


def test_a_plain_completion(make: Any, build_completion: Any) -> None:
    request = build_completion(make(), "Why is the sky blue?")
    assert request.path == "/api/generate"
    assert request.json == {"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": False}


def test_every_completion_field(make: Any, build_completion: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    path.write_bytes(PNG)
    llm = make(model="codellama:code", temperature=0)
    body = build_completion(
        llm,
        "def compute_gcd(a, b):",
        stream=True,
        suffix="    return result",
        system="You write Python.",
        template="{{ .System }} {{ .Prompt }}",
        raw=False,
        context=[1, 2, 3],
        images=[PNG, str(path), PNG_B64],
        keep_alive=0,
        think=False,
        format="json",
    ).json
    assert body == {
        "model": "codellama:code",
        "prompt": "def compute_gcd(a, b):",
        "suffix": "    return result",
        "system": "You write Python.",
        "template": "{{ .System }} {{ .Prompt }}",
        "context": [1, 2, 3],
        "raw": False,
        "images": [PNG_B64, PNG_B64, PNG_B64],
        "format": "json",
        "options": {"temperature": 0.0},
        "stream": True,
        "keep_alive": 0,
        "think": False,
    }


def test_the_system_prompt_goes_in_system_unless_formatted(
    make: Any, build_completion: Any
) -> None:
    llm = make(system_prompt="Be brief.", completion_to_prompt=lambda p: f"[INST] {p} [/INST]")
    body = build_completion(llm, "Hi").json
    assert (body["prompt"], body["system"]) == ("[INST] Hi [/INST]", "Be brief.")
    body = build_completion(llm, "final prompt", formatted=True).json
    assert body["prompt"] == "final prompt"
    assert "system" not in body
    body = build_completion(llm, "Hi", system="Be long.").json
    assert body["system"] == "Be long."


def test_raw_mode(make: Any, build_completion: Any) -> None:
    body = build_completion(make(model="mistral", raw=True), "[INST] why? [/INST]").json
    assert body == {
        "model": "mistral",
        "prompt": "[INST] why? [/INST]",
        "raw": True,
        "stream": False,
    }


def test_tools_are_refused_in_a_completion(make: Any, build_completion: Any) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(InvalidOptionError, match="'tools' applies to chats"):
        build_completion(make(tools=[tool]), "Hi")


# -- where the server is -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "base_url"),
    [
        pytest.param(None, "http://localhost:11434", id="unset"),
        pytest.param("gpu-box", "http://gpu-box:11434", id="host"),
        pytest.param("10.0.0.5:8080", "http://10.0.0.5:8080", id="host-port"),
        pytest.param(":9999", "http://localhost:9999", id="port"),
        pytest.param("0.0.0.0", "http://0.0.0.0:11434", id="all-interfaces"),
        pytest.param("[::1]:11434", "http://[::1]:11434", id="ipv6"),
        pytest.param("https://ollama.com", "https://ollama.com", id="url"),
        pytest.param("https://proxy.example/ollama/", "https://proxy.example/ollama", id="path"),
        pytest.param("proxy.example/ollama", "http://proxy.example:11434/ollama", id="host-path"),
    ],
)
def test_base_url_from_ollama_host(
    monkeypatch: pytest.MonkeyPatch, make: Any, env: str | None, base_url: str
) -> None:
    if env is not None:
        monkeypatch.setenv("OLLAMA_HOST", env)
    llm = make()
    assert llm.base_url == base_url
    assert llm.url_for("/api/chat") == f"{base_url}/api/chat"


def test_base_url_given_takes_host_only_values(make: Any) -> None:
    assert make(base_url="gpu-box:8080").base_url == "http://gpu-box:8080"
    with pytest.raises(ValueError, match="http or https"):
        make(base_url="ftp://gpu-box")


def test_the_key_from_ollama_api_key_is_a_bearer_token(
    monkeypatch: pytest.MonkeyPatch, make: Any
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-ollama-CANARY")
    llm = make(base_url="https://ollama.com")
    assert llm.headers()["Authorization"] == "Bearer sk-ollama-CANARY"
    assert "CANARY" not in repr(llm)
    monkeypatch.delenv("OLLAMA_API_KEY")
    assert "Authorization" not in make().headers()  # a local server takes no key
