"""One state change, committed at once (SPEC §15.6): the writes and removals of several entities in one transaction.

A fill saves the position *and* removes the limit order it came from; a close journals the close *and* removes the
position. Each is one :class:`Change`, and :func:`commit` applies it so that a kill leaves either all of it or none
of it: one SQLite transaction, one journalled batch of JSON files, one uninterrupted step in memory.
"""

from __future__ import annotations

from typing import Any

from workstation.persist.adapter import Operation, TransactionalStore, check_entity_name, decode, encode
from workstation.persist.selection import adapter

__all__ = ["Change", "commit"]


class Change:
    """The writes and removals that make one state change, in the order they were added.

    Examples
    --------
    >>> change = Change().write("signal", "BTCUSDT:sma", {"id": "a"}).remove("schedule", "BTCUSDT:sma")
    >>> [(operation.entity, operation.key) for operation in change.operations]
    [('signal', 'BTCUSDT:sma'), ('schedule', 'BTCUSDT:sma')]
    """

    def __init__(self) -> None:
        self._operations: list[Operation] = []

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Return the operations in the order they were added."""
        return tuple(self._operations)

    def write(self, entity: str, key: str, value: Any) -> Change:
        """Add storing the JSON-serialisable ``value`` under ``key``; raise ``TypeError`` at once for non-JSON."""
        self._operations.append(Operation(check_entity_name(entity), key, encode(entity, key, value)))
        return self

    def remove(self, entity: str, key: str) -> Change:
        """Add forgetting ``key`` (a missing key is fine)."""
        if not isinstance(key, str):
            raise TypeError(f"{entity} key must be a str, got {key!r}")
        self._operations.append(Operation(check_entity_name(entity), key, None))
        return self


async def commit(change: Change) -> None:
    """Apply ``change`` through the current adapters of its entities (:func:`adapter`) in one transaction.

    When every adapter keeps its records in the same :class:`TransactionalStore` (the built-in SQLite, JSON and
    memory storages of one file or folder), the change is all or nothing. Adapters of different stores, or custom
    adapters, get their operations one after the other, in order: atomic only per record.
    """
    operations = change.operations
    if not operations:
        return
    adapters = [adapter(operation.entity) for operation in operations]
    for each in dict.fromkeys(adapters):
        await each.wait_for_init()
    store = getattr(adapters[0], "store", None)
    if isinstance(store, TransactionalStore) and all(getattr(each, "store", None) is store for each in adapters):
        await store.apply(list(zip(adapters, operations, strict=True)))
        return
    for each, operation in zip(adapters, operations, strict=True):
        if operation.text is None:
            await each.remove_value(operation.key)
        else:
            await each.write_value(operation.key, decode(operation.text))
