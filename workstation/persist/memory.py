"""In-process storage: for tests and paper sessions that should leave nothing on disk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workstation.persist.adapter import Operation, check_entity_name, decode, encode
from workstation.persist.corrupt import CORRUPT_MARK

__all__ = ["MemoryAdapter", "MemoryStore"]


class MemoryStore:
    """What every memory adapter shares: a change is applied to their dicts in one step, with no await between."""

    async def apply(self, operations: Sequence[tuple[MemoryAdapter, Operation]]) -> None:
        """Apply every operation to its adapter's records."""
        for adapter, operation in operations:
            adapter.apply_now(operation)


_STORE = MemoryStore()


class MemoryAdapter:
    """Keep one entity's records in a dict, as JSON text, so no caller can alias a stored value."""

    def __init__(self, entity: str) -> None:
        self.entity = check_entity_name(entity)
        self._records: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryAdapter({self.entity!r})"

    @property
    def store(self) -> MemoryStore:
        """Return where :func:`workstation.persist.commit` applies this adapter's part of a change."""
        return _STORE

    def apply_now(self, operation: Operation) -> None:
        """Apply one operation of a change."""
        if operation.text is None:
            self._records.pop(operation.key, None)
        else:
            self._records[operation.key] = operation.text

    async def wait_for_init(self) -> None:
        """Do nothing: a dict needs no preparation."""

    async def read_value(self, key: str) -> Any:
        """Return a fresh copy of the value under ``key``; raise ``KeyError(key)`` when there is none."""
        return decode(self._records[key])

    async def has_value(self, key: str) -> bool:
        """Tell whether a value is stored under ``key``."""
        return key in self._records

    async def write_value(self, key: str, value: Any) -> None:
        """Store a copy of ``value``; raise ``TypeError`` and store nothing when it is not JSON-serialisable."""
        self._records[key] = encode(self.entity, key, value)

    def write_value_now(self, key: str, value: Any) -> None:
        """Store a copy of ``value`` at once."""
        self._records[key] = encode(self.entity, key, value)

    async def remove_value(self, key: str) -> None:
        """Forget ``key``; a missing key is fine."""
        self._records.pop(key, None)

    async def remove_all(self) -> None:
        """Forget every record except the moved-aside ones."""
        for key in await self.keys():
            del self._records[key]

    async def keys(self) -> list[str]:
        """Return every key except the moved-aside ones, sorted."""
        return sorted(key for key in self._records if CORRUPT_MARK not in key)

    async def values(self) -> list[Any]:
        """Return a copy of every value, in key order."""
        return [decode(self._records[key]) for key in await self.keys()]

    async def corrupt_keys(self) -> list[str]:
        """Return the keys of moved-aside records, sorted."""
        return sorted(key for key in self._records if CORRUPT_MARK in key)
