"""The desk's crash-safe journal: one SQLite file per venue, through the project's SQLite storage.

Every order is written *before* it is sent (``pending``) and again with the venue's answer (``answered``, or
``rejected`` when the venue refused it). A process killed in between leaves the order ``pending``: the desk looks it
up at the venue by its client id when it opens the journal again, and never sends it blindly a second time. The
file also keeps the fills seen, the missing orders the trader acknowledged, and the kill switch (a halted desk stays
halted after a restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workstation.brokers.orders import Fill, OrderRecord, OrderRequest
from workstation.persist.adapter import Operation, encode
from workstation.persist.sqlite import SqliteAdapter

#: ``pending``: written, the venue's answer unknown; ``lost``: looked up and found nowhere at the venue (it may be
#: sent again); ``booked``: a holding or order the trader adopted, booked by the desk, never sent.
EntryState = Literal["pending", "answered", "rejected", "lost", "booked"]


class JournalEntry(BaseModel):
    """One order as the journal holds it: the request, when it was sent, and what came of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: OrderRequest
    sent_at: int
    #: The order's place among the journal's orders (1 the first): sorts orders sent in the same millisecond.
    sequence: int
    state: EntryState
    record: OrderRecord | None = None
    error: str | None = None


class HaltState(BaseModel):
    """The kill switch as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    halted: bool
    reason: str


class JournalContents(BaseModel):
    """Everything the journal holds, as read when the desk opens it."""

    model_config = ConfigDict(frozen=True)

    entries: dict[str, JournalEntry]
    fills: dict[str, Fill]
    #: Client ids of missing orders the trader accepted as gone, with what was said of them.
    acknowledged: dict[str, str]
    halt: HaltState | None


class OrderJournal:
    """Read and write the desk's records in ``path``: orders, fills, acknowledged missing orders, the kill switch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._orders = SqliteAdapter("desk_order", path)
        self._fills = SqliteAdapter("desk_fill", path)
        self._acknowledged = SqliteAdapter("desk_acknowledged", path)
        self._state = SqliteAdapter("desk_state", path)
        #: Entries waiting for the next transaction, each with the future its writer awaits.
        self._queued: list[tuple[JournalEntry, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def read(self) -> JournalContents:
        """Return every record of the file (creating it on first use)."""
        entries = [JournalEntry.model_validate(value) for value in await self._orders.values()]
        fills = [Fill.model_validate(value) for value in await self._fills.values()]
        acknowledged = {key: str(await self._acknowledged.read_value(key)) for key in await self._acknowledged.keys()}
        halt = None
        if await self._state.has_value("halt"):
            halt = HaltState.model_validate(await self._state.read_value("halt"))
        return JournalContents(
            entries={entry.request.client_order_id: entry for entry in entries},
            fills={fill.trade_id: fill for fill in fills},
            acknowledged=acknowledged,
            halt=halt,
        )

    async def write_entry(self, entry: JournalEntry) -> None:
        """Store ``entry`` under its client order id, durably (the call returns once it is on disk).

        Entries written while an earlier transaction is on its way to disk go together in the next one: ten orders
        sent at once wait for two syncs of the file, not ten one after the other.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((entry, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        await done

    async def _write_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await self._orders.wait_for_init()
                await self._orders.database.apply([(self._orders, _operation(entry)) for entry, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def write_fills(self, fills: Sequence[Fill]) -> None:
        """Store ``fills`` in one transaction."""
        if not fills:
            return
        await self._fills.wait_for_init()
        operations = [
            (self._fills, Operation("desk_fill", fill.trade_id, encode("desk_fill", fill.trade_id, fill.model_dump())))
            for fill in fills
        ]
        await self._fills.database.apply(operations)

    async def write_acknowledged(self, client_order_id: str, message: str) -> None:
        """Store that the trader accepted the missing order ``client_order_id`` as gone."""
        await self._acknowledged.write_value(client_order_id, message)

    def write_halt_now(self, halt: HaltState) -> None:
        """Store the kill switch on the calling thread: the switch is flipped from the window, not awaited."""
        self._state.write_value_now("halt", halt.model_dump())

    async def read_opening_balances(self) -> dict[str, float] | None:
        """Return what a paper account on this desk opened with, per asset (None: no paper account opened here)."""
        if not await self._state.has_value("opening_balances"):
            return None
        stored = dict(await self._state.read_value("opening_balances"))
        return {str(asset): float(amount) for asset, amount in stored.items()}

    async def write_opening_balances(self, balances: dict[str, float]) -> None:
        """Store what the paper account of this desk opens with, per asset (its balances are rebuilt from it)."""
        await self._state.write_value("opening_balances", dict(balances))

    async def forget(self) -> None:
        """Remove every record of the file: orders, fills, acknowledged orders, kill switch, opening balances."""
        for adapter in (self._orders, self._fills, self._acknowledged, self._state):
            await adapter.remove_all()

    async def close(self) -> None:
        """Close the file once the entries written are on disk (it reopens on the next write)."""
        if self._writer is not None:
            await self._writer
        await self._orders.database.close()


def _operation(entry: JournalEntry) -> Operation:
    """Return the upsert of ``entry``'s row, keyed by its client order id."""
    key = entry.request.client_order_id
    return Operation("desk_order", key, encode("desk_order", key, entry.model_dump(mode="json")))
