"""LlamaIndex's prompt template examples (f-string and chat templates), ported.

``llama_index.core``'s ``PromptTemplate`` and ``ChatPromptTemplate`` come from
``llmplug``. Where a page fills a template with ``...`` (Python's ``Ellipsis``, meaning
"your values here"), the test passes real strings. LlamaIndex's Jinja
``RichPromptTemplate`` has no llmplug counterpart (see docs/llamaindex.md).
"""

from __future__ import annotations

from llmplug.testing import scripted

from ._stand_ins import Script

CONTEXT = (
    "In this work, we develop and release Llama 2, a collection of pretrained and "
    "fine-tuned large language models (LLMs) ranging in scale from 7 billion to 70 "
    "billion parameters"
)


def test_f_string_template() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/prompts/usage_pattern/"""
    # --- example
    from llmplug import PromptTemplate

    template = (
        "We have provided context information below. \n"
        "---------------------\n"
        "{context_str}"
        "\n---------------------\n"
        "Given this information, please answer the question: {query_str}\n"
    )
    qa_template = PromptTemplate(template)

    # you can create text prompt (for completion API)
    prompt = qa_template.format(context_str="Paris is in France.", query_str="Where is Paris?")

    # or easily convert to message prompts (for chat API)
    messages = qa_template.format_messages(
        context_str="Paris is in France.", query_str="Where is Paris?"
    )
    # --- end
    assert prompt == (
        "We have provided context information below. \n---------------------\n"
        "Paris is in France.\n---------------------\n"
        "Given this information, please answer the question: Where is Paris?\n"
    )
    assert [(m.role, m.content) for m in messages] == [("user", prompt)]


def test_chat_template_from_chat_messages() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/prompts/usage_pattern/"""
    # --- example
    from llmplug import ChatMessage, ChatPromptTemplate, MessageRole

    message_templates = [
        ChatMessage(content="You are an expert system.", role=MessageRole.SYSTEM),
        ChatMessage(
            content="Generate a short story about {topic}",
            role=MessageRole.USER,
        ),
    ]
    chat_template = ChatPromptTemplate(message_templates=message_templates)

    # you can create message prompts (for chat API)
    messages = chat_template.format_messages(topic="a lighthouse")

    # or easily convert to text prompt (for completion API)
    prompt = chat_template.format(topic="a lighthouse")
    # --- end
    assert [(m.role, m.content) for m in messages] == [
        ("system", "You are an expert system."),
        ("user", "Generate a short story about a lighthouse"),
    ]
    assert prompt == (
        "system: You are an expert system.\nuser: Generate a short story about a lighthouse\n"
        "assistant: "
    )
    assert message_templates[1].content == "Generate a short story about {topic}"  # unchanged


QA_PROMPT_STR = (
    "Context information is below.\n"
    "---------------------\n"
    "{context_str}\n"
    "---------------------\n"
    "Given the context information and not prior knowledge, "
    "answer the question: {query_str}\n"
)


def test_chat_prompts_with_explicit_messages(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/customization/prompts/chat_prompts/"""
    script.add("Joe Biden was the 46th president.")
    qa_prompt_str = QA_PROMPT_STR
    # --- example
    from llmplug import ChatMessage, ChatPromptTemplate, MessageRole

    # Text QA Prompt
    chat_text_qa_msgs = [
        ChatMessage(
            role=MessageRole.SYSTEM,
            content=("Always answer the question, even if the context isn't helpful."),
        ),
        ChatMessage(role=MessageRole.USER, content=qa_prompt_str),
    ]
    text_qa_template = ChatPromptTemplate(chat_text_qa_msgs)
    # --- end
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo", temperature=0.1)
    # what a query engine does with its text_qa_template
    answer = llm.predict(text_qa_template, context_str="(nothing useful)", query_str="Who?")
    assert answer == "Joe Biden was the 46th president."
    sent = script.bodies[0]
    assert sent["temperature"] == 0.1
    assert sent["messages"][0]["role"] == "system"
    assert "answer the question: Who?" in sent["messages"][1]["content"]


def test_chat_prompts_from_messages(script: Script) -> None:
    """https://developers.llamaindex.ai/python/examples/customization/prompts/chat_prompts/"""
    script.add("An answer.")
    qa_prompt_str = QA_PROMPT_STR
    # --- example
    from llmplug import ChatPromptTemplate

    # Text QA Prompt
    chat_text_qa_msgs = [
        (
            "system",
            "Always answer the question, even if the context isn't helpful.",
        ),
        ("user", qa_prompt_str),
    ]
    text_qa_template = ChatPromptTemplate.from_messages(chat_text_qa_msgs)
    # --- end
    from ._stand_ins import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo", temperature=0.1)
    assert llm.predict(text_qa_template, context_str="c", query_str="q") == "An answer."
    assert [m["role"] for m in script.bodies[0]["messages"]] == ["system", "user"]
    assert script.bodies[0]["messages"][1]["content"].endswith("answer the question: q\n")


def test_partial_formatting() -> None:
    """https://developers.llamaindex.ai/python/examples/prompts/advanced_prompts/"""
    # --- example
    from llmplug import PromptTemplate

    qa_prompt_tmpl_str = """\
Context information is below.
---------------------
{context_str}
---------------------
Given the context information and not prior knowledge, answer the query.
Please write the answer in the style of {tone_name}
Query: {query_str}
Answer: \
"""

    prompt_tmpl = PromptTemplate(qa_prompt_tmpl_str)
    partial_prompt_tmpl = prompt_tmpl.partial_format(tone_name="Shakespeare")
    assert partial_prompt_tmpl.kwargs == {"tone_name": "Shakespeare"}
    fmt_prompt = partial_prompt_tmpl.format(
        context_str=CONTEXT,
        query_str="How many params does llama 2 have",
    )
    print(fmt_prompt)
    # --- end
    assert "Please write the answer in the style of Shakespeare\n" in fmt_prompt
    assert fmt_prompt.endswith("Query: How many params does llama 2 have\nAnswer: ")
    assert prompt_tmpl.kwargs == {}  # partial_format made a copy


def test_template_variable_mappings() -> None:
    """https://developers.llamaindex.ai/python/examples/prompts/advanced_prompts/"""
    # --- example
    from llmplug import PromptTemplate

    # NOTE: here notice we use `my_context` and `my_query` as template variables

    qa_prompt_tmpl_str = """\
Context information is below.
---------------------
{my_context}
---------------------
Given the context information and not prior knowledge, answer the query.
Query: {my_query}
Answer: \
"""

    template_var_mappings = {"context_str": "my_context", "query_str": "my_query"}

    prompt_tmpl = PromptTemplate(qa_prompt_tmpl_str, template_var_mappings=template_var_mappings)
    # --- end
    # (the page then prints the previous cell's partial template again; this is the
    # call the section is about)
    fmt_prompt = prompt_tmpl.format(context_str=CONTEXT, query_str="How many params?")
    assert f"---------------------\n{CONTEXT}\n---------------------" in fmt_prompt
    assert "Query: How many params?\n" in fmt_prompt
    assert prompt_tmpl.template_vars == ["my_context", "my_query"]


def test_function_mappings() -> None:
    """https://developers.llamaindex.ai/python/examples/prompts/advanced_prompts/"""
    # --- example
    from llmplug import PromptTemplate

    qa_prompt_tmpl_str = """\
Context information is below.
---------------------
{context_str}
---------------------
Given the context information and not prior knowledge, answer the query.
Query: {query_str}
Answer: \
"""

    def format_context_fn(**kwargs):  # type: ignore[no-untyped-def]
        # format context with bullet points
        context_list = kwargs["context_str"].split("\n\n")
        fmtted_context = "\n\n".join([f"- {c}" for c in context_list])
        return fmtted_context

    prompt_tmpl = PromptTemplate(
        qa_prompt_tmpl_str, function_mappings={"context_str": format_context_fn}
    )
    context_str = """\
In this work, we develop and release Llama 2.

Our fine-tuned LLMs, called Llama 2-Chat, are optimized for dialogue use cases.

Our models outperform open-source chat models on most benchmarks we tested.
"""

    fmt_prompt = prompt_tmpl.format(
        context_str=context_str, query_str="How many params does llama 2 have"
    )
    print(fmt_prompt)
    # --- end
    assert "- In this work, we develop and release Llama 2.\n\n- Our fine-tuned" in fmt_prompt
    assert "\n\n- Our models outperform" in fmt_prompt


def test_prompt_with_a_chat_model_and_predict() -> None:
    """https://developers.llamaindex.ai/python/framework/module_guides/models/prompts/usage_pattern/

    The page's template, filled and sent: ``predict`` formats it as messages for a chat
    model (as LlamaIndex's query engines do).
    """
    # --- example
    from llmplug import PromptTemplate

    template = (
        "We have provided context information below. \n"
        "---------------------\n"
        "{context_str}"
        "\n---------------------\n"
        "Given this information, please answer the question: {query_str}\n"
    )
    qa_template = PromptTemplate(template)
    # --- end
    llm = scripted("Paris is in France.")
    answer = llm.predict(qa_template, context_str="Paris is in France.", query_str="Where?")
    assert answer == "Paris is in France."
    assert "please answer the question: Where?" in (llm.calls[0][-1].content or "")
