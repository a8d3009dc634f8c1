"""Messages -> ``systemInstruction`` and ``contents``: every block, every role, every refusal.

Each body is built by ``build``, which validates it with the google-genai SDK's types.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from llmplug import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llmplug.errors import UnsupportedContentError

from . import wire_data as w

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def user(*blocks: Any) -> ChatMessage:
    return ChatMessage(role="user", blocks=list(blocks))


def contents(build: Any, llm: Any, *messages: ChatMessage) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = build(llm, list(messages)).json["contents"]
    return body


def test_text_and_system(build: Any, make: Any) -> None:
    body = build(
        make(),
        [
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Hi"),
            ChatMessage(role="assistant", content="Hello!"),
            ChatMessage(role="developer", content="Answer in French."),
            ChatMessage(role="user", content="Bye"),
        ],
    ).json
    assert body["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "Answer in French."}]
    }
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello!"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]


def test_consecutive_messages_of_one_role_make_one_content(build: Any, make: Any) -> None:
    got = contents(build, make(), ChatMessage(content="a"), ChatMessage(content="b"))
    assert got == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_gemma_gets_the_system_prompt_in_the_first_turn(build: Any, make: Any) -> None:
    body = build(
        make(model="gemma-3-27b-it"),
        [ChatMessage(role="system", content="Be brief."), ChatMessage(content="Hi")],
    ).json
    assert "systemInstruction" not in body
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Be brief."}, {"text": "Hi"}]}]


# -- media -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "part"),
    [
        pytest.param(
            ImageBlock(image=PNG),
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
            id="image-bytes",
        ),
        pytest.param(
            ImageBlock(url="https://example.com/cat.jpg"),
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
            id="image-url",
        ),
        pytest.param(
            ImageBlock(url=f"data:image/png;base64,{base64.b64encode(PNG).decode()}"),
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
            id="image-data-url",
        ),
        pytest.param(
            AudioBlock(audio=b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32), format="wav"),
            {
                "inlineData": {
                    "mimeType": "audio/wav",
                    "data": base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)).decode(),
                }
            },
            id="audio-bytes",
        ),
        pytest.param(
            AudioBlock(url="https://example.com/talk.mp3"),
            {"fileData": {"mimeType": "audio/mpeg", "fileUri": "https://example.com/talk.mp3"}},
            id="audio-url",
        ),
        pytest.param(
            VideoBlock(url="https://www.youtube.com/watch?v=9hE5-98ZeCg", fps=2),
            {
                "fileData": {"fileUri": "https://www.youtube.com/watch?v=9hE5-98ZeCg"},
                "videoMetadata": {"fps": 2},
            },
            id="video-youtube",
        ),
        pytest.param(
            VideoBlock(
                url="https://generativelanguage.googleapis.com/v1beta/files/abc",
                video_mimetype="video/mp4",
            ),
            {
                "fileData": {
                    "mimeType": "video/mp4",
                    "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
                }
            },
            id="video-files-api",
        ),
        pytest.param(
            DocumentBlock(data=PDF),
            {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}},
            id="pdf-bytes",
        ),
        pytest.param(
            DocumentBlock(data=b'{"a": 1}', document_mimetype="application/json"),
            {
                "inlineData": {
                    "mimeType": "text/plain",
                    "data": base64.b64encode(b'{"a": 1}').decode(),
                }
            },
            id="json-document-as-text",
        ),
    ],
)
def test_media(build: Any, make: Any, block: Any, part: dict[str, Any]) -> None:
    got = contents(build, make(), user(TextBlock(text="Look:"), block))
    assert got == [{"role": "user", "parts": [{"text": "Look:"}, part]}]


def test_a_path_is_read_and_inlined(build: Any, make: Any, tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(PDF)
    got = contents(build, make(), user(DocumentBlock(path=path)))
    assert got[0]["parts"] == [
        {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(PDF).decode()}}
    ]


def test_gs_uris_go_to_vertex_only(build: Any, make: Any, make_vertex: Any) -> None:
    block = DocumentBlock(url="gs://my-bucket/report.pdf")
    got = contents(build, make_vertex(), user(block))
    assert got[0]["parts"] == [
        {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://my-bucket/report.pdf"}}
    ]
    with pytest.raises(
        UnsupportedContentError, match="gs:// URIs are read by Vertex AI only"
    ) as info:
        make().build_request([user(block)], {}, stream=False)
    assert info.value.block_type == "document"
    assert info.value.provider == "gemini"


@pytest.mark.parametrize(
    ("block", "match"),
    [
        pytest.param(ImageBlock(image=b"GIF89a" + bytes(20)), "PNG, JPEG, WebP", id="gif"),
        pytest.param(ImageBlock(url="https://example.com/picture"), "media type", id="url-no-type"),
        pytest.param(ImageBlock(url="ftp://example.com/a.png"), "http", id="ftp"),
        pytest.param(
            DocumentBlock(data=b"PK\x03\x04" + bytes(30), document_mimetype="application/zip"),
            "PDF and text",
            id="zip",
        ),
        pytest.param(ImageBlock(image=bytes(range(200))), "could not be recognised", id="unknown"),
        pytest.param(
            CitableBlock(title="t", source="s", content="x"), "no citable source", id="citable"
        ),
        pytest.param(ThinkingBlock(content="hmm"), "only assistant", id="thinking-from-user"),
        pytest.param(ToolCallBlock(tool_name="f"), "assistant messages", id="call-from-user"),
    ],
)
def test_blocks_the_api_cannot_take_fail_before_any_request(
    make: Any, block: Any, match: str
) -> None:
    with pytest.raises(UnsupportedContentError, match=match):
        make().build_request([user(block)], {}, stream=False)


def test_system_messages_take_text_only(make: Any) -> None:
    with pytest.raises(UnsupportedContentError, match="system instructions take text only"):
        make().build_request(
            [ChatMessage(role="system", blocks=[ImageBlock(image=PNG)]), user(TextBlock(text="x"))],
            {},
            stream=False,
        )


def test_a_cache_point_has_no_wire_form_and_is_left_out(build: Any, make: Any) -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    got = contents(build, make(), user(TextBlock(text="long context"), point, TextBlock(text="q")))
    assert got == [{"role": "user", "parts": [{"text": "long context"}, {"text": "q"}]}]


def test_citations_in_an_assistant_message_are_left_out(build: Any, make: Any) -> None:
    answer = ChatMessage(
        role="assistant",
        blocks=[
            TextBlock(text="Grass is green."),
            CitationBlock(
                cited_content="green", source="s", title="t", additional_location_info={}
            ),
        ],
    )
    got = contents(build, make(), user(TextBlock(text="q")), answer)
    assert got[1] == {"role": "model", "parts": [{"text": "Grass is green."}]}


# -- tool calls and results ------------------------------------------------------------


def test_tool_calls_and_results_matched_by_id_and_name(build: Any, make: Any) -> None:
    call = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(additional_information={"thought_signature": w.SIG_B}),
            ToolCallBlock(
                tool_call_id="fc-1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
            ),
            ToolCallBlock(tool_call_id="fc-2", tool_name="get_time", tool_kwargs='{"tz": "CET"}'),
        ],
    )
    results = [
        ChatMessage(role="tool", content="18 C", additional_kwargs={"tool_call_id": "fc-1"}),
        ChatMessage(
            role="tool",
            content="clock broken",
            additional_kwargs={"tool_call_id": "fc-2", "is_error": True},
        ),
    ]
    got = contents(build, make(), user(TextBlock(text="Weather?")), call, *results)
    assert got[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "fc-1"},
                "thoughtSignature": w.SIG_B,
            },
            {"functionCall": {"name": "get_time", "args": {"tz": "CET"}, "id": "fc-2"}},
        ],
    }
    assert got[2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"output": "18 C"},
                    "id": "fc-1",
                }
            },
            {
                "functionResponse": {
                    "name": "get_time",
                    "response": {"error": "clock broken"},
                    "id": "fc-2",
                }
            },
        ],
    }


def test_a_call_the_api_gave_no_id_is_answered_by_name_only(build: Any, make: Any) -> None:
    from llmplug_gemini._parse import parse_response

    reply = parse_response(w.CALL_NO_ID, provider="gemini").message
    (call,) = [b for b in reply.blocks if isinstance(b, ToolCallBlock)]
    assert call.tool_call_id  # a local id, so the tool result can name the call
    result = ChatMessage(
        role="tool", content="5", additional_kwargs={"tool_call_id": call.tool_call_id}
    )
    got = contents(build, make(), user(TextBlock(text="2+3?")), reply, result)
    assert got[1]["parts"] == [{"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}}]
    assert got[2]["parts"] == [{"functionResponse": {"name": "add", "response": {"output": "5"}}}]


def test_a_tool_result_by_name(build: Any, make: Any) -> None:
    result = ChatMessage(role="tool", content="ok", additional_kwargs={"name": "ping"})
    got = contents(build, make(), user(TextBlock(text="x")), result)
    assert got[0]["parts"][1] == {
        "functionResponse": {"name": "ping", "response": {"output": "ok"}}
    }


def test_a_tool_result_with_an_image(build: Any, make: Any) -> None:
    call = ChatMessage(role="assistant", blocks=[ToolCallBlock(tool_call_id="c", tool_name="shot")])
    result = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="here"), ImageBlock(image=PNG)],
        additional_kwargs={"tool_call_id": "c"},
    )
    got = contents(build, make(), user(TextBlock(text="x")), call, result)
    assert got[2]["parts"] == [
        {
            "functionResponse": {
                "name": "shot",
                "response": {"output": "here"},
                "id": "c",
                "parts": [
                    {
                        "inlineData": {
                            "mimeType": "image/png",
                            "data": base64.b64encode(PNG).decode(),
                        }
                    }
                ],
            }
        }
    ]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        pytest.param({}, "needs additional_kwargs\\['tool_call_id'\\]", id="nothing"),
        pytest.param({"tool_call_id": "nope"}, "matches no tool call", id="unknown-id"),
    ],
)
def test_a_tool_result_that_names_no_call_is_refused(
    make: Any, extra: dict[str, Any], match: str
) -> None:
    result = ChatMessage(role="tool", content="ok", additional_kwargs=extra)
    with pytest.raises(UnsupportedContentError, match=match):
        make().build_request([user(TextBlock(text="x")), result], {}, stream=False)


def test_tool_arguments_must_be_an_object(make: Any) -> None:
    call = ChatMessage(
        role="assistant", blocks=[ToolCallBlock(tool_name="f", tool_kwargs="[1, 2]")]
    )
    with pytest.raises(UnsupportedContentError, match="JSON object"):
        make().build_request([user(TextBlock(text="x")), call], {}, stream=False)


# -- thinking and thought signatures -----------------------------------------------------


@pytest.mark.parametrize("fixture", ["THINKING", "CALLS"])
def test_a_reply_goes_back_exactly_as_received(build: Any, make: Any, fixture: str) -> None:
    """The round trip: parts, thoughts and signatures in the places the API put them."""
    from llmplug_gemini._parse import parse_response

    data = getattr(w, fixture)
    reply = parse_response(data, provider="gemini").message
    got = contents(build, make(), user(TextBlock(text="q")), reply)
    assert got[1] == data["candidates"][0]["content"]


def test_a_streamed_reply_goes_back_with_its_signature(build: Any, make: Any) -> None:
    from llmplug_gemini._parse import StreamState, parse_chunk

    state = StreamState()
    for chunk in w.TEXT_STREAM:
        last = parse_chunk(chunk, state, provider="gemini")
    assert last is not None
    got = contents(build, make(), user(TextBlock(text="q")), last.message)
    assert got[1]["parts"] == [
        {"text": "Hello! How can I help you today?"},
        {"text": "", "thoughtSignature": w.SIG_C},
    ]


def test_thinking_of_another_provider(build: Any, make: Any) -> None:
    answer = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="Claude thought this", signature="anthropic-signature"),
            ThinkingBlock.from_redacted("opaque"),
            TextBlock(text="ok"),
        ],
    )
    got = contents(build, make(), user(TextBlock(text="q")), answer)
    # the text of a thought is sent as a thought; another provider's signature never
    assert got[1]["parts"] == [{"text": "Claude thought this", "thought": True}, {"text": "ok"}]
