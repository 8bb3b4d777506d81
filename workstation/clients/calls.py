"""Calling user code that may be sync or async."""

from __future__ import annotations

import asyncio
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


def is_task_cancellation(raised: BaseException) -> bool:
    """Tell whether ``raised`` is the cancellation of the running task (Stop, the window closing).

    User code may raise ``CancelledError`` itself; only one that arrives while the task is being cancelled is the
    run's own, to be let through.
    """
    if not isinstance(raised, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
