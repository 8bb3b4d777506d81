"""Building frozen models on the engine's hot path without re-validating what the engine just computed."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)

_set = object.__setattr__


def construct(model: type[ModelT], **fields: Any) -> ModelT:
    """Build ``model`` from a complete set of already valid fields (about 4x faster than ``model_construct``).

    Unlike ``model_construct`` it applies no defaults, so every field must be given; the result is an ordinary
    frozen instance (equality, ``model_dump``, ``model_copy`` behave as usual).
    """
    instance = model.__new__(model)
    _set(instance, "__dict__", fields)
    _set(instance, "__pydantic_fields_set__", set(fields))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
