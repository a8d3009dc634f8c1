"""Tool types: ToolMetadata, ToolOutput, FunctionTool (sync and async), call_tool."""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import pytest
from pydantic import BaseModel, Field

from llmplug import (
    AgentChatResponse,
    AsyncBaseTool,
    BaseTool,
    FunctionTool,
    ImageBlock,
    TextBlock,
    ToolMetadata,
    ToolOutput,
    ToolSelection,
)
from llmplug.tools import (
    DefaultToolFnSchema,
    acall_tool,
    acall_tool_with_selection,
    adapt_to_async_tool,
    call_tool,
    call_tool_with_selection,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def aadd(a: int, b: int) -> int:
    """Add two numbers, asynchronously."""
    await asyncio.sleep(0)
    return a + b


def boom(x: str) -> str:
    """Always fails."""
    raise RuntimeError(f"no {x}")


class Echo(BaseTool):
    """A tool that is not a FunctionTool: takes its one argument positionally."""

    @property
    def metadata(self) -> ToolMetadata:
        return ToolMetadata(description="Echo the input.", name="echo")

    def __call__(self, input: Any) -> ToolOutput:
        return ToolOutput(content=f"echo {input}", tool_name="echo", raw_input={"input": input})


# -- ToolMetadata ------------------------------------------------------------------------------


def test_metadata_defaults_follow_llamaindex() -> None:
    meta = ToolMetadata(description="d")
    assert meta.name is None
    assert meta.fn_schema is DefaultToolFnSchema
    assert meta.return_direct is False
    assert meta.get_parameters_dict() == {
        "type": "object",
        "properties": {"input": {"title": "Input", "type": "string"}},
        "required": ["input"],
    }
    with pytest.raises(ValueError, match="no name"):
        meta.get_name()


def test_metadata_without_schema() -> None:
    meta = ToolMetadata(description="d", name="n", fn_schema=None)
    assert meta.get_parameters_dict()["required"] == ["input"]
    with pytest.raises(ValueError, match="fn_schema is None"):
        _ = meta.fn_schema_str


def test_fn_schema_str_is_the_parameters_as_json() -> None:
    meta = FunctionTool.from_defaults(add).metadata
    assert meta.fn_schema_str == (
        '{"properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", '
        '"type": "integer"}}, "required": ["a", "b"], "type": "object"}'
    )


def test_openai_tool_refuses_a_long_description() -> None:
    meta = ToolMetadata(description="x" * 1025, name="long")
    with pytest.raises(ValueError, match="1025 characters"):
        meta.to_openai_tool()
    assert meta.to_openai_tool(skip_length_check=True)["function"]["name"] == "long"


# -- ToolOutput and friends ----------------------------------------------------------------


def test_tool_output_content_and_blocks() -> None:
    out = ToolOutput(content="18C", tool_name="w", raw_input={}, raw_output=18)
    assert out.blocks == [TextBlock(text="18C")]
    assert out.content == str(out) == "18C"
    out.content = "19C"
    assert out.blocks == [TextBlock(text="19C")]
    with pytest.raises(ValueError, match="either content or blocks"):
        ToolOutput(content="a", blocks=[TextBlock(text="b")], tool_name="w")
    assert ToolOutput(tool_name="w").content == ""
    assert "exception" not in ToolOutput(tool_name="w", exception=ValueError()).model_dump()


def test_selection_and_agent_response() -> None:
    sel = ToolSelection(tool_id="1", tool_name="add", tool_kwargs={"a": 1})
    assert sel.invalid_arguments is None
    response = AgentChatResponse(response="42")
    assert str(response) == "42"
    assert response.sources == []
    assert response.source_nodes == []


# -- FunctionTool ---------------------------------------------------------------------------


def test_sync_function_tool() -> None:
    tool = FunctionTool.from_defaults(add)
    out = tool(a=1, b=2)
    assert (out.content, out.raw_output, out.tool_name, out.is_error) == ("3", 3, "add", False)
    assert out.raw_input == {"args": (), "kwargs": {"a": 1, "b": 2}}
    assert tool.call(1, b=2).content == "3"
    assert tool.real_fn is add
    assert isinstance(tool, AsyncBaseTool)


async def test_sync_function_tool_acall_runs_in_a_worker_thread() -> None:
    seen: list[str] = []

    def where() -> str:
        seen.append(threading.current_thread().name)
        return "ok"

    out = await FunctionTool.from_defaults(where).acall()
    assert out.content == "ok"
    assert seen[0] != threading.current_thread().name


async def test_async_function_tool() -> None:
    tool = FunctionTool.from_defaults(aadd)
    assert (await tool.acall(a=1, b=2)).content == "3"
    assert tool.metadata.name == "aadd"


def test_async_function_tool_called_sync() -> None:
    assert FunctionTool.from_defaults(aadd)(a=1, b=2).content == "3"


async def test_async_function_tool_called_sync_inside_a_running_loop() -> None:
    # a sync call from async code must not try to nest the running loop
    assert FunctionTool.from_defaults(aadd).call(a=2, b=2).content == "4"


def test_fn_and_async_fn_each_used_by_their_call() -> None:
    tool = FunctionTool.from_defaults(fn=lambda a, b: "sync", async_fn=aadd, name="both")
    assert tool.call(a=1, b=1).content == "sync"
    assert asyncio.run(tool.acall(a=1, b=1)).content == "2"


def test_function_tool_needs_a_function() -> None:
    with pytest.raises(ValueError, match="fn= or async_fn="):
        FunctionTool.from_defaults()


def test_block_results_become_blocks() -> None:
    image = ImageBlock(image=PNG)
    out = FunctionTool.from_defaults(lambda: image, name="img").call()
    assert out.blocks == [image]
    out = FunctionTool.from_defaults(lambda: [TextBlock(text="a"), image], name="two").call()
    assert out.content == "a"
    assert len(out.blocks) == 2


def test_callbacks_replace_the_output_or_its_content() -> None:
    tool = FunctionTool.from_defaults(add, callback=lambda out: f"sum={out.content}")
    out = tool(a=1, b=2)
    assert (out.content, out.raw_output) == ("sum=3", 3)
    replaced = ToolOutput(content="mine", tool_name="add")
    assert FunctionTool.from_defaults(add, callback=lambda out: replaced)(a=1, b=2) is replaced
    assert FunctionTool.from_defaults(add, callback=lambda out: None)(a=1, b=2).content == "3"


async def test_async_callback() -> None:
    async def cb(out: ToolOutput) -> str:
        return out.content + "!"

    tool = FunctionTool.from_defaults(aadd, async_callback=cb)
    assert (await tool.acall(a=1, b=2)).content == "3!"
    assert tool.call(a=1, b=2).content == "3!"


def test_partial_params_are_passed() -> None:
    tool = FunctionTool.from_defaults(add, partial_params={"b": 10})
    assert tool(a=1).content == "11"
    assert tool.metadata.get_parameters_dict()["required"] == ["a"]


# -- call_tool: arguments checked, failures as outputs ---------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"a": 1, "b": 2}, "3", id="ok"),
        pytest.param({"a": "1", "b": 2}, "3", id="coerced"),
        pytest.param(
            {"a": 1},
            "Error: invalid arguments for tool 'add': b: Field required "
            "(the tool takes: a (required), b (required))",
            id="missing",
        ),
        pytest.param(
            {"a": "one", "b": 2},
            "Error: invalid arguments for tool 'add': a: Input should be a valid integer, "
            "unable to parse string as an integer (the tool takes: a (required), b (required))",
            id="wrong-type",
        ),
        pytest.param(
            {"a": 1, "b": 2, "c": 3},
            "Error: invalid arguments for tool 'add': unexpected argument 'c'; "
            "the tool takes: a (required), b (required)",
            id="extra",
        ),
    ],
)
async def test_call_tool_checks_arguments(arguments: dict[str, Any], expected: str) -> None:
    tool = FunctionTool.from_defaults(add)
    for out in (call_tool(tool, arguments), await acall_tool(tool, arguments)):
        assert out.content == expected
        assert out.is_error == expected.startswith("Error")


async def test_call_tool_turns_an_exception_into_an_error_output() -> None:
    tool = FunctionTool.from_defaults(boom)
    for out in (call_tool(tool, {"x": "luck"}), await acall_tool(tool, {"x": "luck"})):
        assert out.is_error
        assert out.content == "Error: tool 'boom' raised RuntimeError: no luck"
        assert isinstance(out.exception, RuntimeError)
        assert out.raw_input == {"kwargs": {"x": "luck"}}


def test_one_argument_under_another_name_is_renamed() -> None:
    tool = FunctionTool.from_defaults(boom)
    assert call_tool(tool, {"input": "x"}).content == "Error: tool 'boom' raised RuntimeError: no x"


def test_validated_values_reach_the_function() -> None:
    class Place(BaseModel):
        city: str

    def where(place: Place, days: int = 1) -> str:
        assert isinstance(place, Place)
        return f"{place.city}/{days}"

    tool = FunctionTool.from_defaults(where)
    assert call_tool(tool, {"place": {"city": "Paris"}}).content == "Paris/1"


def positional_only(a: int, b: int = 10, /, c: int = 100) -> str:
    return f"{a} {b} {c}"


def field_defaults(
    a: int,
    b: int = Field(default=2, description="The b."),
    *,
    c: list[int] = Field(default_factory=list),  # noqa: B008 - what a tool author writes
) -> str:
    return f"{a} {b} {c}"


async def async_field_defaults(a: int, b: int = Field(default=2, ge=0)) -> str:
    return f"{a} {b}"


@pytest.mark.parametrize(
    ("fn", "arguments", "expected"),
    [
        # the schema names every parameter; the function takes some only by position
        pytest.param(math.sqrt, {"x": 9}, "3.0", id="builtin-positional-only"),
        pytest.param(positional_only, {"a": 1}, "1 10 100", id="positional-only-defaults"),
        pytest.param(positional_only, {"a": 1, "c": 3}, "1 10 3", id="skip-positional-default"),
        pytest.param(positional_only, {"a": 1, "b": 2}, "1 2 100", id="all-positional-named"),
        # a Field(...) default is the field's default, not the FieldInfo object
        pytest.param(field_defaults, {"a": 1}, "1 2 []", id="field-defaults"),
        pytest.param(field_defaults, {"a": 1, "b": 5, "c": [3]}, "1 5 [3]", id="field-given"),
        pytest.param(async_field_defaults, {"a": 1}, "1 2", id="async-field-default"),
    ],
)
async def test_arguments_reach_the_function_as_its_signature_takes_them(
    fn: Any, arguments: dict[str, Any], expected: str
) -> None:
    tool = FunctionTool.from_defaults(fn)
    for out in (call_tool(tool, arguments), await acall_tool(tool, arguments)):
        assert not out.is_error, out.content
        assert out.content == expected
    assert tool.call(**arguments).content == expected
    assert (await tool.acall(**arguments)).content == expected


async def test_non_function_tool_takes_its_argument_positionally() -> None:
    assert call_tool(Echo(), {"input": "hi"}).content == "echo hi"
    assert (await acall_tool(Echo(), {"input": "hi"})).content == "echo hi"
    assert isinstance(adapt_to_async_tool(Echo()), AsyncBaseTool)


async def test_selection_of_an_unknown_tool_names_the_tools() -> None:
    tools = [FunctionTool.from_defaults(add), Echo()]
    sel = ToolSelection(tool_id="1", tool_name="mul", tool_kwargs={"a": 1})
    for out in (
        call_tool_with_selection(sel, tools),
        await acall_tool_with_selection(sel, tools),
    ):
        assert out.is_error
        assert out.content == "Error: there is no tool named 'mul'; the tools are: add, echo"


def test_duplicate_tool_names_are_refused() -> None:
    sel = ToolSelection(tool_id="1", tool_name="add")
    with pytest.raises(ValueError, match="two tools are named 'add'"):
        call_tool_with_selection(sel, [FunctionTool.from_defaults(add)] * 2)
    with pytest.raises(TypeError, match=r"FunctionTool\.from_defaults"):
        call_tool_with_selection(sel, [add])  # type: ignore[list-item]


# -- import cost ---------------------------------------------------------------------------------

TOOL_MODULES = (
    "llmplug.tools._types",
    "llmplug.tools._function_tool",
    "llmplug.tools._function_schema",
    "llmplug.tools._execution",
    "llmplug.tools._react",
)


def _loaded_after(code: str, modules: tuple[str, ...] = TOOL_MODULES) -> list[str]:
    import subprocess
    import sys

    probe = f"import sys\n{code}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.strip().strip("[]").replace("'", "").split(", ") if "'" in out.stdout else []


def test_import_llmplug_loads_no_tool_module() -> None:
    assert _loaded_after("import llmplug", (*TOOL_MODULES, "llmplug.tools._function_calling")) == []


def test_a_function_calling_provider_loads_no_tool_machinery() -> None:
    # the mock is a FunctionCallingLLM; schemas and ReAct load when tools are used
    assert _loaded_after("from llmplug.mock import MockChatLLM; MockChatLLM()") == []
    assert _loaded_after("import llmplug; llmplug.FunctionTool") == [
        "llmplug.tools._function_tool",
        "llmplug.tools._types",
    ]


def test_parameters_named_like_basemodel_attributes(recwarn: pytest.WarningsRecorder) -> None:
    # pydantic refuses fields named json, schema, copy... (a UserWarning, an error under
    # -W error) and warns on model_*: the schema keeps the parameter names all the same
    def run(schema: str, json: str = "", model_name: str = "m", copy: int = 1) -> str:
        """Run.

        Args:
            schema: The schema.
        """
        return f"{schema}|{json}|{model_name}|{copy}"

    tool = FunctionTool.from_defaults(run)
    params = tool.metadata.get_parameters_dict()
    assert list(params["properties"]) == ["schema", "json", "model_name", "copy"]
    assert params["required"] == ["schema"]
    assert params["properties"]["schema"]["description"] == "The schema."
    assert call_tool(tool, {"schema": "a", "json": "j", "copy": 3}).content == "a|j|m|3"
    bad = call_tool(tool, {"schema_": "a"})
    assert bad.is_error
    assert "the tool takes: schema (required), json, model_name, copy" in bad.content
    assert not recwarn.list


# -- tool_call_arguments: a call's arguments as an API takes them back -----------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({"city": "Paris"}, {"city": "Paris"}, id="dict"),
        pytest.param('{"city": "Paris"}', {"city": "Paris"}, id="json-text"),
        pytest.param("", {}, id="empty"),
        pytest.param("  ", {}, id="blank"),
    ],
)
def test_tool_call_arguments(given: Any, expected: dict[str, Any]) -> None:
    from llmplug import ToolCallBlock
    from llmplug.tools import tool_call_arguments

    block = ToolCallBlock(tool_call_id="c1", tool_name="weather", tool_kwargs=given)
    assert tool_call_arguments(block, "acme") == expected


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("[1, 2]", id="list"),
        pytest.param("not json", id="text"),
        pytest.param("[" * 5000 + "]" * 5000, id="deep"),
    ],
)
def test_tool_call_arguments_that_are_no_object_are_refused(given: str) -> None:
    from llmplug import ToolCallBlock
    from llmplug.errors import UnsupportedContentError
    from llmplug.tools import tool_call_arguments

    block = ToolCallBlock(tool_call_id="c1", tool_name="weather", tool_kwargs=given)
    with pytest.raises(UnsupportedContentError, match="not a JSON object") as info:
        tool_call_arguments(block, "acme")
    assert info.value.provider == "acme"
    assert info.value.block_type == "tool_call"
    assert len(str(info.value)) < 400  # a huge value is quoted short


def test_tools_option_keeps_order_and_the_api_s_own_dicts() -> None:
    from llmplug.tools import tools_option

    native = {"type": "web_search"}
    tool = FunctionTool.from_defaults(add)
    items = tools_option([native, add, tool])
    assert items[0] is native
    assert isinstance(items[1], FunctionTool)
    assert items[1].metadata.name == "add"
    assert items[2] is tool
    with pytest.raises(ValueError, match="a FunctionTool or a function, not int"):
        tools_option([native, 3])


def test_tools_option_of_dicts_loads_no_tool_machinery() -> None:
    code = "from llmplug.tools import tools_option; tools_option([{'name': 'f'}])"
    assert _loaded_after(code) == []
