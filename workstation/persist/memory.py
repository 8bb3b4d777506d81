"""In-process storage: for tests and paper sessions that should leave nothing on disk."""

from __future__ import annotations

from typing import Any

from workstation.persist.adapter import check_entity_name, decode, encode
from workstation.persist.corrupt import CORRUPT_MARK

__all__ = ["MemoryAdapter"]


class MemoryAdapter:
    """Keep one entity's records in a dict, as JSON text, so no caller can alias a stored value."""

    def __init__(self, entity: str) -> None:
        self.entity = check_entity_name(entity)
        self._records: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryAdapter({self.entity!r})"

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
