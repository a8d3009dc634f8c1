"""A tool's argument schema from a function: signature, type hints and docstring.

This module uses ``from __future__ import annotations``, so every function below has
string annotations: the schema builder has to resolve them.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from llmplug import FunctionTool
from llmplug.tools import function_schema, parse_param_docs


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "FR"


def params(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    return FunctionTool.from_defaults(fn, **kwargs).metadata.get_parameters_dict()


# -- one function per case ------------------------------------------------------------------


def plain(city: str, days: int, hot: bool, temp: float) -> str:
    return ""


def defaults(city: str, days: int = 3, note: str | None = None) -> str:
    return ""


def optional_old_style(note: Optional[str] = None) -> str:  # noqa: UP045 - the old spelling
    return ""


def untyped(x, y=2):  # type: ignore[no-untyped-def]
    return x


def annotated(
    city: Annotated[str, "The city's name"],
    days: Annotated[int, Field(description="How many days", ge=1, le=7)] = 1,
) -> str:
    return ""


def field_default(city: str = Field(description="Where", min_length=2)) -> str:
    return ""


def enums(unit: Unit, mode: Literal["fast", "slow"] = "fast") -> str:
    return ""


def model_arg(place: Place, places: list[Place] | None = None) -> str:
    return ""


def dates(day: datetime.date, at: datetime.datetime) -> str:
    return ""


def star_args(city: str, *args: Any, **kwargs: Any) -> str:
    return ""


def google(city: str, days: int = 1) -> str:
    """Get the weather.

    Args:
        city (str): The city's name,
            as it is spelled locally.
        days: How many days.

    Returns:
        The forecast.
    """
    return ""


def numpy_style(city: str, days: int = 1) -> str:
    """Get the weather.

    Parameters
    ----------
    city : str
        The city's name,
        as it is spelled locally.
    days : int, optional
        How many days.

    Returns
    -------
    str
        The forecast.
    """
    return ""


def rest_style(city: str, days: int = 1) -> str:
    """Get the weather.

    :param city: The city's name,
        as it is spelled locally.
    :param int days: How many days.
    :returns: The forecast.
    """
    return ""


def annotated_wins(city: Annotated[str, "From Annotated"]) -> str:
    """Doc.

    Args:
        city: From the docstring.
    """
    return ""


CITY_DOC = "The city's name, as it is spelled locally."


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        pytest.param(
            plain,
            {
                "type": "object",
                "properties": {
                    "city": {"title": "City", "type": "string"},
                    "days": {"title": "Days", "type": "integer"},
                    "hot": {"title": "Hot", "type": "boolean"},
                    "temp": {"title": "Temp", "type": "number"},
                },
                "required": ["city", "days", "hot", "temp"],
            },
            id="plain-types",
        ),
        pytest.param(
            defaults,
            {
                "type": "object",
                "properties": {
                    "city": {"title": "City", "type": "string"},
                    "days": {"title": "Days", "type": "integer", "default": 3},
                    "note": {
                        "title": "Note",
                        "anyOf": [{"type": "string"}, {"type": "null"}],
                        "default": None,
                    },
                },
                "required": ["city"],
            },
            id="defaults-and-optional",
        ),
        pytest.param(
            optional_old_style,
            {
                "type": "object",
                "properties": {
                    "note": {
                        "title": "Note",
                        "anyOf": [{"type": "string"}, {"type": "null"}],
                        "default": None,
                    }
                },
            },
            id="typing-Optional",
        ),
        pytest.param(
            untyped,
            {
                "type": "object",
                "properties": {"x": {"title": "X"}, "y": {"title": "Y", "default": 2}},
                "required": ["x"],
            },
            id="no-annotations",
        ),
        pytest.param(
            annotated,
            {
                "type": "object",
                "properties": {
                    "city": {"title": "City", "type": "string", "description": "The city's name"},
                    "days": {
                        "title": "Days",
                        "type": "integer",
                        "description": "How many days",
                        "minimum": 1,
                        "maximum": 7,
                        "default": 1,
                    },
                },
                "required": ["city"],
            },
            id="annotated-str-and-field",
        ),
        pytest.param(
            field_default,
            {
                "type": "object",
                "properties": {
                    "city": {
                        "title": "City",
                        "type": "string",
                        "description": "Where",
                        "minLength": 2,
                    }
                },
                "required": ["city"],
            },
            id="field-as-default",
        ),
        pytest.param(
            dates,
            {
                "type": "object",
                "properties": {
                    "day": {"title": "Day", "type": "string", "format": "date"},
                    "at": {"title": "At", "type": "string", "format": "date-time"},
                },
                "required": ["day", "at"],
            },
            id="dates",
        ),
        pytest.param(
            star_args,
            {
                "type": "object",
                "properties": {"city": {"title": "City", "type": "string"}},
                "required": ["city"],
            },
            id="star-args-left-out",
        ),
    ],
)
def test_schema_from_signature(fn: Callable[..., Any], expected: dict[str, Any]) -> None:
    assert params(fn) == expected


def test_enums_and_literals() -> None:
    schema = params(enums)
    assert schema["properties"]["unit"] == {"$ref": "#/$defs/Unit"}
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
    assert schema["properties"]["mode"]["enum"] == ["fast", "slow"]
    assert schema["required"] == ["unit"]


def test_pydantic_model_arguments() -> None:
    schema = params(model_arg)
    assert schema["properties"]["place"] == {"$ref": "#/$defs/Place"}
    assert schema["$defs"]["Place"]["required"] == ["city"]
    assert schema["properties"]["places"]["anyOf"][0]["items"] == {"$ref": "#/$defs/Place"}


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(google, id="google"),
        pytest.param(numpy_style, id="numpy"),
        pytest.param(rest_style, id="rest"),
    ],
)
def test_descriptions_from_docstrings(fn: Callable[..., Any]) -> None:
    props = params(fn)["properties"]
    assert props["city"]["description"] == CITY_DOC
    assert props["days"]["description"] == "How many days."


def test_annotated_description_wins_over_docstring() -> None:
    assert params(annotated_wins)["properties"]["city"]["description"] == "From Annotated"


@pytest.mark.parametrize(
    ("docstring", "expected"),
    [
        pytest.param(None, {}, id="none"),
        pytest.param("Just a summary.", {}, id="no-params"),
        pytest.param(
            "Summary.\n\nArgs:\n    a: First.\n    b (int, optional): Second\n        line.\n",
            {"a": "First.", "b": "Second line."},
            id="google",
        ),
        pytest.param(
            "Summary.\n\nArguments:\n    *args: Extra.\n    **kwargs: Options.\n",
            {"args": "Extra.", "kwargs": "Options."},
            id="google-star-args",
        ),
        pytest.param(
            "Summary.\n\nParameters\n----------\na : int\n    First.\nb\n    Second.\n",
            {"a": "First.", "b": "Second."},
            id="numpy",
        ),
        pytest.param(
            "Summary.\n\nParameters\n----------\nx, y : float\n    A point.\n"
            "*args : int\n    More.\nc : str\n    Third.\n",
            {"x": "A point.", "y": "A point.", "args": "More.", "c": "Third."},
            id="numpy-names-sharing-a-description",
        ),
        pytest.param(
            ":param a: First.\n:type a: int\n:param str b: Second.\n",
            {"a": "First.", "b": "Second."},
            id="rest",
        ),
        pytest.param(
            "@param a: First.\n@param b: Second.\n", {"a": "First.", "b": "Second."}, id="epytext"
        ),
        pytest.param(
            "Args:\n    a: First.\n\nRaises:\n    ValueError: never a parameter.\n",
            {"a": "First."},
            id="google-section-ends",
        ),
    ],
)
def test_parse_param_docs(docstring: str | None, expected: dict[str, str]) -> None:
    assert parse_param_docs(docstring) == expected


def test_partial_params_are_hidden_from_the_schema() -> None:
    def lookup(city: str, api_key: str) -> str:
        return city

    tool = FunctionTool.from_defaults(lookup, partial_params={"api_key": "k"})
    assert list(tool.metadata.get_parameters_dict()["properties"]) == ["city"]
    assert "api_key" not in tool.metadata.description
    assert tool(city="Paris").content == "Paris"


def test_an_unresolvable_annotation_leaves_that_parameter_untyped() -> None:
    def fn(a: int, b: NoSuchType) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    props = params(fn)["properties"]
    assert props["a"]["type"] == "integer"
    assert "type" not in props["b"]


def test_kwargs_function_accepts_extra_arguments() -> None:
    assert function_schema("f", star_args).model_config.get("extra") == "allow"
    assert function_schema("f", plain).model_config.get("extra") == "forbid"


def test_description_defaults_to_signature_and_docstring() -> None:
    description = FunctionTool.from_defaults(google).metadata.description
    assert description.startswith("google(city: str, days: int = 1) -> str\nGet the weather.")


def test_name_description_and_schema_given() -> None:
    class Args(BaseModel):
        q: str

    tool = FunctionTool.from_defaults(plain, name="search", description="Search.", fn_schema=Args)
    assert tool.metadata.to_openai_tool() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search.",
            "parameters": {
                "type": "object",
                "properties": {"q": {"title": "Q", "type": "string"}},
                "required": ["q"],
            },
        },
    }
