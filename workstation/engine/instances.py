"""Run instances: one per ``symbol:name`` and kind, tracking the task, the stop flag and the status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from workstation.events import report_error

RunStatus = Literal["ready", "pending", "fulfilled", "rejected"]


class TaskStatus(BaseModel):
    """The state of one run instance, as listed by ``X.list()``."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    strategy_name: str
    status: RunStatus


class Done:
    """An awaitable that is already complete: ``stop()`` acts at once and may still be awaited."""

    def __await__(self) -> Generator[Any, None, None]:
        yield from ()


class RunInstance:
    """A run of one ``symbol:name`` of one kind: its active flag, stop request and background task."""

    def __init__(self, symbol: str, name: str) -> None:
        self.symbol = symbol
        self.name = name
        self.active = False
        self.stop_requested = False
        self.task: asyncio.Task[None] | None = None
        self.stop_callable: Callable[[], Awaitable[None]] | None = None

    @property
    def status(self) -> RunStatus:
        """``ready`` before any background task, then ``pending`` / ``fulfilled`` / ``rejected``."""
        if self.task is None:
            return "ready"
        if not self.task.done():
            return "pending"
        if self.task.cancelled() or self.task.exception() is not None:
            return "rejected"
        return "fulfilled"


class RunInstances:
    """The instances of one kind, in creation order."""

    def __init__(self) -> None:
        self._instances: dict[str, RunInstance] = {}

    def get(self, symbol: str, name: str) -> RunInstance:
        """Return the instance of ``symbol:name``, creating it on first use."""
        key = f"{symbol}:{name}"
        instance = self._instances.get(key)
        if instance is None:
            instance = self._instances[key] = RunInstance(symbol, name)
        return instance

    def peek(self, symbol: str, name: str) -> RunInstance | None:
        """Return the instance of ``symbol:name`` if it exists."""
        return self._instances.get(f"{symbol}:{name}")

    def list(self) -> list[TaskStatus]:
        """Return the status of every instance in creation order."""
        return [
            TaskStatus(symbol=instance.symbol, strategy_name=instance.name, status=instance.status)
            for instance in self._instances.values()
        ]

    def clear(self) -> None:
        """Cancel background tasks still running and forget every instance."""
        for instance in self._instances.values():
            if instance.task is not None and not instance.task.done():
                instance.task.cancel()
        self._instances.clear()


def run_in_background(
    instance: RunInstance,
    results: AsyncIterator[Any],
    *,
    source: str,
    on_done: Callable[[], None],
    stop: Callable[[], Awaitable[None]],
    **where: Any,
) -> Callable[[], Awaitable[None]]:
    """Consume ``results`` as the instance's task on the running loop and return ``stop``.

    ``on_done`` runs when the task ends without an error, whether it finished or was stopped; an error is reported
    on ``error`` with ``source`` and ``where`` (and the task is rejected) instead.
    """

    async def consume() -> None:
        try:
            async for _ in results:
                pass
        except Exception as exc:
            report_error(source, exc, symbol=instance.symbol, strategy_name=instance.name, **where)
            raise
        on_done()

    instance.task = asyncio.get_running_loop().create_task(consume())
    instance.task.add_done_callback(_retrieve_exception)
    instance.stop_callable = stop
    return stop


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
