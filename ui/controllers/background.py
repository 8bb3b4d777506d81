"""Fire-and-forget work of the window (candle loading, restoring, shutdown), kept referenced until it is done."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """Hold every task started with ``spawn`` until it ends, so the event loop cannot collect it half-way."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` on the event loop and return its task."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
