"""Field types shared by every schema: names and callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_FORBIDDEN = (":", "/")


def _check_name(value: str) -> str:
    if not value:
        raise ValueError("name must not be empty")
    if len(value) > 100:
        raise ValueError(f"name must be at most 100 characters, got {len(value)}")
    for char in _FORBIDDEN:
        if char in value:
            raise ValueError(f"name must not contain {char!r}, got {value!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError(f"name must not contain control characters, got {value!r}")
    return value


#: A schema name: part of memo keys and file names, so ``:``, ``/`` and control characters are refused.
Name = Annotated[str, Field(strict=True), AfterValidator(_check_name)]


def is_name(value: object) -> bool:
    """Tell whether ``value`` is a `Name` a schema takes (a string with no ``:``, ``/`` or control character)."""
    if not isinstance(value, str):
        return False
    try:
        _check_name(value)
    except ValueError:
        return False
    return True


#: Any sync or async callable.
AnyCallable = Callable[..., Any]


class SchemaModel(BaseModel):
    """Base of every registered schema: frozen, unknown fields refused, callables allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class CallbacksModel(BaseModel):
    """Base of callback groups: every callback optional, unknown names refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
