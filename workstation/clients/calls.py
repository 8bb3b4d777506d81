"""Calling user code that may be sync or async."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def is_async_callable(fn: object) -> bool:
    """Tell whether calling ``fn`` returns an awaitable (``async def`` or an object with ``async __call__``)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` and await its result when it is awaitable."""
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result
