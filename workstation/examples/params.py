"""Turning a plain dict of parameters (a form, a sweep grid) into an example's frozen parameter dataclass."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

ParamsT = TypeVar("ParamsT")


def build_params(params_type: type[ParamsT], params: dict[str, Any] | None, strategy: str) -> ParamsT:
    """Return ``params_type(**params)``, refusing unknown names with the list of known ones."""
    known = {field.name for field in fields(params_type)}  # type: ignore[arg-type]
    unknown = set(params or {}) - known
    if unknown:
        raise ValueError(
            f"unknown {strategy} parameter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    return params_type(**(params or {}))
