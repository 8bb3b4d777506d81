"""The one typed seam to qasync: async slots on methods (qasync 0.28 fails on module-level functions)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import qasync

P = ParamSpec("P")
SelfT = TypeVar("SelfT")


def async_slot(*types: type) -> Callable[[Callable[P, Coroutine[Any, Any, None]]], Callable[P, None]]:
    """Turn an ``async def`` method into a Qt slot that schedules it on the running qasync loop.

    Use it on methods only. The slot returns nothing useful: keep a task handle where the caller must wait or
    cancel (DESIGN.md §3.4, §3.6).
    """

    def decorate(method: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
        slot: Callable[P, None] = qasync.asyncSlot(*types)(method)
        return slot

    return decorate
