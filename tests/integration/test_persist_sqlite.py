"""The SQLite storage on a real file: L11 across processes, one worker thread, WAL, and a qasync loop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

import workstation as ws
from workstation import persist

KEY = "BTCUSDT:one-shot"
REPO = Path(__file__).resolve().parents[2]
ROW = ws.SignalRow(
    id="sig-1",
    position="short",
    note="restart me",
    price_open=42000.0,
    price_take_profit=41580.0,
    price_stop_loss=42420.0,
    minute_estimated_time=120,
    symbol="BTCUSDT",
    exchange_name="ladder",
    strategy_name="one-shot",
    frame_name="",
    scheduled_at=1704067800000,
    pending_at=1704068400000,
    is_scheduled=False,
)


def run_python(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_l11_a_record_written_in_one_process_reads_back_equal_in_fresh_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    run_python(
        """
        import asyncio, sys
        import workstation as ws
        from workstation import persist

        row = ws.SignalRow.model_validate_json(sys.argv[2])
        persist.use_sqlite(sys.argv[1])
        asyncio.run(persist.write_record(persist.adapter("signal"), "BTCUSDT:one-shot", row))
        """,
        str(path),
        ROW.model_dump_json(),
    )
    read_elsewhere = run_python(
        """
        import asyncio, json, sys
        import workstation as ws
        from workstation import persist

        async def main() -> None:
            adapter = persist.SqliteAdapter("signal", sys.argv[1])
            row = await persist.read_record(adapter, "BTCUSDT:one-shot", ws.SignalRow, entity="signal")
            print(json.dumps({"keys": await adapter.keys(), "row": row.model_dump(mode="json")}))

        asyncio.run(main())
        """,
        str(path),
    )
    assert json.loads(read_elsewhere) == {"keys": [KEY], "row": ROW.model_dump(mode="json")}

    persist.use_sqlite(path)
    adapter = persist.adapter("signal")

    async def read_here() -> tuple[Any, list[str]]:
        return await persist.read_record(adapter, KEY, ws.SignalRow, entity="signal"), await adapter.keys()

    row, keys = asyncio.run(read_here())
    assert row == ROW
    assert isinstance(row, ws.SignalRow)
    assert keys == [KEY]


def test_every_statement_of_every_entity_runs_on_one_worker_thread(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    persist.use_sqlite(path)
    traced: list[tuple[int, str]] = []

    def trace(connection: sqlite3.Connection) -> None:
        connection.set_trace_callback(lambda statement: traced.append((threading.get_ident(), statement)))

    async def scenario() -> None:
        signal, risk = persist.adapter("signal"), persist.adapter("risk")
        await signal.wait_for_init()
        await persist.sqlite_database(path).run(trace)
        await signal.write_value(KEY, {"v": 1})
        await risk.wait_for_init()
        await risk.write_value("default", [])
        await signal.read_value(KEY)
        await risk.keys()
        await signal.remove_value(KEY)

    asyncio.run(scenario())
    threads = {ident for ident, _ in traced}
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    assert len(traced) >= 6
    writes = [statement for _, statement in traced if statement.startswith("INSERT")]
    assert len(writes) == 2
    assert not [statement for _, statement in traced if statement.startswith(("BEGIN", "COMMIT"))]


def test_the_file_is_in_wal_mode_with_full_sync_and_the_spec_table(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    adapter = persist.SqliteAdapter("signal", path)
    before = int(time.time() * 1000)

    async def scenario() -> int:
        await adapter.write_value(KEY, {"v": 1})
        synchronous: int = await adapter.database.run(
            lambda connection: connection.execute("PRAGMA synchronous").fetchone()[0]
        )
        return synchronous

    assert asyncio.run(scenario()) == 2  # FULL
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = connection.execute("PRAGMA table_info(records)").fetchall()
        assert [(name, kind, primary) for _, name, kind, _, _, primary in columns] == [
            ("entity", "TEXT", 1),
            ("key", "TEXT", 2),
            ("value", "TEXT", 0),
            ("updated_at", "INTEGER", 0),
        ]
        ((entity, key, value, updated_at),) = connection.execute("SELECT * FROM records").fetchall()
    finally:
        connection.close()
    assert (entity, key, value) == ("signal", KEY, '{"v": 1}')
    assert before <= updated_at <= int(time.time() * 1000)


def test_writes_issued_together_land_in_order(tmp_path: Path) -> None:
    adapter = persist.SqliteAdapter("partial", tmp_path / "state.sqlite3")

    async def scenario() -> tuple[Any, list[str]]:
        await asyncio.gather(*(adapter.write_value("sig-1", {"level": level}) for level in range(10, 101, 10)))
        await asyncio.gather(*(adapter.write_value(f"sig-{n:02d}", n) for n in range(30)))
        return await adapter.read_value("sig-1"), await adapter.keys()

    last, keys = asyncio.run(scenario())
    assert last == {"level": 100}
    assert len(keys) == 31


def test_reset_persistence_closes_the_database_threads(tmp_path: Path) -> None:
    adapter = persist.SqliteAdapter("signal", tmp_path / "state.sqlite3")
    asyncio.run(adapter.write_value(KEY, 1))
    assert [t.name for t in threading.enumerate() if t.name.startswith("workstation-sqlite-state")] != []

    persist.reset_persistence()

    assert [t.name for t in threading.enumerate() if t.name.startswith("workstation-sqlite-state")] == []
    assert asyncio.run(adapter.read_value(KEY)) == 1


@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_adapters_work_under_a_qasync_loop(qapp: QApplication, tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        persist.use_sqlite(tmp_path / "state.sqlite3")
    else:
        persist.use_json(tmp_path / "state")
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)

    async def scenario() -> tuple[Any, list[str], list[Any]]:
        adapter = persist.adapter("signal")
        await asyncio.gather(adapter.wait_for_init(), adapter.wait_for_init())
        await persist.write_record(adapter, KEY, ROW)
        await adapter.write_value("ETHUSDT:one-shot", {"v": 2})
        row = await persist.read_record(adapter, KEY, ws.SignalRow, entity="signal")
        return row, await adapter.keys(), await adapter.values()

    try:
        row, keys, values = loop.run_until_complete(scenario())
        loop.run_until_complete(persist.close_persistence())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert row == ROW
    assert keys == [KEY, "ETHUSDT:one-shot"]
    assert values == [ROW.model_dump(mode="json"), {"v": 2}]
