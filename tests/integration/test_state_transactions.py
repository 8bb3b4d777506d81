"""Fault 18 of issue 13: one state change is one transaction, in the SQLite and the JSON state stores.

A fill saves the position and removes the limit order it came from. A process killed between the two (a real
``SIGKILL`` in a child process) or a write failing between them leaves all of the change or none of it, never both
records.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import workstation as ws
from workstation.persist import json_files

KEY = "BTCUSDT:sma"
ORDER = {"id": "order", "price_open": 41000.0}
POSITION = {"id": "order", "price_open": 41000.0, "pending_at": 1}

CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    import workstation as ws
    from workstation.persist import json_files, sqlite

    storage, where = sys.argv[1:3]
    (ws.persist.use_sqlite if storage == "sqlite" else ws.persist.use_json)(where)

    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        await ws.persist.adapter("schedule").write_value("BTCUSDT:sma", {"id": "order", "price_open": 41000.0})
        # Die after the position is written and before the order is removed.
        sqlite.SqliteAdapter.delete_row = die
        json_files._remove_files = die
        position = {"id": "order", "price_open": 41000.0, "pending_at": 1}
        fill = ws.persist.Change().write("signal", "BTCUSDT:sma", position).remove("schedule", "BTCUSDT:sma")
        await ws.persist.commit(fill)

    asyncio.run(main())
    """
)


def use(storage: str, where: Path) -> None:
    if storage == "sqlite":
        ws.persist.use_sqlite(where)
    else:
        ws.persist.use_json(where)


def stored() -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for entity in ("signal", "schedule"):
            adapter = ws.persist.adapter(entity)
            found[entity] = {key: await adapter.read_value(key) for key in await adapter.keys()}
        await ws.persist.close_persistence()
        return found

    return asyncio.run(read())


def fill() -> ws.persist.Change:
    return ws.persist.Change().write("signal", KEY, POSITION).remove("schedule", KEY)


@pytest.mark.parametrize("storage", ["sqlite", "json"])
def test_a_fill_is_committed_as_one_change(storage: str, tmp_path: Path) -> None:
    use(storage, tmp_path / "state")

    async def scenario() -> None:
        await ws.persist.adapter("schedule").write_value(KEY, ORDER)
        await ws.persist.commit(fill())

    asyncio.run(scenario())
    assert stored() == {"signal": {KEY: POSITION}, "schedule": {}}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize(
    ("storage", "after_restart"),
    [
        # SQLite rolls the open transaction back: the order is still waiting.
        ("sqlite", {"signal": {}, "schedule": {KEY: ORDER}}),
        # The JSON folder finishes the journalled change at its first use: the position is open.
        ("json", {"signal": {KEY: POSITION}, "schedule": {}}),
    ],
)
def test_a_process_killed_between_the_two_writes_of_a_fill_leaves_all_or_nothing(
    storage: str, after_restart: dict[str, Any], tmp_path: Path
) -> None:
    where = tmp_path / "state"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, storage, str(where)], check=False, capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    if storage == "json":
        assert len(list((where / ".changes").iterdir())) == 1
        assert {path.name for path in (where / "schedule").iterdir()} == {"BTCUSDT%3Asma.json"}
        assert {path.name for path in (where / "signal").iterdir()} == {"BTCUSDT%3Asma.json"}
    use(storage, where)
    assert stored() == after_restart
    if storage == "json":
        assert list((where / ".changes").iterdir()) == []


def test_a_failing_write_inside_a_sqlite_change_leaves_nothing_changed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    use("sqlite", path)

    async def prepare() -> None:
        await ws.persist.adapter("schedule").write_value(KEY, ORDER)
        await ws.persist.adapter("signal").wait_for_init()
        await ws.persist.close_persistence()

    asyncio.run(prepare())
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER full_disk BEFORE DELETE ON records WHEN old.entity = 'schedule' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="database or disk is full"):
        asyncio.run(ws.persist.commit(fill()))
    assert stored() == {"signal": {}, "schedule": {KEY: ORDER}}


def test_a_failing_write_inside_a_json_change_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "state"
    use("json", where)
    asyncio.run(ws.persist.adapter("schedule").write_value(KEY, ORDER))
    remove = json_files._remove_files

    def disk_full(folder: Path, keys: list[str]) -> None:
        if folder.name == "schedule":
            raise OSError(28, "No space left on device")
        remove(folder, keys)

    monkeypatch.setattr(json_files, "_remove_files", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        asyncio.run(ws.persist.commit(fill()))
    monkeypatch.undo()
    assert stored() == {"signal": {}, "schedule": {KEY: ORDER}}
    assert list((where / ".changes").iterdir()) == []


def test_a_memory_change_is_applied_in_one_step() -> None:
    ws.persist.use_memory()

    async def scenario() -> None:
        await ws.persist.adapter("schedule").write_value(KEY, ORDER)
        await ws.persist.commit(fill())

    asyncio.run(scenario())
    assert stored() == {"signal": {KEY: POSITION}, "schedule": {}}


def test_a_change_rejects_a_value_that_is_not_json_before_anything_is_written() -> None:
    with pytest.raises(TypeError, match="signal record 'BTCUSDT:sma' is not JSON-serialisable"):
        ws.persist.Change().write("signal", KEY, {"when": object()})
