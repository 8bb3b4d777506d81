"""Run instances: one per ``symbol:name`` and kind, tracking the task, the stop flag and the status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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
