"""A tool whose arguments are a pydantic model's fields: LlamaIndex's ``get_function_tool``.

Offered to a model with ``chat_with_tools``, the tool asks for one object; each call
the model makes is then one object, built with ``tool.call(**selection.tool_kwargs)``
or ``Model(**selection.tool_kwargs)``. With ``allow_parallel_tool_calls=True`` the model
may extract several objects from one input.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from llmplug.tools._function_tool import FunctionTool

__all__ = ["get_function_tool"]

Model = TypeVar("Model", bound=BaseModel)


def get_function_tool(output_cls: type[Model]) -> FunctionTool:
    """A tool that builds an ``output_cls`` from the arguments the model gives it.

    Its name is the model's title (the class name unless ``model_config`` sets one),
    its description the class's docstring, its argument schema the model's.

    Args:
        output_cls: A pydantic model class.

    Raises:
        TypeError: ``output_cls`` is not a pydantic model class.
    """
    if not (isinstance(output_cls, type) and issubclass(output_cls, BaseModel)):
        raise TypeError(
            f"get_function_tool takes a pydantic model class, not {output_cls!r}; "
            f"for a function use FunctionTool.from_defaults(fn)"
        )
    schema = output_cls.model_json_schema()
    name = str(schema.get("title") or output_cls.__name__)

    def build(*args: Any, **kwargs: Any) -> Model:
        # an object given whole (a dict), or a one-field model's value given positionally
        if len(args) == 1 and not kwargs:
            value = args[0]
            if isinstance(value, dict):
                return output_cls(**value)
            fields = list(output_cls.model_fields)
            if len(fields) == 1:
                return output_cls(**{fields[0]: value})
        return output_cls(*args, **kwargs)

    build.__name__ = name
    return FunctionTool.from_defaults(
        fn=build,
        name=name,
        description=schema.get("description") or f"Give one {name}, as its fields.",
        fn_schema=output_cls,
    )
