"""The memoized factory every connection service is built on, and the run-once initialiser."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

ClientT = TypeVar("ClientT")


class ConnectionService(Generic[ClientT]):
    """Create one client per key on first request and return that same client afterwards."""

    def __init__(self) -> None:
        self._clients: dict[str, ClientT] = {}

    def get(self, key: str, create_client: Callable[[], ClientT]) -> ClientT:
        """Return the cached client for ``key``, creating it on first request."""
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = create_client()
        return client

    def peek(self, key: str) -> ClientT | None:
        """Return the client for ``key`` if one exists, without creating it."""
        return self._clients.get(key)

    def keys(self) -> list[str]:
        """Return the memo keys in creation order."""
        return list(self._clients)

    def clear(self, key: str | None = None) -> None:
        """Forget one client, or all of them when ``key`` is None."""
        if key is None:
            self._clients.clear()
        else:
            self._clients.pop(key, None)


class InitOnce:
    """Run an async initialiser once; concurrent callers share it; a failure is not cached."""

    def __init__(self, initialise: Callable[[], Awaitable[None]]) -> None:
        self._initialise = initialise
        self._task: asyncio.Future[None] | None = None
        self._done = False

    async def __call__(self) -> None:
        """Wait until the initialiser has succeeded once."""
        if self._done:
            return
        if self._task is None:
            self._task = asyncio.ensure_future(self._initialise())
        task = self._task
        try:
            await asyncio.shield(task)
        except BaseException:
            if self._task is task and task.done():
                self._task = None
            raise
        self._done = True
