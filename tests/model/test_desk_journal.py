"""The desk's journal writes orders sent together in one transaction; an order it could not write is not sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import Clock, buy, make_desk, make_venue

from workstation.desk.journal import JournalEntry, OrderJournal
from workstation.persist.sqlite import SqliteDatabase


def entry(signal: str) -> JournalEntry:
    return JournalEntry(request=buy(signal=signal), sent_at=1, sequence=1, state="pending")


def test_entries_written_together_share_one_transaction_and_each_writer_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[list[str]] = []
    apply = SqliteDatabase.apply

    async def recorded(self: SqliteDatabase, operations: Sequence[tuple[Any, Any]]) -> None:
        transactions.append([operation.key for _, operation in operations])
        await apply(self, operations)

    monkeypatch.setattr(SqliteDatabase, "apply", recorded)
    journal = OrderJournal(tmp_path / "desk.sqlite3")
    signals = [f"sig-{number}" for number in range(10)]

    async def scenario() -> dict[str, JournalEntry]:
        await journal.write_entry(entry("sig-first"))
        await asyncio.gather(*(journal.write_entry(entry(signal)) for signal in signals))
        contents = await journal.read()
        await journal.close()
        return contents.entries

    stored = asyncio.run(scenario())
    ids = [entry(signal).request.client_order_id for signal in signals]
    assert transactions == [[entry("sig-first").request.client_order_id], ids]
    assert sorted(stored) == sorted([entry("sig-first").request.client_order_id, *ids])


def test_a_failed_write_fails_every_writer_of_its_transaction_and_the_next_ones_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply = SqliteDatabase.apply
    failures = [OSError("disk full")]

    async def failing(self: SqliteDatabase, operations: Sequence[tuple[Any, Any]]) -> None:
        if failures:
            raise failures.pop()
        await apply(self, operations)

    monkeypatch.setattr(SqliteDatabase, "apply", failing)
    journal = OrderJournal(tmp_path / "desk.sqlite3")

    async def scenario() -> list[BaseException | None]:
        outcomes = await asyncio.gather(
            *(journal.write_entry(entry(signal)) for signal in ("sig-1", "sig-2")), return_exceptions=True
        )
        await journal.write_entry(entry("sig-3"))
        stored = (await journal.read()).entries
        await journal.close()
        assert list(stored) == [entry("sig-3").request.client_order_id]
        return outcomes

    outcomes = asyncio.run(scenario())
    assert [str(outcome) for outcome in outcomes] == ["disk full", "disk full"]


def test_an_order_the_journal_could_not_write_is_not_sent_and_may_be_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)
    write = OrderJournal.write_entry
    failures = [OSError("disk full")]

    async def failing(self: OrderJournal, written: JournalEntry) -> None:
        if failures:
            raise failures.pop()
        await write(self, written)

    monkeypatch.setattr(OrderJournal, "write_entry", failing)

    async def scenario() -> None:
        with pytest.raises(OSError, match="disk full"):
            await desk.submit(buy())
        assert venue.placed() == []
        assert desk.orders() == []
        record = await desk.submit(buy())
        assert record.status == "closed"
        await desk.aclose()

    asyncio.run(scenario())
    assert venue.placed() == [buy().client_order_id]
