"""The persistence adapter protocol (SPEC §15.6) and what every adapter shares: entities, encoding, one-time init."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ENTITIES",
    "AdapterFactory",
    "InitOnce",
    "Operation",
    "PersistAdapter",
    "TransactionalStore",
    "check_entity_name",
    "decode",
    "encode",
    "path_error",
]

#: The four kinds of live state the engine persists (SPEC §15.3).
ENTITIES: tuple[str, ...] = ("signal", "schedule", "risk", "partial")

_ENTITY_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@runtime_checkable
class PersistAdapter(Protocol):
    """Key-value storage of one entity's JSON records; every method is a coroutine."""

    async def wait_for_init(self) -> None:
        """Prepare the storage once; concurrent callers share the attempt and a failed attempt is retried."""

    async def read_value(self, key: str) -> Any:
        """Return the value stored under ``key``; raise ``KeyError(key)`` when there is none."""

    async def has_value(self, key: str) -> bool:
        """Tell whether a value is stored under ``key``."""

    async def write_value(self, key: str, value: Any) -> None:
        """Store the JSON-serialisable ``value`` under ``key`` in one atomic write."""

    async def remove_value(self, key: str) -> None:
        """Forget ``key``; a missing key is fine."""

    async def remove_all(self) -> None:
        """Forget every record."""

    async def keys(self) -> list[str]:
        """Return every key, sorted."""

    async def values(self) -> list[Any]:
        """Return every value, in key order."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One write (``text`` is the record's JSON) or removal (``text`` is None) of one entity's record."""

    entity: str
    key: str
    text: str | None


@runtime_checkable
class TransactionalStore(Protocol):
    """Where several adapters keep their records, able to apply operations on all of them in one transaction."""

    async def apply(self, operations: Sequence[tuple[Any, Operation]]) -> None:
        """Apply every ``(adapter, operation)`` pair, all or nothing."""


#: Build the adapter of one entity: ``factory("signal")``.
AdapterFactory = Callable[[str], PersistAdapter]


def check_entity_name(entity: str) -> str:
    """Return ``entity`` when it can name a folder or a column value; raise ``ValueError`` otherwise."""
    if not isinstance(entity, str) or _ENTITY_NAME.fullmatch(entity) is None:
        raise ValueError(f"entity must be a lower-case name such as 'signal', got {entity!r}")
    return entity


def encode(entity: str, key: str, value: Any) -> str:
    """Return ``value`` as strict JSON text; raise ``TypeError`` naming the entity and key when it is not JSON."""
    if not isinstance(key, str):
        raise TypeError(f"{entity} key must be a str, got {key!r}")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{entity} record {key!r} is not JSON-serialisable: {exc}") from exc


def decode(raw: object) -> Any:
    """Return the value of stored JSON ``raw``; raise ``ValueError`` when it cannot be decoded."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if not isinstance(raw, str):
        raise ValueError(f"expected JSON text, found {type(raw).__name__}")
    return json.loads(raw)


def path_error(action: str, path: Path, exc: OSError) -> OSError:
    """Return an ``OSError`` of the same kind as ``exc`` whose message says what failed on which path."""
    message = f"cannot {action} {path}: {exc.strerror or exc}"
    return OSError(message) if exc.errno is None else OSError(exc.errno, message)


class InitOnce:
    """Run an adapter's initialisation once: concurrent callers await one attempt; a failure is not cached."""

    def __init__(self) -> None:
        self._done = False
        self._attempt: asyncio.Task[None] | None = None

    async def run(self, initialise: Callable[[], Awaitable[None]]) -> None:
        """Run ``initialise`` unless it already succeeded; join the attempt in flight if there is one."""
        if self._done:
            return
        attempt = self._attempt
        if attempt is None or attempt.done() or attempt.get_loop() is not asyncio.get_running_loop():
            attempt = self._attempt = asyncio.ensure_future(self._run(initialise))
            attempt.add_done_callback(_consume_failure)
        # A caller that is cancelled must not cancel the attempt the other callers are waiting for.
        await asyncio.shield(attempt)

    async def _run(self, initialise: Callable[[], Awaitable[None]]) -> None:
        try:
            await initialise()
        finally:
            self._attempt = None
        self._done = True


def _consume_failure(attempt: asyncio.Task[None]) -> None:
    # Every waiter may have been cancelled; the failure still reaches the next caller, so it need not be logged here.
    if not attempt.cancelled():
        attempt.exception()
