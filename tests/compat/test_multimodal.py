"""LlamaIndex's multi-modal chat message examples: content blocks, ported.

``llama_index.core.llms``' ``ChatMessage``, ``TextBlock`` and ``ImageBlock`` come from
``llmplug``; ``OpenAI`` is the stand-in of ``_stand_ins``, whose requests show what
the provider sends for each block.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from ._stand_ins import Script

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


def test_image_from_a_path(
    script: Script,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """https://developers.llamaindex.ai/python/framework/understanding/using_llms/

    (section "Multi-Modal LLMs")
    """
    monkeypatch.chdir(tmp_path)
    Path("image.png").write_bytes(PNG)
    script.add("A single transparent pixel.")
    # --- example
    from llmplug import ChatMessage, ImageBlock, TextBlock

    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-4o")

    messages = [
        ChatMessage(
            role="user",
            blocks=[
                ImageBlock(path="image.png"),
                TextBlock(text="Describe the image in a few sentences."),
            ],
        )
    ]

    resp = llm.chat(messages)
    print(resp.message.content)
    # --- end
    assert capsys.readouterr().out == "A single transparent pixel.\n"
    image, text = script.bodies[0]["messages"][0]["content"]
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert text == {"type": "text", "text": "Describe the image in a few sentences."}


def test_multi_modal_chat_messages(capsys: pytest.CaptureFixture[str]) -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/multi_modal/"""
    image_bytes = JPEG
    # --- example
    from llmplug import ChatMessage, ImageBlock, TextBlock

    # Create a multi-modal message with text and an image
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is in this image?"),
            ImageBlock(image=image_bytes, image_mimetype="image/jpeg"),
        ],
    )

    # Access the cumulative text content (joined TextBlocks)
    print(message.content)

    # Access individual blocks
    for block in message.blocks:
        print(block.block_type)
    # --- end
    assert capsys.readouterr().out == "What is in this image?\ntext\nimage\n"
    image = message.blocks[1]
    assert isinstance(image, ImageBlock)
    assert image.resolve_image().read() == JPEG  # stored as base64, resolved to the bytes


def test_assigning_content_wraps_it_in_a_text_block() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/multi_modal/

    "For backward compatibility, assigning a string to the ``content`` property will
    automatically wrap it in a ``TextBlock`` within the ``blocks`` list."
    """
    from llmplug import ChatMessage, TextBlock

    message = ChatMessage(role="user", content="first")
    message.content = "second"
    assert message.blocks == [TextBlock(text="second")]
    assert message.content == "second"


async def test_image_from_a_buffer_async(script: Script) -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/multi_modal/

    The page's message with the image given as a file-like buffer (as LlamaIndex's
    blocks accept one), sent with ``achat``.
    """
    script.add("A JPEG.")
    from llmplug import ChatMessage, ImageBlock, TextBlock

    from ._stand_ins import OpenAI

    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is in this image?"),
            ImageBlock(image=io.BytesIO(JPEG), image_mimetype="image/jpeg"),
        ],
    )
    resp = await OpenAI(model="gpt-4o").achat([message])
    assert resp.message.content == "A JPEG."
    text, image = script.bodies[0]["messages"][0]["content"]
    assert text == {"type": "text", "text": "What is in this image?"}
    assert image["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
